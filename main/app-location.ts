/*
 * Where the console's own renderer lives. Only frames showing it may call IPC and only requests
 * for it may load. Packaged builds load a file; development may point at a Vite dev server.
 */
export type AppLocation = { kind: 'file'; indexUrl: string } | { kind: 'origin'; origin: string };

/** True when `url` is the console's page itself (fragment and query ignored). */
export function isAppPage(url: string, app: AppLocation): boolean {
  const parsed = safeUrl(url);
  if (!parsed) return false;
  if (app.kind === 'origin') return parsed.origin === app.origin;
  parsed.hash = '';
  parsed.search = '';
  return parsed.href === app.indexUrl;
}

/** True when the renderer may load `url`: its own files (or dev origin), inline data images, devtools. */
export function isAllowedRendererRequest(url: string, app: AppLocation): boolean {
  const parsed = safeUrl(url);
  if (!parsed) return false;
  if (parsed.protocol === 'devtools:' || parsed.protocol === 'data:') return true;
  if (app.kind === 'origin') return parsed.origin === app.origin;
  if (parsed.protocol !== 'file:') return false;
  const root = new URL('.', app.indexUrl).pathname;
  // URL parsing already resolved any "..", so a prefix check on the pathname is exact.
  return parsed.pathname.startsWith(root);
}

function safeUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}
