// Explore, logs: a LogQL editor with label completion, a volume histogram
// (sum(count_over_time(...)) over the range), and the lines with their labels and structured
// metadata; newest or oldest first, wrap, load more, and a link to the trace of any line that
// carries a trace ID.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, DetectedField, LokiStream, MatrixSeries, lokiApi, lokiTailUrl } from '../api';
import { Graph, GraphSeries } from '../components/Graph';
import { QueryEditor, QueryError } from '../components/QueryEditor';
import { lokiCompletions } from '../completion';
import { autoStepMs, formatDuration, formatTime, useResolvedRange } from '../time';
import type { PaneProps } from './Explore';
import { errorOf, matrixToSeries } from './ExploreMetrics';

const PAGE = 100;

export interface LogLine {
  tsNs: string;
  line: string;
  labels: Record<string, string>;
  metadata: Record<string, string>;
}

export function flattenStreams(streams: LokiStream[], newestFirst: boolean): LogLine[] {
  const out: LogLine[] = [];
  for (const s of streams)
    for (const v of s.values) {
      const meta: Record<string, string> = {};
      const extra = v[2] as Record<string, any> | undefined;
      if (extra) {
        for (const group of ['structuredMetadata', 'parsed']) Object.assign(meta, extra[group] ?? {});
      }
      out.push({ tsNs: v[0], line: v[1], labels: s.stream, metadata: meta });
    }
  out.sort((a, b) => (BigInt(a.tsNs) < BigInt(b.tsNs) ? -1 : BigInt(a.tsNs) > BigInt(b.tsNs) ? 1 : 0));
  if (newestFirst) out.reverse();
  return out;
}

