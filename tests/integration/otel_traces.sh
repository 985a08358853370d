#!/usr/bin/env bash
# The OpenTelemetry JS SDK sends one trace across three services to Argus, each over another
# transport (OTLP/gRPC, OTLP/HTTP protobuf on the OTLP port, OTLP/HTTP JSON on the main port;
# tests/otel/traces.js); then tests/integration/otel_traces_check.py reads it back through the
# Tempo API: trace by ID (JSON v1/v2 and protobuf), TraceQL search including a structural
# query, tag values and TraceQL metrics (/api/metrics/query_range, /api/metrics/query), and
# finds the span metrics series (traces_spanmetrics_*) and the service graph edges
# (traces_service_graph_*: user -> frontend -> cart -> db) in the metrics store through PromQL. The check runs again after a restart (the trace then comes from a
# block or the replayed WAL): once after kill -9 (WAL replay), once after a graceful shutdown
# (the head cut into a block). A Zipkin v2 JSON span is sent with curl and read back by ID, and
# bad bodies, IDs and queries must get a 400 while argus stays up.
#
# The SDK comes from npm, pinned by tests/otel/package-lock.json, installed as otel_sdk.sh
# does. Skips without node/npm or when npm cannot install the SDK (offline).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/otel_lib.sh"
itest_init otel_traces
need_cmd python3 "Python 3"
otel_sdk_install traces.js
otel_start_argus

RUN_ID="r$$"
log "sending a three-service trace with the OpenTelemetry JS SDK (run $RUN_ID)"
OUT=$(cd "$OTEL_DIR" && timeout 120 node traces.js --grpc "http://127.0.0.1:$ARGUS_GRPC_PORT" \
  --http "$ARGUS_OTLP_HTTP_URL" --main "$ARGUS_URL" --run "$RUN_ID") ||
  fail "the OpenTelemetry SDK could not export the trace to argus"
TRACE_ID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["traceId"])' "$OUT")
log "trace $TRACE_ID sent; checking the Tempo API"
python3 "$ITEST_LIB_DIR/otel_traces_check.py" --url "$ARGUS_URL" --run "$RUN_ID" --trace "$TRACE_ID" ||
  fail "the Tempo API did not answer with the trace the SDK sent (see FAIL lines)"

log "sending a Zipkin v2 span to /api/v2/spans"
ZIPKIN_TRACE=$(printf '%032x' "$$")
ZIPKIN_BODY="[{\"traceId\":\"$ZIPKIN_TRACE\",\"id\":\"00000000000000a1\",\"name\":\"zipkin-$RUN_ID\",
  \"kind\":\"SERVER\",\"timestamp\":$(($(date +%s) * 1000000)),\"duration\":1500,
  \"localEndpoint\":{\"serviceName\":\"zipkin-svc-$RUN_ID\"},\"tags\":{\"http.method\":\"GET\"}}]"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  --data "$ZIPKIN_BODY" "$ARGUS_URL/api/v2/spans")
[ "$code" = 202 ] || fail "POST /api/v2/spans answered $code, want 202"
curl -fsS "$ARGUS_URL/api/traces/$ZIPKIN_TRACE" | grep -q "zipkin-svc-$RUN_ID" ||
  fail "the Zipkin span is not found by its trace ID"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  --data '[{"traceId":"not hex","id":"1"}]' "$ARGUS_URL/api/v2/spans")
[ "$code" = 400 ] || fail "a bad Zipkin body answered $code, want 400"

log "bad input: clear 4xx answers, argus stays up"
for ct_body in "application/x-protobuf|\xff\xff\xff\xff" "application/json|{\"resourceSpans\":[{" \
               "application/json|{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"xyz\"}]}]}]}"; do
  ct=${ct_body%%|*}
  body=${ct_body#*|}
  code=$(printf '%b' "$body" | curl -sS -o /dev/null -w '%{http_code}' -X POST -H "Content-Type: $ct" \
    --data-binary @- "$ARGUS_OTLP_HTTP_URL/v1/traces")
  [ "$code" = 400 ] || fail "POST /v1/traces ($ct, bad body) answered $code, want 400"
done
code=$(curl -sS -o /dev/null -w '%{http_code}' "$ARGUS_URL/api/traces/not-a-trace-id")
[ "$code" = 400 ] || fail "GET /api/traces/<bad id> answered $code, want 400"
code=$(curl -sS -o /dev/null -w '%{http_code}' --get --data-urlencode 'q={ .a = ' "$ARGUS_URL/api/search")
[ "$code" = 400 ] || fail "a bad TraceQL query answered $code, want 400"
curl -fsS -o /dev/null "$ARGUS_URL/-/ready" || fail "argus is not ready after bad input"

log "kill -9 and restart: the acknowledged spans come back from the WAL"
stop_pid "$ARGUS_PID" KILL
start_argus "$ITEST_TMP/argus-data" --config.file="$ITEST_TMP/argus.yml"
wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"
python3 "$ITEST_LIB_DIR/otel_traces_check.py" --url "$ARGUS_URL" --run "$RUN_ID" --trace "$TRACE_ID" ||
  fail "after kill -9 the Tempo API lost the trace (see FAIL lines)"
curl -fsS "$ARGUS_URL/api/traces/$ZIPKIN_TRACE" | grep -q "zipkin-svc-$RUN_ID" ||
  fail "after kill -9 the Zipkin span is lost"

log "graceful restart: the head is cut into a block, the trace is read from it"
stop_pid "$ARGUS_PID" TERM
ls "$ITEST_TMP/argus-data/traces/blocks" | grep -q . || fail "no trace block after a graceful shutdown"
start_argus "$ITEST_TMP/argus-data" --config.file="$ITEST_TMP/argus.yml"
wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"
python3 "$ITEST_LIB_DIR/otel_traces_check.py" --url "$ARGUS_URL" --run "$RUN_ID" --trace "$TRACE_ID" ||
  fail "after a restart the Tempo API lost the trace (see FAIL lines)"
log "ok"
