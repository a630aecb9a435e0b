import { describe, expect, it } from 'vitest';
import { jobParametersSchema, ScriptParameters, type ScriptContent } from '../../protocol/scripts';
import { scriptContentSha256 } from './hash';

/* A version's hash covers everything that changes what runs, and nothing else; parameter schemas check job values. */

const content: ScriptContent = {
  language: 'bash',
  body: 'echo "$GREETING"',
  parameters: [{ name: 'GREETING', type: 'string', required: true, maxLength: 20 }],
  timeoutSeconds: 30,
};

describe('script version hash', () => {
  it('is lowercase hex SHA-256 and the same for the same content, whatever the key order', () => {
    const hash = scriptContentSha256(content);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    const reordered: ScriptContent = { timeoutSeconds: 30, parameters: [{ maxLength: 20, required: true, type: 'string', name: 'GREETING' }], body: content.body, language: 'bash' };
    expect(scriptContentSha256(reordered)).toBe(hash);
  });

  it('changes with the language, the body, a parameter or the timeout', () => {
    const hash = scriptContentSha256(content);
    const variants: ScriptContent[] = [
      { ...content, language: 'python' },
      { ...content, body: `${content.body}\n` },
      { ...content, parameters: [{ name: 'GREETING', type: 'string', required: false, maxLength: 20 }] },
      { ...content, parameters: [] },
      { ...content, timeoutSeconds: 31 },
    ];
    for (const variant of variants) expect(scriptContentSha256(variant)).not.toBe(hash);
  });
});

describe('parameter schemas', () => {
  it('refuse duplicate names, bad identifiers and maxLength on a non-string', () => {
    expect(ScriptParameters.safeParse([{ name: 'A', type: 'string', required: true }, { name: 'A', type: 'number', required: false }]).success).toBe(false);
    expect(ScriptParameters.safeParse([{ name: '1x', type: 'string', required: true }]).success).toBe(false);
    expect(ScriptParameters.safeParse([{ name: 'N', type: 'number', required: true, maxLength: 3 }]).success).toBe(false);
    expect(ScriptParameters.safeParse(content.parameters).success).toBe(true);
  });

  it('check a job’s values: declared names only, typed, required present, strings within maxLength', () => {
    const schema = jobParametersSchema([...content.parameters, { name: 'COUNT', type: 'number', required: false }, { name: 'FORCE', type: 'boolean', required: false }]);
    expect(schema.safeParse({ GREETING: 'hi', COUNT: 2, FORCE: true }).success).toBe(true);
    expect(schema.safeParse({ GREETING: 'hi' }).success).toBe(true);
    expect(schema.safeParse({}).success).toBe(false);
    expect(schema.safeParse({ GREETING: 'x'.repeat(21) }).success).toBe(false);
    expect(schema.safeParse({ GREETING: 'hi', COUNT: '2' }).success).toBe(false);
    expect(schema.safeParse({ GREETING: 'hi', EXTRA: 'no' }).success).toBe(false);
  });
});
