// Sends one trace across three services to Argus with the OpenTelemetry JS SDK, each service
// over another OTLP transport, so that tests/integration/otel_traces.sh can read it back:
//   frontend-<run>  "GET /checkout" (server) -> "call cart" (client)       OTLP/gRPC on --grpc
//   cart-<run>      "POST /cart" (server, error, http.response.status_code 500)
//                     -> "query db" (client)                               OTLP/HTTP protobuf --http
//   db-<run>        "SELECT items" (server, db.system "postgresql")        OTLP/HTTP JSON on --main
// Parents are passed explicitly, as a propagator would across processes. Every export result
// is checked; prints {"traceId": "<32 hex>"} on success and exits 1 on any failure.
//
// Usage: node traces.js --grpc http://127.0.0.1:4317 --http http://127.0.0.1:4318 \
//                       --main http://127.0.0.1:9090 --run <id>
'use strict';

const api = require('@opentelemetry/api');
const { BasicTracerProvider } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { ATTR_SERVICE_NAME } = require('@opentelemetry/semantic-conventions');
const grpcExporter = require('@opentelemetry/exporter-trace-otlp-grpc');
const protoExporter = require('@opentelemetry/exporter-trace-otlp-proto');
const httpExporter = require('@opentelemetry/exporter-trace-otlp-http');

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

// A span processor that keeps finished spans, so the test exports them itself and sees the
// result (the SDK's processors only log export failures).
class Collect {
  constructor() { this.spans = []; }
  onStart() {}
  onEnd(span) { this.spans.push(span); }
  forceFlush() { return Promise.resolve(); }
  shutdown() { return Promise.resolve(); }
}

function service(name, exporter) {
  const collect = new Collect();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: name }),
    spanProcessors: [collect],
  });
  return { name, exporter, collect, provider, tracer: provider.getTracer('argus-test', '1.0.0') };
}

function exportAll(svc) {
  return new Promise((resolve, reject) => {
    svc.exporter.export(svc.collect.spans, (result) => {
      if (result.code === 0) resolve();
      else reject(new Error(`${svc.name}: export failed: ${result.error}`));
    });
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const frontend = service(`frontend-${args.run}`,
    new grpcExporter.OTLPTraceExporter({ url: args.grpc }));
  const cart = service(`cart-${args.run}`,
    new protoExporter.OTLPTraceExporter({ url: `${args.http}/v1/traces` }));
  const db = service(`db-${args.run}`,
    new httpExporter.OTLPTraceExporter({ url: `${args.main}/otlp/v1/traces` }));

  const ctx = api.ROOT_CONTEXT;
  const root = frontend.tracer.startSpan('GET /checkout', {
    kind: api.SpanKind.SERVER, attributes: { 'http.request.method': 'GET', 'run.id': args.run },
  }, ctx);
  const rootCtx = api.trace.setSpan(ctx, root);
  const callCart = frontend.tracer.startSpan('call cart', { kind: api.SpanKind.CLIENT }, rootCtx);
  const cartServer = cart.tracer.startSpan('POST /cart', {
    kind: api.SpanKind.SERVER, attributes: { 'http.response.status_code': 500 },
  }, api.trace.setSpan(ctx, callCart));
  cartServer.setStatus({ code: api.SpanStatusCode.ERROR, message: 'out of stock' });
  cartServer.addEvent('exception', { 'exception.message': 'out of stock' });
  const queryDb = cart.tracer.startSpan('query db', { kind: api.SpanKind.CLIENT },
    api.trace.setSpan(ctx, cartServer));
  const dbServer = db.tracer.startSpan('SELECT items', {
    kind: api.SpanKind.SERVER, attributes: { 'db.system': 'postgresql' },
  }, api.trace.setSpan(ctx, queryDb));
  await new Promise((r) => setTimeout(r, 20));
  for (const s of [dbServer, queryDb, cartServer, callCart, root]) s.end();

  for (const svc of [frontend, cart, db]) {
    await exportAll(svc);
    await svc.exporter.shutdown();
  }
  process.stdout.write(JSON.stringify({ traceId: root.spanContext().traceId }) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
