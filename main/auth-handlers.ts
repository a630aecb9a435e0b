import type { IpcHandlerMap } from '../protocol/ipc-contract';
import type { AuthController } from './auth-controller';

/* Handlers for the console's own sign-in state: all of it lives in the auth controller. */

export type AuthChannel = 'auth.state' | 'auth.signIn' | 'auth.signOut' | 'auth.activity';

export function createAuthHandlers(auth: AuthController): Pick<IpcHandlerMap, AuthChannel> {
  return {
    'auth.state': async () => auth.state(),
    'auth.signIn': () => auth.signIn(),
    'auth.signOut': () => auth.signOut(),
    'auth.activity': () => auth.activity(),
  };
}