const TRACE_RE = /\btrace[_-]?id["']?\s*[=:]\s*["']?([0-9a-fA-F]{32}|[0-9a-fA-F]{16})\b/i;

/** The trace ID of a line: from its structured metadata or labels, else from the text. */
export function traceIdOf(l: LogLine): string | null {
  for (const src of [l.metadata, l.labels])
    for (const k of ['trace_id', 'traceID', 'traceId', 'trace-id']) if (src[k]) return src[k];
  return TRACE_RE.exec(l.line)?.[1] ?? null;
}

export function LogLines({ streams, newestFirst, wrap = true, compact }: { streams: LokiStream[]; newestFirst: boolean; wrap?: boolean; compact?: boolean }) {
  const lines = useMemo(() => flattenStreams(streams, newestFirst), [streams, newestFirst]);
  const [open, setOpen] = useState<number | null>(null);
  if (!lines.length) return <div class="nodata">No log lines</div>;
  return (
    <div class={`logs ${wrap ? 'wrap' : ''} ${compact ? 'compact' : ''}`} data-testid="log-lines">
      {lines.map((l, i) => {
        const tid = traceIdOf(l);
        const level = l.labels.level ?? l.labels.detected_level ?? l.metadata.level ?? l.metadata.detected_level ?? '';
        return (
          <div class={`log-line lvl-${level.toLowerCase()}`} data-testid="log-line">
            <div class="log-main" onClick={() => setOpen(open === i ? null : i)}>
              <span class="log-ts">{formatTime(Number(BigInt(l.tsNs) / 1000000n))}</span>
              <span class="log-text">{l.line}</span>
              {tid && (
                <a class="log-trace" href={`/explore/traces/${encodeURIComponent(tid)}`} data-testid="log-trace-link" onClick={(e) => e.stopPropagation()}>
                  trace ↗
                </a>
              )}
            </div>
            {open === i && (
              <div class="log-details">
                <KV title="Labels" kv={l.labels} />
                {Object.keys(l.metadata).length > 0 && <KV title="Structured metadata" kv={l.metadata} />}
              </div>
            )}
          </div>
        );
      })}
    </div>
  );
}

export function KV({ title, kv }: { title: string; kv: Record<string, unknown> }) {
  return (
    <div class="kv">
      <div class="kv-title">{title}</div>
      <table class="grid">
        <tbody>
          {Object.entries(kv).map(([k, v]) => (
            <tr>
              <td class="mono">{k}</td>
              <td class="mono">{typeof v === 'string' ? v : JSON.stringify(v)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Fields found in the lines (logfmt key=value pairs or a JSON object), with their values. */
export function detectFields(lines: LogLine[]): { name: string; parser: 'logfmt' | 'json'; values: Map<string, number> }[] {
  const fields = new Map<string, { name: string; parser: 'logfmt' | 'json'; values: Map<string, number> }>();
  const add = (name: string, value: string, parser: 'logfmt' | 'json') => {
    let f = fields.get(name);
    if (!f) fields.set(name, (f = { name, parser, values: new Map() }));
    f.values.set(value, (f.values.get(value) ?? 0) + 1);
  };
  for (const l of lines) {
    const t = l.line.trim();
    if (t.startsWith('{')) {
      try {
        const o = JSON.parse(t);
        for (const [k, v] of Object.entries(o)) if (typeof v !== 'object') add(k, String(v), 'json');
        continue;
      } catch {
        /* not JSON: try logfmt */
      }
    }
    for (const m of t.matchAll(/([\w.]+)=("(?:[^"\\]|\\.)*"|\S*)/g)) add(m[1], m[2].replace(/^"|"$/g, ''), 'logfmt');
  }
  return Array.from(fields.values()).sort((a, b) => a.name.localeCompare(b.name));
}

/** A field to filter by: its name, the parser that yields it (none for structured metadata), its values if known. */
export interface FieldInfo {
  name: string;
  parser: 'logfmt' | 'json' | null;
  cardinality: number;
  /** Value -> lines seen with it, from the lines shown; null until asked from Loki. */
  values: Map<string, number> | null;
}

/** The stage that keeps only lines where `name` is `value`: `| logfmt | name="v"`, or `| name="v"` for structured metadata. */
export function fieldFilter(f: Pick<FieldInfo, 'name' | 'parser'>, value: string): string {
  const name = /^[A-Za-z_][A-Za-z0-9_]*$/.test(f.name) ? f.name : f.name.replace(/[^A-Za-z0-9_]/g, '_');
  return `${f.parser ? `| ${f.parser} ` : ''}| ${name}=${JSON.stringify(value)}`;
}

/** Loki's detected_fields answer as FieldInfo; the first parser Loki lists is the one used. */
export function fieldsFromLoki(fields: DetectedField[]): FieldInfo[] {
  return fields
    .map((f) => {
      const p = (f.parsers ?? []).find((x) => x === 'logfmt' || x === 'json') as 'logfmt' | 'json' | undefined;
      return { name: f.label, parser: p ?? null, cardinality: f.cardinality, values: null };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

// Set once a Loki answers 404 on detected_fields: the fields are then found in the lines shown.
let lokiHasDetectedFields = true;

function DetectedFields({ q, startNs, endNs, streams, onFilter }: { q: string; startNs: string; endNs: string; streams: LokiStream[]; onFilter: (stage: string) => void }) {
  const local = useMemo(
    () => detectFields(flattenStreams(streams, true)).map((f): FieldInfo => ({ name: f.name, parser: f.parser, cardinality: f.values.size, values: f.values })),
    [streams],
  );
  const [remote, setRemote] = useState<FieldInfo[] | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [values, setValues] = useState<string[] | null>(null);
  useEffect(() => {
    setRemote(null);
    setOpen(null);
    if (!lokiHasDetectedFields) return;
    let cancelled = false;
    lokiApi
      .detectedFields(q, startNs, endNs)
      .then((f) => !cancelled && setRemote(fieldsFromLoki(f)))
      .catch((e) => {
        if (e instanceof ApiError && e.status === 404) lokiHasDetectedFields = false;
      });
    return () => {
      cancelled = true;
    };
  }, [q, startNs, endNs]);
  const fields = remote ?? local;
  const f = fields.find((x) => x.name === open);
  useEffect(() => {
    setValues(null);
    if (!f || f.values) return;
    let cancelled = false;
    lokiApi
      .detectedFieldValues(f.name, q, startNs, endNs)
      .then((v) => !cancelled && setValues(v))
      .catch(() => !cancelled && setValues([]));
    return () => {
      cancelled = true;
    };
  }, [open, remote]);
  if (!fields.length) return null;
  const shown: [string, number | null][] = f?.values
    ? Array.from(f.values.entries()).sort((a, b) => b[1] - a[1])
    : (values ?? []).map((v) => [v, null]);
  return (
    <div class="fields" data-testid="detected-fields" data-source={remote ? 'loki' : 'lines'}>
      <span class="muted" title={remote ? 'From Loki (detected_fields)' : 'Found in the lines shown (logfmt or JSON)'}>
        Detected fields:
      </span>
      {fields.map((x) => (
        <button class={`chip ${open === x.name ? 'active' : ''}`} onClick={() => setOpen(open === x.name ? null : x.name)}>
          {x.name} <span class="muted">{x.cardinality}</span>
        </button>
      ))}
      {f && (
        <div class="field-values">
          {!f.values && values === null && <span class="muted">Loading values…</span>}
          {shown.slice(0, 10).map(([v, n]) => (
            <button class="chip" title={`Show only lines where ${f.name} is "${v}"`} onClick={() => onFilter(fieldFilter(f, v))}>
              {v || '""'} {n !== null && <span class="muted">{n}</span>}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

const LEVEL_COLORS: [RegExp, string][] = [
  [/^(crit|critical|fatal|emerg|alert|panic)/i, '#b877d9'],
  [/^(err|error|eror)/i, '#f2495c'],
  [/^(warn|warning)/i, '#ff9830'],
  [/^(info|notice|information)/i, '#73bf69'],
  [/^(debug|dbug)/i, '#5794f2'],
  [/^(trace)/i, '#6ed0e0'],
];

/**
 * The log volume (`sum by (level) (count_over_time(...))`) as one series per level, coloured as
 * Grafana colours log levels (error red, warn orange, info green, debug blue), ordered from the
 * least to the most severe so the stack puts errors on top; lines without a level are "logs".
 */
export function volumeSeries(result: MatrixSeries[]): GraphSeries[] {
  const rank = (l: string) => {
    const i = LEVEL_COLORS.findIndex(([re]) => re.test(l));
    return i < 0 ? -1 : LEVEL_COLORS.length - i;
  };
  return result
    .map((s) => {
      const level = s.metric.level ?? '';
      return { name: level || 'logs', color: LEVEL_COLORS.find(([re]) => re.test(level))?.[1] ?? '#8e9196', points: s.values.map(([t, v]) => [t, Number(v)] as [number, number]), r: rank(level) };
    })
    .sort((a, b) => a.r - b.r || a.name.localeCompare(b.name))
    .map(({ r: _r, ...s }) => s);
}

function isMetricQuery(q: string): boolean {
  return !q.trim().startsWith('{');
}

export function ExploreLogs({ state, set, runId }: PaneProps) {
  const q = state.q ?? '';
  const [draft, setDraft] = useState(q);
  const [error, setError] = useState<QueryError | null>(null);
  const [streams, setStreams] = useState<LokiStream[]>([]);
  const [volume, setVolume] = useState<GraphSeries[]>([]);
  const [metric, setMetric] = useState<GraphSeries[]>([]);
  const [limit, setLimit] = useState(PAGE);
  const [loading, setLoading] = useState(false);
  const [wrap, setWrap] = useState(true);
  const newestFirst = state.order !== 'oldest';
  const range = { from: state.from ?? 'now-1h', to: state.to ?? 'now' };
  const { startMs, endMs } = useResolvedRange(range, runId);
  const stepMs = autoStepMs(endMs - startMs, 120);

  useEffect(() => setDraft(q), [q]);
  useEffect(() => setLimit(PAGE), [q, startMs, endMs, newestFirst]);

  useEffect(() => {
    if (!q.trim()) return;
    let cancelled = false;
    setLoading(true);
    setError(null);
    const start = `${startMs}000000`;
    const end = `${endMs}000000`;
    (async () => {
      if (isMetricQuery(q)) {
        const r = await lokiApi.queryRange(q, start, end, limit, 'backward', stepMs / 1000);
        if (cancelled) return;
        setStreams([]);
        setVolume([]);
        setMetric(r.resultType === 'streams' ? [] : matrixToSeries(r as any));
        return;
      }
      const [r, vol] = await Promise.all([
        lokiApi.queryRange(q, start, end, limit, newestFirst ? 'backward' : 'forward'),
        lokiApi.queryRange(`sum by (level) (count_over_time(${q} [${formatDuration(stepMs)}]))`, start, end, 1000, 'backward', stepMs / 1000).catch(() => null),
      ]);
      if (cancelled) return;
      setMetric([]);
      setStreams(r.resultType === 'streams' ? r.result : []);
      setVolume(vol && vol.resultType === 'matrix' ? volumeSeries(vol.result) : []);
    })()
      .catch((e) => !cancelled && (setError(errorOf(e)), setStreams([]), setVolume([])))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [q, startMs, endMs, limit, newestFirst, runId]);

  // Live tail: Loki's WebSocket sends {"streams": [...], "dropped_entries": [...]} messages.
  const [live, setLive] = useState(false);
  const [tail, setTail] = useState<LokiStream[]>([]);
  const [tailState, setTailState] = useState('');
  useEffect(() => {
    if (!live || !q.trim() || isMetricQuery(q)) return;
    setTail([]);
    setTailState('connecting…');
    let ws: WebSocket;
    try {
      ws = new WebSocket(lokiTailUrl(q, `${Date.now() - 60_000}000000`));
    } catch (e) {
      setTailState(`cannot tail: ${(e as Error).message}`);
      return;
    }
    ws.onopen = () => setTailState('live');
    ws.onerror = () => setTailState('tail connection failed');
    ws.onclose = () => setTailState((s) => (s === 'live' ? 'tail closed' : s));
    ws.onmessage = (m) => {
      try {
        const msg = JSON.parse(String(m.data)) as { streams?: LokiStream[] };
        const add = msg.streams ?? [];
        if (add.length) setTail((old) => [...old, ...add].slice(-200));
      } catch {
        /* a message that is not JSON is ignored */
      }
    };
    return () => ws.close();
  }, [live, q]);

  const count = streams.reduce((n, s) => n + s.values.length, 0);
  return (
    <div class="explore-logs">
      <div class="row">
        <QueryEditor
          testId="logql-editor"
          value={draft}
          onChange={setDraft}
          onRun={() => set({ q: draft }, true)}
          complete={lokiCompletions}
          error={error}
          placeholder='Enter a LogQL query, e.g. {service_name="api"} |= "error"'
        />
        <button class="btn primary" onClick={() => set({ q: draft }, true)}>
          Run query
        </button>
      </div>
      {volume.length > 0 && (
        <div class="volume" data-testid="log-volume">
          <Graph series={volume} height={volume.length > 1 ? 120 : 90} bars stacked legend={volume.length > 1} startS={startMs / 1000} endS={endMs / 1000} />
        </div>
      )}
      {metric.length > 0 && <Graph series={metric} startS={startMs / 1000} endS={endMs / 1000} />}
      {q && !metric.length && (
        <div class="row toolbar">
          <div class="tabs">
            <button class={`tab ${newestFirst ? 'active' : ''}`} onClick={() => set({ order: undefined })}>
              Newest first
            </button>
            <button class={`tab ${!newestFirst ? 'active' : ''}`} onClick={() => set({ order: 'oldest' })}>
              Oldest first
            </button>
          </div>
          <label class="inline">
            <input type="checkbox" checked={wrap} onChange={(e) => setWrap(e.currentTarget.checked)} /> Wrap lines
          </label>
          <label class="inline">
            <input type="checkbox" data-testid="live-tail" checked={live} onChange={(e) => setLive(e.currentTarget.checked)} /> Live
          </label>
          <span class="muted">{live ? tailState : loading ? 'Loading…' : `${count} lines`}</span>
        </div>
      )}
      {q && !metric.length && <DetectedFields q={q} startNs={`${startMs}000000`} endNs={`${endMs}000000`} streams={streams} onFilter={(stage) => set({ q: `${q} ${stage}` }, true)} />}
      {q && !metric.length && <LogLines streams={live ? tail : streams} newestFirst={live || newestFirst} wrap={wrap} />}
      {!live && count >= limit && (
        <div class="row">
          <button class="btn" data-testid="load-more" onClick={() => setLimit(limit + PAGE)}>
            Load more
          </button>
        </div>
      )}
    </div>
  );
}
