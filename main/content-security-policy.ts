/*
 * The console's Content-Security-Policy, identical in Electron (response header and the meta tag
 * in renderer/index.html) and in the browser host. The renderer talks to nothing but its own
 * origin: all server traffic goes through main over IPC.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');
