import { useMemo } from 'preact/hooks';
// Time ranges as Grafana writes them: "now", "now-1h", "now-7d/d" is not supported (no rounding),
// or an absolute time (ms since the epoch, or anything Date.parse reads).

export interface TimeRange {
  from: string;
  to: string;
}

const UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** Parses a duration such as "5m", "1h30m", "250ms"; null when it is not one. */
export function parseDurationMs(s: string): number | null {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    if (m.index !== consumed) return null;
    total += Number(m[1]) * UNITS_MS[m[2]];
    consumed += m[0].length;
  }
  return consumed === s.length && consumed > 0 ? total : null;
}

/** Formats ms as a Prometheus duration ("1h5m", "30s", "250ms"). */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let rest = Math.round(ms / 1000);
  let out = '';
  for (const [u, n] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as [string, number][]) {
    if (rest >= n) {
      out += `${Math.floor(rest / n)}${u}`;
      rest %= n;
    }
  }
  return out;
}

/** Resolves "now-1h" or an absolute time to ms since the epoch; NaN if unreadable. */
export function resolveTime(s: string, nowMs = Date.now()): number {
  const t = s.trim();
  if (t === 'now') return nowMs;
  const rel = /^now-(.+)$/.exec(t);
  if (rel) {
    const d = parseDurationMs(rel[1]);
    return d === null ? NaN : nowMs - d;
  }
  if (/^\d+$/.test(t)) return Number(t.length <= 10 ? Number(t) * 1000 : Number(t));
  return Date.parse(t);
}

export function resolveRange(r: TimeRange, nowMs = Date.now()): { startMs: number; endMs: number } {
  return { startMs: resolveTime(r.from, nowMs), endMs: resolveTime(r.to, nowMs) };
}

const NICE_STEPS_MS = [
  1e3, 2e3, 5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 7200e3, 10800e3, 21600e3, 43200e3, 86400e3,
];

/** Grafana's automatic interval: the range over the number of points, rounded up to a nice step. */
export function autoStepMs(rangeMs: number, maxPoints = 1000, minMs = 1000): number {
  const raw = Math.max(minMs, rangeMs / maxPoints);
  return NICE_STEPS_MS.find((s) => s >= raw) ?? Math.ceil(raw / 86400e3) * 86400e3;
}

export function formatTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export const RELATIVE_RANGES: { label: string; from: string }[] = [
  { label: 'Last 5 minutes', from: 'now-5m' },
  { label: 'Last 15 minutes', from: 'now-15m' },
  { label: 'Last 1 hour', from: 'now-1h' },
  { label: 'Last 6 hours', from: 'now-6h' },
  { label: 'Last 24 hours', from: 'now-24h' },
  { label: 'Last 7 days', from: 'now-7d' },
];

export function describeRange(r: TimeRange): string {
  if (r.to === 'now') {
    const known = RELATIVE_RANGES.find((x) => x.from === r.from);
    if (known) return known.label;
    if (r.from.startsWith('now-')) return `Last ${r.from.slice(4)}`;
  }
  const a = resolveTime(r.from);
  const b = resolveTime(r.to);
  return `${isNaN(a) ? r.from : formatTime(a)} to ${isNaN(b) ? r.to : formatTime(b)}`;
}

/**
 * Resolves a range once per change of its text (or of `runId`, bumped by "run again"), not on
 * every render: "now" moves, and a new end each render would re-run every query forever.
 */
export function useResolvedRange(r: TimeRange, runId = 0): { startMs: number; endMs: number } {
  return useMemo(() => resolveRange(r), [r.from, r.to, runId]);
}
