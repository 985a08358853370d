// What the PromQL editor should complete at the cursor, found by a small scan of the text
// before it (not a parser: it must work on half-typed queries).

export type CompletionContext =
  | { kind: 'metric'; prefix: string; from: number }
  | { kind: 'label'; prefix: string; from: number; metric?: string }
  | { kind: 'value'; prefix: string; from: number; label: string; metric?: string };

export const PROMQL_FUNCTIONS = [
  'abs', 'absent', 'absent_over_time', 'avg_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min',
  'count_over_time', 'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'delta', 'deriv', 'exp', 'floor',
  'histogram_quantile', 'holt_winters', 'hour', 'idelta', 'increase', 'irate', 'label_join', 'label_replace', 'last_over_time',
  'ln', 'log10', 'log2', 'max_over_time', 'min_over_time', 'minute', 'month', 'predict_linear', 'present_over_time',
  'quantile_over_time', 'rate', 'resets', 'round', 'scalar', 'sgn', 'sort', 'sort_desc', 'sqrt', 'stddev_over_time',
  'stdvar_over_time', 'sum_over_time', 'time', 'timestamp', 'vector', 'year',
];
export const PROMQL_AGGREGATIONS = [
  'sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values',
];
export const PROMQL_KEYWORDS = ['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless'];

/** The completion context at `cursor` in `text`, or null where nothing should be offered. */
export function completionContext(text: string, cursor: number): CompletionContext | null {
  const before = text.slice(0, cursor);
  // Find an unclosed '{' (outside strings) and whether we are inside a string.
  let brace = -1;
  let quote: string | null = null;
  let quoteStart = -1;
  let paren: number[] = [];
  for (let i = 0; i < before.length; i++) {
    const c = before[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      quote = c;
      quoteStart = i;
    } else if (c === '{') brace = i;
    else if (c === '}') brace = -1;
    else if (c === '(') paren.push(i);
    else if (c === ')') paren.pop();
  }
  const metricBefore = (pos: number) => /([a-zA-Z_:][\w:]*)\s*$/.exec(before.slice(0, pos))?.[1];
  if (brace >= 0) {
    const metric = metricBefore(brace);
    if (quote) {
      const m = /([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*$/.exec(before.slice(0, quoteStart));
      if (!m) return null;
      return { kind: 'value', label: m[1], prefix: before.slice(quoteStart + 1), from: quoteStart + 1, metric };
    }
    const m = /(?:[{,]\s*)([a-zA-Z_]\w*)?$/.exec(before);
    if (!m) return null;
    const prefix = m[1] ?? '';
    return { kind: 'label', prefix, from: cursor - prefix.length, metric };
  }
  if (quote) return null;
  // by (...) / without (...) / on (...) / ignoring (...)
  const open = paren.length ? paren[paren.length - 1] : -1;
  if (open >= 0 && /\b(by|without|on|ignoring|group_left|group_right)\s*$/.test(before.slice(0, open))) {
    const m = /([a-zA-Z_]\w*)?$/.exec(before);
    const prefix = m?.[1] ?? '';
    return { kind: 'label', prefix, from: cursor - prefix.length };
  }
  if (/\[[^\]]*$/.test(before)) return null; // inside a range [5m
  const w = /([a-zA-Z_:][\w:]*)$/.exec(before);
  if (!w) return null;
  return { kind: 'metric', prefix: w[1], from: cursor - w[1].length };
}

/** Candidates that match `prefix`: prefix matches first, then substring matches. */
export function rankCompletions(all: string[], prefix: string, max = 50): string[] {
  const p = prefix.toLowerCase();
  const starts: string[] = [];
  const contains: string[] = [];
  for (const c of all) {
    const l = c.toLowerCase();
    if (l === p) continue;
    if (l.startsWith(p)) starts.push(c);
    else if (p && l.includes(p)) contains.push(c);
    if (starts.length >= max) break;
  }
  return starts.concat(contains).slice(0, max);
}

/** A series name as Prometheus prints it: name{a="b", ...}. */
export function seriesName(metric: Record<string, string>): string {
  const name = metric.__name__ ?? '';
  const labels = Object.keys(metric)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}="${metric[k]}"`);
  return labels.length ? `${name}{${labels.join(', ')}}` : name || '{}';
}
