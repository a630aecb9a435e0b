import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openApiPath, renderOpenApi } from './openapi';

describe('docs/openapi.json', () => {
  it('matches the routes the server mounts (run `npm run docs:openapi` after changing an API)', () => {
    expect(readFileSync(openApiPath, 'utf8')).toBe(renderOpenApi());
  });
});
