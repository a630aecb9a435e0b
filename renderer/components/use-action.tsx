import { useCallback, useState } from 'react';
import { errorMessage } from '../api';

/*
 * The life of a form's one action: busy while it runs (controls disable themselves), then a line
 * that says what happened, or the error the main side mapped. Every form of the console uses it,
 * so they all read and behave the same way.
 */

export interface ActionMessage {
  error: boolean;
  text: string;
}

export function useAction(): {
  busy: boolean;
  message: ActionMessage | null;
  /** Runs `work`; on success shows `done(result)` (nothing when it returns null). True when it succeeded. */
  run<T>(work: () => Promise<T>, done: (result: T) => string | null): Promise<boolean>;
} {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<ActionMessage | null>(null);
  const run = useCallback(async <T,>(work: () => Promise<T>, done: (result: T) => string | null): Promise<boolean> => {
    setBusy(true);
    setMessage(null);
    try {
      const text = done(await work());
      if (text !== null) setMessage({ error: false, text });
      return true;
    } catch (err) {
      setMessage({ error: true, text: errorMessage(err) });
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, message, run };
}

/** The outcome line under a form: an alert for errors, a status otherwise. */
export function ActionMessageLine({ message, testId }: { message: ActionMessage | null; testId?: string }) {
  if (!message) return null;
  return (
    <p className={message.error ? 'error-text' : 'muted'} role={message.error ? 'alert' : 'status'} data-testid={testId}>
      {message.text}
    </p>
  );
}
