import { useIdentityStore } from '../stores/identity-store';

/** The signed-in user's name, so a technician always knows whose rights the console uses. */
export function SignedInUser() {
  const user = useIdentityStore((s) => s.user);
  const status = useIdentityStore((s) => s.status);
  if (!user) {
    return status === 'error' ? <span className="signed-in muted" data-testid="signed-in-user">not signed in</span> : null;
  }
  return (
    <span className="signed-in" data-testid="signed-in-user" title={user.email}>
      <span className="muted">Signed in as </span>
      <strong>{user.displayName}</strong>
      {user.platformAdmin && <span className="tag">MSP admin</span>}
    </span>
  );
}
