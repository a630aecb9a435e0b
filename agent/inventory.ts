import { createHash } from 'node:crypto';
import { readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import { Inventory } from '../protocol/inventory';

/*
 * What the agent reports about its host. Everything the collector reads comes through
 * `InventorySources` so tests feed fixtures instead of the build machine's own files.
 */

export interface FilesystemStats {
  bsize: number;
  blocks: number;
  bavail: number;
}

export interface InventorySources {
  os: Pick<
    typeof os,
    'hostname' | 'platform' | 'release' | 'version' | 'arch' | 'cpus' | 'availableParallelism'
    | 'totalmem' | 'freemem' | 'uptime' | 'networkInterfaces'
  >;
  readTextFile(path: string): Promise<string>;
  statfs(path: string): Promise<FilesystemStats>;
  /** Windows system drive, e.g. `C:`. */
  systemDrive: string | undefined;
}

export const hostInventorySources: InventorySources = {
  os,
  readTextFile: (path) => readFile(path, 'utf8'),
  statfs: (path) => statfs(path),
  systemDrive: process.env.SystemDrive,
};

/** A hung mount (a dead NFS server, a stuck FUSE daemon) must not stall the whole report. */
const STATFS_TIMEOUT_MS = 2_000;

export async function collectInventory(sources: InventorySources = hostInventorySources): Promise<Inventory> {
  const { os: host } = sources;
  const platform = host.platform();
  const release = platform === 'linux' ? await readOsRelease(sources) : {};
  const cpus = host.cpus();
  const inventory = {
    hostname: clip(host.hostname(), 255) || 'unknown',
    os: {
      platform: clip(platform, 64),
      name: clip(osName(platform, release, host.version()), 256),
      release: clip(release.VERSION_ID ?? host.release(), 256),
      arch: clip(host.arch(), 32),
    },
    kernel: clip(`${host.release()} ${host.version()}`.trim(), 256),
    cpu: {
      model: clip(cpus[0]?.model.trim() || 'unknown', 256),
      // Some containers hide /proc/cpuinfo, leaving cpus() empty.
      cores: Math.max(1, cpus.length || host.availableParallelism()),
    },
    memory: { totalBytes: host.totalmem(), freeBytes: host.freemem() },
    disks: (await collectDisks(sources, platform)).slice(0, 256),
    uptimeSeconds: Math.max(0, Math.floor(host.uptime())),
    ips: collectAddresses(host.networkInterfaces()).slice(0, 512),
  };
  // Validate here so a collector bug is reported at its source, not as a server-side rejection.
  return Inventory.parse(inventory);
}

function osName(platform: string, release: Record<string, string>, version: string): string {
  if (platform === 'linux') return release.PRETTY_NAME ?? release.NAME ?? 'Linux';
  if (platform === 'darwin') return 'macOS';
  // On Windows os.version() is the edition, e.g. "Windows 11 Pro".
  if (platform === 'win32') return version || 'Windows';
  return platform;
}

async function readOsRelease(sources: InventorySources): Promise<Record<string, string>> {
  for (const path of ['/etc/os-release', '/usr/lib/os-release']) {
    try {
      return parseOsRelease(await sources.readTextFile(path));
    } catch {
      // Try the next documented location; a host without either still reports "Linux".
    }
  }
  return {};
}

/** Parses os-release(5): KEY=value lines, values optionally quoted with shell-style escapes. */
export function parseOsRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!match?.[1] || match[2] === undefined) continue;
    fields[match[1]] = unquote(match[2]);
  }
  return fields;
}

