// The dashboard model: Grafana's classic dashboard JSON (schemaVersion 16-39), the subset Argus
// renders. Import normalizes what Grafana exports (rows, old panel types, data source
// references) into it; `interpolate` expands template variables and the built-ins
// ($__interval, $__rate_interval, $__range) the way Grafana does for Prometheus queries.
import { formatDuration, parseDurationMs } from '../time';

export type Kind = 'prometheus' | 'loki' | 'tempo';
export const PANEL_TYPES = ['timeseries', 'stat', 'gauge', 'bargauge', 'table', 'logs', 'traces', 'row', 'text'] as const;

export interface Target {
  refId?: string;
  expr?: string; // PromQL or LogQL
  query?: string; // TraceQL (Tempo)
  legendFormat?: string;
  instant?: boolean;
  datasource?: DataSourceRef | string | null;
  hide?: boolean;
}
export interface DataSourceRef {
  type?: string;
  uid?: string;
}
export interface Threshold {
  color: string;
  value: number | null;
}
export interface Panel {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  datasource?: DataSourceRef | string | null;
  fieldConfig?: { defaults?: { unit?: string; min?: number; max?: number; decimals?: number; thresholds?: { steps?: Threshold[] } } };
  options?: Record<string, any>;
  interval?: string;
  maxDataPoints?: number;
  panels?: Panel[]; // a collapsed row's panels
  collapsed?: boolean;
  /** Set by import when the original type is not one Argus draws. */
  originalType?: string;
}
export interface Variable {
  name: string;
  label?: string;
  type: 'query' | 'custom' | 'interval' | 'constant' | 'textbox' | 'datasource' | string;
  query?: string | { query?: string };
  definition?: string;
  current?: { text?: string | string[]; value?: string | string[] };
  options?: { text: string; value: string; selected?: boolean }[];
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string | null;
  auto?: boolean;
  auto_count?: number;
  hide?: number;
  regex?: string;
}
export interface Dashboard {
  uid: string;
  title: string;
  tags?: string[];
  description?: string;
  time?: { from: string; to: string };
  refresh?: string;
  templating?: { list: Variable[] };
  panels: Panel[];
  schemaVersion?: number;
  /** UI-only: shipped with Argus (read-only until saved). */
  shipped?: boolean;
}

const TYPE_MAP: Record<string, string> = {
  graph: 'timeseries',
  singlestat: 'stat',
  'grafana-singlestat-panel': 'stat',
  'table-old': 'table',
  barchart: 'timeseries',
  'grafana-piechart-panel': 'bargauge',
  piechart: 'bargauge',
  heatmap: 'timeseries',
};

function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'dashboard'
  );
}

