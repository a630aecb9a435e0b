import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_initial';
import * as m0002 from './0002_access_audit';
import * as m0003 from './0003_audit_query_indexes';
import * as m0004 from './0004_org_directory_policies';
import * as m0005 from './0005_audit_purge_retention';
import * as m0006 from './0006_identity_sessions';
import * as m0007 from './0007_mfa';
import * as m0008 from './0008_staff_sessions';
import * as m0009 from './0009_alerts';
import * as m0010 from './0010_release_registry';
import * as m0011 from './0011_scripts';
import * as m0012 from './0012_enrolment_tokens';
import * as m0013 from './0013_agent_secret_sealed';

/** Ordered, forward-only. Append; never edit a migration that has shipped. */
const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_access_audit': m0002,
  '0003_audit_query_indexes': m0003,
  '0004_org_directory_policies': m0004,
  '0005_audit_purge_retention': m0005,
  '0006_identity_sessions': m0006,
  '0007_mfa': m0007,
  '0008_staff_sessions': m0008,
  '0009_alerts': m0009,
  '0010_release_registry': m0010,
  '0011_scripts': m0011,
  '0012_enrolment_tokens': m0012,
  '0013_agent_secret_sealed': m0013,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};

export const migrationNames = Object.keys(migrations);
