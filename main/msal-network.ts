import { request } from 'node:https';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';

/*
 * MSAL's network module over node:https trusting one CA bundle: how the console reaches the dev
 * identity provider (self-signed certificate) without NODE_EXTRA_CA_CERTS. Production against
 * login.microsoftonline.com uses MSAL's default client and the system trust store instead.
 */

const MAX_RESPONSE_BYTES = 1024 * 1024;
const TIMEOUT_MS = 15_000;

export function networkClientTrusting(ca: string): INetworkModule {
  const send = <T>(method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> =>
    new Promise((resolve, reject) => {
      if (!url.startsWith('https:')) {
        reject(new Error('MSAL network client: https only'));
        return;
      }
      const req = request(url, { method, headers: options?.headers, ca, minVersion: 'TLSv1.2', timeout: TIMEOUT_MS }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) req.destroy(new Error('MSAL network client: response too large'));
          else chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
          try {
            resolve({ status: res.statusCode ?? 0, headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error('MSAL network client: timed out')));
      req.on('error', reject);
      req.end(options?.body);
    });
  return {
    sendGetRequestAsync: (url, options) => send('GET', url, options),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
}
