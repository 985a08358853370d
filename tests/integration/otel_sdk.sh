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
itest_init otel_sdk
need_cmd node "Node.js"
need_cmd npm "npm"
node -e 'const [a, b] = process.versions.node.split(".").map(Number);
         process.exit(a > 20 || (a === 20 && b >= 6) || (a === 18 && b >= 19) ? 0 : 1)' ||
  skip "Node.js $(node --version) is older than the OpenTelemetry JS SDK 2.x needs (^18.19 or >= 20.6)"

SRC_DIR="$(cd "$ITEST_LIB_DIR/../otel" && pwd)"
OTEL_DIR="${ITEST_OTEL_DIR:-$ITEST_TMP/otel}"
mkdir -p "$OTEL_DIR"
cp "$SRC_DIR/package.json" "$SRC_DIR/export.js" "$OTEL_DIR/"
if ! cmp -s "$SRC_DIR/package-lock.json" "$OTEL_DIR/package-lock.json" ||
   [ ! -f "$OTEL_DIR/node_modules/.package-lock.json" ]; then
  cp "$SRC_DIR/package-lock.json" "$OTEL_DIR/"
  log "installing the OpenTelemetry JS SDK into $OTEL_DIR (npm ci)"
  if ! (cd "$OTEL_DIR" && npm ci --no-audit --no-fund >"$ITEST_TMP/npm.log" 2>&1); then
    tail -n 20 "$ITEST_TMP/npm.log"
    rm -f "$OTEL_DIR/package-lock.json"  # so that the next run tries again
    skip "npm ci could not install the OpenTelemetry JS SDK (offline?)"
  fi
fi

write_argus_config "$ITEST_TMP/argus.yml"
start_argus "$ITEST_TMP/argus-data" --config.file="$ITEST_TMP/argus.yml"
wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"
log "argus up: HTTP $ARGUS_URL, OTLP/gRPC 127.0.0.1:$ARGUS_GRPC_PORT, OTLP/HTTP $ARGUS_OTLP_HTTP_URL"

RUN_ID="r$$"
log "exporting with the OpenTelemetry JS SDK (run $RUN_ID)"
(cd "$OTEL_DIR" && timeout 120 node export.js --grpc "http://127.0.0.1:$ARGUS_GRPC_PORT" \
  --http "$ARGUS_OTLP_HTTP_URL" --main "$ARGUS_URL" --run "$RUN_ID") ||
  fail "the OpenTelemetry SDK could not export to argus"

log "checking the translated series"
python3 "$ITEST_LIB_DIR/otel_check.py" --url "$ARGUS_URL" --run "$RUN_ID" ||
  fail "argus stored something else than the SDK sent (see FAIL lines)"
