import { pino, type Logger } from 'pino';
import { z } from 'zod';

export const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
export type LogLevel = z.infer<typeof LogLevel>;

/**
 * JSON lines on stderr (stdout stays free for command output). The redaction is a safety net:
 * the agent never passes its token to the logger in the first place.
 */
export function createAgentLogger(level: LogLevel): Logger {
  return pino(
    { name: 'rmm-agent', level, redact: { paths: ['token', '*.token'], censor: '[redacted]' } },
    pino.destination({ dest: 2, sync: true }),
  );
}
