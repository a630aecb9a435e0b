import { describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../server/cli/args';
import { demoCommand } from './demo';

/* `rmm demo` options that are refused before anything starts (the run itself: tools/demo/identity.test.ts and e2e). */

describe('rmm demo options', () => {
  it('refuses a bad --idp-port or --as before starting anything', async () => {
    for (const value of ['x', '-1', '70000', '8444.5']) {
      await expect(demoCommand(['--idp-port', value]), value).rejects.toThrow(UsageError);
    }
    await expect(demoCommand(['--as', 'overlord'])).rejects.toThrow(/--as: 'overlord' is not a role/);
  });

  it('documents the identity provider in --help', async () => {
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
    try {
      expect(await demoCommand(['--help'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(out).toContain('--idp-port <n>');
    expect(out).toContain('dev identity provider');
  });
});
