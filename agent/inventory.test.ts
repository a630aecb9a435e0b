import { readFileSync } from 'node:fs';
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { Inventory } from '../protocol/inventory';
import {
  collectInventory,
  type InventorySources,
  parseOsRelease,
  parseProcMounts,
  selectDiskMounts,
  stableInventoryHash,
} from './inventory';

const fixture = (name: string) => readFileSync(new URL(`./test-support/fixtures/${name}`, import.meta.url), 'utf8');

const GiB = 1024 ** 3;

function address(overrides: Partial<NetworkInterfaceInfo>): NetworkInterfaceInfo {
  return {
    address: '10.0.0.5',
    netmask: '255.255.255.0',
    family: 'IPv4',
    mac: '52:54:00:12:34:56',
    internal: false,
    cidr: '10.0.0.5/24',
    ...overrides,
  } as NetworkInterfaceInfo;
}

function linuxHost(overrides: Partial<InventorySources> = {}): InventorySources {
  const files: Record<string, string> = {
    '/etc/os-release': fixture('os-release-debian.txt'),
    '/proc/mounts': fixture('proc-mounts.txt'),
  };
  return {
    os: {
      hostname: () => 'clinic-frontdesk',
      platform: () => 'linux',
      release: () => '6.1.0-18-amd64',
      version: () => '#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)',
      arch: () => 'x64',
      cpus: () => Array.from({ length: 8 }, () => ({ model: ' Intel(R) Core(TM) i5 ', speed: 0, times: { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 } })),
      availableParallelism: () => 8,
      totalmem: () => 16 * GiB,
      freemem: () => 9 * GiB,
      uptime: () => 3600.7,
      networkInterfaces: () => ({
        lo: [address({ address: '127.0.0.1', internal: true })],
        eth0: [address({}), address({ address: 'fe80::5054:ff:fe12:3456', family: 'IPv6' })],
      }),
    },
    readTextFile: async (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return text;
    },
    statfs: async () => ({ bsize: 4096, blocks: (100 * GiB) / 4096, bavail: (40 * GiB) / 4096 }),
    systemDrive: undefined,
    ...overrides,
  };
}

describe('os-release parsing', () => {
  it('reads quoted, single-quoted and bare values and skips comments', () => {
    const fields = parseOsRelease(fixture('os-release-debian.txt'));
    expect(fields.PRETTY_NAME).toBe('Debian GNU/Linux 12 (bookworm)');
    expect(fields.VERSION_ID).toBe('12');
    expect(fields.VERSION_CODENAME).toBe('bookworm');
    expect(fields.BUG_REPORT_URL).toBe('https://bugs.debian.org/');
    expect(fields.QUOTED).toBe('say "hi" \\ $HOME');
    expect(Object.keys(fields)).not.toContain('#');
  });
});

describe('/proc/mounts parsing', () => {
  it('reads device, mount point and type, decoding octal escapes', () => {
    const entries = parseProcMounts(fixture('proc-mounts.txt'));
    expect(entries).toHaveLength(17);
    expect(entries).toContainEqual({ device: '/dev/sda1', mount: '/mnt/Patient Scans', fstype: 'ext4' });
  });

  it('keeps the real disks once each, without pseudo, snap, network or foreign overlay mounts', () => {
    const mounts = selectDiskMounts(parseProcMounts(fixture('proc-mounts.txt')));
    expect(mounts.map((entry) => `${entry.mount} ${entry.fstype}`)).toEqual([
      '/ ext4',
      '/boot/efi vfat',
      '/home zfs',
      '/mnt/Patient Scans ext4',
    ]);
  });

  it("keeps a container's overlay root", () => {
    const mounts = selectDiskMounts(parseProcMounts('overlay / overlay rw 0 0\nproc /proc proc rw 0 0\n'));
    expect(mounts).toEqual([{ device: 'overlay', mount: '/', fstype: 'overlay' }]);
  });
});