function unquote(value: string): string {
  const quote = value[0];
  if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
    const inner = value.slice(1, -1);
    return quote === '"' ? inner.replace(/\\(["\\$`])/g, '$1') : inner;
  }
  return value;
}

export interface MountEntry {
  device: string;
  mount: string;
  fstype: string;
}

/** Parses /proc/mounts (fstab format, with octal escapes such as `\040` for a space). */
export function parseProcMounts(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const [device, mount, fstype] = line.trim().split(/\s+/);
    if (!device || !mount || !fstype) continue;
    entries.push({ device: unescapeMount(device), mount: unescapeMount(mount), fstype });
  }
  return entries;
}

function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/*
 * Kernel and memory-backed filesystems, snap images (squashfs, always 100% full) and network
 * filesystems (another machine's disk, and a dead server would hang statfs) are not the host's
 * storage.
 */
const NOT_HOST_STORAGE: ReadonlySet<string> = new Set([
  'proc', 'sysfs', 'tmpfs', 'devtmpfs', 'devpts', 'ramfs', 'rootfs', 'cgroup', 'cgroup2',
  'securityfs', 'pstore', 'bpf', 'debugfs', 'tracefs', 'configfs', 'fusectl', 'mqueue',
  'hugetlbfs', 'autofs', 'binfmt_misc', 'rpc_pipefs', 'nsfs', 'efivarfs', 'selinuxfs', 'nfsd',
  'squashfs', 'iso9660', 'nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'ceph', 'glusterfs', '9p',
  'fuse.sshfs', 'fuse.gvfsd-fuse', 'fuse.portal', 'fuse.lxcfs', 'fuse.snapfuse',
]);

/**
 * Keeps the mounts that are the host's own storage, one per device (bind mounts, btrfs
 * subvolumes and container file mounts would otherwise repeat the same disk). An overlay is kept
 * only as `/`: that is a container's root; elsewhere it is another container's view of a disk.
 */
export function selectDiskMounts(entries: readonly MountEntry[]): MountEntry[] {
  const byDevice = new Map<string, MountEntry>();
  for (const entry of entries) {
    if (NOT_HOST_STORAGE.has(entry.fstype)) continue;
    if (entry.fstype === 'overlay' && entry.mount !== '/') continue;
    const seen = byDevice.get(entry.device);
    if (!seen || entry.mount.length < seen.mount.length) byDevice.set(entry.device, entry);
  }
  return [...byDevice.values()].sort((a, b) => a.mount.localeCompare(b.mount));
}

async function collectDisks(sources: InventorySources, platform: string): Promise<Inventory['disks']> {
  const mounts = await diskMounts(sources, platform);
  const disks = await Promise.all(
    mounts.map(async (entry) => {
      const stats = await withTimeout(sources.statfs(entry.mount), STATFS_TIMEOUT_MS).catch(() => null);
      if (!stats) return null; // Unreadable (permissions, hung): report the disks we can see.
      return {
        mount: clip(entry.mount, 4096),
        filesystem: clip(entry.fstype, 256),
        totalBytes: stats.blocks * stats.bsize,
        freeBytes: stats.bavail * stats.bsize,
      };
    }),
  );
  return disks.filter((disk) => disk !== null);
}

/** Linux lists its mounts; elsewhere Node cannot enumerate volumes, so report the system volume. */
async function diskMounts(sources: InventorySources, platform: string): Promise<MountEntry[]> {
  if (platform === 'linux') {
    const text = await sources.readTextFile('/proc/mounts').catch(() => '');
    return selectDiskMounts(parseProcMounts(text));
  }
  if (platform === 'win32') {
    const drive = sources.systemDrive ?? 'C:';
    return [{ device: drive, mount: `${drive}\\`, fstype: 'unknown' }];
  }
  return [{ device: '/', mount: '/', fstype: 'unknown' }];
}

function collectAddresses(interfaces: ReturnType<typeof os.networkInterfaces>): Inventory['ips'] {
  const ips: Inventory['ips'] = [];
  for (const [iface, addresses] of Object.entries(interfaces)) {
    for (const address of addresses ?? []) {
      if (address.internal) continue;
      // Node 18.0-18.3 reported the family as a number.
      const family: unknown = address.family;
      ips.push({
        iface: clip(iface, 256),
        address: clip(address.address, 64),
        family: family === 'IPv6' || family === 6 ? 'IPv6' : 'IPv4',
        mac: clip(address.mac, 32),
      });
    }
  }
  return ips.sort((a, b) => a.iface.localeCompare(b.iface) || a.address.localeCompare(b.address));
}

/**
 * Hash of the parts of the inventory that identify the machine's configuration. Free memory,
 * free disk space and uptime change every second and would make every check a "change".
 */
export function stableInventoryHash(inventory: Inventory): string {
  const stable = {
    hostname: inventory.hostname,
    os: inventory.os,
    kernel: inventory.kernel,
    cpu: inventory.cpu,
    memoryTotalBytes: inventory.memory.totalBytes,
    disks: inventory.disks.map(({ mount, filesystem, totalBytes }) => ({ mount, filesystem, totalBytes })),
    ips: inventory.ips,
  };
  return createHash('sha256').update(JSON.stringify(stable)).digest('hex');
}

function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
