// Explore, traces: a TraceQL editor with tag completion and the search results (Tempo
// /api/search), and the trace view (/explore/traces/<id>): a waterfall with collapsible spans,
// the critical path highlighted, span details, and links to the span's logs and its service's
// RED metrics (span metrics).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { TempoSearchTrace, tempoApi } from '../api';
import { QueryEditor, QueryError } from '../components/QueryEditor';
import { tempoCompletions } from '../completion';
import { navigate } from '../router';
import { formatTime, useResolvedRange } from '../time';
import type { PaneProps } from './Explore';
import { exploreUrl } from './Explore';
import { errorOf } from './ExploreMetrics';
import { KV } from './ExploreLogs';
import { ServiceGraph } from './ServiceGraph';

export interface Span {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  service: string;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  events: { name: string; timeNs: bigint; attributes: Record<string, unknown> }[];
  links: { traceId: string; spanId: string; attributes: Record<string, unknown> }[];
  status: { code: string; message?: string };
  children: Span[];
  depth: number;
  critical: boolean;
}

/** OTLP/JSON IDs are hex; Tempo's protobuf-JSON answers give them base64. Returns lower hex. */
export function idToHex(id: string | undefined): string {
  if (!id) return '';
  if (/^[0-9a-fA-F]+$/.test(id) && (id.length === 16 || id.length === 32)) return id.toLowerCase();
  try {
    return Array.from(atob(id), (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
  } catch {
    return id;
  }
}

function anyValue(v: any): unknown {
  if (!v || typeof v !== 'object') return v;
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('boolValue' in v) return v.boolValue;
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(anyValue);
  if ('kvlistValue' in v) return attrs(v.kvlistValue.values);
  if ('bytesValue' in v) return v.bytesValue;
  return null;
}

function attrs(list: any[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of list ?? []) out[a.key] = anyValue(a.value);
  return out;
}

const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
function kindName(k: unknown): string {
  if (typeof k === 'number') return KINDS[k] ?? String(k);
  return String(k ?? '').replace(/^SPAN_KIND_/, '').toLowerCase() || 'unspecified';
}
function statusName(c: unknown): string {
  if (c === 2 || c === 'STATUS_CODE_ERROR') return 'error';
  if (c === 1 || c === 'STATUS_CODE_OK') return 'ok';
  return 'unset';
}

/** Spans of an OTLP/JSON trace ({batches} or {resourceSpans}, optionally under {trace}) as a forest with the critical path marked. */
export function parseTrace(body: any): Span[] {
  const root = body?.trace ?? body;
  const batches: any[] = root?.batches ?? root?.resourceSpans ?? [];
  const spans: Span[] = [];
  for (const b of batches) {
    const resource = attrs(b.resource?.attributes);
    const service = String(resource['service.name'] ?? 'unknown');
    for (const ss of b.scopeSpans ?? b.instrumentationLibrarySpans ?? [])
      for (const s of ss.spans ?? []) {
        spans.push({
          traceId: idToHex(s.traceId),
          spanId: idToHex(s.spanId),
          parentSpanId: idToHex(s.parentSpanId),
          name: s.name ?? '',
          kind: kindName(s.kind),
          service,
          startNs: BigInt(s.startTimeUnixNano ?? 0),
          endNs: BigInt(s.endTimeUnixNano ?? s.startTimeUnixNano ?? 0),
          attributes: attrs(s.attributes),
          resource,
          events: (s.events ?? []).map((e: any) => ({ name: e.name, timeNs: BigInt(e.timeUnixNano ?? 0), attributes: attrs(e.attributes) })),
          links: (s.links ?? []).map((l: any) => ({ traceId: idToHex(l.traceId), spanId: idToHex(l.spanId), attributes: attrs(l.attributes) })),
          status: { code: statusName(s.status?.code), message: s.status?.message },
          children: [],
          depth: 0,
          critical: false,
        });
      }
  }
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const roots: Span[] = [];
  for (const s of spans) {
    const p = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
    if (p && p !== s) p.children.push(s);
    else roots.push(s);
  }
  const sortRec = (list: Span[], depth: number) => {
    list.sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
    for (const s of list) {
      s.depth = depth;
      sortRec(s.children, depth + 1);
    }
  };
  sortRec(roots, 0);
  for (const r of roots) markCritical(r);
  return roots;
}

/** The critical path: walking back from a span's end, the child that finished last before the cursor. */
export function markCritical(s: Span): void {
  s.critical = true;
  let cursor = s.endNs;
  const byEnd = [...s.children].sort((a, b) => (a.endNs > b.endNs ? -1 : a.endNs < b.endNs ? 1 : 0));
  for (const c of byEnd) {
    if (c.endNs <= cursor || c === byEnd[0]) {
      markCritical(c);
      cursor = c.startNs;
    }
  }
}

function ms(ns: bigint): number {
  return Number(ns) / 1e6;
}
export function fmtMs(v: number): string {
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  if (v >= 1) return `${v.toFixed(1)} ms`;
  return `${(v * 1000).toFixed(0)} µs`;
}

export function TraceTable({ traces }: { traces: TempoSearchTrace[] }) {
  if (!traces.length) return <div class="nodata">No traces</div>;
  return (
    <table class="grid" data-testid="trace-table">
      <thead>
        <tr>
          <th>Trace ID</th>
          <th>Root service</th>
          <th>Root name</th>
          <th>Start</th>
          <th class="num">Duration</th>
          <th class="num">Spans</th>
        </tr>
      </thead>
      <tbody>
        {traces.map((t) => {
          const sets = t.spanSets ?? (t.spanSet ? [t.spanSet] : []);
          const matched = sets.reduce((n, s) => n + (s.matched ?? s.spans?.length ?? 0), 0);
          return (
            <tr class="clickable" onClick={() => navigate(`/explore/traces/${encodeURIComponent(t.traceID)}`)}>
              <td class="mono">
                <a href={`/explore/traces/${encodeURIComponent(t.traceID)}`}>{t.traceID}</a>
              </td>
              <td>{t.rootServiceName ?? ''}</td>
              <td>{t.rootTraceName ?? ''}</td>
              <td>{t.startTimeUnixNano ? formatTime(Number(BigInt(t.startTimeUnixNano) / 1000000n)) : ''}</td>
              <td class="num">{t.durationMs !== undefined ? fmtMs(t.durationMs) : ''}</td>
              <td class="num">{matched || ''}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function ExploreTraces({ state, set, runId }: PaneProps) {
  if (state.trace) return <TraceView id={state.trace} onBack={() => set({ trace: undefined }, true)} range={{ from: state.from, to: state.to }} />;
  return (
    <div>
      <div class="tabs row">
        <button class={`tab ${state.view !== 'graph' ? 'active' : ''}`} onClick={() => set({ view: undefined })}>
          Search
        </button>
        <button class={`tab ${state.view === 'graph' ? 'active' : ''}`} data-testid="service-graph-tab" onClick={() => set({ view: 'graph' })}>
          Service graph
        </button>
      </div>
      {state.view === 'graph' ? <ServiceGraph range={{ from: state.from, to: state.to }} /> : <TraceSearch state={state} set={set} runId={runId} />}
    </div>
  );
}

function TraceSearch({ state, set, runId }: PaneProps) {
  const q = state.q ?? '';
  const [draft, setDraft] = useState(q);
  const [error, setError] = useState<QueryError | null>(null);
  const [traces, setTraces] = useState<TempoSearchTrace[] | null>(null);
  const [loading, setLoading] = useState(false);
  const { startMs, endMs } = useResolvedRange({ from: state.from ?? 'now-1h', to: state.to ?? 'now' }, runId);
  useEffect(() => setDraft(q), [q]);
  useEffect(() => {
    if (!q.trim()) return;
    let cancelled = false;
    setLoading(true);
    setError(null);
    tempoApi
      .search(q, Math.floor(startMs / 1000), Math.ceil(endMs / 1000), 50)
      .then((t) => !cancelled && setTraces(t))
      .catch((e) => !cancelled && (setError(errorOf(e)), setTraces(null)))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [q, startMs, endMs, runId]);
  return (
    <div class="explore-traces">
      <div class="row">
        <QueryEditor
          testId="traceql-editor"
          value={draft}
          onChange={setDraft}
          onRun={() => set({ q: draft }, true)}
          complete={tempoCompletions}
          error={error}
          placeholder='Enter a TraceQL query, e.g. { resource.service.name = "api" && duration > 100ms }, or paste a trace ID'
        />
        <button
          class="btn primary"
          onClick={() => (/^[0-9a-fA-F]{16,32}$/.test(draft.trim()) ? set({ trace: draft.trim() }, true) : set({ q: draft }, true))}
        >
          Run query
        </button>
      </div>
      {loading && <div class="muted">Searching…</div>}
      {traces && <TraceTable traces={traces} />}
    </div>
  );
}

function flatten(roots: Span[], collapsed: Set<string>): Span[] {
  const out: Span[] = [];
  const walk = (s: Span) => {
    out.push(s);
    if (!collapsed.has(s.spanId)) s.children.forEach(walk);
  };
  roots.forEach(walk);
  return out;
}

export function TraceView({ id, onBack, range }: { id: string; onBack?: () => void; range?: { from?: string; to?: string } }) {
  const [roots, setRoots] = useState<Span[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [selected, setSelected] = useState<Span | null>(null);
  useEffect(() => {
    setRoots(null);
    setError(null);
    setSelected(null);
    tempoApi
      .trace(id)
      .then((b) => setRoots(parseTrace(b)))
      .catch((e) => setError(errorOf(e).message));
  }, [id]);
  const rows = useMemo(() => (roots ? flatten(roots, collapsed) : []), [roots, collapsed]);
  const all = useMemo(() => (roots ? flatten(roots, new Set()) : []), [roots]);
  if (error)
    return (
      <div class="trace-view">
        {onBack && <button class="btn" onClick={onBack}>← Search</button>}
        <div class="err small-pad">Trace {id}: {error}</div>
      </div>
    );
  if (!roots) return <div class="muted">Loading trace {id}…</div>;
  if (!all.length) return <div class="empty">Trace {id} has no spans.</div>;
  const t0 = all.reduce((m, s) => (s.startNs < m ? s.startNs : m), all[0].startNs);
  const t1 = all.reduce((m, s) => (s.endNs > m ? s.endNs : m), all[0].endNs);
  const total = Math.max(1e-6, ms(t1 - t0));
  const services = Array.from(new Set(all.map((s) => s.service)));
  const root = roots[0];
  const toggle = (s: Span) => {
    const n = new Set(collapsed);
    if (n.has(s.spanId)) n.delete(s.spanId);
    else n.add(s.spanId);
    setCollapsed(n);
  };
  const hue = (svc: string) => (services.indexOf(svc) * 67) % 360;
  return (
    <div class="trace-view" data-testid="trace-view">
      <div class="row toolbar">
        {onBack && <button class="btn" onClick={onBack}>← Search</button>}
        <strong>
          {root.service}: {root.name}
        </strong>
        <span class="muted mono">{id}</span>
        <span class="muted">
          {fmtMs(total)} · {all.length} spans · {services.length} services · started {formatTime(Number(t0 / 1000000n))}
        </span>
        <span class="spacer" />
        <a class="btn" data-testid="trace-to-metrics" href={redDashboardUrl(root.service, range)} title="Rate, errors and duration of the service (span metrics)">
          RED metrics of {root.service}
        </a>
      </div>
      <div class="waterfall" data-testid="waterfall">
        <div class="wf-head">
          <span class="wf-name">Service & operation</span>
          <span class="wf-bar-cell">
            {[0, 0.25, 0.5, 0.75].map((f) => (
              <span class="wf-tick" style={{ left: `${f * 100}%` }}>
                {fmtMs(total * f)}
              </span>
            ))}
          </span>
        </div>
        {rows.map((s) => {
          const left = (ms(s.startNs - t0) / total) * 100;
          const width = Math.max(0.2, (ms(s.endNs - s.startNs) / total) * 100);
          return (
            <div
              class={`wf-row ${selected === s ? 'sel' : ''} ${s.status.code === 'error' ? 'error' : ''}`}
              data-testid="span-row"
              onClick={() => setSelected(selected === s ? null : s)}
            >
              <span class="wf-name" style={{ paddingLeft: `${s.depth * 14 + 4}px` }}>
                {s.children.length ? (
                  <button
                    class="wf-toggle"
                    onClick={(e) => {
                      e.stopPropagation();
                      toggle(s);
                    }}
                  >
                    {collapsed.has(s.spanId) ? '▸' : '▾'}
                  </button>
                ) : (
                  <span class="wf-toggle" />
                )}
                <span class="wf-svc" style={{ borderColor: `hsl(${hue(s.service)} 60% 55%)` }}>
                  {s.service}
                </span>{' '}
                {s.name}
              </span>
              <span class="wf-bar-cell">
                <span
                  class={`wf-bar ${s.critical ? 'critical' : ''}`}
                  title={s.critical ? 'On the critical path' : ''}
                  style={{ left: `${left}%`, width: `${width}%`, background: `hsl(${hue(s.service)} 60% 45%)` }}
                />
                <span class="wf-dur" style={{ left: `${Math.min(left + width, 88)}%` }}>
                  {fmtMs(ms(s.endNs - s.startNs))}
                </span>
              </span>
            </div>
          );
        })}
      </div>
      {selected && <SpanDetails span={selected} t0={t0} range={range} />}
    </div>
  );
}

/**
 * The RED metrics of a service: the shipped "Service overview (span metrics)" dashboard with its
 * service variable set (rate, error share, p95 duration, operations, from Tempo's span-metrics
 * series), over the trace's time range.
 */
export function redDashboardUrl(service: string, range?: { from?: string; to?: string }): string {
  const p = new URLSearchParams({ 'var-service': service, from: range?.from ?? 'now-1h', to: range?.to ?? 'now' });
  return `/dashboards/service-overview?${p}`;
}

/** Explore metrics with the span rate of a service's operations. */
function redUrl(service: string, range?: { from?: string; to?: string }): string {
  const q = `sum by (span_name) (rate(traces_spanmetrics_calls_total{service="${service}"}[5m]))`;
  return exploreUrl({ signal: 'metrics', q, from: range?.from ?? 'now-1h', to: range?.to ?? 'now' });
}

/**
 * Explore logs for the span's service and trace: `{service_name="<service>"} | trace_id="<id>"`.
 * The label filter matches trace_id in structured metadata (where OTLP log ingestion and the
 * OTel log bridges put it) or in the stream's labels, as Grafana's Tempo-to-Loki link does with
 * "filter by trace ID".
 */
export function logsForSpanUrl(s: Span, range?: { from?: string; to?: string }): string {
  const q = `{service_name="${s.service}"} | trace_id="${s.traceId}"`;
  return exploreUrl({ signal: 'logs', q, from: range?.from ?? 'now-1h', to: range?.to ?? 'now' });
}

function SpanDetails({ span, t0, range }: { span: Span; t0: bigint; range?: { from?: string; to?: string } }) {
  return (
    <div class="span-details" data-testid="span-details">
      <div class="row toolbar">
        <strong>{span.name}</strong>
        <span class="muted">
          {span.kind} · {span.status.code}
          {span.status.message ? `: ${span.status.message}` : ''} · start +{fmtMs(ms(span.startNs - t0))} · {fmtMs(ms(span.endNs - span.startNs))}
        </span>
        <span class="mono muted">span {span.spanId}</span>
        <span class="spacer" />
        <a class="btn" data-testid="span-to-logs" href={logsForSpanUrl(span, range)}>
          Logs for this span
        </a>
        <a class="btn" data-testid="span-to-metrics" href={redUrl(span.service, range)} title="Explore the span rate of the service's operations">
          Metrics of {span.service}
        </a>
      </div>
      <div class="details-grid">
        <KV title="Span attributes" kv={span.attributes} />
        <KV title="Resource" kv={span.resource} />
        {span.events.length > 0 && (
          <div class="kv">
            <div class="kv-title">Events</div>
            {span.events.map((e) => (
              <KV title={`+${fmtMs(ms(e.timeNs - t0))} ${e.name}`} kv={e.attributes} />
            ))}
          </div>
        )}
        {span.links.length > 0 && (
          <div class="kv">
            <div class="kv-title">Links</div>
            {span.links.map((l) => (
              <div>
                <a href={`/explore/traces/${l.traceId}`} class="mono">
                  {l.traceId}/{l.spanId}
                </a>
              </div>
            ))}
          </div>
        )}
      </div>
    </div>
  );
}
