# Shared start-up of the tests that drive the OpenTelemetry JS SDK (otel_sdk.sh,
# otel_traces.sh, otel_logs.sh); source it after lib.sh and itest_init.
#
# Example:
#   source "$(dirname "$0")/lib.sh"; source "$(dirname "$0")/otel_lib.sh"
#   itest_init otel_logs
#   otel_sdk_install logs.js       # sets OTEL_DIR; skips (77) without a usable node/npm/SDK
#   otel_start_argus               # argus on free ports, ready, without scrape jobs
#   (cd "$OTEL_DIR" && node logs.js --grpc "http://127.0.0.1:$ARGUS_GRPC_PORT" ...)
#
# The SDK comes from npm, pinned by tests/otel/package-lock.json and installed with `npm ci`
# into $ITEST_OTEL_DIR (the build tree; default a temp dir) the first time or when the lock
# file changed.

# otel_sdk_install SCRIPT...: checks node and npm (Node.js ^18.19 or >= 20.6, as SDK 2.x
# needs), installs the SDK into $OTEL_DIR and copies the tests/otel SCRIPTs there. Skips when
# npm cannot install the SDK (offline).
otel_sdk_install() {
  need_cmd node "Node.js"
  need_cmd npm "npm"
  need_node_for_otel_sdk
  OTEL_DIR="${ITEST_OTEL_DIR:-$ITEST_TMP/otel}"
  npm_ci_pinned "$ITEST_LIB_DIR/../otel" "$OTEL_DIR" "the OpenTelemetry JS SDK" "$@"
}

# otel_start_argus [FLAGS...]: starts argus in $ITEST_TMP/argus-data without scrape jobs and
# waits until it is ready.
otel_start_argus() {
  write_argus_config "$ITEST_TMP/argus.yml"
  start_argus "$ITEST_TMP/argus-data" --config.file="$ITEST_TMP/argus.yml" "$@"
  wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"
  log "argus up: HTTP $ARGUS_URL, OTLP/gRPC 127.0.0.1:$ARGUS_GRPC_PORT, OTLP/HTTP $ARGUS_OTLP_HTTP_URL"
}
