// Unit tests of the UI's pure logic (completion context, time, dashboard import and variables,
// trace parsing and the critical path). `npm test` bundles this file for Node with Vite and runs
// it with node's test runner; CTest runs it as web.unit (label unit).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL, formatValue, importGrafana, interpolate, legendName, parseLabelValues, splitOptions, targetKind } from '../src/dashboards/model';
import { completionContext, rankCompletions, seriesName } from '../src/promql';
import { autoStepMs, formatDuration, parseDurationMs, resolveTime } from '../src/time';
import { idToHex, parseTrace } from '../src/views/ExploreTraces';
import { detectFields, fieldFilter, fieldsFromLoki, flattenStreams, traceIdOf, volumeSeries } from '../src/views/ExploreLogs';
import { alignSeries, stackColumns } from '../src/components/Graph';
import { layoutColumns, serviceGraphQueries } from '../src/views/ServiceGraph';

test('completion context: metric names, label names, label values', () => {
  assert.deepEqual(completionContext('rate(http_req', 13), { kind: 'metric', prefix: 'http_req', from: 5 });
  assert.deepEqual(completionContext('up{jo', 5), { kind: 'label', prefix: 'jo', from: 3, metric: 'up' });
  assert.deepEqual(completionContext('up{job="a", ', 12), { kind: 'label', prefix: '', from: 12, metric: 'up' });
  assert.deepEqual(completionContext('up{job=~"pro', 12), { kind: 'value', label: 'job', prefix: 'pro', from: 9, metric: 'up' });
  assert.deepEqual(completionContext('sum by (inst', 12), { kind: 'label', prefix: 'inst', from: 8 });
  assert.equal(completionContext('rate(x[5', 8), null, 'no completion inside a range');
  assert.equal(completionContext('up{job="a b', 11)?.kind, 'value');
  assert.equal(completionContext('"some string', 12), null);
});

test('ranking puts prefix matches first and skips exact matches', () => {
  assert.deepEqual(rankCompletions(['b_up', 'up_x', 'up', 'x'], 'up'), ['up_x', 'b_up']);
});

test('series names print like Prometheus', () => {
  assert.equal(seriesName({ __name__: 'up', job: 'a', instance: 'b' }), 'up{instance="b", job="a"}');
  assert.equal(seriesName({}), '{}');
});

test('durations and relative times', () => {
  assert.equal(parseDurationMs('1h30m'), 5_400_000);
  assert.equal(parseDurationMs('250ms'), 250);
  assert.equal(parseDurationMs('5x'), null);
  assert.equal(parseDurationMs('m5'), null);
  assert.equal(formatDuration(5_400_000), '1h30m');
  assert.equal(formatDuration(15_000), '15s');
  assert.equal(resolveTime('now-1h', 10_000_000), 10_000_000 - 3_600_000);
  assert.equal(resolveTime('1700000000', 0), 1_700_000_000_000);
  assert.ok(Number.isNaN(resolveTime('now-banana')));
  assert.equal(autoStepMs(3_600_000, 1000), 5000);
});

test('variables: $var, ${var:fmt}, [[var]], multi values, All and the built-ins', () => {
  const scope = { vars: { job: ['a', 'b.c'], one: ['x'] }, allValue: {}, intervalMs: 30_000, rangeMs: 3_600_000, scrapeIntervalMs: 15_000 };
  assert.equal(interpolate('up{job=~"$job"}', scope), 'up{job=~"(a|b\\.c)"}');
  assert.equal(interpolate('${one} [[one]] ${job:csv} ${job:pipe}', scope), 'x x a,b.c a|b.c');
  assert.equal(interpolate('rate(x[$__rate_interval]) [$__interval] $__range $__range_s', scope), 'rate(x[1m]) [30s] 1h 3600');
  assert.equal(interpolate('$unknown', scope), '$unknown');
  assert.equal(interpolate('$job', { ...scope, allValue: { job: '.*' } }), '.*');
  assert.equal(ALL, '$__all');
  assert.deepEqual(parseLabelValues('label_values(up{job="x"}, instance)'), { label: 'instance', match: 'up{job="x"}' });
  assert.deepEqual(parseLabelValues('label_values(job)'), { label: 'job', match: undefined });
  assert.equal(parseLabelValues('query_result(up)'), null);
  assert.deepEqual(splitOptions('a,b\\,c, Prod : prod'), [
    { text: 'a', value: 'a' },
    { text: 'b,c', value: 'b,c' },
    { text: 'Prod', value: 'prod' },
  ]);
  assert.equal(legendName('{{job}} on {{instance}}', { job: 'a', instance: 'b' }, 'x'), 'a on b');
});

