// HTTP clients for the APIs the UI reads: the Prometheus HTTP API (Prometheus docs,
// querying/api), the Loki HTTP API (Loki docs, reference/loki-http-api), the Tempo HTTP API
// (Tempo docs, api_docs) and Argus' own dashboards API (docs/api.md in src/README.md).
//
// Each signal's base URL defaults to the page's own origin (Argus serves all three). For
// development against another backend, open the UI once with ?prometheus=URL, ?loki=URL or
// ?tempo=URL (or ?api=URL for all three); the choice is kept in localStorage, and ?api= with an
// empty value resets it.

export type Signal = 'prometheus' | 'loki' | 'tempo';

const STORE_KEY = 'argus.api';

function loadBases(): Record<Signal, string> {
  const bases: Record<Signal, string> = { prometheus: '', loki: '', tempo: '' };
  if (typeof location === 'undefined') return bases; // not in a browser (unit tests)
  try {
    Object.assign(bases, JSON.parse(localStorage.getItem(STORE_KEY) ?? '{}'));
  } catch {
    /* a damaged entry is ignored */
  }
  const params = new URLSearchParams(location.search);
  let changed = false;
  for (const s of ['prometheus', 'loki', 'tempo'] as Signal[]) {
    const v = params.get(s) ?? params.get('api');
    if (v !== null) {
      bases[s] = v.replace(/\/+$/, '');
      changed = true;
    }
  }
  if (changed) localStorage.setItem(STORE_KEY, JSON.stringify(bases));
  return bases;
}

export const apiBases = loadBases();

/** An error answered by an API: HTTP status, the API's errorType and message. */
export class ApiError extends Error {
  constructor(
    public status: number,
    public errorType: string,
    message: string,
    public url = '',
  ) {
    super(message);
  }
  /** The 1-based [line, column] of a PromQL/LogQL parse error ("1:14: parse error: ..."). */
  position(): [number, number] | null {
    const m = /(?:^|\s|:)(\d+):(\d+):\s*parse error/.exec(this.message) ?? /line (\d+), col(?:umn)? (\d+)/i.exec(this.message);
    return m ? [Number(m[1]), Number(m[2])] : null;
  }
}

async function request(url: string, init?: RequestInit): Promise<unknown> {
  let resp: Response;
  try {
    resp = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, 'network', `cannot reach ${url}: ${(e as Error).message}`, url);
  }
  const text = await resp.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    if (!resp.ok) throw new ApiError(resp.status, 'http', text.trim() || resp.statusText, url);
    throw new ApiError(resp.status, 'bad_response', `not JSON: ${text.slice(0, 200)}`, url);
  }
  if (!resp.ok || (body && body.status === 'error')) {
    const msg = body?.error ?? body?.message ?? (text.trim() || resp.statusText);
    throw new ApiError(resp.status, body?.errorType ?? 'http', String(msg), url);
  }
  return body;
}

function qs(params: Record<string, string | number | string[] | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) v.forEach((x) => u.append(k, x));
    else u.append(k, String(v));
  }
  return u.toString();
}

// ---- Prometheus ----

export type Metric = Record<string, string>;
export interface MatrixSeries {
  metric: Metric;
  values: [number, string][];
}
export interface VectorSample {
  metric: Metric;
  value: [number, string];
}
export type QueryResult =
  | { resultType: 'matrix'; result: MatrixSeries[] }
  | { resultType: 'vector'; result: VectorSample[] }
  | { resultType: 'scalar' | 'string'; result: [number, string] };
export interface Exemplar {
  labels: Record<string, string>;
  value: string;
  timestamp: number;
}
export interface ExemplarSeries {
  seriesLabels: Metric;
  exemplars: Exemplar[];
}

const prom = (path: string) => `${apiBases.prometheus}${path}`;

async function promData<T>(path: string, params: Record<string, any>, post = false): Promise<T> {
  const body = qs(params);
  const r = post
    ? await request(prom(path), {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body,
      })
    : await request(`${prom(path)}?${body}`);
  return (r as { data: T }).data;
}

export const promApi = {
  queryRange: (query: string, startS: number, endS: number, stepS: number) =>
    promData<QueryResult>('/api/v1/query_range', { query, start: startS, end: endS, step: stepS }, true),
  query: (query: string, timeS: number) => promData<QueryResult>('/api/v1/query', { query, time: timeS }, true),
  labels: (match?: string[], startS?: number, endS?: number) =>
    promData<string[]>('/api/v1/labels', { 'match[]': match, start: startS, end: endS }),
  labelValues: (name: string, match?: string[], startS?: number, endS?: number) =>
    promData<string[]>(`/api/v1/label/${encodeURIComponent(name)}/values`, { 'match[]': match, start: startS, end: endS }),
  series: (match: string[], startS?: number, endS?: number) =>
    promData<Metric[]>('/api/v1/series', { 'match[]': match, start: startS, end: endS }),
  metadata: (metric?: string) =>
    promData<Record<string, { type: string; help: string; unit: string }[]>>('/api/v1/metadata', { metric }),
  buildinfo: () => promData<{ version: string; revision: string; branch: string }>('/api/v1/status/buildinfo', {}),
  exemplars: (query: string, startS: number, endS: number) =>
    promData<ExemplarSeries[]>('/api/v1/query_exemplars', { query, start: startS, end: endS }),
};

