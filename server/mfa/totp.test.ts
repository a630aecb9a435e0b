import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import { checkTotp, newTotpSecret, otpauthUri, qrCodeDataUrl, TOTP_PERIOD_SECONDS } from './totp';

const secret = newTotpSecret(() => Buffer.alloc(20, 0x5a));
const now = new Date('2026-11-23T12:00:10Z');
const stepOf = (date: Date) => Math.floor(date.getTime() / 1000 / TOTP_PERIOD_SECONDS);
const codeAt = (offsetSteps: number) =>
  generate({ secret, epoch: Math.floor(now.getTime() / 1000) + offsetSteps * TOTP_PERIOD_SECONDS, period: TOTP_PERIOD_SECONDS });

describe('TOTP', () => {
  it('makes a 32-character base32 secret from 20 random bytes', () => {
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(newTotpSecret()).not.toBe(newTotpSecret());
  });

  it('accepts the current step and one step either side, with the step it matched', async () => {
    for (const offset of [-1, 0, 1]) {
      expect(await checkTotp(secret, await codeAt(offset), now, null)).toEqual({ ok: true, step: stepOf(now) + offset });
    }
  });

  it('refuses codes two steps away', async () => {
    for (const offset of [-2, 2]) expect(await checkTotp(secret, await codeAt(offset), now, null)).toEqual({ ok: false, reason: 'wrong' });
  });

  it('refuses a wrong code and malformed input', async () => {
    const right = await codeAt(0);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    expect(await checkTotp(secret, wrong, now, null)).toEqual({ ok: false, reason: 'wrong' });
    expect(await checkTotp(secret, '12345', now, null)).toEqual({ ok: false, reason: 'wrong' });
    expect(await checkTotp(secret, 'abcdef', now, null)).toEqual({ ok: false, reason: 'wrong' });
  });

  it('refuses a code whose step was already used, and one from an earlier step', async () => {
    const code = await codeAt(0);
    expect(await checkTotp(secret, code, now, stepOf(now))).toEqual({ ok: false, reason: 'replayed' });
    expect(await checkTotp(secret, await codeAt(-1), now, stepOf(now))).toEqual({ ok: false, reason: 'replayed' });
    expect(await checkTotp(secret, await codeAt(1), now, stepOf(now))).toEqual({ ok: true, step: stepOf(now) + 1 });
  });

  it('builds the otpauth URI and a PNG QR code of it', async () => {
    const uri = otpauthUri({ issuer: 'RMM', account: 'ada@example.test', secret });
    expect(uri).toMatch(/^otpauth:\/\/totp\/RMM:ada(%40|@)example\.test\?/);
    expect(uri).toContain(`secret=${secret}`);
    expect(uri).toContain('issuer=RMM');
    expect(await qrCodeDataUrl(uri)).toMatch(/^data:image\/png;base64,/);
  });
});
