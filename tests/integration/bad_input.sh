#!/usr/bin/env bash
# Hostile input: malformed remote_write and OTLP/HTTP requests against a running Argus must each
# get the protocol's 4xx with a message, and Argus must stay ready with its data intact
# (tests/integration/bad_input.py lists the cases).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
itest_init bad_input

write_argus_config "$ITEST_TMP/argus.yml"
start_argus "$ITEST_TMP/argus-data" --config.file="$ITEST_TMP/argus.yml"
wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"
log "argus up on $ARGUS_URL, OTLP/HTTP on $ARGUS_OTLP_HTTP_URL"

python3 "$ITEST_LIB_DIR/bad_input.py" --url "$ARGUS_URL" --otlp-http "$ARGUS_OTLP_HTTP_URL" ||
  fail "argus mishandled bad input (see FAIL lines)"
kill -0 "$ARGUS_PID" 2>/dev/null || fail "argus exited"
