import { describe, expect, it } from 'vitest';
import { formatFingerprint, isTrustFailure, parseFingerprint, TrustError } from './tls-trust';

const HEX = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

describe('server fingerprint pins', () => {
  it('accepts sha256: with 64 hex digits, any case, colons optional', () => {
    const expected = Buffer.from(HEX, 'hex');
    expect(parseFingerprint(`sha256:${HEX}`)).toEqual(expected);
    expect(parseFingerprint(`SHA256:${HEX.toUpperCase()}`)).toEqual(expected);
    expect(parseFingerprint(`sha256:${HEX.match(/../g)?.join(':')}`)).toEqual(expected);
  });

  it('round-trips through its printed form', () => {
    const pin = parseFingerprint(`sha256:${HEX}`);
    expect(pin && formatFingerprint(pin)).toBe(`sha256:${HEX}`);
  });

  it.each([
    ['no algorithm prefix', HEX],
    ['another algorithm', `sha1:${HEX}`],
    ['too short', `sha256:${HEX.slice(2)}`],
    ['too long', `sha256:${HEX}00`],
    ['not hex', `sha256:${HEX.slice(1)}g`],
    ['a trailing colon', `sha256:${HEX}:`],
  ])('refuses %s', (_name, text) => {
    expect(parseFingerprint(text)).toBeNull();
  });
});

describe('telling trust failures from network trouble', () => {
  const withCode = (code: string) => Object.assign(new Error(code), { code });

  it('recognises pin mismatches and certificate errors', () => {
    expect(isTrustFailure(new TrustError('mismatch'))).toBe(true);
    expect(isTrustFailure(withCode('DEPTH_ZERO_SELF_SIGNED_CERT'))).toBe(true);
    expect(isTrustFailure(withCode('ERR_TLS_CERT_ALTNAME_INVALID'))).toBe(true);
  });

  it('does not mistake a refused connection for one', () => {
    expect(isTrustFailure(withCode('ECONNREFUSED'))).toBe(false);
    expect(isTrustFailure('DEPTH_ZERO_SELF_SIGNED_CERT')).toBe(false);
  });
});
