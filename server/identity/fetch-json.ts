import https from 'node:https';

/** GET a small JSON document over HTTPS; the identity provider's discovery document and keys. */
export type FetchJson = (url: string) => Promise<unknown>;

const MAX_BYTES = 256 * 1024;
const TIMEOUT_MS = 5000;

/**
 * HTTPS only, size-capped, with a timeout, so a slow or hostile endpoint cannot hold sign-in.
 * `ca`: extra trusted certificates (the dev provider's self-signed CA); Node's store otherwise.
 */
export function createFetchJson(options: { ca?: string | undefined } = {}): FetchJson {
  return (url) =>
    new Promise((resolve, reject) => {
      const parsed = new URL(url);
      if (parsed.protocol !== 'https:') {
        reject(new Error(`refusing to fetch ${url}: not https`));
        return;
      }
      const req = https.get(parsed, { ...(options.ca ? { ca: options.ca } : {}), timeout: TIMEOUT_MS, headers: { accept: 'application/json' } }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`GET ${url}: HTTP ${res.statusCode ?? 0}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BYTES) {
            req.destroy(new Error(`GET ${url}: larger than ${MAX_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
          } catch {
            reject(new Error(`GET ${url}: not JSON`));
          }
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out after ${TIMEOUT_MS} ms`)));
      req.on('error', reject);
    });
}
