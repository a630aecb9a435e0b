// A throwaway PostgreSQL cluster for tests and benchmarks: a fresh data folder in a temp dir,
// 127.0.0.1 on a free port, a password-authenticated superuser, durability switched off for
// speed, and removed again on stop(), on process exit, or by a watchdog if the process is killed.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { appendFile, chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export interface ThrowawayCluster {
  /** postgres://rmm_owner:<password>@127.0.0.1:<port>/postgres */
  url: string;
  /** Milliseconds spent in initdb + start. */
  startMs: number;
  stop(): Promise<void>;
}

export interface ThrowawayClusterOptions {
  /** Extra `name = value` lines for postgresql.conf. */
  settings?: Record<string, string | number>;
}

const OWNER = "rmm_owner";
const SYSTEM_USER = "postgres";

/** Why no cluster can be started here, or undefined when one can. */
export function postgresUnavailableReason(): string | undefined {
  if (findPostgresBinDir() === undefined) {
    return "PostgreSQL server binaries not found (install Debian's `postgresql` package or set RMM_PG_BIN)";
  }
  if (isRoot() && systemUser() === undefined) {
    return `running as root but the '${SYSTEM_USER}' system user does not exist (initdb refuses root)`;
  }
  return undefined;
}

/** The directory holding initdb/pg_ctl: $RMM_PG_BIN, the newest /usr/lib/postgresql/<v>/bin, or PATH. */
export function findPostgresBinDir(): string | undefined {
  const fromEnv = process.env.RMM_PG_BIN;
  if (fromEnv !== undefined && fromEnv !== "") {
    return existsSync(join(fromEnv, "initdb")) ? fromEnv : undefined;
  }
  const debianRoot = "/usr/lib/postgresql";
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot)
      .filter((name) => /^\d+(\.\d+)?$/.test(name))
      .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
    for (const version of versions) {
      const bin = join(debianRoot, version, "bin");
      if (existsSync(join(bin, "initdb")) && existsSync(join(bin, "pg_ctl"))) return bin;
    }
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir !== "" && existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl"))) return dir;
  }
  return undefined;
}

export async function startThrowawayCluster(options: ThrowawayClusterOptions = {}): Promise<ThrowawayCluster> {
  const unavailable = postgresUnavailableReason();
  const binDir = findPostgresBinDir();
  if (unavailable !== undefined || binDir === undefined) {
    throw new Error(`cannot start a throwaway PostgreSQL cluster: ${unavailable ?? "no binaries"}`);
  }
  const started = performance.now();
  const owner = isRoot() ? systemUser() : undefined;
  const root = await mkdtemp(join(tmpdir(), "rmm-pg-"));
  const dataDir = join(root, "data");
  const logFile = join(root, "postgres.log");
  const password = randomBytes(18).toString("base64url");
  const pgCtl = join(binDir, "pg_ctl");

  let stopped = false;
  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    const [file, argv] = asOwner(owner, pgCtl, ["stop", "-D", dataDir, "-m", "immediate"]);
    spawnSync(file, argv, { stdio: "ignore", cwd: root });
    spawnSync("rm", ["-rf", root], { stdio: "ignore" });
  };
  process.once("exit", stopSync);
  const watchdog = startWatchdog(asOwner(owner, pgCtl, ["stop", "-D", dataDir, "-m", "immediate"]), root);

  try {
    if (owner !== undefined) await chown(root, owner.uid, owner.gid);
    const pwFile = join(root, "pwfile");
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    if (owner !== undefined) await chown(pwFile, owner.uid, owner.gid);

    await run(owner, join(binDir, "initdb"), [
      "-D", dataDir,
      `--username=${OWNER}`,
      `--pwfile=${pwFile}`,
      "--auth-host=scram-sha-256",
      "--auth-local=scram-sha-256",
      "--encoding=UTF8",
      "--no-locale",
      "--no-sync",
    ], root);
    await rm(pwFile, { force: true });

    const settings: Record<string, string | number> = {
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: `'${root}'`,
      fsync: "off",
      synchronous_commit: "off",
      full_page_writes: "off",
      max_connections: 200,
      ...options.settings,
    };
    // Retry on a port lost to a race between probing it and the postmaster binding it.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const lines = Object.entries({ ...settings, port }).map(([key, value]) => `${key} = ${value}`);
      await appendFile(join(dataDir, "postgresql.conf"), `\n# throwaway test cluster\n${lines.join("\n")}\n`);
      try {
        await run(owner, pgCtl, ["start", "-D", dataDir, "-l", logFile, "-w", "-t", "60", "-s"], root);
      } catch (error) {
        if (attempt < 3) continue;
        throw new Error(`${String(error)}\n--- postgres.log ---\n${readLog(logFile)}`);
      }
      const url = `postgres://${OWNER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
      return {
        url,
        startMs: Math.round(performance.now() - started),
        async stop() {
          if (stopped) return;
          process.removeListener("exit", stopSync);
          watchdog.kill();
          try {
            await run(owner, pgCtl, ["stop", "-D", dataDir, "-m", "immediate", "-s"], root);
          } finally {
            stopped = true;
            await rm(root, { recursive: true, force: true });
          }
        },
      };
    }
  } catch (error) {
    process.removeListener("exit", stopSync);
    watchdog.kill();
    stopSync();
    throw error;
  }
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

function systemUser(): { uid: number; gid: number } | undefined {
  let passwd: string;
  try {
    passwd = readFileSync("/etc/passwd", "utf8");
  } catch {
    return undefined;
  }
  for (const line of passwd.split("\n")) {
    const [name, , uid, gid] = line.split(":");
    if (name === SYSTEM_USER && uid !== undefined && gid !== undefined) {
      return { uid: Number(uid), gid: Number(gid) };
    }
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("could not find a free port"))));
    });
  });
}

/** initdb and pg_ctl refuse to run as root: run them as the postgres system user instead. */
function asOwner(owner: { uid: number } | undefined, command: string, args: string[]): [string, string[]] {
  return owner === undefined ? [command, args] : ["runuser", ["-u", SYSTEM_USER, "--", command, ...args]];
}

/** Runs a PostgreSQL tool and rejects with its output when it fails. */
async function run(owner: { uid: number } | undefined, command: string, args: string[], cwd: string): Promise<void> {
  const [file, argv] = asOwner(owner, command, args);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(file, argv, { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(" ")} exited with ${String(code)}\n${output}`));
    });
  });
}

/** A detached shell that stops the cluster if this process dies without running its exit hooks (SIGKILL). */
function startWatchdog([file, argv]: [string, string[]], root: string): { kill(): void } {
  // Positional parameters keep paths out of the script text: $1 is the root to remove, the rest the stop command.
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done; ` +
    `root="$1"; shift; "$@" >/dev/null 2>&1; rm -rf "$root"`;
  const child = spawn("sh", ["-c", script, "watchdog", root, file, ...argv], { detached: true, stdio: "ignore" });
  child.unref();
  return {
    kill() {
      if (child.pid !== undefined && child.exitCode === null) {
        try {
          process.kill(child.pid);
        } catch {
          // already gone
        }
      }
    },
  };
}

function readLog(logFile: string): string {
  try {
    return readFileSync(logFile, "utf8").slice(-4000);
  } catch {
    return "(no log)";
  }
}
