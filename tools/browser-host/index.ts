import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import { WebSocketServer, WebSocket } from 'ws';
import { z } from 'zod';
import type { IpcHandlerMap } from '../../protocol/ipc-contract';
import { CONTENT_SECURITY_POLICY } from '../../main/content-security-policy';
import type { EventSource } from '../../main/handlers';
import { dispatchIpc } from '../../main/ipc-dispatch';

/*
 * Serves the built renderer on 127.0.0.1 and carries the IPC handler map over a local
 * WebSocket, so the real console runs in any browser without Electron. Access: a one-time
 * token in the printed URL is exchanged for an HttpOnly, SameSite=Strict session cookie;
 * every file and the /bridge upgrade need that cookie, the upgrade also our exact Origin, and
 * every request our exact Host (DNS rebinding). Only contract channels are reachable. Other
 * pages of the renderer (notice.html, opened as a popup when the session was revoked) are
 * served with the same headers and without the bridge.
 */

export interface BrowserHostOptions {
  handlers: IpcHandlerMap;
  events?: EventSource;
  /** The built renderer (dist/renderer). */
  rendererDir: string;
  /** 0 or absent: any free port. */
  port?: number;
}

export interface BrowserHost {
  /** Open this once: http://127.0.0.1:PORT/?token=... */
  url: string;
  origin: string;
  close(): Promise<void>;
}

const COOKIE = 'rmm_host_session';
const BRIDGE_PATH = '/bridge';
const BRIDGE_SCRIPT_PATH = '/bridge.js';
const MAX_FRAME_BYTES = 1024 * 1024;

const BridgeRequest = z
  .object({ id: z.number().int().nonnegative(), channel: z.string().max(128), request: z.unknown() })
  .strict();

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

export async function startBrowserHost(options: BrowserHostOptions): Promise<BrowserHost> {
  const root = path.resolve(options.rendererDir);
  const bridgeScript = await readFile(new URL('./bridge-client.js', import.meta.url), 'utf8');
  const token = randomBytes(32).toString('base64url');
  const sessionSecret = randomBytes(32).toString('base64url');
  let tokenUsed = false;

  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = `127.0.0.1:${port}`;
  const origin = `http://${host}`;

  const hasSession = (req: IncomingMessage): boolean => {
    const value = readCookie(req.headers.cookie, COOKIE);
    return value !== undefined && safeEqual(value, sessionSecret);
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void serve(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'internal error');
      else res.destroy();
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.headers.host !== host) return send(res, 421, 'wrong host');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
    const url = new URL(req.url ?? '/', origin);

    const offered = url.searchParams.get('token');
    if (offered !== null) {
      if (tokenUsed || !safeEqual(offered, token)) return send(res, 403, 'this link was already used or is invalid');
      tokenUsed = true;
      res.writeHead(303, {
        ...SECURITY_HEADERS,
        Location: '/',
        'Set-Cookie': `${COOKIE}=${sessionSecret}; HttpOnly; SameSite=Strict; Path=/`,
      });
      res.end();
      return;
    }
    if (!hasSession(req)) return send(res, 401, 'open the one-time link printed by the console host');

    if (url.pathname === BRIDGE_SCRIPT_PATH) return sendBody(res, req, 200, 'text/javascript; charset=utf-8', bridgeScript);
    const file = resolveStatic(root, url.pathname);
    if (!file) return send(res, 404, 'not found');
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return send(res, 404, 'not found');
    const ext = path.extname(file);
    const type = CONTENT_TYPES[ext] ?? 'application/octet-stream';
    // Only the console page gets the bridge; other pages (notice.html, the session-ended popup) get none.
    if (ext === '.html' && path.basename(file) === 'index.html') {
      return sendBody(res, req, 200, type, injectBridge(await readFile(file, 'utf8')));
    }
    return sendBody(res, req, 200, type, await readFile(file));
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = new URL(req.url ?? '/', origin).pathname;
    const refused =
      pathname !== BRIDGE_PATH
        ? '404 Not Found'
        : req.headers.host !== host || req.headers.origin !== origin || !hasSession(req)
          ? '403 Forbidden'
          : undefined;
    if (refused) {
      socket.end(`HTTP/1.1 ${refused}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => carryBridge(ws, options.handlers));
  });

  const unsubscribe = options.events?.subscribe((envelope) => {
    const frame = JSON.stringify(envelope);
    for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(frame);
  });

  return {
    url: `${origin}/?token=${token}`,
    origin,
    async close() {
      unsubscribe?.();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function carryBridge(ws: WebSocket, handlers: IpcHandlerMap): void {
  ws.on('message', (data, isBinary) => {
    const frame = isBinary ? undefined : BridgeRequest.safeParse(parseJson(data.toString()));
    if (!frame?.success) {
      ws.close(1008, 'invalid frame');
      return;
    }
    const { id, channel, request } = frame.data;
    void dispatchIpc(handlers, channel, request).then((result) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ id, result }));
    });
  });
}

/** The bridge must run before the renderer's module script; a classic script in <head> does. */
export function injectBridge(html: string): string {
  const tag = `<script src=".${BRIDGE_SCRIPT_PATH}"></script>`;
  return html.includes('</head>') ? html.replace('</head>', `  ${tag}\n  </head>`) : `${tag}\n${html}`;
}

/** Maps a URL path to a file under root, or undefined when it would leave root. */
export function resolveStatic(root: string, pathname: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const relative = decoded === '/' || decoded.endsWith('/') ? `${decoded}index.html` : decoded;
  const file = path.resolve(root, `.${path.posix.normalize(relative)}`);
  return file.startsWith(root + path.sep) ? file : undefined;
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(`${message}\n`);
}

function sendBody(res: ServerResponse, req: IncomingMessage, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}
