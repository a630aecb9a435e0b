import { UsageError } from '../server/cli/args';

const help = `Usage: rmm <command> [options]

Commands:
  serve     run the server (HTTPS API and the agent/console WebSockets)
  agent     run the endpoint agent (outbound connection to a server)
  migrate   apply database migrations and exit
  user      add users, grant roles, issue API tokens (bootstrap, before Azure AD sign-in)
  audit     verify the audit log's hash chains, export it (JSON lines, CSV), purge by retention
  release   make the release signing key, sign agent builds (offline; docs/agent.md)
  demo      run everything locally: server, one agent, and the console (what npm start does)
  idp       run the development identity provider (Azure AD-shaped OpenID Connect, demo users)

Run 'rmm <command> --help' for a command's options.
`;

type Command = (argv: string[]) => Promise<number>;

// Loaded lazily so `rmm agent` on an endpoint never loads server code and vice versa.
const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('../server/cli/serve')).serveCommand,
  migrate: async () => (await import('../server/cli/migrate')).migrateCommand,
  user: async () => (await import('../server/cli/user')).userCommand,
  audit: async () => (await import('../server/cli/audit')).auditCommand,
  release: async () => (await import('../server/cli/release')).releaseCommand,
  agent: async () => (await import('../agent/cli')).agentCommand,
  demo: async () => (await import('../tools/demo/demo')).demoCommand,
  idp: async () => (await import('../tools/idp/cli')).idpCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(help);
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`rmm: unknown command '${name}'\n\n${help}`);
    return 2;
  }
  try {
    return await (await load())(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`rmm ${name}: ${err.message}\nRun 'rmm ${name} --help' for usage.\n`);
      return 2;
    }
    process.stderr.write(`rmm ${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}
