import { SessionEnded } from '../protocol/ipc-contract';

/*
 * The notice shown when someone else ended this console's session (issue #4: "a native window
 * that says who ended it and why"). Electron opens its own small sandboxed window on the
 * renderer's second page, notice.html; the browser host's page opens the same page as a popup.
 * The SessionEnded travels in the query as base64url JSON; the page validates it with zod.
 */

/** A notice for a revocation only: an idle lock or the user's own sign-out needs no window. */
export function shouldShowNotice(ended: SessionEnded): boolean {
  return ended.kind === 'revoked';
}

export function encodeSessionEnded(ended: SessionEnded): string {
  return Buffer.from(JSON.stringify(SessionEnded.parse(ended)), 'utf8').toString('base64url');
}

/** notice.html next to the renderer's index.html (a file URL or a dev server origin), with `?ended=`. */
export function noticeUrl(indexUrl: string, ended: SessionEnded): string {
  const url = new URL('notice.html', indexUrl);
  url.search = new URLSearchParams({ ended: encodeSessionEnded(ended) }).toString();
  url.hash = '';
  return url.href;
}
