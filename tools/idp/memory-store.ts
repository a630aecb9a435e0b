import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Clock } from '../../server/clock';

/*
 * The provider's state (sessions, interactions, codes, grants, refresh tokens) in memory: a dev
 * provider loses it on restart, which only means signing in again. Our own rather than the
 * library's quick-start adapter so the expiry follows the injected clock and no warning is printed.
 */

interface Entry {
  payload: AdapterPayload;
  expiresAt: number | undefined;
}

export class DevIdpMemoryStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly clock: Clock) {}

  /** oidc-provider's adapter factory: one adapter per model name over this store. */
  adapterFor = (model: string): Adapter => {
    const key = (id: string) => `${model}:${id}`;
    return {
      upsert: async (id, payload, expiresIn) => {
        const expiresAt = expiresIn ? this.clock.now().getTime() + expiresIn * 1000 : undefined;
        this.entries.set(key(id), { payload, expiresAt });
        if (payload.grantId) this.index(`grant:${payload.grantId}`, key(id), expiresAt);
        if (payload.uid) this.index(`uid:${model}:${payload.uid}`, key(id), expiresAt);
        if (payload.userCode) this.index(`userCode:${model}:${payload.userCode}`, key(id), expiresAt);
      },
      find: async (id) => this.get(key(id)),
      findByUid: async (uid) => this.follow(`uid:${model}:${uid}`),
      findByUserCode: async (userCode) => this.follow(`userCode:${model}:${userCode}`),
      consume: async (id) => {
        const entry = this.get(key(id));
        if (entry) entry.consumed = Math.floor(this.clock.now().getTime() / 1000);
      },
      destroy: async (id) => {
        this.entries.delete(key(id));
      },
      revokeByGrantId: async (grantId) => {
        const refs = this.get(`grant:${grantId}`)?.refs;
        if (Array.isArray(refs)) for (const ref of refs) if (typeof ref === 'string') this.entries.delete(ref);
        this.entries.delete(`grant:${grantId}`);
      },
    };
  };

  /** Whether this store holds a live `model` entry with this id: how the organizations token endpoint finds a code's or refresh token's tenant. */
  holds(model: string, id: string): boolean {
    return this.get(`${model}:${id}`) !== undefined;
  }

  private get(fullKey: string): AdapterPayload | undefined {
    const entry = this.entries.get(fullKey);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.clock.now().getTime()) {
      this.entries.delete(fullKey);
      return undefined;
    }
    return entry.payload;
  }

  private follow(indexKey: string): AdapterPayload | undefined {
    const ref = this.get(indexKey)?.ref;
    return typeof ref === 'string' ? this.get(ref) : undefined;
  }

  private index(indexKey: string, ref: string, expiresAt: number | undefined): void {
    if (indexKey.startsWith('grant:')) {
      const refs = this.get(indexKey)?.refs;
      const list = Array.isArray(refs) ? refs.filter((r): r is string => typeof r === 'string') : [];
      const previous = this.entries.get(indexKey);
      const later = !previous ? expiresAt : previous.expiresAt === undefined || expiresAt === undefined ? undefined : Math.max(previous.expiresAt, expiresAt);
      this.entries.set(indexKey, { payload: { refs: [...list, ref] }, expiresAt: later });
      return;
    }
    this.entries.set(indexKey, { payload: { ref }, expiresAt });
  }
}
