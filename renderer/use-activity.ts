import { useEffect } from 'react';
import { api } from './api';

/*
 * Tells main the user is here (keys, clicks, scrolling, touch) so the idle lock waits: at most
 * once every 10 s. The first input is sent at once; input during the pause is sent when it
 * ends, so the server's idle clock is never more than 10 s behind the user.
 */

export const ACTIVITY_INTERVAL_MS = 10_000;
const EVENTS = ['keydown', 'pointerdown', 'wheel', 'touchstart'] as const;

export function useActivityReporter(enabled: boolean): void {
  useEffect(() => {
    if (!enabled) return undefined;
    let lastSent = 0;
    let pending = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const send = (): void => {
      lastSent = Date.now();
      pending = false;
      api.activity().catch(() => undefined);
    };
    const onInput = (): void => {
      const wait = lastSent + ACTIVITY_INTERVAL_MS - Date.now();
      if (wait <= 0) return send();
      if (pending) return;
      pending = true;
      timer = setTimeout(send, wait);
    };
    for (const name of EVENTS) window.addEventListener(name, onInput, { capture: true, passive: true });
    return () => {
      clearTimeout(timer);
      for (const name of EVENTS) window.removeEventListener(name, onInput, { capture: true });
    };
  }, [enabled]);
}
