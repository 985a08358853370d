// Renders one dashboard panel: runs its targets against the right backend and draws it as a
// time series, stat, gauge, bar gauge, table, logs or traces panel.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { lokiApi, promApi, tempoApi, LokiStream, MatrixSeries, TempoSearchTrace } from '../api';
import { Graph, GraphSeries, PALETTE } from '../components/Graph';
import { seriesName } from '../promql';
import { errorOf } from '../views/ExploreMetrics';
import { LogLines } from '../views/ExploreLogs';
import { TraceTable } from '../views/ExploreTraces';
import { Panel, Scope, formatValue, interpolate, legendName, panelIntervalMs, targetKind, thresholdColor } from './model';

interface Props {
  panel: Panel;
  scope: Omit<Scope, 'intervalMs'>;
  startMs: number;
  endMs: number;
  refresh: number;
}

interface Data {
  series: (GraphSeries & { metric: Record<string, string> })[];
  streams: LokiStream[];
  traces: TempoSearchTrace[];
}

type Reducer = (vals: number[]) => number | null;
const REDUCERS: Record<string, Reducer> = {
  lastNotNull: (v) => (v.length ? v[v.length - 1] : null),
  last: (v) => (v.length ? v[v.length - 1] : null),
  firstNotNull: (v) => (v.length ? v[0] : null),
  first: (v) => (v.length ? v[0] : null),
  mean: (v) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : null),
  max: (v) => (v.length ? Math.max(...v) : null),
  min: (v) => (v.length ? Math.min(...v) : null),
  sum: (v) => v.reduce((a, b) => a + b, 0),
  count: (v) => v.length,
};

export function reduceSeries(s: GraphSeries, calc: string | undefined): number | null {
  const vals = s.points.map((p) => p[1]).filter((v): v is number => v !== null && !Number.isNaN(v));
  return (REDUCERS[calc ?? 'lastNotNull'] ?? REDUCERS.lastNotNull)(vals);
}

