import { create } from 'zustand';
import type { StepUpAction } from '../../protocol/mfa';

/*
 * The one step-up prompt on screen. A call the server refused for want of a fresh second factor
 * asks here (renderer/api.ts); the dialog (components/StepUpDialog.tsx) answers true once
 * `mfa.stepUp` succeeded, false when the user cancelled. One prompt at a time: a new one
 * cancels the one before.
 */

/** Why the dialog opened: the server wants a proof, refused the one it had, or the user has no authenticator. */
export type StepUpReason = 'required' | 'invalid' | 'not-enrolled';

export interface StepUpPrompt {
  action: StepUpAction;
  reason: StepUpReason;
}

interface StepUpState {
  prompt: StepUpPrompt | null;
  resolve: ((proved: boolean) => void) | null;
  ask(action: StepUpAction, reason: StepUpReason): Promise<boolean>;
  finish(proved: boolean): void;
}

export const useStepUpStore = create<StepUpState>()((set, get) => ({
  prompt: null,
  resolve: null,
  ask(action, reason) {
    get().resolve?.(false);
    return new Promise<boolean>((resolve) => set({ prompt: { action, reason }, resolve }));
  },
  finish(proved) {
    const { resolve } = get();
    set({ prompt: null, resolve: null });
    resolve?.(proved);
  },
}));
