// Dashboards: the list (stored in Argus plus the shipped ones), import of Grafana dashboard JSON,
// and the dashboard view: template variables, time range, the panel grid and a JSON editor.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, StoredDashboardInfo, dashboardApi, promApi } from '../api';
import { TimePicker } from '../components/TimePicker';
import { ALL, Dashboard, Scope, Variable, importGrafana, interpolate, parseLabelValues, splitOptions, variableQuery } from '../dashboards/model';
import { PanelView } from '../dashboards/Panels';
import { SHIPPED } from '../dashboards/shipped';
import { navigate, setSearch } from '../router';
import { autoStepMs, formatDuration, parseDurationMs, useResolvedRange } from '../time';

export function Dashboards({ path, search }: { path: string; search: URLSearchParams }) {
  const uid = path.split('/')[2];
  if (uid === 'import') return <ImportDashboard />;
  if (uid) return <DashboardPage uid={decodeURIComponent(uid)} search={search} />;
  return <DashboardList />;
}

function DashboardList() {
  const [stored, setStored] = useState<StoredDashboardInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    dashboardApi
      .list()
      .then(setStored)
      .catch((e) => setError(String(e.message ?? e)));
  }, []);
  const storedUids = new Set((stored ?? []).map((d) => d.uid));
  const rows = [
    ...(stored ?? []).map((d) => ({ ...d, shipped: false })),
    ...SHIPPED.filter((d) => !storedUids.has(d.uid)).map((d) => ({ uid: d.uid, title: d.title, tags: d.tags ?? [], shipped: true })),
  ];
  return (
    <div class="dash-list">
      <div class="row toolbar">
        <h2>Dashboards</h2>
        <span class="spacer" />
        <a class="btn primary" href="/dashboards/import" data-testid="import-dashboard">
          Import
        </a>
      </div>
      {error && <div class="err">Stored dashboards are unavailable: {error}</div>}
      <table class="grid" data-testid="dashboard-list">
        <thead>
          <tr>
            <th>Title</th>
            <th>Tags</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <tr>
              <td>
                <a href={`/dashboards/${encodeURIComponent(d.uid)}`}>{d.title}</a>
              </td>
              <td>
                {d.tags.map((t) => (
                  <span class="tag">{t}</span>
                ))}
              </td>
              <td class="muted">{d.shipped ? 'shipped with Argus' : 'stored'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ImportDashboard() {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const doImport = async () => {
    setError(null);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      return setError(`Not valid JSON: ${(e as Error).message}`);
    }
    try {
      const d = importGrafana(parsed);
      await dashboardApi.put(d.uid, d);
      navigate(`/dashboards/${encodeURIComponent(d.uid)}`);
    } catch (e) {
      setError(e instanceof ApiError ? `Argus refused it: ${e.message}` : (e as Error).message);
    }
  };
  return (
    <div class="dash-import">
      <h2>Import a Grafana dashboard</h2>
      <p class="muted">
        Paste the JSON of a Grafana dashboard (Share → Export, or the dashboard's JSON model), or pick a file. Panels of types timeseries/graph, stat/singlestat,
        gauge, bar gauge, table, logs and traces are drawn; template variables of types query (label_values), custom, interval, constant and textbox work.
      </p>
      <input
        type="file"
        accept=".json,application/json"
        onChange={async (e) => {
          const f = e.currentTarget.files?.[0];
          if (f) setText(await f.text());
        }}
      />
      <textarea class="json-edit" data-testid="import-json" value={text} onInput={(e) => setText(e.currentTarget.value)} placeholder='{"title": "...", "panels": [...]}' />
      {error && (
        <div class="err" role="alert">
          {error}
        </div>
      )}
      <div class="row">
        <button class="btn primary" data-testid="import-submit" onClick={doImport}>
          Import
        </button>
        <a class="btn" href="/dashboards">
          Cancel
        </a>
      </div>
    </div>
  );
}

interface VarState {
  options: { text: string; value: string }[];
  selected: string[];
}

function initialSelection(v: Variable, search: URLSearchParams): string[] {
  const fromUrl = search.getAll(`var-${v.name}`);
  if (fromUrl.length) return fromUrl;
  const cur = v.current?.value;
  if (Array.isArray(cur)) return cur.length ? cur : [];
  return cur !== undefined && cur !== '' ? [cur] : [];
}

function DashboardPage({ uid, search }: { uid: string; search: URLSearchParams }) {
  const [dash, setDash] = useState<Dashboard | null>(null);
  const [stored, setStored] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const [refresh, setRefresh] = useState(0);
  const [vars, setVars] = useState<Record<string, VarState> | null>(null);

  useEffect(() => {
    setDash(null);
    setError(null);
    setVars(null);
    dashboardApi
      .get(uid)
      .then((d) => {
        setDash({ ...d, uid });
        setStored(true);
      })
      .catch((e) => {
        const shipped = SHIPPED.find((d) => d.uid === uid);
        if (shipped) {
          setDash(shipped);
          setStored(false);
        } else setError(e instanceof ApiError && e.status === 404 ? `No dashboard "${uid}".` : String(e.message ?? e));
      });
  }, [uid]);

  const range = { from: search.get('from') ?? dash?.time?.from ?? 'now-6h', to: search.get('to') ?? dash?.time?.to ?? 'now' };
  const { startMs, endMs } = useResolvedRange(range, refresh);
  const rangeMs = endMs - startMs;
  const varList = dash?.templating?.list ?? [];

  // Resolve variables in order: a query variable may use the ones before it.
  const varKey = JSON.stringify([varList, search.toString(), Math.round(startMs / 60000), refresh]);
  useEffect(() => {
    if (!dash) return;
    let cancelled = false;
    (async () => {
      const out: Record<string, VarState> = {};
      for (const v of varList) {
        const q = variableQuery(v);
        let options: { text: string; value: string }[] = [];
        if (v.type === 'custom' || v.type === 'interval') options = splitOptions(q);
        else if (v.type === 'constant' || v.type === 'textbox') options = [{ text: q, value: q }];
        else if (v.type === 'query') {
          const scope = scopeOf(out, varList, autoStepMs(rangeMs), rangeMs);
          const lv = parseLabelValues(interpolate(q, scope));
          try {
            let values: string[] = [];
            if (lv) values = await promApi.labelValues(lv.label, lv.match ? [lv.match] : undefined, startMs / 1000, endMs / 1000);
            if (v.regex) {
              const re = new RegExp(v.regex.replace(/^\/(.*)\/[gimsuy]*$/, '$1'));
              values = values.filter((x) => re.test(x));
            }
            options = values.map((x) => ({ text: x, value: x }));
          } catch {
            options = [];
          }
        }
        if (v.type === 'interval' && v.auto) options.unshift({ text: 'auto', value: '$__auto_interval' });
        let selected = initialSelection(v, search);
        if (v.type === 'constant') selected = [q];
        const valid = selected.filter((s) => s === ALL || options.some((o) => o.value === s) || v.type === 'textbox');
        if (!valid.length) selected = v.includeAll && v.type !== 'interval' ? [ALL] : options.length ? [options[0].value] : [];
        else selected = valid;
        out[v.name] = { options, selected };
      }
      if (!cancelled) setVars(out);
    })();
    return () => {
      cancelled = true;
    };
  }, [dash, varKey]);

  const scope = useMemo(() => scopeOf(vars ?? {}, varList, autoStepMs(rangeMs), rangeMs), [vars, varList, rangeMs]);

  // Auto-refresh as the dashboard's "refresh" says (e.g. "30s"), but never faster than 5 s.
  const refreshEvery = search.get('refresh') ?? dash?.refresh ?? '';
  useEffect(() => {
    const ms = parseDurationMs(refreshEvery);
    if (!ms) return;
    const id = setInterval(() => setRefresh((n) => n + 1), Math.max(5000, ms));
    return () => clearInterval(id);
  }, [refreshEvery]);

  if (error) return <div class="err small-pad">{error}</div>;
  if (!dash) return <div class="muted">Loading…</div>;

  const setParam = (k: string, v: string[] | undefined) => {
    const p = new URLSearchParams(location.search);
    p.delete(k);
    (v ?? []).forEach((x) => p.append(k, x));
    setSearch(p);
  };
  const save = async (d: Dashboard) => {
    const { shipped: _s, ...rest } = d;
    await dashboardApi.put(uid, { ...rest, uid });
    setStored(true);
    setDash({ ...rest, uid });
  };
  const panels = dash.panels ?? [];
  return (
    <div class="dashboard" data-testid="dashboard">
      <div class="row toolbar">
        <a href="/dashboards">Dashboards</a>
        <span class="muted">/</span>
        <h2 data-testid="dashboard-title">{dash.title}</h2>
        {!stored && <span class="tag">shipped</span>}
        {parseDurationMs(refreshEvery) ? <span class="muted">refresh every {refreshEvery}</span> : null}
        <span class="spacer" />
        <TimePicker
          range={range}
          onChange={(r) => {
            const p = new URLSearchParams(location.search);
            p.set('from', r.from);
            p.set('to', r.to);
            navigate(`${location.pathname}?${p}`);
          }}
          onRefresh={() => setRefresh((n) => n + 1)}
        />
        <button class="btn" data-testid="edit-json" onClick={() => setEditing(!editing)}>
          {editing ? 'Close JSON' : 'Edit JSON'}
        </button>
        {!stored && (
          <button class="btn" onClick={() => save(dash)} title="Store a copy in Argus to edit it">
            Save a copy
          </button>
        )}
        {stored && (
          <button
            class="btn danger"
            onClick={async () => {
              if (!confirm(`Delete dashboard "${dash.title}"?`)) return;
              await dashboardApi.remove(uid);
              navigate('/dashboards');
            }}
          >
            Delete
          </button>
        )}
      </div>
      {varList.some((v) => v.hide !== 2) && (
        <div class="row toolbar vars">
          {varList
            .filter((v) => v.hide !== 2 && v.type !== 'constant')
            .map((v) => {
              const st = vars?.[v.name];
              return (
                <label class="inline var" data-testid={`var-${v.name}`}>
                  {v.label || v.name}
                  {v.type === 'textbox' ? (
                    <input value={st?.selected[0] ?? ''} onChange={(e) => setParam(`var-${v.name}`, [e.currentTarget.value])} />
                  ) : (
                    <select
                      multiple={!!v.multi}
                      size={1}
                      onChange={(e) => setParam(`var-${v.name}`, Array.from(e.currentTarget.selectedOptions).map((o) => o.value))}
                    >
                      {v.includeAll && (
                        <option value={ALL} selected={st?.selected.includes(ALL)}>
                          All
                        </option>
                      )}
                      {(st?.options ?? []).map((o) => (
                        <option value={o.value} selected={st?.selected.includes(o.value)}>
                          {o.text}
                        </option>
                      ))}
                    </select>
                  )}
                </label>
              );
            })}
        </div>
      )}
      {editing && <JsonEditor dash={dash} onSave={save} />}
      <div class="panel-grid" data-testid="panel-grid">
        {vars && panels.map((p) => (
          <div
            class="panel-cell"
            style={{ gridColumn: `${(p.gridPos?.x ?? 0) + 1} / span ${Math.min(24, p.gridPos?.w ?? 12)}`, gridRow: `${(p.gridPos?.y ?? 0) + 1} / span ${p.gridPos?.h ?? 8}` }}
          >
            <PanelView panel={p} scope={scope} startMs={startMs} endMs={endMs} refresh={refresh} />
          </div>
        ))}
      </div>
    </div>
  );
}

function scopeOf(vars: Record<string, VarState>, list: Variable[], intervalMs: number, rangeMs: number): Omit<Scope, 'intervalMs'> & { intervalMs: number } {
  const out: Scope = { vars: {}, allValue: {}, intervalMs, rangeMs };
  for (const v of list) {
    const st = vars[v.name];
    if (!st) continue;
    if (st.selected.includes(ALL)) {
      if (v.allValue) out.allValue[v.name] = v.allValue;
      out.vars[v.name] = st.options.map((o) => o.value);
      if (!out.vars[v.name].length) out.allValue[v.name] = v.allValue ?? '.*';
    } else if (v.type === 'interval' && st.selected[0] === '$__auto_interval') {
      out.vars[v.name] = [formatDuration(autoStepMs(rangeMs, v.auto_count ?? 30))];
    } else out.vars[v.name] = st.selected;
  }
  return out;
}

function JsonEditor({ dash, onSave }: { dash: Dashboard; onSave: (d: Dashboard) => Promise<void> }) {
  const [text, setText] = useState(() => JSON.stringify(dash, null, 2));
  const [msg, setMsg] = useState<string | null>(null);
  return (
    <div class="json-editor">
      <textarea class="json-edit" data-testid="dashboard-json" value={text} onInput={(e) => setText(e.currentTarget.value)} />
      <div class="row toolbar">
        <button
          class="btn primary"
          onClick={async () => {
            try {
              const d = importGrafana(JSON.parse(text));
              await onSave({ ...d, uid: dash.uid });
              setMsg('Saved.');
            } catch (e) {
              setMsg(`Not saved: ${(e as Error).message}`);
            }
          }}
        >
          Save JSON
        </button>
        {msg && <span class={msg === 'Saved.' ? 'muted' : 'err'}>{msg}</span>}
      </div>
    </div>
  );
}
