// Checks deploy/grafana/datasources.yaml against a running Argus, making the requests Grafana
// makes with it. There is no Grafana on the build machines (it is not a Debian package and
// cannot be built offline), so this plays Grafana's part from its documented behaviour and
// source: provisioning ($$ escapes and $VAR expansion, uid references), each data source's
// "Save & test" health check, and every correlation the file sets up, followed to its target.
//
//   node grafana_provisioning.mjs --file deploy/grafana/datasources.yaml --url http://127.0.0.1:9090 \
//       --trace <trace id> --run <run id>
//
// --url is an Argus fed by tests/integration/web_ui.sh: two three-service traces from the
// OpenTelemetry JS SDK (services frontend-<run>, cart-<run>, db-<run>; --trace the second),
// so span metrics with exemplars and service-graph edges exist, and loghub lines whose streams
// {service_name="<service>"} carry --trace as structured metadata trace_id. Prints one line per
// check and "N passed, N failed"; exits 1 on any failure.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const argus = (args.url ?? '').replace(/\/$/, '');
const traceId = args.trace;
const run = args.run;
if (!args.file || !argus || !traceId || !run) {
  console.error('--file, --url, --trace and --run are required');
  process.exit(2);
}
const svc = { frontend: `frontend-${run}`, cart: `cart-${run}` };

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e?.message ?? e}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// Grafana's provisioning expands $VAR and ${VAR} from the environment in every string value
// and turns $$ into a literal $ (Grafana docs: administration/provisioning, "Using environment
// variables").
function expandEnv(v) {
  if (typeof v === 'string') {
    return v.replace(/\$\$|\$\{(\w+)\}|\$(\w+)/g, (m, a, b) => (m === '$$' ? '$' : process.env[a ?? b] ?? ''));
  }
  if (Array.isArray(v)) return v.map(expandEnv);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expandEnv(x)]));
  return v;
}
// Every value of a `datasourceUid` key anywhere under `v`.
function uidRefs(v, out = []) {
  if (Array.isArray(v)) v.forEach((x) => uidRefs(x, out));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'datasourceUid') out.push(x);
      else uidRefs(x, out);
    }
  }
  return out;
}

