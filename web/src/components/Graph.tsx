// A time series chart drawn by uPlot, with its legend (click a series to hide it, hover for
// values) and exemplars drawn as clickable diamonds on top.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface GraphSeries {
  name: string;
  points: [number, number | null][]; // [unix seconds, value]
  /** CSS colour; the palette's by position when absent. */
  color?: string;
}

export interface GraphExemplar {
  tsS: number;
  value: number;
  labels: Record<string, string>;
  series: string;
}

export const PALETTE = [
  '#7eb26d', '#eab839', '#6ed0e0', '#ef843c', '#e24d42', '#1f78c1', '#ba43a9', '#705da0', '#508642', '#cca300',
  '#447ebc', '#c15c17', '#890f02', '#0a437c', '#6d1f62', '#584477', '#b7dbab', '#f4d598', '#70dbed', '#f9ba8f',
];

/**
 * Stacked columns: column i holds the sum of series 0..i (a missing value counts as 0, and stays
 * missing where every series up to i is missing).
 */
export function stackColumns(cols: (number | null)[][]): (number | null)[][] {
  const n = cols[0]?.length ?? 0;
  const acc = new Array<number | null>(n).fill(null);
  return cols.map((c) => c.map((v, j) => (acc[j] = v === null && acc[j] === null ? null : (acc[j] ?? 0) + (v ?? 0))));
}

/** Aligns series on the union of their timestamps (uPlot's column format). */
export function alignSeries(series: GraphSeries[]): uPlot.AlignedData {
  const ts = new Set<number>();
  for (const s of series) for (const [t] of s.points) ts.add(t);
  const xs = Float64Array.from(ts).sort();
  const index = new Map<number, number>();
  xs.forEach((t, i) => index.set(t, i));
  const cols: (number | null)[][] = series.map((s) => {
    const col = new Array<number | null>(xs.length).fill(null);
    for (const [t, v] of s.points) col[index.get(t)!] = v;
    return col;
  });
  return [Array.from(xs), ...cols] as uPlot.AlignedData;
}

interface Props {
  series: GraphSeries[];
  exemplars?: GraphExemplar[];
  onExemplarClick?: (e: GraphExemplar) => void;
  height?: number;
  startS?: number;
  endS?: number;
  bars?: boolean;
  legend?: boolean;
  /** Stacks the series (each drawn on top of the ones before it); the legend shows each one's own value. */
  stacked?: boolean;
  /** Formats the y axis values (e.g. a Grafana unit). */
  formatY?: (v: number) => string;
}

export function Graph({ series, exemplars, onExemplarClick, height = 300, startS, endS, bars, legend = true, stacked, formatY }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const t0 = performance.now();
    const raw = alignSeries(series);
    // Stacked, the tallest band (the last sum) is drawn first so that the lower ones stay seen.
    const order = series.map((_, i) => i);
    if (stacked) order.reverse();
    const sums = stacked ? stackColumns(raw.slice(1) as (number | null)[][]) : null;
    const data = (sums ? [raw[0], ...order.map((i) => sums[i])] : raw) as uPlot.AlignedData;
    const exValues = (exemplars ?? []).map((e) => e.value).filter((v) => Number.isFinite(v));
    const paths = bars ? uPlot.paths.bars!({ size: [0.9, 40] }) : undefined;
    const drawExemplars = (u: uPlot) => {
      u.over.querySelectorAll('.exemplar').forEach((n) => n.remove());
      for (const ex of exemplars ?? []) {
        const x = u.valToPos(ex.tsS, 'x');
        const y = u.valToPos(ex.value, 'y');
        if (!(x >= 0 && x <= u.over.clientWidth && y >= 0 && y <= u.over.clientHeight)) continue;
        const d = document.createElement('div');
        d.className = 'exemplar';
        d.style.left = `${x}px`;
        d.style.top = `${y}px`;
        const tid = ex.labels.trace_id ?? ex.labels.traceID ?? ex.labels.traceId;
        d.title = `Exemplar ${ex.value} at ${new Date(ex.tsS * 1000).toISOString()}\n${Object.entries(ex.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join('\n')}\n${ex.series}${tid ? '\nClick to open the trace' : ''}`;
        d.setAttribute('data-trace-id', tid ?? '');
        d.onclick = (e) => {
          e.stopPropagation();
          onExemplarClick?.(ex);
        };
        u.over.appendChild(d);
      }
    };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: legend, live: true },
      cursor: { focus: { prox: 16 } },
      focus: { alpha: 0.4 },
      scales: {
        x: { time: true, ...(startS !== undefined && endS !== undefined ? { range: [startS, endS] } : {}) },
        // The y range also covers the exemplars, so that one whose value is off the series
        // (a latency exemplar on a count) is still drawn and can be clicked.
        ...(exValues.length
          ? { y: { range: (_u: uPlot, min: number, max: number) => uPlot.rangeNum(Math.min(min ?? Infinity, ...exValues), Math.max(max ?? -Infinity, ...exValues), 0.1, true) } }
          : bars || stacked
            ? { y: { range: (_u: uPlot, _min: number, max: number) => [0, max > 0 ? max * 1.1 : 1] as uPlot.Range.MinMax } } // bars stand on 0
            : {}),
      },
      axes: [
        { stroke: '#9aa0a6', grid: { stroke: '#2a2e35' }, ticks: { stroke: '#2a2e35' } },
        {
          stroke: '#9aa0a6',
          grid: { stroke: '#2a2e35' },
          ticks: { stroke: '#2a2e35' },
          values: (_u, vals) => vals.map((v) => (v === null ? '' : formatY ? formatY(v) : shortNumber(v))),
          size: (_u, vals) => Math.max(40, Math.min(130, 18 + 7.5 * Math.max(0, ...(vals ?? []).map((s) => s.length)))),
        },
      ],
      series: [
        {},
        ...order.map((i) => series[i]).map((s, k) => ({
          label: s.name,
          stroke: s.color ?? PALETTE[order[k] % PALETTE.length],
          fill: bars || stacked ? (s.color ?? PALETTE[order[k] % PALETTE.length]) + 'aa' : undefined,
          ...(sums
            ? { value: (_u: uPlot, _v: number | null, _si: number, idx: number | null) => (idx === null ? '--' : String((raw[order[k] + 1] as (number | null)[])[idx] ?? '--')) }
            : {}),
          width: 1.25,
          spanGaps: false,
          paths,
          // uPlot's default shows the points only where they are sparse, so an isolated sample
          // (a rate over two scrapes) is seen; bars have none.
          ...(bars ? { points: { show: false } } : {}),
        })),
      ],
      hooks: { draw: [drawExemplars] },
    };
    const u = new uPlot(opts, data, el);
    // Time to align and draw, for the e2e test's speed check (the first draw is synchronous).
    el.dataset.drawMs = String(Math.round(performance.now() - t0));
    const ro = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth);
      if (w !== u.width) u.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
    };
  }, [series, exemplars, height, startS, endS, bars, legend, stacked, formatY]);
  return <div class="graph" ref={ref} data-testid="graph" />;
}

/** 1234567 -> "1.23M": a compact axis label. */
export function shortNumber(v: number): string {
  const a = Math.abs(v);
  for (const [n, s] of [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as [number, string][])
    if (a >= n) return `${+(v / n).toPrecision(3)}${s}`;
  if (a !== 0 && a < 0.001) return v.toExponential(1);
  return String(+v.toPrecision(4));
}
