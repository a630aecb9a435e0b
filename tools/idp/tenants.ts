import { z } from 'zod';

/*
 * Who exists in the dev identity provider. Ids are fixed so a restart (or another machine) gives
 * the same `tid`/`oid` pairs, the way Entra ID keeps them, and the server's users stay linked.
 */

export const DevIdpUser = z.object({
  oid: z.uuid(),
  name: z.string().min(1).max(200),
  /** Becomes `preferred_username` (and `email`). */
  email: z.email(),
  /** Shown on the login page only, to help pick the right demo user. */
  label: z.string().max(100).optional(),
});
export type DevIdpUser = z.infer<typeof DevIdpUser>;

export const DevIdpTenant = z.object({
  id: z.uuid(),
  name: z.string().min(1).max(200),
  users: z.array(DevIdpUser).min(1),
});
export type DevIdpTenant = z.infer<typeof DevIdpTenant>;

/** The console's public client and the API it calls: one app registration, as in docs/identity.md. */
export const DEMO_CLIENT_ID = '5e1f0000-0000-4000-8000-000000000a01';

export const DEMO_CLINIC_TENANT_ID = 'd3e0c1a1-0000-4000-8000-000000000001';
export const DEMO_MSP_TENANT_ID = 'd3e0c1a1-0000-4000-8000-000000000002';

/** The MSP's own staff administrator (platform `admin`), in the MSP's tenant. */
export const DEMO_STAFF_ADMIN = {
  oid: '0a1d0000-0000-4000-8000-000000000201',
  name: 'Sam Staff',
  email: 'sam.staff@demo-msp.test',
  label: 'MSP admin',
} as const;

export const DEMO_TENANTS: readonly DevIdpTenant[] = [
  {
    id: DEMO_CLINIC_TENANT_ID,
    name: 'Demo Clinic',
    // The same people as tools/demo/seed.ts DEMO_USERS (a test keeps them aligned); not imported
    // from there so that `rmm idp` loads no server code.
    users: [
      { oid: '0a1d0000-0000-4000-8000-000000000101', name: 'Tessa Admin', email: 'tessa.admin@demo-clinic.test', label: 'tenant_admin' },
      { oid: '0a1d0000-0000-4000-8000-000000000102', name: 'Theo Tech', email: 'theo.tech@demo-clinic.test', label: 'tech' },
      { oid: '0a1d0000-0000-4000-8000-000000000103', name: 'Vera Viewer', email: 'vera.viewer@demo-clinic.test', label: 'viewer' },
      { oid: '0a1d0000-0000-4000-8000-000000000104', name: 'Priya Provisioning', email: 'priya.provisioning@demo-clinic.test', label: 'provisioning' },
    ],
  },
  {
    id: DEMO_MSP_TENANT_ID,
    name: 'Demo MSP',
    users: [{ ...DEMO_STAFF_ADMIN }],
  },
];
