import { z } from 'zod';

const bytes = z.number().int().nonnegative();

export const DiskInfo = z.object({
  mount: z.string().max(4096),
  filesystem: z.string().max(256),
  totalBytes: bytes,
  freeBytes: bytes,
});

export const NetworkAddress = z.object({
  iface: z.string().max(256),
  address: z.string().max(64),
  family: z.enum(['IPv4', 'IPv6']),
  mac: z.string().max(32),
});

/** What an agent reports about its host. Sent after the handshake and whenever it changes. */
export const Inventory = z.object({
  hostname: z.string().min(1).max(255),
  os: z.object({
    platform: z.string().max(64),
    /** Human-readable distribution/edition, e.g. "Debian GNU/Linux 12 (bookworm)". */
    name: z.string().max(256),
    release: z.string().max(256),
    arch: z.string().max(32),
  }),
  kernel: z.string().max(256),
  cpu: z.object({ model: z.string().max(256), cores: z.number().int().positive() }),
  memory: z.object({ totalBytes: bytes, freeBytes: bytes }),
  disks: z.array(DiskInfo).max(256),
  uptimeSeconds: z.number().nonnegative(),
  ips: z.array(NetworkAddress).max(512),
});
export type Inventory = z.infer<typeof Inventory>;
