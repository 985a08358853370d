// Exports a fixed set of OTLP metrics to Argus with the OpenTelemetry JS SDK, once per
// transport, so that tests/integration/otel_sdk.sh can query what Argus made of them.
//
// Usage: node export.js --grpc http://127.0.0.1:4317 --http http://127.0.0.1:4318 \
//                       --main http://127.0.0.1:9090 --run <id>
//
// Each run uses its own MeterProvider and resource (service.instance.id = "<run kind>-<id>"):
//   grpc    gRPC MetricsService/Export on --grpc                       cumulative
//   proto   HTTP protobuf POST <--http>/v1/metrics, service.namespace  cumulative
//   json    HTTP JSON POST <--main>/otlp/v1/metrics                    cumulative
//   delta   HTTP protobuf POST <--http>/v1/metrics, two exports         delta
// Every run records the same instruments and values (listed in otel_sdk.sh, which checks
// them). The export result of every request is checked: any failure exits with status 1.
'use strict';

const api = require('@opentelemetry/api');
const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
const { defaultResource, resourceFromAttributes } = require('@opentelemetry/resources');
const { ATTR_SERVICE_NAME } = require('@opentelemetry/semantic-conventions');
const grpcExporter = require('@opentelemetry/exporter-metrics-otlp-grpc');
const httpExporter = require('@opentelemetry/exporter-metrics-otlp-http');
const protoExporter = require('@opentelemetry/exporter-metrics-otlp-proto');

// A reader that only collects when asked, so that each export is one request whose result we
// can check (PeriodicExportingMetricReader only logs export failures).
class OnDemandReader extends MetricReader {
  constructor(exporter) {
    super({
      aggregationTemporalitySelector: (kind) => exporter.selectAggregationTemporality(kind),
    });
  }
  async onForceFlush() {}
  async onShutdown() {}
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i + 1 < argv.length; i += 2) {
    if (!argv[i].startsWith('--')) throw new Error(`unexpected argument ${argv[i]}`);
    args[argv[i].slice(2)] = argv[i + 1];
  }
  for (const key of ['grpc', 'http', 'main', 'run']) {
    if (!args[key]) throw new Error(`missing --${key}`);
  }
  return args;
}

// Records the instruments every run has; `phase` 0 is the first export, 1 the second (delta).
function record(meter, phase) {
  if (phase === 0) {
    const sent = meter.createCounter('test.sent', { unit: 'By', description: 'bytes sent' });
    sent.add(100, { direction: 'out' });
    sent.add(200, { direction: 'out' });

    const requests = meter.createCounter('test.requests', { description: 'requests served' });
    for (let i = 0; i < 5; i++) requests.add(1, { 'http.request.method': 'GET' });

    const queue = meter.createUpDownCounter('test.queue.length', { unit: '{item}' });
    queue.add(10);
    queue.add(-3);

    meter.createObservableGauge('test.utilization', { unit: '1' })
        .addCallback((result) => result.observe(0.75, { core: '0' }));

    meter.createGauge('test.temperature', { unit: 'Cel' }).record(21.5);

    const duration = meter.createHistogram('request.duration', {
      unit: 's',
      advice: { explicitBucketBoundaries: [0.1, 0.5, 1, 5] },
    });
    for (const v of [0.05, 0.2, 0.3, 0.7, 2, 10]) duration.record(v, { route: '/api' });
    return { requests, duration };
  }
  return null;
}

async function exportOnce(name, reader, exporter) {
  const { resourceMetrics, errors } = await reader.collect();
  if (errors.length > 0) throw new Error(`${name}: collect errors: ${errors.join('; ')}`);
  const points = resourceMetrics.scopeMetrics
      .reduce((n, s) => n + s.metrics.reduce((m, x) => m + x.dataPoints.length, 0), 0);
  const result = await new Promise((resolve) => exporter.export(resourceMetrics, resolve));
  if (result.code !== 0) {
    throw new Error(`${name}: export failed: ${result.error ? result.error.message : result.code}`);
  }
  console.log(`${name}: exported ${points} data points`);
}

async function run(name, exporter, attributes, exports) {
  const resource = defaultResource().merge(resourceFromAttributes(attributes));
  const reader = new OnDemandReader(exporter);
  const provider = new MeterProvider({ resource, readers: [reader] });
  const meter = provider.getMeter('argus-itest', '1.0.0');
  const instruments = record(meter, 0);
  await exportOnce(name, reader, exporter);
  if (exports === 2) {
    // Points carry millisecond times once stored; keep the two intervals apart.
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Second delta interval: 7 more requests and two more observations (1 and 2 seconds).
    for (let i = 0; i < 7; i++) instruments.requests.add(1, { 'http.request.method': 'GET' });
    instruments.duration.record(1, { route: '/api' });
    instruments.duration.record(2, { route: '/api' });
    await exportOnce(`${name} (2nd)`, reader, exporter);
  }
  await provider.shutdown();
  await exporter.shutdown();
}

async function main() {
  api.diag.setLogger(new api.DiagConsoleLogger(), api.DiagLogLevel.WARN);
  const args = parseArgs(process.argv.slice(2));
  const common = { [ATTR_SERVICE_NAME]: 'itest-otel', 'deployment.environment': 'itest' };
  const cumulative = httpExporter.AggregationTemporalityPreference.CUMULATIVE;
  const delta = httpExporter.AggregationTemporalityPreference.DELTA;

  await run('grpc',
      new grpcExporter.OTLPMetricExporter({ url: args.grpc, temporalityPreference: cumulative }),
      { ...common, 'service.instance.id': `grpc-${args.run}` }, 1);
  await run('proto',
      new protoExporter.OTLPMetricExporter({
        url: `${args.http}/v1/metrics`, temporalityPreference: cumulative }),
      { ...common, 'service.namespace': 'shop', 'service.instance.id': `proto-${args.run}` }, 1);
  await run('json',
      new httpExporter.OTLPMetricExporter({
        url: `${args.main}/otlp/v1/metrics`, temporalityPreference: cumulative }),
      { ...common, 'service.instance.id': `json-${args.run}` }, 1);
  await run('delta',
      new protoExporter.OTLPMetricExporter({
        url: `${args.http}/v1/metrics`, temporalityPreference: delta }),
      { ...common, 'service.instance.id': `delta-${args.run}` }, 2);
}

main().then(() => process.exit(0), (err) => {
  console.error(`export.js: ${err.stack || err}`);
  process.exit(1);
});