export function PanelView({ panel, scope, startMs, endMs, refresh }: Props) {
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const rangeMs = endMs - startMs;
  const widthPx = Math.round(((panel.gridPos.w || 12) / 24) * window.innerWidth);
  const intervalMs = panelIntervalMs(rangeMs, panel, widthPx, { ...scope, intervalMs: 0 });
  const full: Scope = { ...scope, intervalMs };
  const targets = (panel.targets ?? []).filter((t) => !t.hide);
  const key = JSON.stringify([targets.map((t) => interpolate(t.expr ?? t.query ?? '', full)), startMs, endMs, intervalMs, refresh]);

  useEffect(() => {
    if (panel.type === 'row' || panel.type === 'text' || panel.type === 'unsupported') return;
    let cancelled = false;
    setLoading(true);
    setError(null);
    (async () => {
      const out: Data = { series: [], streams: [], traces: [] };
      for (const t of targets) {
        const kind = targetKind(panel, t);
        if (kind === 'tempo') {
          const q = interpolate(t.query ?? t.expr ?? '{}', full);
          out.traces.push(...(await tempoApi.search(q, Math.floor(startMs / 1000), Math.ceil(endMs / 1000), panel.options?.limit ?? 20)));
          continue;
        }
        const expr = interpolate(t.expr ?? '', full);
        if (!expr.trim()) continue;
        if (kind === 'loki') {
          const r = await lokiApi.queryRange(expr, `${startMs}000000`, `${endMs}000000`, panel.options?.limit ?? 100, 'backward', intervalMs / 1000);
          if (r.resultType === 'streams') out.streams.push(...r.result);
          else if (r.resultType === 'matrix')
            out.series.push(...r.result.map((s) => toSeries(s, t.legendFormat)));
          continue;
        }
        const r = await promApi.queryRange(expr, startMs / 1000, endMs / 1000, intervalMs / 1000);
        if (r.resultType === 'matrix') out.series.push(...r.result.map((s) => toSeries(s, t.legendFormat)));
        else if (r.resultType === 'vector')
          out.series.push(...r.result.map((s) => ({ name: legendName(t.legendFormat, s.metric, seriesName(s.metric)), metric: s.metric, points: [[s.value[0], Number(s.value[1])] as [number, number]] })));
      }
      if (!cancelled) setData(out);
    })()
      .catch((e) => !cancelled && setError(errorOf(e).message))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [key]);

  if (panel.type === 'row') return <div class="panel-row">{panel.title}</div>;
  return (
    <div class="panel" data-testid="panel" data-panel-type={panel.type}>
      <div class="panel-title" title={panel.description}>
        <span>{panel.title ? interpolate(panel.title, full) : '\u00a0'}</span>
        {loading && <span class="muted">…</span>}
        {error && (
          <span class="err" title={error}>
            ⚠
          </span>
        )}
      </div>
      <div class="panel-body">
        {panel.type === 'unsupported' ? (
          <div class="empty">Panel type "{panel.originalType}" is not supported by Argus.</div>
        ) : panel.type === 'text' ? (
          <div class="panel-text">{String(panel.options?.content ?? '')}</div>
        ) : error ? (
          <div class="err small-pad">{error}</div>
        ) : data ? (
          <PanelContent panel={panel} data={data} startMs={startMs} endMs={endMs} />
        ) : null}
      </div>
    </div>
  );
}

function toSeries(s: MatrixSeries, legendFormat?: string) {
  return {
    name: legendName(legendFormat, s.metric, seriesName(s.metric)),
    metric: s.metric,
    points: s.values.map(([t, v]) => [t, Number(v)] as [number, number]),
  };
}

function PanelContent({ panel, data, startMs, endMs }: { panel: Panel; data: Data; startMs: number; endMs: number }) {
  const unit = panel.fieldConfig?.defaults?.unit;
  const decimals = panel.fieldConfig?.defaults?.decimals;
  const calc = panel.options?.reduceOptions?.calcs?.[0];
  const formatY = useMemo(() => (unit ? (v: number) => formatValue(v, unit, decimals) : undefined), [unit, decimals]);
  const height = Math.max(60, panel.gridPos.h * 38 - 40);
  switch (panel.type) {
    case 'timeseries':
      if (!data.series.length) return <div class="nodata">No data</div>;
      return <Graph series={data.series} height={height - (data.series.length > 1 ? 30 : 20)} startS={startMs / 1000} endS={endMs / 1000} formatY={formatY} />;
    case 'stat': {
      if (!data.series.length) return <div class="nodata">No data</div>;
      return (
        <div class="stat-grid">
          {data.series.map((s) => {
            const v = reduceSeries(s, calc);
            return (
              <div class="stat" style={{ color: thresholdColor(v, panel) }} title={s.name}>
                <div class="stat-value" data-testid="stat-value">
                  {formatValue(v, unit, decimals)}
                </div>
                {data.series.length > 1 && <div class="stat-name">{s.name}</div>}
              </div>
            );
          })}
        </div>
      );
    }
    case 'gauge': {
      if (!data.series.length) return <div class="nodata">No data</div>;
      const min = panel.fieldConfig?.defaults?.min ?? 0;
      const max = panel.fieldConfig?.defaults?.max ?? (unit === 'percentunit' ? 1 : 100);
      return (
        <div class="stat-grid">
          {data.series.map((s) => {
            const v = reduceSeries(s, calc);
            return <Gauge value={v} min={min} max={max} color={thresholdColor(v, panel)} label={formatValue(v, unit, decimals)} name={data.series.length > 1 ? s.name : ''} />;
          })}
        </div>
      );
    }
    case 'bargauge': {
      if (!data.series.length) return <div class="nodata">No data</div>;
      const vals = data.series.map((s) => reduceSeries(s, calc));
      const max = panel.fieldConfig?.defaults?.max ?? Math.max(...vals.map((v) => v ?? 0), 0);
      const min = panel.fieldConfig?.defaults?.min ?? 0;
      return (
        <div class="bargauge">
          {data.series.map((s, i) => {
            const v = vals[i];
            const frac = v === null || max === min ? 0 : Math.max(0, Math.min(1, (v - min) / (max - min)));
            return (
              <div class="bg-row">
                <span class="bg-name" title={s.name}>
                  {s.name}
                </span>
                <span class="bg-bar">
                  <span style={{ width: `${frac * 100}%`, background: thresholdColor(v, panel) }} />
                </span>
                <span class="bg-val">{formatValue(v, unit, decimals)}</span>
              </div>
            );
          })}
        </div>
      );
    }
    case 'table': {
      if (!data.series.length) return <div class="nodata">No data</div>;
      const labels = Array.from(new Set(data.series.flatMap((s) => Object.keys(s.metric)))).sort();
      return (
        <div class="table-wrap">
          <table class="grid">
            <thead>
              <tr>
                {labels.map((l) => (
                  <th>{l}</th>
                ))}
                <th class="num">Value</th>
              </tr>
            </thead>
            <tbody>
              {data.series.map((s) => (
                <tr>
                  {labels.map((l) => (
                    <td>{s.metric[l] ?? ''}</td>
                  ))}
                  <td class="num">{formatValue(reduceSeries(s, calc), unit, decimals)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
    }
    case 'logs':
      return <LogLines streams={data.streams} newestFirst={panel.options?.sortOrder !== 'Ascending'} compact />;
    case 'traces':
      return <TraceTable traces={data.traces} />;
    default:
      return <div class="empty">Panel type "{panel.type}" is not supported.</div>;
  }
}

function Gauge({ value, min, max, color, label, name }: { value: number | null; min: number; max: number; color: string; label: string; name: string }) {
  const frac = value === null || max === min ? 0 : Math.max(0, Math.min(1, (value - min) / (max - min)));
  const a0 = Math.PI * 0.8;
  const a1 = a0 + Math.PI * 1.4 * frac;
  const end = Math.PI * 2.2;
  const pt = (a: number) => `${50 + 40 * Math.cos(a)} ${50 + 40 * Math.sin(a)}`;
  const arc = (from: number, to: number) => `M ${pt(from)} A 40 40 0 ${to - from > Math.PI ? 1 : 0} 1 ${pt(to)}`;
  return (
    <div class="gauge" title={name}>
      <svg viewBox="0 0 100 90">
        <path d={arc(a0, end)} stroke="#2c3038" stroke-width="9" fill="none" />
        {frac > 0 && <path d={arc(a0, a1)} stroke={color} stroke-width="9" fill="none" />}
        <text x="50" y="55" text-anchor="middle" fill={color} font-size="14" data-testid="stat-value">
          {label}
        </text>
      </svg>
      {name && <div class="stat-name">{name}</div>}
    </div>
  );
}

export { PALETTE };
