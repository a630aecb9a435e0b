import { IpcErrorCode, type IpcError } from '../protocol/ipc-contract';

/**
 * The one error type the console's main side throws. Its code is what crosses IPC; the
 * renderer and tests match on the code, never on the message.
 */
export class ConsoleError extends Error {
  readonly code: IpcErrorCode;

  constructor(code: IpcErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConsoleError';
    this.code = code;
  }
}

/** Turns anything thrown into the IPC error shape; unknown errors never leak their message. */
export function toIpcError(error: unknown): IpcError {
  if (error instanceof ConsoleError) return { code: error.code, message: error.message };
  return { code: 'internal', message: 'internal error in the console' };
}
