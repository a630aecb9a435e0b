import { useEffect } from 'react';
import { AgentDetailPane } from './components/AgentDetailPane';
import { AgentList } from './components/AgentList';
import { AlertBanner, AlertsView } from './components/AlertsView';
import { AuditView } from './components/AuditView';
import { ConnectionBanner } from './components/ConnectionBanner';
import { OrgList } from './components/OrgList';
import { OrgSignInView } from './components/OrgSignInView';
import { PeopleView } from './components/PeopleView';
import { ScriptsView } from './components/ScriptsView';
import { SecurityView } from './components/SecurityView';
import { SessionsView } from './components/SessionsView';
import { SignedInUser } from './components/SignedInUser';
import { SignInScreen } from './components/SignInScreen';
import { StepUpDialog } from './components/StepUpDialog';
import { UnitAdmin } from './components/UnitAdmin';
import { UnitTree } from './components/UnitTree';
import { ViewTabs, useShownView } from './components/ViewTabs';
import { WorkspaceView } from './components/WorkspaceView';
import { startAuthSession } from './auth-session';
import { startConsoleSession } from './console-session';
import { isUnlocked, sessionKey, useAuthStore } from './stores/auth-store';
import { useConnectionStore } from './stores/connection-store';
import { useActivityReporter } from './use-activity';

/*
 * The sign-in gate: the console, with everything it loads, exists only while main reports a
 * session (or API-token mode). Otherwise the sign-in or lock screen; a new session mounts a
 * fresh console (keyed by the session), and the stores were cleared when the last one ended.
 */
export function App() {
  const auth = useAuthStore((s) => s.auth);
  useEffect(() => startAuthSession(), []);
  const key = sessionKey(auth);
  return (
    <>
      {isUnlocked(auth) && key ? <Console key={key} signInMode={auth?.mode === 'sign-in'} /> : <SignInScreen />}
      <StepUpDialog />
    </>
  );
}

function Console({ signInMode }: { signInMode: boolean }) {
  const appInfo = useConnectionStore((s) => s.appInfo);
  const signOut = useAuthStore((s) => s.signOut);
  const view = useShownView();
  useEffect(() => startConsoleSession(), []);
  useActivityReporter(signInMode);

  return (
    <div className="shell">
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <h1>RMM Console</h1>
          {appInfo && <span className="server muted">{appInfo.serverOrigin}</span>}
        </div>
        <div className="topbar-end">
          <AlertBanner />
          <SignedInUser />
          {signInMode && (
            <button type="button" className="button small quiet" data-testid="sign-out" onClick={() => void signOut()}>
              Sign out
            </button>
          )}
          <ConnectionBanner />
        </div>
      </header>
      <div className={view === 'agents' ? 'workspace' : 'workspace wide'}>
        <div className="sidebar">
          <OrgList />
          <UnitTree />
        </div>
        <main className="main">
          <ViewTabs />
          {view === 'agents' && <AgentList />}
          {view === 'units' && <UnitAdmin />}
          {view === 'people' && <PeopleView />}
          {view === 'workspace' && <WorkspaceView />}
          {view === 'scripts' && <ScriptsView />}
          {view === 'audit' && <AuditView />}
          {view === 'sessions' && <SessionsView />}
          {view === 'identity' && <OrgSignInView />}
          {view === 'alerts' && <AlertsView />}
          {view === 'security' && <SecurityView />}
        </main>
        {view === 'agents' && <AgentDetailPane />}
      </div>
    </div>
  );
}
