import type { User } from '../../protocol/access';
import { pgErrorCode, PG_UNIQUE_VIOLATION, type Tx } from '../db/database';
import type { UserRow } from '../db/schema';
import { ConflictError } from '../errors';

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    orgId: row.org_id,
    displayName: row.display_name,
    email: row.email,
    platformAdmin: row.platform_role === 'admin',
    createdAt: new Date(row.created_at).toISOString(),
    disabled: row.disabled_at !== null,
  };
}

export interface NewUser {
  /** Home org; null for MSP staff (the transaction must then have no org). */
  orgId: string | null;
  displayName: string;
  email: string;
  platformAdmin?: boolean;
}

export async function createUser(tx: Tx, user: NewUser): Promise<User> {
  try {
    const row = await tx.insertInto('users').values({
      org_id: user.orgId,
      display_name: user.displayName,
      email: user.email,
      platform_role: user.platformAdmin ? 'admin' : null,
    }).returningAll().executeTakeFirstOrThrow();
    return toUser(row);
  } catch (err) {
    if (pgErrorCode(err) === PG_UNIQUE_VIOLATION) throw ConflictError(`A user with the email ${user.email} already exists`);
    throw err;
  }
}

/** Users visible in the transaction's org: its members and the MSP's staff. */
export async function listUsers(tx: Tx): Promise<User[]> {
  const rows = await tx.selectFrom('users').selectAll().orderBy('display_name').orderBy('id').execute();
  return rows.map(toUser);
}

export async function findUser(tx: Tx, userId: string): Promise<User | undefined> {
  const row = await tx.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
  return row && toUser(row);
}
