#!/usr/bin/env bash
# The OpenTelemetry JS SDK exports counters, an up-down counter, gauges and a histogram to Argus
# over OTLP/gRPC, OTLP/HTTP protobuf (OTLP port), OTLP/HTTP JSON (main port, /otlp/v1/metrics)
# and, with delta temporality, OTLP/HTTP protobuf again (tests/otel/export.js); then
# tests/integration/otel_check.py queries the series under the names Prometheus 3 gives them
# and checks every value.
#
# The SDK comes from npm, pinned by tests/otel/package-lock.json and installed with `npm ci`
# into $ITEST_OTEL_DIR (the build tree) the first time. Skips without node/npm, with a Node.js
# older than the SDK needs, or when npm cannot install the SDK (offline).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/otel_lib.sh"
itest_init otel_sdk
otel_sdk_install export.js
otel_start_argus

RUN_ID="r$$"
log "exporting with the OpenTelemetry JS SDK (run $RUN_ID)"
(cd "$OTEL_DIR" && timeout 120 node export.js --grpc "http://127.0.0.1:$ARGUS_GRPC_PORT" \
  --http "$ARGUS_OTLP_HTTP_URL" --main "$ARGUS_URL" --run "$RUN_ID") ||
  fail "the OpenTelemetry SDK could not export to argus"

log "checking the translated series"
python3 "$ITEST_LIB_DIR/otel_check.py" --url "$ARGUS_URL" --run "$RUN_ID" ||
  fail "argus stored something else than the SDK sent (see FAIL lines)"
