// The service graph, drawn from the service-graph metrics Tempo's metrics-generator defines
// (Tempo docs, metrics-generator/service_graphs: traces_service_graph_request_total{client,
// server}, ..._failed_total and the ..._request_server_seconds histogram) over the time range
// shown: services as nodes laid out left to right by call depth, calls as edges labelled with
// their rate, mean duration and error share. Clicking a service searches its traces.
import { useEffect, useState } from 'preact/hooks';
import { QueryResult, promApi } from '../api';
import { formatValue } from '../dashboards/model';
import { useResolvedRange } from '../time';
import { navigate } from '../router';
import { exploreUrl } from './Explore';
import { errorOf } from './ExploreMetrics';

export interface Edge {
  client: string;
  server: string;
  rate: number;
  failed: number;
  /** Mean server-side duration in seconds (traces_service_graph_request_server_seconds), if known. */
  latencyS?: number;
}

/**
 * The queries behind the graph, over the whole time range shown (rate over the range, at its
 * end), in Tempo's metrics-generator names: requests, failed requests, and the server-side
 * duration histogram's sum and count.
 */
export function serviceGraphQueries(rangeS: number): { total: string; failed: string; latency: string } {
  const w = `${Math.max(60, Math.round(rangeS))}s`;
  const by = (m: string) => `sum by (client, server) (rate(${m}[${w}]))`;
  return {
    total: by('traces_service_graph_request_total'),
    failed: by('traces_service_graph_request_failed_total'),
    latency: `${by('traces_service_graph_request_server_seconds_sum')} / ${by('traces_service_graph_request_server_seconds_count')}`,
  };
}

/** Column (call depth) of each service: roots (never a server) at 0, then longest path. */
export function layoutColumns(edges: Edge[]): Map<string, number> {
  const col = new Map<string, number>();
  const nodes = new Set(edges.flatMap((e) => [e.client, e.server]));
  const servers = new Set(edges.map((e) => e.server));
  for (const n of nodes) if (!servers.has(n)) col.set(n, 0);
  if (!col.size && nodes.size) col.set([...nodes].sort()[0], 0); // a cycle only: start anywhere
  for (let pass = 0; pass < nodes.size; pass++) {
    let changed = false;
    for (const e of edges) {
      const c = col.get(e.client);
      if (c === undefined || e.client === e.server) continue;
      if ((col.get(e.server) ?? -1) < c + 1 && c + 1 < nodes.size) {
        col.set(e.server, c + 1);
        changed = true;
      }
    }
    if (!changed) break;
  }
  for (const n of nodes) if (!col.has(n)) col.set(n, 0);
  return col;
}

export function ServiceGraph({ range }: { range: { from?: string; to?: string } }) {
  const [edges, setEdges] = useState<Edge[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { startMs, endMs } = useResolvedRange({ from: range.from ?? 'now-1h', to: range.to ?? 'now' });
  useEffect(() => {
    const q = serviceGraphQueries((endMs - startMs) / 1000);
    const at = endMs / 1000;
    const byEdge = (r: QueryResult | null) => {
      const m = new Map<string, number>();
      if (r?.resultType === 'vector') for (const s of r.result) m.set(`${s.metric.client}>${s.metric.server}`, Number(s.value[1]));
      return m;
    };
    Promise.all([promApi.query(q.total, at), promApi.query(q.failed, at).catch(() => null), promApi.query(q.latency, at).catch(() => null)])
      .then(([total, failed, latency]) => {
        const f = byEdge(failed);
        const l = byEdge(latency);
        const out: Edge[] = [];
        if (total.resultType === 'vector')
          for (const s of total.result) {
            const key = `${s.metric.client}>${s.metric.server}`;
            const lat = l.get(key);
            out.push({ client: s.metric.client ?? '?', server: s.metric.server ?? '?', rate: Number(s.value[1]), failed: f.get(key) ?? 0, latencyS: lat !== undefined && Number.isFinite(lat) ? lat : undefined });
          }
        setEdges(out);
      })
      .catch((e) => setError(errorOf(e).message));
  }, [startMs, endMs]);
  if (error) return <div class="err small-pad">Service graph: {error}</div>;
  if (!edges) return <div class="muted">Loading the service graph…</div>;
  if (!edges.length) return <div class="empty">No service-graph metrics (traces_service_graph_request_total) in this time range.</div>;
  const col = layoutColumns(edges);
  const byCol = new Map<number, string[]>();
  for (const [n, c] of col) byCol.set(c, [...(byCol.get(c) ?? []), n].sort());
  const W = 180;
  const H = 60;
  const GAP = 150;
  const pos = new Map<string, { x: number; y: number }>();
  for (const [c, names] of byCol) names.forEach((n, i) => pos.set(n, { x: 20 + c * (W + GAP), y: 20 + i * (H + 30) }));
  const width = 40 + (Math.max(...byCol.keys()) + 1) * (W + GAP);
  const height = 40 + Math.max(...[...byCol.values()].map((v) => v.length)) * (H + 30);
  return (
    <svg class="svcgraph" data-testid="service-graph" width={width} height={height}>
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" fill="#8e9196" />
        </marker>
      </defs>
      {edges.map((e) => {
        const a = pos.get(e.client)!;
        const b = pos.get(e.server)!;
        const x1 = a.x + W;
        const y1 = a.y + H / 2;
        const x2 = b.x;
        const y2 = b.y + H / 2;
        const err = e.rate > 0 ? e.failed / e.rate : 0;
        return (
          <g>
            <path d={`M${x1},${y1} C${x1 + 40},${y1} ${x2 - 40},${y2} ${x2},${y2}`} stroke={err > 0.05 ? '#f2495c' : '#8e9196'} fill="none" marker-end="url(#arrow)" />
            <text x={(x1 + x2) / 2} y={(y1 + y2) / 2 - 6} fill="#d8d9da" font-size="11" text-anchor="middle">
              {formatValue(e.rate, 'reqps')}
              {e.latencyS !== undefined ? ` · ${formatValue(e.latencyS, 's')}` : ''}
            </text>
            {err > 0 && (
              <text x={(x1 + x2) / 2} y={(y1 + y2) / 2 + 14} fill="#f2495c" font-size="11" text-anchor="middle">
                {(err * 100).toFixed(1)}% err
              </text>
            )}
          </g>
        );
      })}
      {[...pos.entries()].map(([n, p]) => (
        <g
          class="svc-node"
          data-testid="service-node"
          onClick={() => navigate(exploreUrl({ signal: 'traces', q: `{ resource.service.name = "${n}" }`, from: range.from, to: range.to }))}
        >
          <rect x={p.x} y={p.y} width={W} height={H} rx="6" fill="#22252b" stroke="#6e9fff" />
          <text x={p.x + W / 2} y={p.y + H / 2 + 4} fill="#d8d9da" font-size="13" text-anchor="middle">
            {n}
          </text>
        </g>
      ))}
    </svg>
  );
}
