import { readFile } from 'node:fs/promises';
import { ConsoleError } from './console-error';

/*
 * The one place the console gets the credential it presents to the server. Today: an API token
 * read from a file (the bootstrap operator's, or any user's, so a console can run as anyone).
 * Azure AD sign-in (MSAL, issue #4) replaces it with another CredentialSource; nothing else in
 * main/ knows where the Authorization header comes from.
 */

export interface CredentialSource {
  /** Value of the Authorization header for the next request, e.g. "Bearer abc". */
  authorizationHeader(): Promise<string>;
}

/** Reads the token on every call so that rotating the file needs no restart. */
export function apiTokenFile(path: string): CredentialSource {
  return {
    async authorizationHeader() {
      let token: string;
      try {
        token = (await readFile(path, 'utf8')).trim();
      } catch (error) {
        throw new ConsoleError('unauthenticated', 'cannot read the API token file', { cause: error });
      }
      if (!token || /\s/.test(token)) {
        throw new ConsoleError('unauthenticated', 'the API token file is empty or malformed');
      }
      return `Bearer ${token}`;
    },
  };
}

/** The bootstrap operator's token file (dataDir/operator-token): an API token file like any other. */
export const operatorTokenFile = apiTokenFile;

export function staticBearerToken(token: string): CredentialSource {
  return { authorizationHeader: async () => `Bearer ${token}` };
}
