// Sends log records to Argus with the OpenTelemetry JS SDK, once per transport, so that
// tests/integration/otel_logs.sh can query them back through the Loki API:
//   grpc   LogsService/Export on --grpc                  service.name logs-grpc-<run>
//   http   OTLP/HTTP JSON POST <--http>/v1/logs          service.name logs-http-<run>
//   main   OTLP/HTTP JSON POST <--main>/otlp/v1/logs     service.name logs-main-<run>
// Each transport emits 3 records inside one span context (its own trace ID): bodies
// "<transport> record <i> run=<run>", severity INFO, WARN, ERROR, attributes
// http.method="GET" and attempt=<i>. Every export result is checked; prints
// {"<transport>": {"traceId": ..., "spanId": ...}, ...} on success, exits 1 on any failure.
//
// Usage: node logs.js --grpc http://127.0.0.1:4317 --http http://127.0.0.1:4318 \
//                     --main http://127.0.0.1:9090 --run <id>
'use strict';

const crypto = require('crypto');
const api = require('@opentelemetry/api');
const { SeverityNumber } = require('@opentelemetry/api-logs');
const { LoggerProvider } = require('@opentelemetry/sdk-logs');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { ATTR_SERVICE_NAME } = require('@opentelemetry/semantic-conventions');
const grpcExporter = require('@opentelemetry/exporter-logs-otlp-grpc');
const httpExporter = require('@opentelemetry/exporter-logs-otlp-http');

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

// A processor that keeps emitted records, so the test exports them itself and sees the result
// (the SDK's processors only log export failures).
class Collect {
  constructor() { this.records = []; }
  onEmit(record) { this.records.push(record); }
  forceFlush() { return Promise.resolve(); }
  shutdown() { return Promise.resolve(); }
}

const SEVERITIES = [
  [SeverityNumber.INFO, 'INFO'],
  [SeverityNumber.WARN, 'WARN'],
  [SeverityNumber.ERROR, 'ERROR'],
];

async function send(transport, exporter, run) {
  const collect = new Collect();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: `logs-${transport}-${run}` }),
    processors: [collect],
  });
  const logger = provider.getLogger('argus-test', '1.0.0');
  const span = {
    traceId: crypto.randomBytes(16).toString('hex'),
    spanId: crypto.randomBytes(8).toString('hex'),
    traceFlags: api.TraceFlags.SAMPLED,
  };
  const ctx = api.trace.setSpanContext(api.context.active(), span);
  const now = Date.now();
  SEVERITIES.forEach(([num, text], i) => {
    logger.emit({
      body: `${transport} record ${i} run=${run}`,
      severityNumber: num,
      severityText: text,
      timestamp: now - (SEVERITIES.length - i) * 1000,
      attributes: { 'http.method': 'GET', attempt: i },
      context: ctx,
    });
  });
  await new Promise((resolve, reject) => {
    exporter.export(collect.records, (result) => {
      if (result.code === 0) resolve();
      else reject(new Error(`${transport}: export failed: ${result.error}`));
    });
  });
  await exporter.shutdown();
  return { traceId: span.traceId, spanId: span.spanId };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const out = {};
  out.grpc = await send('grpc', new grpcExporter.OTLPLogExporter({ url: args.grpc }), args.run);
  out.http = await send('http', new httpExporter.OTLPLogExporter({ url: `${args.http}/v1/logs` }), args.run);
  out.main = await send('main', new httpExporter.OTLPLogExporter({ url: `${args.main}/otlp/v1/logs` }), args.run);
  console.log(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
