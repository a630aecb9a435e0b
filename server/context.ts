import type { Clock } from './clock';
import type { ServerConfig } from './config';
import type { KeyRing } from './crypto/keys';
import type { Db, DatabaseKind } from './db/database';
import type { EventBus } from './events/bus';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { MfaLimits } from './mfa/limits';

/** What every part of one running server shares. Built once in startServer and passed down. */
export interface ServerContext {
  config: ServerConfig;
  db: Db;
  dbKind: DatabaseKind;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  bus: EventBus;
  /** Master key(s) secrets at rest are derived from (server/crypto). */
  keys: KeyRing;
  /** Attempt and failure counters for second-factor checks. */
  mfaLimits: MfaLimits;
}
