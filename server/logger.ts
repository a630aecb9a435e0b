import { pino, type Logger } from 'pino';

export type { Logger };

/** The one logger factory. JSON lines on stdout; secrets are redacted by key name wherever they appear. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'rmm-server' },
      redact: {
        paths: ['token', '*.token', 'authorization', '*.authorization', 'req.headers.authorization', 'credential', '*.credential'],
        censor: '[redacted]',
      },
    },
    destination ?? process.stdout,
  );
}
