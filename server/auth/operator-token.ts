import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/*
 * The bootstrap operator credential: a random token the server writes (mode 0600) to its data
 * folder on first start, like Teleport's initial admin join token. Whoever can read the data folder
 * is the operator: the first admin, before anyone has linked an Azure identity (`npm start -- --as operator`).
 */

const PREFIX = 'rmm_op_';

export function operatorTokenPath(dataDir: string): string {
  return path.join(dataDir, 'operator-token');
}

export function loadOrCreateOperatorToken(dataDir: string): string {
  const file = operatorTokenPath(dataDir);
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token.startsWith(PREFIX) && token.length >= PREFIX.length + 43) return token;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const token = PREFIX + randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}
