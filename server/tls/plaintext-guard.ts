import net from 'node:net';
import type { Server as HttpsServer } from 'node:https';

/** First byte of a TLS record carrying a handshake. */
const TLS_HANDSHAKE = 0x16;
const FIRST_BYTE_TIMEOUT_MS = 10_000;

const PLAINTEXT_BODY = JSON.stringify({ error: { code: 'tls_required', message: 'This port speaks HTTPS only; use https://' } });
const PLAINTEXT_REPLY = [
  'HTTP/1.1 400 Bad Request',
  'Content-Type: application/json',
  `Content-Length: ${Buffer.byteLength(PLAINTEXT_BODY)}`,
  'Connection: close',
  '',
  PLAINTEXT_BODY,
].join('\r\n');

/**
 * A TCP listener in front of the HTTPS server. TLS connections are handed over untouched; a
 * client speaking plain HTTP gets a clear 400 instead of a reset, and never reaches the app.
 */
export function createTlsOnlyListener(https: HttpsServer): net.Server {
  return net.createServer({ pauseOnConnect: true }, (socket) => {
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.once('readable', () => {
      const first: Buffer | null = socket.read(1);
      if (first === null) {
        socket.destroy();
        return;
      }
      socket.unshift(first);
      socket.setTimeout(0);
      if (first[0] === TLS_HANDSHAKE) {
        https.emit('connection', socket);
      } else {
        socket.end(PLAINTEXT_REPLY);
      }
    });
    socket.on('error', () => socket.destroy());
  });
}
