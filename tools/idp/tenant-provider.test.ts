import { describe, expect, it } from 'vitest';
import { isLoopbackRedirect, withEntraPrompt } from './tenant-provider';

describe('loopback redirect URIs of the public client', () => {
  it('accepts http loopback URIs on any port and path, as Entra does for native apps', () => {
    for (const uri of ['http://localhost', 'http://localhost:43123', 'http://localhost:43123/', 'http://127.0.0.1:5000/callback?x=1', 'http://[::1]:8080/cb']) {
      expect(isLoopbackRedirect(uri), uri).toBe(true);
    }
  });

  it('refuses everything else', () => {
    for (const uri of [
      'https://localhost:4000/cb',
      'http://127.0.0.2:4000/cb',
      'http://localhost.evil.example/cb',
      'http://127.0.0.1.nip.io/cb',
      'http://evil.example@127.0.0.1/cb',
      'http://localhost:4000@evil.example/cb',
      'http://localhost/cb#fragment',
      'com.example.app:/cb',
      'javascript:alert(1)',
      'not a url',
      '',
    ]) {
      expect(isLoopbackRedirect(uri), uri).toBe(false);
    }
  });
});

describe('authorization prompt as Entra treats offline_access', () => {
  it('adds prompt=consent to authorization requests, replacing login or select_account', () => {
    expect(new URLSearchParams(withEntraPrompt('/auth?client_id=c&scope=openid').split('?')[1]).get('prompt')).toBe('consent');
    expect(new URLSearchParams(withEntraPrompt('/auth?prompt=select_account&scope=x').split('?')[1]).get('prompt')).toBe('consent');
    expect(withEntraPrompt('/auth?prompt=none&scope=x')).toBe('/auth?prompt=none&scope=x');
  });

  it('leaves every other endpoint alone', () => {
    for (const p of ['/token', '/jwks', '/.well-known/openid-configuration', '/auth/abc?x=1', '/authx?a=b']) expect(withEntraPrompt(p)).toBe(p);
  });
});
