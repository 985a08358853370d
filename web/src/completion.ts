// Completion sources for the query editors, backed by the APIs' label endpoints. Results are
// cached per session (per metric for label names and values) so typing stays fast.
import { promApi, lokiApi, tempoApi } from './api';
import type { Completions } from './components/QueryEditor';
import { PROMQL_AGGREGATIONS, PROMQL_FUNCTIONS, PROMQL_KEYWORDS, completionContext, rankCompletions } from './promql';

const cache = new Map<string, Promise<string[]>>();
function cached(key: string, load: () => Promise<string[]>): Promise<string[]> {
  let p = cache.get(key);
  if (!p) {
    p = load().catch((e) => {
      cache.delete(key);
      throw e;
    });
    cache.set(key, p);
  }
  return p;
}

// "counter: Total HTTP requests." per metric, from /api/v1/metadata: loaded once, and an
// empty map (tried again next time) when the API fails.
let metadataPromise: Promise<Record<string, string>> | null = null;
function metadataDetail(): Promise<Record<string, string>> {
  metadataPromise ??= promApi.metadata().then(
    (m) => {
      const out: Record<string, string> = {};
      for (const [name, list] of Object.entries(m ?? {})) if (list[0]) out[name] = `${list[0].type}${list[0].help ? ': ' + list[0].help : ''}`;
      return out;
    },
    () => {
      metadataPromise = null;
      return {};
    },
  );
  return metadataPromise;
}

export async function promCompletions(text: string, cursor: number): Promise<Completions | null> {
  const ctx = completionContext(text, cursor);
  if (!ctx) return null;
  if (ctx.kind === 'metric') {
    if (!ctx.prefix) return null;
    const names = await cached('prom:__name__', () => promApi.labelValues('__name__'));
    const all = [...names, ...PROMQL_FUNCTIONS, ...PROMQL_AGGREGATIONS, ...PROMQL_KEYWORDS];
    const md = await metadataDetail();
    const items = rankCompletions(all, ctx.prefix);
    const detail: Record<string, string> = {};
    // Histogram and summary series share their family's metadata (name without the suffix).
    for (const it of items) {
      const d = md[it] ?? md[it.replace(/_(bucket|count|sum|total|created)$/, '')];
      if (d) detail[it] = d;
    }
    return { items, from: ctx.from, detail };
  }
  const match = ctx.metric ? [ctx.metric] : undefined;
  if (ctx.kind === 'label') {
    const names = await cached(`prom:labels:${ctx.metric ?? ''}`, () => promApi.labels(match));
    return {
      items: rankCompletions(names.filter((n) => n !== '__name__'), ctx.prefix),
      from: ctx.from,
      suffix: /\{[^}]*$/.test(text.slice(0, cursor)) ? '="' : '',
    };
  }
  const values = await cached(`prom:values:${ctx.label}:${ctx.metric ?? ''}`, () => promApi.labelValues(ctx.label, match));
  const closeQuote = text[cursor] === '"' ? '' : '"';
  return { items: rankCompletions(values, ctx.prefix), from: ctx.from, suffix: closeQuote };
}

/** LogQL: label names and values inside the stream selector; nothing elsewhere. */
export async function lokiCompletions(text: string, cursor: number): Promise<Completions | null> {
  const ctx = completionContext(text, cursor);
  if (!ctx || ctx.kind === 'metric') return null;
  if (ctx.kind === 'label') {
    const names = await cached('loki:labels', () => lokiApi.labels());
    return { items: rankCompletions(names, ctx.prefix), from: ctx.from, suffix: /\{[^}]*$/.test(text.slice(0, cursor)) ? '="' : '' };
  }
  const values = await cached(`loki:values:${ctx.label}`, () => lokiApi.labelValues(ctx.label));
  return { items: rankCompletions(values, ctx.prefix), from: ctx.from, suffix: text[cursor] === '"' ? '' : '"' };
}

/** TraceQL: tags (span., resource., intrinsics) inside { }, their values after an operator. */
export async function tempoCompletions(text: string, cursor: number): Promise<Completions | null> {
  const before = text.slice(0, cursor);
  const open = before.lastIndexOf('{');
  if (open < 0 || before.lastIndexOf('}') > open) return null;
  const val = /([\w.]+)\s*(=|!=|=~|!~)\s*"([^"]*)$/.exec(before);
  if (val) {
    const tag = val[1];
    const values = await cached(`tempo:values:${tag}`, async () => (await tempoApi.tagValues(tag)).map((v) => v.value));
    return { items: rankCompletions(values, val[3]), from: cursor - val[3].length, suffix: text[cursor] === '"' ? '' : '"' };
  }
  const w = /(?:^|[\s{(&|])([\w.:]*)$/.exec(before);
  if (!w) return null;
  const tags = await cached('tempo:tags', async () => {
    const scopes = await tempoApi.tags();
    const out: string[] = [];
    for (const s of scopes) for (const t of s.tags) out.push(s.name === 'intrinsic' ? t : `${s.name}.${t}`);
    return out;
  });
  const all = [...tags, 'name', 'status', 'duration', 'kind', 'rootServiceName', 'rootName', 'traceDuration'];
  return { items: rankCompletions(Array.from(new Set(all)), w[1]), from: cursor - w[1].length };
}
