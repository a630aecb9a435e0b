import type { AuthState } from '../protocol/ipc-contract';
import { api } from './api';
import { clearConsoleData } from './console-reset';
import { encodeSessionEnded } from './session-ended';
import { sessionKey, useAuthStore } from './stores/auth-store';
import { useConnectionStore } from './stores/connection-store';

/*
 * The sign-in side of the page, wired before anything else: reads `auth.state` and follows its
 * events; forgets all console data whenever the session changes or ends. In the browser host
 * (no system browser, no native window) the page itself opens the identity provider's sign-in
 * page in a new tab and, when an admin revokes the session, the notice popup. In Electron main
 * does both, and window.open is denied there anyway.
 */

const NOTICE_FEATURES = 'popup,width=460,height=320,noopener,noreferrer';

/** URLs and notices already opened, so a repeated event opens nothing twice. */
const opened = new Set<string>();

function inBrowserHost(): boolean {
  return useConnectionStore.getState().appInfo?.host === 'browser-host';
}

function openOnce(key: string, url: string, target: string, features: string): void {
  if (opened.has(key)) return;
  opened.add(key);
  window.open(url, target, features);
}

/** What the browser host's page does itself for a new state (Electron's main does it there). */
function followInBrowserHost(auth: AuthState): void {
  if (!inBrowserHost()) return;
  if (auth.state === 'signing-in' && auth.signInUrl && /^https:\/\//.test(auth.signInUrl)) {
    openOnce(`sign-in ${auth.signInUrl}`, auth.signInUrl, '_blank', 'noopener,noreferrer');
  }
  if (auth.state === 'locked' && auth.ended?.kind === 'revoked') {
    const ended = encodeSessionEnded(auth.ended);
    openOnce(`notice ${ended}`, `./notice.html?ended=${ended}`, '_blank', NOTICE_FEATURES);
  }
}

/** Loads the sign-in state and follows it; returns the function that unwires it. */
export function startAuthSession(): () => void {
  const unsubscribers = [
    api.on('auth.state', (auth) => {
      useAuthStore.getState().apply(auth);
      followInBrowserHost(auth);
    }),
    useAuthStore.subscribe((next, previous) => {
      if (sessionKey(next.auth) !== sessionKey(previous.auth)) clearConsoleData();
    }),
  ];
  void api.appInfo().then((info) => useConnectionStore.getState().setAppInfo(info), () => undefined);
  void useAuthStore.getState().load();
  return () => {
    for (const unsubscribe of unsubscribers) unsubscribe();
  };
}
