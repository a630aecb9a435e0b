import { useEffect } from 'react';
import { AgentDetailPane } from './components/AgentDetailPane';
import { AgentList } from './components/AgentList';
import { AuditView } from './components/AuditView';
import { ConnectionBanner } from './components/ConnectionBanner';
import { OrgList } from './components/OrgList';
import { PeopleView } from './components/PeopleView';
import { SignedInUser } from './components/SignedInUser';
import { UnitAdmin } from './components/UnitAdmin';
import { UnitTree } from './components/UnitTree';
import { ViewTabs, useShownView } from './components/ViewTabs';
import { WorkspaceView } from './components/WorkspaceView';
import { startConsoleSession } from './console-session';
import { useConnectionStore } from './stores/connection-store';

export function App() {
  const appInfo = useConnectionStore((s) => s.appInfo);
  const view = useShownView();
  useEffect(() => startConsoleSession(), []);

  return (
    <div className="shell">
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <h1>RMM Console</h1>
          {appInfo && <span className="server muted">{appInfo.serverOrigin}</span>}
        </div>
        <div className="topbar-end">
          <SignedInUser />
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
          {view === 'audit' && <AuditView />}
        </main>
        {view === 'agents' && <AgentDetailPane />}
      </div>
    </div>
  );
}
