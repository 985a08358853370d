// The Argus UI: a top bar and the routed view (Explore, Dashboards).
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { apiBases, promApi } from './api';
import { linkClick, navigate, useLocation } from './router';
import './styles.css';
import { Dashboards } from './views/Dashboards';
import { Explore } from './views/Explore';

function App() {
  const { path, search } = useLocation();
  useEffect(() => {
    if (path === '/' || path === '/explore' || path === '/index.html') navigate('/explore/metrics', true);
  }, [path]);
  const section = path.split('/')[1];
  const [version, setVersion] = useState('');
  useEffect(() => {
    promApi
      .buildinfo()
      .then((b) => setVersion(`${b.version}${b.revision && b.revision !== 'unknown' ? ` (${b.revision.slice(0, 12)})` : ''}`))
      .catch(() => setVersion(''));
  }, []);
  const remote = Object.entries(apiBases).filter(([, v]) => v);
  return (
    <div class="app" onClick={linkClick}>
      <header class="top">
        <a href="/explore/metrics" class="brand">
          <span class="logo">◉</span> Argus
        </a>
        <nav>
          <a href="/explore/metrics" class={section === 'explore' ? 'active' : ''} data-testid="nav-explore">
            Explore
          </a>
          <a href="/dashboards" class={section === 'dashboards' ? 'active' : ''} data-testid="nav-dashboards">
            Dashboards
          </a>
        </nav>
        <span class="spacer" />
        {version && <span class="muted" data-testid="version">v{version}</span>}
        {remote.length > 0 && (
          <span class="muted" title="Set with ?prometheus=, ?loki=, ?tempo= or ?api= (empty resets)">
            {remote.map(([k, v]) => `${k}: ${v}`).join(' · ')}
          </span>
        )}
      </header>
      <main>
        {section === 'dashboards' ? <Dashboards path={path} search={search} /> : <Explore path={path} search={search} />}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
