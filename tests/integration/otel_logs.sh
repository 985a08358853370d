#!/usr/bin/env bash
# The OpenTelemetry JS SDK log exporters (@opentelemetry/sdk-logs with
# exporter-logs-otlp-grpc and -http) send records carrying a span context to Argus over
# OTLP/gRPC, OTLP/HTTP on the OTLP port and OTLP/HTTP on the main port (/otlp/v1/logs;
# tests/otel/logs.js); then otel_logs_check.py reads them back through the Loki API with
# service_name, structured metadata and trace_id. The check runs again after kill -9 (WAL
# replay). Skips without node/npm or when npm cannot install the SDK (offline).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/otel_lib.sh"
itest_init otel_logs
need_cmd python3 "Python 3"
otel_sdk_install logs.js
otel_start_argus

RUN_ID="r$$"
log "sending log records with the OpenTelemetry JS SDK (run $RUN_ID)"
SENT=$(cd "$OTEL_DIR" && timeout 120 node logs.js --grpc "http://127.0.0.1:$ARGUS_GRPC_PORT" \
  --http "$ARGUS_OTLP_HTTP_URL" --main "$ARGUS_URL" --run "$RUN_ID") ||
  fail "the OpenTelemetry SDK could not export the log records to argus"
log "sent: $SENT"
python3 "$ITEST_LIB_DIR/otel_logs_check.py" --url "$ARGUS_URL" --run "$RUN_ID" --sent "$SENT" ||
  fail "the Loki API did not answer with the records the SDK sent (see FAIL lines)"

log "kill -9 and restart: the acknowledged records come back from the WAL"
kill -KILL "$ARGUS_PID"
wait "$ARGUS_PID" 2>/dev/null || true
start_argus "$ITEST_TMP/argus-data" --config.file="$ITEST_TMP/argus.yml"
wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"
python3 "$ITEST_LIB_DIR/otel_logs_check.py" --url "$ARGUS_URL" --run "$RUN_ID" --sent "$SENT" ||
  fail "records lost or changed across kill -9"
