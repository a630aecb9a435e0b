import path from 'node:path';
import { parseCommandArgs, UsageError } from '../../server/cli/args';
import { startDevIdp, type DevIdp } from './dev-idp';
import { API_SCOPE_NAME, apiAudience } from './tenant-provider';

export const idpHelp = `Usage: rmm idp [options]

Runs the development identity provider: an OpenID Connect provider shaped like Azure AD (Entra ID)
v2, one issuer per demo tenant at https://127.0.0.1:<port>/<tenantId>/v2.0 and the multi-tenant
authority https://127.0.0.1:<port>/organizations/v2.0 for the users of every tenant, over HTTPS
with a generated self-signed certificate, on loopback only. Its login page lists the demo users:
no password is asked. For development and tests only; see docs/identity.md.

Options:
  --port <port>      port to listen on (default 8444; 0 picks a free one)
  --data-dir <dir>   keeps the signing keys and the certificate (default <RMM_DATA_DIR or ./.rmm-data>/idp)
  -h, --help         show this help
`;

export function describeIdp(idp: DevIdp): string {
  const width = Math.max(...idp.tenants.map((t) => t.name.length), 'any tenant'.length);
  const lines = [
    'dev identity provider (development only: users sign in without a password)',
    `  ${'any tenant'.padEnd(width)}  ${idp.organizationsAuthority}  (authority for the console: every tenant's users)`,
    ...idp.tenants.map((t) => `  ${t.name.padEnd(width)}  ${idp.issuer(t.id)}`),
    `  client id   ${idp.clientId}`,
    `  API scope   ${apiAudience(idp.apiClientId)}/${API_SCOPE_NAME}`,
    `  CA file     ${idp.caCertFile}  (trust it, e.g. NODE_EXTRA_CA_CERTS=${idp.caCertFile})`,
  ];
  return `${lines.join('\n')}\n`;
}

export async function idpCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { port: { type: 'string' }, 'data-dir': { type: 'string' } });
  if (values.help) {
    process.stdout.write(idpHelp);
    return 0;
  }
  const port = values.port === undefined ? 8444 : Number(values.port);
  if (!/^\d{1,5}$/.test(values.port ?? '8444') || port > 65535) throw new UsageError(`--port must be a port number, got '${values.port ?? ''}'`);
  const dataDir = path.resolve(values['data-dir'] ?? path.join(process.env.RMM_DATA_DIR ?? './.rmm-data', 'idp'));

  const idp = await startDevIdp({ port, dataDir });
  process.stdout.write(describeIdp(idp));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await idp.close();
  return 0;
}