async function json(url, init) {
  const r = await fetch(url, init);
  const body = await r.text();
  assert(r.ok, `${init?.method ?? 'GET'} ${url} answered ${r.status}: ${body.slice(0, 200)}`);
  return JSON.parse(body);
}
// Grafana's Prometheus data source with httpMethod POST sends queries as form bodies.
function promPost(ds, path, params) {
  return json(`${ds.url}${path}`, {
    method: ds.jsonData?.httpMethod ?? 'GET',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
}
const get = (ds, path, params = {}) => json(`${ds.url}${path}?${new URLSearchParams(params)}`);
// Grafana's `${__tags}`: the mapped span tags as a label matcher list, `name="value", ...`.
const tagsMatcher = (tags, values) =>
  tags.filter((t) => values[t.key] !== undefined).map((t) => `${t.value ?? t.key}="${values[t.key]}"`).join(', ');

let file;
let byType = {};
await check('the file is YAML Grafana provisioning can load (apiVersion 1, unique names and uids)', () => {
  file = expandEnv(parse(readFileSync(args.file, 'utf8')));
  assert(file.apiVersion === 1, `apiVersion is ${file.apiVersion}`);
  const dss = file.datasources ?? [];
  assert(dss.length === 3, `expected 3 data sources, got ${dss.length}`);
  for (const key of ['name', 'uid']) {
    assert(new Set(dss.map((d) => d[key])).size === dss.length, `duplicate ${key}`);
  }
  assert(dss.filter((d) => d.isDefault).length === 1, 'exactly one data source must be the default');
  for (const d of dss) {
    assert(['prometheus', 'loki', 'tempo'].includes(d.type), `unexpected type ${d.type}`);
    assert(d.access === 'proxy', `${d.name}: access must be proxy (Grafana's server calls Argus)`);
    // The documented install step: point the url lines at your Argus.
    assert(d.url === 'http://argus:9090', `${d.name}: url ${d.url}, the README's install step expects http://argus:9090`);
    d.url = argus;
    byType[d.type] = d;
  }
});
const prom = () => byType.prometheus;
const loki = () => byType.loki;
const tempo = () => byType.tempo;

await check('every datasourceUid of a correlation names a data source of the file', () => {
  const uids = new Set(file.datasources.map((d) => d.uid));
  const refs = uidRefs(file.datasources.map((d) => d.jsonData));
  assert(refs.length >= 6, `only ${refs.length} correlations`);
  for (const r of refs) assert(uids.has(r), `datasourceUid ${r} is not provisioned`);
});
await check('$$ escapes reach Grafana as literal ${...} variables', () => {
  const q = tempo().jsonData.tracesToLogsV2.query;
  assert(q.includes('${__tags}') && q.includes('${__span.traceId}'), `tracesToLogsV2 query is ${q}`);
  assert(tempo().jsonData.tracesToMetrics.queries.every((x) => x.query.includes('$__tags')), 'tracesToMetrics lost $__tags');
});

// Health checks, as "Save & test" runs them (Grafana pkg/promlib/healthcheck.go,
// pkg/tsdb/loki/healthcheck.go, the Tempo data source's testDatasource).
await check('Prometheus health check: instant 1+1 at t=4 is 2, and buildinfo answers', async () => {
  const r = await promPost(prom(), '/api/v1/query', { query: '1+1', time: '4' });
  assert(r.status === 'success' && r.data.resultType === 'scalar' && r.data.result[1] === '2', JSON.stringify(r));
  const b = await get(prom(), '/api/v1/status/buildinfo');
  assert(typeof b.data?.version === 'string', JSON.stringify(b));
});
await check('Loki health check: vector(1)+vector(1) is one sample of value 2', async () => {
  const r = await get(loki(), '/loki/api/v1/query', { query: 'vector(1)+vector(1)', time: '4000000000' });
  assert(r.data.resultType === 'vector' && r.data.result.length === 1 && r.data.result[0].value[1] === '2', JSON.stringify(r));
});
await check('Tempo health check: /api/echo answers 200 (streaming is off, so no gRPC check)', async () => {
  const r = await fetch(`${tempo().url}/api/echo`);
  assert(r.status === 200, `status ${r.status}`);
  assert(tempo().jsonData.streamingEnabled?.search === false, 'streamingEnabled.search must be false');
});

const nowS = Math.floor(Date.now() / 1000);
async function traceExists(id) {
  // Grafana asks Tempo v2 for protobuf.
  const r = await fetch(`${tempo().url}/api/v2/traces/${id}`, { headers: { accept: 'application/protobuf' } });
  const body = new Uint8Array(await r.arrayBuffer());
  assert(r.status === 200 && body.length > 0, `trace ${id}: status ${r.status}, ${body.length} bytes`);
}

await check('exemplar -> trace: a panel query\'s exemplars carry trace_id, which Tempo finds', async () => {
  const dest = prom().jsonData.exemplarTraceIdDestinations[0];
  assert(dest.datasourceUid === tempo().uid, 'exemplars must point at the Tempo data source');
  const expr = `histogram_quantile(0.95, sum by (le) (rate(traces_spanmetrics_latency_bucket{service="${svc.cart}"}[5m])))`;
  const r = await promPost(prom(), '/api/v1/query_exemplars', { query: expr, start: `${nowS - 600}`, end: `${nowS + 60}` });
  const ids = r.data.flatMap((s) => s.exemplars.map((e) => e.labels[dest.name])).filter(Boolean);
  assert(ids.includes(traceId), `no exemplar with ${dest.name}=${traceId} in ${JSON.stringify(r.data).slice(0, 300)}`);
  await traceExists(traceId);
});

await check('log line -> trace: the label derived field finds trace_id on the lines, Tempo the trace', async () => {
  const field = loki().jsonData.derivedFields.find((f) => f.matcherType === 'label');
  const r = await get(loki(), '/loki/api/v1/query_range', {
    query: `{service_name="${svc.frontend}"}`, start: `${(nowS - 3600) * 1e9}`, end: `${(nowS + 60) * 1e9}`, limit: '100',
  });
  const values = r.data.result.map((s) => s.stream[field.matcherRegex]).filter(Boolean);
  assert(values.length > 0, `no stream of ${svc.frontend} has the label ${field.matcherRegex}`);
  // The link's url is ${__value.raw}: the label's value is the trace ID.
  assert(values.every((v) => field.url.replace('${__value.raw}', v) === traceId), `values ${values}`);
  await traceExists(values[0]);
});

await check('log line -> trace: the regex derived field compiles as a JavaScript RegExp and captures IDs', () => {
  const field = loki().jsonData.derivedFields.find((f) => f.matcherType === 'regex');
  const re = new RegExp(field.matcherRegex); // what Grafana's getDerivedFields does in the browser
  const short = traceId.slice(16);
  for (const [line, want] of [
    [`level=info trace_id=${traceId} msg="GET /cart"`, traceId],
    [`{"traceId":"${traceId}","msg":"x"}`, traceId],
    [`TraceID: ${short} done`, short],
  ]) {
    const m = line.match(re);
    assert(m && m[1] === want, `${line} -> ${m && m[1]}`);
  }
  assert(!'GET /index.html 200 1534 bytes'.match(re), 'matched a line without a trace ID');
});

await check('trace -> logs: the tracesToLogsV2 query finds the span\'s lines by trace_id', async () => {
  const t2l = tempo().jsonData.tracesToLogsV2;
  assert(t2l.datasourceUid === loki().uid, 'trace to logs must point at the Loki data source');
  const query = t2l.query
    .replace('${__tags}', tagsMatcher(t2l.tags, { 'service.name': svc.frontend }))
    .replace('${__span.traceId}', traceId);
  const r = await get(loki(), '/loki/api/v1/query_range', {
    query, start: `${(nowS - 3600) * 1e9}`, end: `${(nowS + 60) * 1e9}`, limit: '100',
  });
  const lines = r.data.result.flatMap((s) => s.values);
  assert(lines.length > 0, `${query} found no lines`);
  assert(r.data.result.every((s) => s.stream.trace_id === traceId), `${query} returned other traces' lines`);
});

await check('trace -> metrics: each tracesToMetrics query runs; rate and p95 have series', async () => {
  const t2m = tempo().jsonData.tracesToMetrics;
  assert(t2m.datasourceUid === prom().uid, 'trace to metrics must point at the Prometheus data source');
  for (const q of t2m.queries) {
    const expr = q.query.replace('$__tags', tagsMatcher(t2m.tags, { 'service.name': svc.cart }));
    const r = await promPost(prom(), '/api/v1/query_range', { query: expr, start: `${nowS - 600}`, end: `${nowS + 60}`, step: '15' });
    assert(r.status === 'success', `${q.name}: ${JSON.stringify(r)}`);
    if (q.name !== 'Error rate') assert(r.data.result.length > 0, `${q.name} (${expr}) has no series`);
  }
});

await check('service graph: the node graph\'s queries show the edge frontend -> cart', async () => {
  assert(tempo().jsonData.serviceMap.datasourceUid === prom().uid, 'serviceMap must point at Prometheus');
  // Grafana's service map runs these as instant queries over the dashboard range.
  for (const metric of ['traces_service_graph_request_total', 'traces_service_graph_request_server_seconds_sum']) {
    const r = await promPost(prom(), '/api/v1/query', { query: `sum by (client, server) (rate(${metric}[10m]))`, time: `${nowS}` });
    const edge = r.data.result.find((s) => s.metric.client === svc.frontend && s.metric.server === svc.cart);
    assert(edge, `${metric}: no edge ${svc.frontend} -> ${svc.cart} in ${JSON.stringify(r.data.result).slice(0, 300)}`);
  }
  const failed = await promPost(prom(), '/api/v1/query', {
    query: 'sum by (client, server) (rate(traces_service_graph_request_failed_total[10m]))', time: `${nowS}` });
  assert(failed.status === 'success', JSON.stringify(failed));
});

await check('Tempo search as Grafana runs it finds the trace, most recent first', async () => {
  const r = await get(tempo(), '/api/search', {
    q: `{resource.service.name="${svc.frontend}"}`, start: `${nowS - 3600}`, end: `${nowS + 60}`, limit: '20', spss: '3',
  });
  // Tempo may print trace IDs without their leading zeros.
  const norm = (id) => id.replace(/^0+/, '');
  assert(r.traces?.some((t) => norm(t.traceID) === norm(traceId)), JSON.stringify(r).slice(0, 300));
  const starts = r.traces.map((t) => BigInt(t.startTimeUnixNano));
  assert(starts.every((s, i) => i === 0 || starts[i - 1] >= s), 'not most recent first');
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