test('Grafana import: old panel types, rows, pre-v16 rows, data sources', () => {
  const d = importGrafana({
    dashboard: {
      uid: 'abc',
      title: 'T',
      panels: [
        { id: 1, type: 'row', title: 'R', gridPos: { x: 0, y: 0, w: 24, h: 1 }, collapsed: true, panels: [{ id: 2, type: 'graph', yaxes: [{ format: 'bytes' }], gridPos: { x: 0, y: 1, w: 12, h: 8 } }] },
        { id: 3, type: 'singlestat', format: 'percent', gridPos: { x: 12, y: 1, w: 12, h: 8 } },
        { id: 4, type: 'piechart-fancy', gridPos: { x: 0, y: 9, w: 24, h: 8 } },
      ],
    },
  });
  assert.equal(d.uid, 'abc');
  assert.deepEqual(d.panels.map((p) => p.type), ['row', 'timeseries', 'stat', 'unsupported']);
  assert.equal(d.panels[1].fieldConfig?.defaults?.unit, 'bytes');
  assert.equal(d.panels[2].fieldConfig?.defaults?.unit, 'percent');
  assert.equal(d.panels[3].originalType, 'piechart-fancy');
  const old = importGrafana({ title: 'Old', rows: [{ height: '300px', panels: [{ type: 'graph', span: 6 }, { type: 'graph', span: 6 }, { type: 'table', span: 12 }] }] });
  assert.deepEqual(old.panels.map((p) => [p.gridPos.x, p.gridPos.w]), [[0, 12], [12, 12], [0, 24]]);
  assert.ok(old.panels[2].gridPos.y > 0, 'a full row wraps');
  assert.match(old.uid, /^old-[a-z0-9]+$/);
  assert.throws(() => importGrafana([1, 2]), /not a dashboard/);
  assert.throws(() => importGrafana({ title: 'x' }), /neither "panels" nor "rows"/);
  assert.equal(targetKind({ type: 'timeseries', gridPos: { x: 0, y: 0, w: 1, h: 1 } }, { datasource: { type: 'loki' } }), 'loki');
  assert.equal(targetKind({ type: 'logs', gridPos: { x: 0, y: 0, w: 1, h: 1 } }, {}), 'loki');
  assert.equal(targetKind({ type: 'stat', gridPos: { x: 0, y: 0, w: 1, h: 1 }, datasource: '${DS_PROMETHEUS}' }, {}), 'prometheus');
});

test('units', () => {
  assert.equal(formatValue(1536, 'bytes'), '1.50 KiB');
  assert.equal(formatValue(0.256, 'percentunit'), '25.6%');
  assert.equal(formatValue(0.0042, 's'), '4.2 ms');
  assert.equal(formatValue(1500, 'ms'), '1.50 s');
  assert.equal(formatValue(null), 'No data');
  assert.equal(formatValue(2500000), '2.50 M');
  // Small rates keep 3 significant digits instead of rounding to 0.00.
  assert.equal(formatValue(0.0654, 'reqps'), '0.0654 req/s');
  assert.equal(formatValue(0.5, 'reqps'), '0.500 req/s');
  assert.equal(formatValue(12.34, 'reqps'), '12.3 req/s');
  assert.equal(formatValue(0.00123), '0.00123');
  assert.equal(formatValue(0), '0');
});

test('trace parsing: base64 IDs, tree, critical path', () => {
  assert.equal(idToHex('S/kvNXezTaajzpKdDg5HNg=='), '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(idToHex('00F067AA0BA902B7'), '00f067aa0ba902b7');
  const span = (id: string, parent: string, start: number, end: number, svc = 'a') => ({
    resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] },
    scopeSpans: [{ spans: [{ spanId: id, parentSpanId: parent, name: id, startTimeUnixNano: String(start), endTimeUnixNano: String(end), kind: 'SPAN_KIND_SERVER', status: { code: 'STATUS_CODE_ERROR' } }] }],
  });
  // root 0-100; children A 10-40 and B 50-90 (B ends last, A ends before B starts), C 5-30 overlaps A.
  const roots = parseTrace({
    resourceSpans: [
      span('00000000000000a0', '', 0, 100),
      span('00000000000000a1', '00000000000000a0', 10, 40, 'b'),
      span('00000000000000a2', '00000000000000a0', 50, 90),
      span('00000000000000a3', '00000000000000a0', 5, 30),
    ],
  });
  assert.equal(roots.length, 1);
  const r = roots[0];
  assert.deepEqual(r.children.map((c) => c.spanId.slice(-2)), ['a3', 'a1', 'a2'], 'children in start order');
  assert.deepEqual(r.children.map((c) => c.critical), [false, true, true], 'B then A are critical, C (hidden under A) is not');
  assert.equal(r.children[1].service, 'b');
  assert.equal(r.kind, 'server');
  assert.equal(r.status.code, 'error');
});