// ---- Loki ----

export interface LokiStream {
  stream: Record<string, string>;
  values: ([string, string] | [string, string, Record<string, any>])[];
}
/** One entry of Loki's detected_fields answer; parsers is null for structured metadata and labels. */
export interface DetectedField {
  label: string;
  type: string;
  cardinality: number;
  parsers: string[] | null;
}
export type LokiResult =
  | { resultType: 'streams'; result: LokiStream[] }
  | { resultType: 'matrix'; result: MatrixSeries[] }
  | { resultType: 'vector'; result: VectorSample[] };

const loki = (path: string) => `${apiBases.loki}/loki/api/v1${path}`;

async function lokiData<T>(path: string, params: Record<string, any>, init?: RequestInit): Promise<T> {
  const r = (await request(`${loki(path)}?${qs(params)}`, init)) as { data: T };
  return r.data;
}

// Asks Loki (3.x) to keep stream labels, structured metadata and parsed labels apart: each entry
// is then [ts, line, {structuredMetadata, parsed}] (Loki HTTP API, query_range, as Grafana asks).
const categorizeLabels: RequestInit = { headers: { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' } };

/** The WebSocket URL of Loki's live tail (Loki HTTP API, /loki/api/v1/tail). */
export function lokiTailUrl(query: string, startNs: string, limit = 100): string {
  const base = apiBases.loki || location.origin;
  const u = new URL(`${base}/loki/api/v1/tail`, location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.search = qs({ query, start: startNs, limit });
  return u.toString();
}

export const lokiApi = {
  /** start/end in ns (as decimal strings); direction 'backward' is newest first. */
  queryRange: (query: string, startNs: string, endNs: string, limit: number, direction: 'backward' | 'forward', stepS?: number) =>
    lokiData<LokiResult>('/query_range', { query, start: startNs, end: endNs, limit, direction, step: stepS }, categorizeLabels),
  labels: (startNs?: string, endNs?: string) => lokiData<string[]>('/labels', { start: startNs, end: endNs }),
  /** Fields Loki detects in the lines of a log query (Loki HTTP API, /loki/api/v1/detected_fields): {fields: [...]}, not under data. */
  detectedFields: async (query: string, startNs: string, endNs: string) =>
    ((await request(`${loki('/detected_fields')}?${qs({ query, start: startNs, end: endNs })}`)) as { fields?: DetectedField[] | null }).fields ?? [],
  /** The values of one detected field (/loki/api/v1/detected_field/<name>/values): {values: [...]}. */
  detectedFieldValues: async (name: string, query: string, startNs: string, endNs: string) =>
    ((await request(`${loki(`/detected_field/${encodeURIComponent(name)}/values`)}?${qs({ query, start: startNs, end: endNs })}`)) as { values?: string[] | null })
      .values ?? [],
  labelValues: (name: string, startNs?: string, endNs?: string) =>
    lokiData<string[]>(`/label/${encodeURIComponent(name)}/values`, { start: startNs, end: endNs }),
};

// ---- Tempo ----

export interface TempoSearchTrace {
  traceID: string;
  rootServiceName?: string;
  rootTraceName?: string;
  startTimeUnixNano?: string;
  durationMs?: number;
  spanSets?: { spans: unknown[]; matched: number }[];
  spanSet?: { spans: unknown[]; matched: number };
}

const tempo = (path: string) => `${apiBases.tempo}${path}`;

export const tempoApi = {
  search: async (q: string, startS: number, endS: number, limit: number) =>
    ((await request(`${tempo('/api/search')}?${qs({ q, start: startS, end: endS, limit })}`)) as { traces?: TempoSearchTrace[] })
      .traces ?? [],
  /** The trace as OTLP/JSON (`{batches|resourceSpans: [...]}`). */
  trace: (id: string) => request(`${tempo('/api/traces/' + encodeURIComponent(id))}`, { headers: { Accept: 'application/json' } }),
  tags: async () => {
    const r = (await request(tempo('/api/v2/search/tags'))) as { scopes?: { name: string; tags: string[] }[] };
    return r.scopes ?? [];
  },
  tagValues: async (tag: string) => {
    const r = (await request(tempo(`/api/v2/search/tag/${encodeURIComponent(tag)}/values`))) as {
      tagValues?: { type: string; value: string }[];
    };
    return r.tagValues ?? [];
  },
};

// ---- Argus dashboards (src/api/dashboard_api.h) ----

export interface StoredDashboardInfo {
  uid: string;
  title: string;
  tags: string[];
}

export const dashboardApi = {
  list: async () =>
    ((await request('/api/argus/v1/dashboards')) as { data: StoredDashboardInfo[] }).data ?? [],
  get: async (uid: string) => ((await request(`/api/argus/v1/dashboards/${encodeURIComponent(uid)}`)) as { data: any }).data,
  put: (uid: string, dashboard: unknown) =>
    request(`/api/argus/v1/dashboards/${encodeURIComponent(uid)}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(dashboard),
    }),
  remove: (uid: string) => request(`/api/argus/v1/dashboards/${encodeURIComponent(uid)}`, { method: 'DELETE' }),
};
