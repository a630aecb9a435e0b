/*
 * The identity provider's page for an interactive sign-in. The SignInService hands its URL to
 * `open`; the auth controller learns it (AuthState.signInUrl, so the browser host's page can open
 * it in a new tab) and, in Electron, the system browser is opened too (`external`).
 */

export interface SignInPages {
  /** The SignInService's `openBrowser`. */
  open(url: string): Promise<void>;
  /** Every URL opened from now on; returns the function that stops listening. */
  on(listener: (url: string) => void): () => void;
}

export function createSignInPages(external?: (url: string) => Promise<void>): SignInPages {
  const listeners = new Set<(url: string) => void>();
  return {
    async open(url) {
      for (const listener of listeners) listener(url);
      if (external) await external(url);
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
