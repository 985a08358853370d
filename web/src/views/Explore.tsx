// Explore: one pane (or two side by side, "split") per signal. The left pane's state lives in the
// URL (/explore/<signal>[/<trace id>]?q=...&from=...&to=...), so every view can be linked to; the
// right pane keeps its own state in memory.
import { useState } from 'preact/hooks';
import { TimePicker } from '../components/TimePicker';
import { navigate } from '../router';
import { ExploreLogs } from './ExploreLogs';
import { ExploreMetrics } from './ExploreMetrics';
import { ExploreTraces } from './ExploreTraces';

export type PaneState = Record<string, string | undefined>;
export interface PaneProps {
  state: PaneState;
  /** Merges `patch` into the state; `push` adds a history entry (a new query run). */
  set: (patch: PaneState, push?: boolean) => void;
  runId: number;
}

const SIGNALS = [
  ['metrics', 'Metrics'],
  ['logs', 'Logs'],
  ['traces', 'Traces'],
] as const;

export function exploreUrl(state: PaneState): string {
  const { signal = 'metrics', trace, ...rest } = state;
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(rest)) if (v !== undefined && v !== '') p.set(k, v);
  const s = p.toString();
  return `/explore/${signal}${trace ? '/' + encodeURIComponent(trace) : ''}${s ? '?' + s : ''}`;
}

function Pane({ state, set, onClose, onSplit }: { state: PaneState; set: PaneProps['set']; onClose?: () => void; onSplit?: () => void }) {
  const [runId, setRunId] = useState(0);
  const signal = state.signal ?? 'metrics';
  const range = { from: state.from ?? 'now-1h', to: state.to ?? 'now' };
  return (
    <section class="pane" data-testid={`pane-${signal}`}>
      <div class="row pane-head">
        <div class="tabs">
          {SIGNALS.map(([id, label]) => (
            <button
              class={`tab ${signal === id ? 'active' : ''}`}
              data-testid={`signal-${id}`}
              onClick={() => set({ signal: id, q: undefined, trace: undefined, view: undefined, step: undefined }, true)}
            >
              {label}
            </button>
          ))}
        </div>
        <span class="spacer" />
        <TimePicker range={range} onChange={(r) => set({ from: r.from, to: r.to }, true)} onRefresh={() => setRunId((n) => n + 1)} />
        {onSplit && (
          <button class="btn" data-testid="split" onClick={onSplit} title="Open a second pane beside this one">
            Split
          </button>
        )}
        {onClose && (
          <button class="btn" onClick={onClose} title="Close this pane">
            ✕
          </button>
        )}
      </div>
      {signal === 'metrics' && <ExploreMetrics state={state} set={set} runId={runId} />}
      {signal === 'logs' && <ExploreLogs state={state} set={set} runId={runId} />}
      {signal === 'traces' && <ExploreTraces state={state} set={set} runId={runId} />}
    </section>
  );
}

export function Explore({ path, search }: { path: string; search: URLSearchParams }) {
  const parts = path.split('/').filter(Boolean); // explore, signal, [trace]
  const left: PaneState = { signal: parts[1] ?? 'metrics', trace: parts[2] ? decodeURIComponent(parts[2]) : undefined };
  search.forEach((v, k) => (left[k] = v));
  const [right, setRight] = useState<PaneState | null>(null);
  const setLeft = (patch: PaneState, push = false) => navigate(exploreUrl({ ...left, ...patch }), !push);
  return (
    <div class={`explore ${right ? 'split' : ''}`}>
      <Pane state={left} set={setLeft} onSplit={right ? undefined : () => setRight({ signal: left.signal === 'metrics' ? 'logs' : 'metrics', from: left.from, to: left.to })} />
      {right && <Pane state={right} set={(p) => setRight({ ...right, ...p })} onClose={() => setRight(null)} />}
    </div>
  );
}
