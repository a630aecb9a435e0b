import { randomBytes } from 'node:crypto';
import { generateURI, verify } from 'otplib';
import QRCode from 'qrcode';

/*
 * TOTP (RFC 6238, SHA-1, 6 digits, 30 s: what every authenticator app speaks). A code is accepted
 * for the current time step and one step either side, never further, and never for a step at or
 * before the last one this user already used (replay).
 */

export const TOTP_PERIOD_SECONDS = 30;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A new 160-bit secret, base32 (RFC 4648, no padding) as authenticator apps expect. */
export function newTotpSecret(random: (n: number) => Buffer = randomBytes): string {
  const bytes = random(20);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

export function otpauthUri(options: { issuer: string; account: string; secret: string }): string {
  return generateURI({ issuer: options.issuer, label: options.account, secret: options.secret, period: TOTP_PERIOD_SECONDS });
}

export function qrCodeDataUrl(text: string): Promise<string> {
  return QRCode.toDataURL(text, { errorCorrectionLevel: 'M', margin: 2, width: 240 });
}

export type TotpCheck = { ok: true; step: number } | { ok: false; reason: 'wrong' | 'replayed' };

/** Checks `code` at `now`; `lastUsedStep` is the step of this user's last accepted code (null: none). */
export async function checkTotp(secret: string, code: string, now: Date, lastUsedStep: number | null): Promise<TotpCheck> {
  if (!/^\d{6}$/.test(code)) return { ok: false, reason: 'wrong' };
  const epoch = Math.floor(now.getTime() / 1000);
  const result = await verify({
    secret,
    token: code,
    epoch,
    period: TOTP_PERIOD_SECONDS,
    // In seconds: one period either side covers exactly the previous and the next step.
    epochTolerance: TOTP_PERIOD_SECONDS,
  });
  if (!result.valid) return { ok: false, reason: 'wrong' };
  // delta: how many steps from the current one the code matched (-1, 0 or 1).
  const step = Math.floor(epoch / TOTP_PERIOD_SECONDS) + result.delta;
  if (lastUsedStep !== null && step <= lastUsedStep) return { ok: false, reason: 'replayed' };
  return { ok: true, step };
}
