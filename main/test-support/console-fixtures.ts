import type { AgentDetail, AgentSummary, Org, Unit } from '../../protocol/api';
import type { Inventory } from '../../protocol/inventory';

/* Sample data shaped like the server's answers, shared by the console's tests. */

export const ORG_ID = '0b6f1c1e-5d57-4c4e-9f57-0f3f3b1d2a01';
export const OTHER_ORG_ID = '0b6f1c1e-5d57-4c4e-9f57-0f3f3b1d2a02';
export const ROOT_UNIT_ID = '1c2d3e4f-0000-4000-8000-000000000001';
export const CLINIC_UNIT_ID = '1c2d3e4f-0000-4000-8000-000000000002';
export const FRONT_DESK_UNIT_ID = '1c2d3e4f-0000-4000-8000-000000000003';
export const AGENT_A_ID = '2a2a2a2a-0000-4000-8000-00000000000a';
export const AGENT_B_ID = '2b2b2b2b-0000-4000-8000-00000000000b';
export const AGENT_C_ID = '2c2c2c2c-0000-4000-8000-00000000000c';

const at = '2025-11-20T09:30:00.000Z';

export const orgs: Org[] = [
  { id: ORG_ID, name: 'Lakeside Family Clinic', createdAt: at },
  { id: OTHER_ORG_ID, name: 'Maple Grove Assisted Living', createdAt: at },
];

export const units: Unit[] = [
  { id: ROOT_UNIT_ID, orgId: ORG_ID, parentId: null, name: 'Lakeside', readOnly: false, createdAt: at },
  { id: CLINIC_UNIT_ID, orgId: ORG_ID, parentId: ROOT_UNIT_ID, name: 'Exam rooms', readOnly: false, createdAt: at },
  { id: FRONT_DESK_UNIT_ID, orgId: ORG_ID, parentId: ROOT_UNIT_ID, name: 'Front desk', readOnly: true, createdAt: at },
];

export const inventory: Inventory = {
  hostname: 'exam-room-01',
  os: { platform: 'linux', name: 'Debian GNU/Linux 12 (bookworm)', release: '12.8', arch: 'x64' },
  kernel: '6.1.0-28-amd64',
  cpu: { model: 'Intel(R) Core(TM) i5-10500T CPU @ 2.30GHz', cores: 6 },
  memory: { totalBytes: 16 * 1024 ** 3, freeBytes: 9.5 * 1024 ** 3 },
  disks: [
    { mount: '/', filesystem: 'ext4', totalBytes: 256 * 1024 ** 3, freeBytes: 180 * 1024 ** 3 },
    { mount: '/var', filesystem: 'ext4', totalBytes: 64 * 1024 ** 3, freeBytes: 6 * 1024 ** 3 },
  ],
  uptimeSeconds: 3 * 86_400 + 4 * 3_600 + 12 * 60,
  ips: [
    { iface: 'eth0', address: '10.20.0.31', family: 'IPv4', mac: '3c:52:82:1a:4b:01' },
    { iface: 'eth0', address: 'fe80::3e52:82ff:fe1a:4b01', family: 'IPv6', mac: '3c:52:82:1a:4b:01' },
  ],
};

export const agentA: AgentSummary = {
  id: AGENT_A_ID,
  orgId: ORG_ID,
  unitId: CLINIC_UNIT_ID,
  hostname: 'exam-room-01',
  osName: 'Debian GNU/Linux 12 (bookworm)',
  agentVersion: '0.1.0',
  online: true,
  lastSeenAt: at,
};

export const agentB: AgentSummary = {
  id: AGENT_B_ID,
  orgId: ORG_ID,
  unitId: FRONT_DESK_UNIT_ID,
  hostname: 'front-desk-pc',
  osName: 'Windows 11 Pro 23H2',
  agentVersion: '0.1.0',
  online: true,
  lastSeenAt: at,
};

export const agentC: AgentSummary = {
  id: AGENT_C_ID,
  orgId: ORG_ID,
  unitId: ROOT_UNIT_ID,
  hostname: null,
  osName: null,
  agentVersion: null,
  online: false,
  lastSeenAt: null,
};

export const agents: AgentSummary[] = [agentA, agentB, agentC];

export const agentADetail: AgentDetail = { ...agentA, inventory, inventoryAt: at };