test('logs: flatten and order, trace IDs from metadata or text', () => {
  const lines = flattenStreams(
    [
      { stream: { a: '1' }, values: [['3', 'c'], ['1', 'a trace_id=4bf92f3577b34da6a3ce929d0e0e4736']] },
      { stream: { a: '2' }, values: [['2', 'b', { structuredMetadata: { trace_id: 'abc' } }]] },
    ],
    true,
  );
  assert.deepEqual(lines.map((l) => l.line[0]), ['c', 'b', 'a']);
  assert.equal(traceIdOf(lines[1]), 'abc');
  assert.equal(traceIdOf(lines[2]), '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(traceIdOf(lines[0]), null);
});

test('graph alignment on the union of timestamps', () => {
  const d = alignSeries([
    { name: 'a', points: [[1, 1], [3, 3]] },
    { name: 'b', points: [[2, 20], [3, 30]] },
  ]);
  assert.deepEqual(d, [[1, 2, 3], [1, null, 3], [null, 20, 30]]);
});

test('detected fields from logfmt and JSON lines', () => {
  const f = detectFields([
    { tsNs: '1', line: 'level=info msg="a b" n=1', labels: {}, metadata: {} },
    { tsNs: '2', line: 'level=error msg=c', labels: {}, metadata: {} },
    { tsNs: '3', line: '{"status":200,"path":"/x","nested":{"a":1}}', labels: {}, metadata: {} },
  ]);
  assert.deepEqual(f.map((x) => [x.name, x.parser, x.values.size]), [
    ['level', 'logfmt', 2],
    ['msg', 'logfmt', 2],
    ['n', 'logfmt', 1],
    ['path', 'json', 1],
    ['status', 'json', 1],
  ]);
  assert.equal(f[1].values.get('a b'), 1);
});

test('service graph layout: roots left, servers by longest call depth, cycles terminate', () => {
  const e = (client: string, server: string) => ({ client, server, rate: 1, failed: 0 });
  const col = layoutColumns([e('web', 'api'), e('api', 'db'), e('web', 'db'), e('api', 'cache')]);
  assert.deepEqual(Object.fromEntries(col), { web: 0, api: 1, db: 2, cache: 2 });
  const cyc = layoutColumns([e('a', 'b'), e('b', 'a')]);
  assert.equal(cyc.size, 2);
  assert.ok([...cyc.values()].every((c) => c >= 0 && c < 2));
});

test('detected fields: Loki detected_fields answer and the filter stage', () => {
  const f = fieldsFromLoki([
    { label: 'level', type: 'string', cardinality: 3, parsers: ['logfmt'] },
    { label: 'trace_id', type: 'string', cardinality: 9, parsers: null },
    { label: 'duration', type: 'duration', cardinality: 40, parsers: ['json', 'logfmt'] },
  ]);
  assert.deepEqual(
    f.map((x) => [x.name, x.parser, x.cardinality]),
    [['duration', 'json', 40], ['level', 'logfmt', 3], ['trace_id', null, 9]],
  );
  assert.equal(fieldFilter(f[1], 'error'), '| logfmt | level="error"');
  // Structured metadata needs no parser; quotes in a value are escaped.
  assert.equal(fieldFilter(f[2], 'a"b'), '| trace_id="a\\"b"');
  // A name LogQL cannot use as is becomes the sanitised label Loki's parsers make.
  assert.equal(fieldFilter({ name: 'http.method', parser: 'json' }, 'GET'), '| json | http_method="GET"');
});

test('log volume by level: colours, severity order, stacking', () => {
  const v = volumeSeries([
    { metric: { level: 'error' }, values: [[1, '2']] },
    { metric: {}, values: [[1, '5']] },
    { metric: { level: 'notice' }, values: [[1, '3'], [2, '1']] },
  ]);
  assert.deepEqual(v.map((s) => s.name), ['logs', 'notice', 'error']);
  assert.deepEqual(v.map((s) => s.color), ['#8e9196', '#73bf69', '#f2495c']);
  assert.deepEqual(stackColumns([[1, null, null], [2, 3, null], [null, 1, null]]), [[1, null, null], [3, 3, null], [3, 4, null]]);
});

test('service graph queries cover the time range shown', () => {
  const q = serviceGraphQueries(3600);
  assert.equal(q.total, 'sum by (client, server) (rate(traces_service_graph_request_total[3600s]))');
  assert.equal(q.failed, 'sum by (client, server) (rate(traces_service_graph_request_failed_total[3600s]))');
  assert.ok(q.latency.startsWith('sum by (client, server) (rate(traces_service_graph_request_server_seconds_sum[3600s])) / '));
  // A range shorter than a minute still spans a few scrapes.
  assert.ok(serviceGraphQueries(10).total.includes('[60s]'));
});
