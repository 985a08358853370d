// Explore, metrics: a PromQL editor, a graph (query_range) or table (query) of the result with
// its legend, the step, and exemplars (query_exemplars) that open their trace.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, ExemplarSeries, MatrixSeries, QueryResult, promApi } from '../api';
import { Graph, GraphExemplar, GraphSeries } from '../components/Graph';
import { QueryEditor, QueryError } from '../components/QueryEditor';
import { promCompletions } from '../completion';
import { seriesName } from '../promql';
import { navigate } from '../router';
import { autoStepMs, formatDuration, parseDurationMs, useResolvedRange } from '../time';
import type { PaneProps } from './Explore';

export function errorOf(e: unknown): QueryError {
  if (e instanceof ApiError) {
    if (e.status === 404 && e.errorType === 'http') {
      const path = e.url ? new URL(e.url, location.href).pathname : 'this API';
      return { message: `Not available: ${path} answers 404 here (this server does not implement it yet).` };
    }
    return { message: e.message, position: e.errorType === 'bad_data' ? e.position() : null };
  }
  return { message: String(e) };
}

export function matrixToSeries(r: QueryResult): GraphSeries[] {
  if (r.resultType === 'matrix') {
    return r.result.map((s) => ({ name: seriesName(s.metric), points: s.values.map(([t, v]) => [t, Number(v)] as [number, number]) }));
  }
  if (r.resultType === 'vector') {
    return r.result.map((s) => ({ name: seriesName(s.metric), points: [[s.value[0], Number(s.value[1])]] }));
  }
  return [{ name: 'scalar', points: [[r.result[0], Number(r.result[1])]] }];
}

export function ExploreMetrics({ state, set, runId }: PaneProps) {
  const q = state.q ?? '';
  const [draft, setDraft] = useState(q);
  const [error, setError] = useState<QueryError | null>(null);
  const [loading, setLoading] = useState(false);
  const [result, setResult] = useState<QueryResult | null>(null);
  const [series, setSeries] = useState<GraphSeries[]>([]);
  const [exemplars, setExemplars] = useState<GraphExemplar[]>([]);
  const [info, setInfo] = useState('');
  const view = state.view === 'table' ? 'table' : 'graph';
  const range = { from: state.from ?? 'now-1h', to: state.to ?? 'now' };
  const { startMs, endMs } = useResolvedRange(range, runId);
  const stepMs = (state.step && parseDurationMs(state.step)) || autoStepMs(endMs - startMs);

  useEffect(() => setDraft(q), [q]);

  useEffect(() => {
    if (!q.trim()) {
      setResult(null);
      setSeries([]);
      setError(null);
      return;
    }
    let cancelled = false;
    setLoading(true);
    setError(null);
    const t0 = performance.now();
    const run = async () => {
      try {
        if (view === 'graph') {
          const r = await promApi.queryRange(q, startMs / 1000, endMs / 1000, stepMs / 1000);
          if (cancelled) return;
          setResult(r);
          setSeries(matrixToSeries(r));
          setInfo(`${r.result.length} series, step ${formatDuration(stepMs)}, ${Math.round(performance.now() - t0)} ms`);
          promApi
            .exemplars(q, startMs / 1000, endMs / 1000)
            .then((ex: ExemplarSeries[]) => {
              if (cancelled) return;
              const out: GraphExemplar[] = [];
              for (const s of ex ?? [])
                for (const e of s.exemplars)
                  out.push({ tsS: e.timestamp, value: Number(e.value), labels: e.labels, series: seriesName(s.seriesLabels) });
              // Oldest first, so that where points overlap the newest is drawn on top.
              out.sort((a, b) => a.tsS - b.tsS);
              setExemplars(out);
            })
            .catch(() => !cancelled && setExemplars([]));
        } else {
          const r = await promApi.query(q, endMs / 1000);
          if (cancelled) return;
          setResult(r);
          setInfo(`${Array.isArray(r.result) ? r.result.length : 1} results, ${Math.round(performance.now() - t0)} ms`);
        }
      } catch (e) {
        if (!cancelled) {
          setResult(null);
          setSeries([]);
          setExemplars([]);
          setInfo('');
          setError(errorOf(e));
        }
      } finally {
        if (!cancelled) setLoading(false);
      }
    };
    void run();
    return () => {
      cancelled = true;
    };
  }, [q, view, startMs, endMs, stepMs, runId]);

  return (
    <div class="explore-metrics">
      <div class="row">
        <QueryEditor
          testId="promql-editor"
          value={draft}
          onChange={setDraft}
          onRun={() => set({ q: draft }, true)}
          complete={promCompletions}
          error={error}
          placeholder="Enter a PromQL query (Shift+Enter for a new line), e.g. rate(prometheus_http_requests_total[5m])"
        />
        <button class="btn primary" data-testid="run-query" onClick={() => set({ q: draft }, true)}>
          Run query
        </button>
      </div>
      <div class="row toolbar">
        <div class="tabs">
          <button class={`tab ${view === 'graph' ? 'active' : ''}`} onClick={() => set({ view: 'graph' })}>
            Graph
          </button>
          <button class={`tab ${view === 'table' ? 'active' : ''}`} data-testid="table-tab" onClick={() => set({ view: 'table' })}>
            Table
          </button>
        </div>
        <label class="inline">
          Step
          <input
            class="small"
            placeholder={`auto (${formatDuration(stepMs)})`}
            value={state.step ?? ''}
            onChange={(e) => set({ step: e.currentTarget.value || undefined })}
          />
        </label>
        <span class="muted">{loading ? 'Loading…' : info}</span>
        {exemplars.length > 0 && <span class="muted">{exemplars.length} exemplars</span>}
      </div>
      {view === 'graph' && series.length > 0 && (
        <Graph
          series={series}
          exemplars={exemplars}
          startS={startMs / 1000}
          endS={endMs / 1000}
          onExemplarClick={(ex) => {
            const tid = ex.labels.trace_id ?? ex.labels.traceID ?? ex.labels.traceId;
            if (tid) navigate(`/explore/traces/${encodeURIComponent(tid)}`);
          }}
        />
      )}
      {view === 'graph' && result && series.length === 0 && <div class="empty">No data in this time range.</div>}
      {view === 'table' && result && <ResultTable result={result} />}
    </div>
  );
}

export function ResultTable({ result }: { result: QueryResult }) {
  if (result.resultType === 'scalar' || result.resultType === 'string') {
    return (
      <table class="grid" data-testid="result-table">
        <tbody>
          <tr>
            <td>{result.resultType}</td>
            <td class="num">{result.result[1]}</td>
          </tr>
        </tbody>
      </table>
    );
  }
  const rows =
    result.resultType === 'vector'
      ? result.result.map((s) => [seriesName(s.metric), s.value[1]])
      : (result.result as MatrixSeries[]).map((s) => [seriesName(s.metric), s.values.length ? s.values[s.values.length - 1][1] : '']);
  if (!rows.length) return <div class="empty">No data.</div>;
  return (
    <table class="grid" data-testid="result-table">
      <thead>
        <tr>
          <th>Series</th>
          <th class="num">Value</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([n, v]) => (
          <tr>
            <td class="mono">{n}</td>
            <td class="num">{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