describe('collecting the inventory', () => {
  it('describes a Linux host and matches the wire schema', async () => {
    const inventory = await collectInventory(linuxHost());
    expect(Inventory.safeParse(inventory).success).toBe(true);
    expect(inventory).toMatchObject({
      hostname: 'clinic-frontdesk',
      os: { platform: 'linux', name: 'Debian GNU/Linux 12 (bookworm)', release: '12', arch: 'x64' },
      kernel: '6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)',
      cpu: { model: 'Intel(R) Core(TM) i5', cores: 8 },
      memory: { totalBytes: 16 * GiB, freeBytes: 9 * GiB },
      uptimeSeconds: 3600,
    });
    expect(inventory.disks).toContainEqual({ mount: '/', filesystem: 'ext4', totalBytes: 100 * GiB, freeBytes: 40 * GiB });
    expect(inventory.ips).toEqual([
      { iface: 'eth0', address: '10.0.0.5', family: 'IPv4', mac: '52:54:00:12:34:56' },
      { iface: 'eth0', address: 'fe80::5054:ff:fe12:3456', family: 'IPv6', mac: '52:54:00:12:34:56' },
    ]);
  });

  it('falls back to "Linux" and the kernel release without os-release', async () => {
    const inventory = await collectInventory(linuxHost({ readTextFile: async () => Promise.reject(new Error('ENOENT')) }));
    expect(inventory.os).toMatchObject({ name: 'Linux', release: '6.1.0-18-amd64' });
    expect(inventory.disks).toEqual([]);
  });

  it('skips a disk whose statfs fails instead of failing the report', async () => {
    const host = linuxHost();
    const inventory = await collectInventory({
      ...host,
      statfs: async (path) => (path === '/home' ? Promise.reject(new Error('EACCES')) : host.statfs(path)),
    });
    expect(inventory.disks.map((disk) => disk.mount)).toEqual(['/', '/boot/efi', '/mnt/Patient Scans']);
  });

  it('reports the system drive on Windows', async () => {
    const host = linuxHost();
    const inventory = await collectInventory({
      ...host,
      os: { ...host.os, platform: () => 'win32', version: () => 'Windows 11 Pro', release: () => '10.0.22631' },
      systemDrive: 'D:',
    });
    expect(inventory.os).toMatchObject({ name: 'Windows 11 Pro', release: '10.0.22631' });
    expect(inventory.disks.map((disk) => disk.mount)).toEqual(['D:\\']);
  });

  it('trims oversized lists and strings to what the schema allows', async () => {
    const host = linuxHost();
    const many = Array.from({ length: 600 }, (_, i) => address({ address: `10.0.${i >> 8}.${i & 255}` }));
    const inventory = await collectInventory({
      ...host,
      os: { ...host.os, hostname: () => 'h'.repeat(400), networkInterfaces: () => ({ eth0: many }) },
    });
    expect(inventory.ips).toHaveLength(512);
    expect(inventory.hostname).toHaveLength(255);
  });

  it("describes the build machine's own host within the schema", async () => {
    expect(Inventory.safeParse(await collectInventory()).success).toBe(true);
  });
});

describe('inventory change detection', () => {
  it('ignores free memory, free disk and uptime but notices a new disk or address', async () => {
    const before = await collectInventory(linuxHost());
    const noisy = {
      ...before,
      memory: { ...before.memory, freeBytes: 1 },
      uptimeSeconds: before.uptimeSeconds + 60,
      disks: before.disks.map((disk) => ({ ...disk, freeBytes: 0 })),
    };
    expect(stableInventoryHash(noisy)).toBe(stableInventoryHash(before));
    const newDisk = { ...before, disks: [...before.disks, { mount: '/data', filesystem: 'xfs', totalBytes: 1, freeBytes: 1 }] };
    expect(stableInventoryHash(newDisk)).not.toBe(stableInventoryHash(before));
    const newIp = { ...before, ips: [{ iface: 'wlan0', address: '192.168.1.9', family: 'IPv4' as const, mac: '' }] };
    expect(stableInventoryHash(newIp)).not.toBe(stableInventoryHash(before));
  });
});
