import { useEffect } from 'react';
import { AgentDetailPane } from './components/AgentDetailPane';
import { AgentList } from './components/AgentList';
import { ConnectionBanner } from './components/ConnectionBanner';
import { OrgList } from './components/OrgList';
import { UnitTree } from './components/UnitTree';
import { startConsoleSession } from './console-session';
import { useConnectionStore } from './stores/connection-store';

export function App() {
  const appInfo = useConnectionStore((s) => s.appInfo);
  useEffect(() => startConsoleSession(), []);

  return (
    <div className="shell">
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <h1>RMM Console</h1>
          {appInfo && <span className="server muted">{appInfo.serverOrigin}</span>}
        </div>
        <ConnectionBanner />
      </header>
      <div className="workspace">
        <div className="sidebar">
          <OrgList />
          <UnitTree />
        </div>
        <main className="main">
          <AgentList />
        </main>
        <AgentDetailPane />
      </div>
    </div>
  );
}
