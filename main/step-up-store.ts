import { STEP_UP_CHANNELS, type StepUpChannel } from '../protocol/ipc-contract';
import type { StepUpAction, StepUpProof } from '../protocol/mfa';

/*
 * Step-up proofs live in main only. A proof is a bearer credential for one sensitive action
 * (docs/mfa.md): the renderer asks for it with `mfa.stepUp` and learns only that it exists and
 * until when; the channel of that action then takes it out of this store and sends it as
 * X-Step-Up with its one request. Single use: taken means gone, whatever the server answers.
 * Expired proofs are dropped rather than sent. Locking or signing out clears the store.
 */


export interface StepUpStore {
  /** Keeps a proof the server issued; a newer one for the same action replaces the older. */
  keep(proof: StepUpProof): void;
  /** The proof for `action`, removed from the store; undefined when none is held or it expired. */
  take(action: StepUpAction): string | undefined;
  /** Call options for a channel: `{ stepUp }` when a proof for its action is held, else `{}`. */
  forChannel(channel: StepUpChannel): { stepUp?: string };
  /** Forgets every proof (lock, sign-out, a new session). */
  clear(): void;
  /** Actions with a live proof (tests; never the proofs themselves). */
  held(): StepUpAction[];
}

export function createStepUpStore(options: { now?: () => Date } = {}): StepUpStore {
  const now = options.now ?? (() => new Date());
  const proofs = new Map<StepUpAction, { proof: string; expiresAt: number }>();
  const live = (entry: { expiresAt: number }): boolean => entry.expiresAt > now().getTime();

  const take = (action: StepUpAction): string | undefined => {
    const entry = proofs.get(action);
    proofs.delete(action);
    return entry && live(entry) ? entry.proof : undefined;
  };

  return {
    keep(proof) {
      const expiresAt = Date.parse(proof.expiresAt);
      if (Number.isNaN(expiresAt)) return;
      proofs.set(proof.action, { proof: proof.proof, expiresAt });
    },
    take,
    forChannel(channel) {
      const proof = take(STEP_UP_CHANNELS[channel]);
      return proof === undefined ? {} : { stepUp: proof };
    },
    clear: () => proofs.clear(),
    held: () => [...proofs].filter(([, entry]) => live(entry)).map(([action]) => action),
  };
}
