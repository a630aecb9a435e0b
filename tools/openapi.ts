import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApiDocument } from '../server/http/openapi';
import { apiRoutes } from '../server/server';

/** The API description checked into docs/, generated from the same declarations the server mounts. */
export const openApiPath = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));

export function renderOpenApi(): string {
  return `${JSON.stringify(openApiDocument(apiRoutes, { title: 'RMM API', version: '0.1.0' }), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(openApiPath, renderOpenApi());
  process.stdout.write(`wrote ${openApiPath}\n`);
}
