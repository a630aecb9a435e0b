import { shell } from 'electron';

/*
 * Electron's part of the sign-in: the system browser. Only https pages are opened (the sign-in
 * service has already checked the URL is the configured authority's).
 */

export async function openInSystemBrowser(url: string): Promise<void> {
  if (new URL(url).protocol !== 'https:') throw new Error('only https sign-in pages are opened');
  await shell.openExternal(url);
}
