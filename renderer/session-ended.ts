import { SessionEnded } from '../protocol/ipc-contract';

/*
 * Why a session ended, in words: the lock screen and the notice popup say the same thing. The
 * popup gets it in its URL (`notice.html?ended=<base64url(JSON)>`), so it needs no bridge; main
 * opens the same page in Electron (Node's `Buffer.toString('base64url')` of the JSON).
 */

function clock(iso: string, now: Date): string {
  const at = new Date(iso);
  const sameDay = at.toDateString() === now.toDateString();
  return sameDay
    ? at.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
    : at.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/**
 * One sentence, e.g. "Your session was ended by Alex Admin: Laptop lost (14:03)" or, with the
 * server's timeout reason, "Locked: No activity for 15 minutes (14:03)".
 */
export function describeSessionEnded(ended: SessionEnded, now = new Date()): string {
  const when = clock(ended.at, now);
  switch (ended.kind) {
    case 'revoked':
      return ended.by ? `Your session was ended by ${ended.by.name}: ${ended.reason} (${when})` : `Your session was ended: ${ended.reason} (${when})`;
    case 'idle':
      return `Locked: ${ended.reason} (${when})`;
    case 'absolute':
      return `Your session ended: ${ended.reason} (${when})`;
    case 'signed_out':
      return `You signed out (${when})`;
  }
}

export function encodeSessionEnded(ended: SessionEnded): string {
  const bytes = new TextEncoder().encode(JSON.stringify(ended));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The `ended` parameter of the notice page; null for anything missing, malformed or not a SessionEnded. */
export function decodeSessionEnded(value: string | null): SessionEnded | null {
  if (!value || !/^[A-Za-z0-9_-]{1,8000}$/.test(value)) return null;
  try {
    const binary = atob(value.replace(/-/g, '+').replace(/_/g, '/'));
    const json = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
    const parsed = SessionEnded.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