/** A valid Argus uid (1-64 of [A-Za-z0-9_-]) from a Grafana uid or the title. */
export function makeUid(uid: unknown, title: string): string {
  if (typeof uid === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(uid)) return uid;
  return `${slug(title)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Converts Grafana dashboard JSON (the export, or `{dashboard: ...}` from the API) to ours. Throws on JSON that is no dashboard. */
export function importGrafana(input: unknown): Dashboard {
  let d: any = input;
  if (d && typeof d === 'object' && d.dashboard && typeof d.dashboard === 'object') d = d.dashboard;
  if (!d || typeof d !== 'object' || Array.isArray(d)) throw new Error('not a dashboard: expected a JSON object');
  if (!Array.isArray(d.panels) && !Array.isArray(d.rows)) throw new Error('not a Grafana dashboard: it has neither "panels" nor "rows"');
  const title = typeof d.title === 'string' && d.title ? d.title : 'Imported dashboard';
  const panels: Panel[] = [];
  let nextId = 1;
  const addPanel = (p: any, yOffset = 0) => {
    if (!p || typeof p !== 'object') return;
    const type = String(p.type ?? 'timeseries');
    const mapped = TYPE_MAP[type] ?? type;
    const gp = p.gridPos ?? {};
    const panel: Panel = {
      ...p,
      id: typeof p.id === 'number' ? p.id : nextId,
      type: (PANEL_TYPES as readonly string[]).includes(mapped) ? mapped : 'unsupported',
      title: typeof p.title === 'string' ? p.title : '',
      gridPos: { x: num(gp.x, 0), y: num(gp.y, 0) + yOffset, w: num(gp.w, 12), h: num(gp.h, 8) },
      targets: Array.isArray(p.targets) ? p.targets : [],
    };
    if (panel.type === 'unsupported') panel.originalType = type;
    // Old singlestat/graph options into the new places.
    if (type === 'singlestat' && p.format && !panel.fieldConfig?.defaults?.unit)
      panel.fieldConfig = { defaults: { ...(panel.fieldConfig?.defaults ?? {}), unit: p.format } };
    if (type === 'graph' && Array.isArray(p.yaxes) && p.yaxes[0]?.format && !panel.fieldConfig?.defaults?.unit)
      panel.fieldConfig = { defaults: { ...(panel.fieldConfig?.defaults ?? {}), unit: p.yaxes[0].format } };
    delete (panel as any).panels;
    nextId = Math.max(nextId, (panel.id ?? 0) + 1);
    panels.push(panel);
    if (type === 'row' && Array.isArray(p.panels)) p.panels.forEach((c: any) => addPanel(c));
  };
  if (Array.isArray(d.panels)) d.panels.forEach((p: any) => addPanel(p));
  else {
    // Schema before 16: rows of panels with a "span" out of 12 and a row height in px.
    let y = 0;
    for (const row of d.rows as any[]) {
      const h = Math.max(3, Math.round(parseInt(String(row.height ?? '250'), 10) / 38));
      let x = 0;
      if (row.showTitle && row.title) {
        addPanel({ type: 'row', title: row.title, gridPos: { x: 0, y, w: 24, h: 1 } });
        y += 1;
      }
      for (const p of row.panels ?? []) {
        const w = Math.min(24, Math.max(1, Math.round((p.span ?? 12) * 2)));
        if (x + w > 24) {
          x = 0;
          y += h;
        }
        addPanel({ ...p, gridPos: { x, y, w, h } });
        x += w;
      }
      y += h;
    }
  }
  const vars: Variable[] = Array.isArray(d.templating?.list) ? d.templating.list.filter((v: any) => v && typeof v.name === 'string') : [];
  return {
    uid: makeUid(d.uid, title),
    title,
    tags: Array.isArray(d.tags) ? d.tags.filter((t: unknown) => typeof t === 'string') : [],
    description: typeof d.description === 'string' ? d.description : undefined,
    time: d.time && typeof d.time.from === 'string' ? { from: d.time.from, to: d.time.to ?? 'now' } : { from: 'now-6h', to: 'now' },
    refresh: typeof d.refresh === 'string' ? d.refresh : undefined,
    templating: { list: vars },
    panels,
    schemaVersion: typeof d.schemaVersion === 'number' ? d.schemaVersion : 39,
  };
}

function num(v: unknown, dflt: number): number {
  return typeof v === 'number' && isFinite(v) ? v : dflt;
}

/** Which backend a panel's target goes to: from its data source reference, then its type. */
export function targetKind(panel: Panel, t: Target): Kind {
  for (const ds of [t.datasource, panel.datasource]) {
    const s = typeof ds === 'string' ? ds : (ds?.type ?? ds?.uid ?? '');
    if (/loki/i.test(s)) return 'loki';
    if (/tempo|jaeger|zipkin/i.test(s)) return 'tempo';
    if (/prom|mimir|cortex|thanos/i.test(s)) return 'prometheus';
  }
  if (panel.type === 'logs') return 'loki';
  if (panel.type === 'traces') return 'tempo';
  return 'prometheus';
}

// ---- variables ----

export function variableQuery(v: Variable): string {
  if (typeof v.query === 'string') return v.query;
  if (v.query && typeof v.query.query === 'string') return v.query.query;
  return v.definition ?? '';
}

/** label_values(metric, label) or label_values(label): [label, match or undefined]; null otherwise. */
export function parseLabelValues(q: string): { label: string; match?: string } | null {
  const m = /^\s*label_values\s*\(\s*(?:(.+?)\s*,\s*)?([a-zA-Z_][\w]*)\s*\)\s*$/.exec(q);
  return m ? { label: m[2], match: m[1] } : null;
}

/** Options of a custom (comma-separated, "text : value") or interval variable. */
export function splitOptions(q: string): { text: string; value: string }[] {
  const parts = q.match(/(?:\\,|[^,])+/g) ?? [];
  return parts
    .map((p) => p.replace(/\\,/g, ',').trim())
    .filter(Boolean)
    .map((p) => {
      const kv = /^(.*?)\s+:\s+(.*)$/.exec(p);
      return kv ? { text: kv[1], value: kv[2] } : { text: p, value: p };
    });
}

export const ALL = '$__all';

export interface Scope {
  vars: Record<string, string[]>; // selected values (ALL expanded to every option, or the allValue)
  allValue: Record<string, string | undefined>;
  intervalMs: number;
  rangeMs: number;
  scrapeIntervalMs?: number;
}

function regexEscape(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|\/]/g, '\\$&');
}

function formatValues(name: string, values: string[], fmt: string | undefined, scope: Scope): string {
  if (scope.allValue[name] !== undefined) return scope.allValue[name]!;
  switch (fmt) {
    case 'raw':
      return values.join(',');
    case 'csv':
      return values.join(',');
    case 'pipe':
      return values.join('|');
    case 'json':
      return JSON.stringify(values);
    case 'regex':
    case undefined:
    default:
      if (values.length === 1) return fmt === 'regex' ? regexEscape(values[0]) : values[0];
      return `(${values.map(regexEscape).join('|')})`;
  }
}

/** Expands $var, ${var}, ${var:format}, [[var]] and the built-ins in `text`. Unknown names stay as they are. */
export function interpolate(text: string, scope: Scope): string {
  const scrape = scope.scrapeIntervalMs ?? 15_000;
  const builtins: Record<string, string> = {
    __interval: formatDuration(scope.intervalMs),
    __interval_ms: String(Math.round(scope.intervalMs)),
    __rate_interval: formatDuration(Math.max(scope.intervalMs + scrape, 4 * scrape)),
    __range: formatDuration(scope.rangeMs),
    __range_s: String(Math.round(scope.rangeMs / 1000)),
    __range_ms: String(Math.round(scope.rangeMs)),
  };
  return text.replace(/\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)(?::(\w+))?\]\]|\$(\w+)/g, (m, a, af, b, bf, c) => {
    const name: string = a ?? b ?? c;
    const fmt: string | undefined = af ?? bf;
    if (name in builtins) return builtins[name];
    const vals = scope.vars[name];
    if (!vals) return m;
    return formatValues(name, vals, fmt, scope);
  });
}

/** A panel's interval: range / max data points, not below the panel's or the scrape interval. */
export function panelIntervalMs(rangeMs: number, panel: Panel | undefined, widthPx: number, scope?: Scope): number {
  const maxPoints = panel?.maxDataPoints ?? Math.max(100, Math.min(1500, widthPx));
  let minMs = 15_000;
  if (panel?.interval) {
    const raw = scope ? interpolate(panel.interval, { ...scope, intervalMs: 0 }) : panel.interval;
    const d = parseDurationMs(raw.replace(/^>/, ''));
    if (d) minMs = d;
  }
  const raw = Math.max(minMs, rangeMs / maxPoints);
  const nice = [1e3, 2e3, 5e3, 10e3, 15e3, 20e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1200e3, 1800e3, 3600e3, 7200e3, 10800e3, 21600e3, 43200e3, 86400e3];
  return nice.find((n) => n >= raw) ?? raw;
}

/** Grafana's legendFormat: {{label}} replaced by the series' label value. */
export function legendName(fmt: string | undefined, metric: Record<string, string>, fallback: string): string {
  if (!fmt || fmt === '__auto') return fallback;
  return fmt.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, l) => metric[l] ?? '');
}

// ---- units ----

const SI = ['', 'k', 'M', 'G', 'T', 'P'];

/** Decimals that keep 3 significant digits (at most 6), as Grafana's auto decimals do: 0.0654, 1.50, 12.5, 125. */
export function autoDecimals(x: number): number {
  const a = Math.abs(x);
  if (a === 0 || a >= 100) return 0;
  return Math.min(6, Math.max(0, 2 - Math.floor(Math.log10(a))));
}
function scaled(v: number, base: number, units: string[], suffix: string, decimals?: number): string {
  let i = 0;
  let x = Math.abs(v);
  while (x >= base && i < units.length - 1) {
    x /= base;
    i++;
  }
  const d = decimals ?? autoDecimals(x);
  return `${v < 0 ? '-' : ''}${x.toFixed(d)} ${units[i]}${suffix}`.trim();
}

/** Formats `v` in a Grafana unit (bytes, s, ms, percent, percentunit, reqps, short, ...). */
export function formatValue(v: number | null | undefined, unit?: string, decimals?: number): string {
  if (v === null || v === undefined || Number.isNaN(v)) return 'No data';
  if (!isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  switch (unit) {
    case 'bytes':
    case 'decbytes':
      return scaled(v, unit === 'bytes' ? 1024 : 1000, ['B', 'KB', 'MB', 'GB', 'TB', 'PB'].map((u, i) => (unit === 'bytes' && i ? u[0] + 'iB' : u)), '', decimals);
    case 'bits':
      return scaled(v, 1000, ['b', 'kb', 'Mb', 'Gb', 'Tb'], '', decimals);
    case 'Bps':
    case 'binBps':
      return scaled(v, unit === 'Bps' ? 1000 : 1024, ['B', 'kB', 'MB', 'GB', 'TB'], '/s', decimals);
    case 'percent':
      return `${v.toFixed(decimals ?? 1)}%`;
    case 'percentunit':
      return `${(v * 100).toFixed(decimals ?? 1)}%`;
    case 's':
      return Math.abs(v) < 1 && v !== 0 ? `${(v * 1000).toFixed(decimals ?? 1)} ms` : Math.abs(v) >= 60 ? formatDuration(v * 1000) : `${v.toFixed(decimals ?? 2)} s`;
    case 'ms':
      return Math.abs(v) >= 1000 ? `${(v / 1000).toFixed(decimals ?? 2)} s` : `${v.toFixed(decimals ?? 1)} ms`;
    case 'reqps':
    case 'rps':
      return `${scaled(v, 1000, SI, '', decimals)} req/s`;
    case 'ops':
      return `${scaled(v, 1000, SI, '', decimals)} ops/s`;
    case 'none':
      return v.toFixed(decimals ?? (Number.isInteger(v) ? 0 : 2));
    default:
      if (Math.abs(v) >= 1000) return scaled(v, 1000, SI, '', decimals);
      return Number.isInteger(v) && decimals === undefined ? String(v) : v.toFixed(decimals ?? autoDecimals(v));
  }
}

const NAMED_COLORS: Record<string, string> = {
  green: '#73bf69',
  red: '#f2495c',
  yellow: '#fade2a',
  orange: '#ff9830',
  blue: '#5794f2',
  purple: '#b877d9',
  'dark-red': '#c4162a',
  'semi-dark-red': '#e02f44',
  'light-green': '#96d98d',
};

export function thresholdColor(v: number | null, panel: Panel): string {
  const steps = panel.fieldConfig?.defaults?.thresholds?.steps;
  let c = steps?.[0]?.color ?? 'green';
  if (v !== null && steps) for (const s of steps) if (s.value === null || v >= s.value) c = s.color;
  return NAMED_COLORS[c] ?? c;
}
