#!/usr/bin/env bash
# The web UI end to end, in headless Chromium driven by Playwright (tests/e2e/ui.test.mjs), with
# Argus fed real data: it scrapes itself every 2 s; the OpenTelemetry JS SDK sends a
# three-service trace (tests/otel/traces.js, as otel_traces.sh does); the loghub samples
# (../shared/data/loghub) are pushed through /loki/api/v1/push, the lines of the traced services
# with the trace's ID in structured metadata (tests/e2e/feed_logs.py). The test then runs a
# PromQL query and sees the chart's series, a LogQL query and sees the lines, searches traces
# and opens the waterfall, follows a log line to its trace, a span to its logs and an exemplar
# to its trace, imports a Grafana dashboard JSON and sees its panels, and checks there are no
# console errors; then checks the Grafana provisioning file against the same data
# (tests/e2e/grafana_provisioning.mjs). With Prometheus installed the metrics checks also run with the UI pointed at
# a real Prometheus scraping Argus. Screenshots of each view go to tests/out/screenshots/.
#
# playwright-core and the OpenTelemetry SDK come from npm, pinned by tests/e2e/package-lock.json
# and tests/otel/package-lock.json, installed with `npm ci` into the build tree the first time;
# the browser is the system Chromium (Debian packages chromium, chromium-driver). Skips without
# node/npm/chromium/the loghub samples or when npm cannot install (offline).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
itest_init web_ui
need_cmd node "Node.js"
need_cmd npm "npm"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] || skip "Chromium ($CHROMIUM) is not installed (Debian package chromium)"

need_node_for_otel_sdk
LOGHUB="$ITEST_LIB_DIR/../../../shared/data/loghub"
[ -d "$LOGHUB" ] || skip "loghub samples not found at $LOGHUB"

E2E_DIR="${ITEST_E2E_DIR:-$ITEST_TMP/e2e}"
OTEL_DIR="${ITEST_OTEL_DIR:-$ITEST_TMP/otel}"
SHOTS="${ITEST_SCREENSHOTS:-$(cd "$ITEST_LIB_DIR/.." && pwd)/out/screenshots}"
mkdir -p "$SHOTS"
npm_ci_pinned "$ITEST_LIB_DIR/../e2e" "$E2E_DIR" "playwright-core and yaml" ui.test.mjs \
  grafana_provisioning.mjs fixtures
npm_ci_pinned "$ITEST_LIB_DIR/../otel" "$OTEL_DIR" "the OpenTelemetry JS SDK" traces.js

ARGUS_PORT=$(free_port)
cat >"$ITEST_TMP/argus.yml" <<EOF
global:
  scrape_interval: 2s
scrape_configs:
  - job_name: argus
    static_configs:
      - targets: ["127.0.0.1:$ARGUS_PORT"]
EOF
start_argus "$ITEST_TMP/argus-data" --config.file="$ITEST_TMP/argus.yml"
wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"
log "argus up on $ARGUS_URL"

check "/ serves the UI's index.html" \
  bash -c "curl -fsS '$ARGUS_URL/' | grep -q '<div id=\"app\"></div>'"
check "a UI route falls back to index.html" \
  bash -c "curl -fsS '$ARGUS_URL/explore/metrics' | grep -q '<div id=\"app\"></div>'"
check "API paths are not shadowed by the UI (404 stays a Prometheus 404)" \
  bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$ARGUS_URL/api/v1/no_such_api')\" = 404 ]"

RUN_ID="ui$$"
# Twice, a second apart: the span-metrics counters then have two samples, so the trace's "RED
# metrics" link (rate(...)) draws a line; the second trace is the exemplar's and the logs'.
log "sending two three-service traces with the OpenTelemetry JS SDK (run $RUN_ID)"
for i in 1 2; do
  ((i == 1)) || sleep 1
  OUT=$(cd "$OTEL_DIR" && timeout 60 node traces.js --grpc "http://127.0.0.1:$ARGUS_GRPC_PORT" \
    --http "$ARGUS_OTLP_HTTP_URL" --main "$ARGUS_URL" --run "$RUN_ID") ||
    fail "the OpenTelemetry SDK could not export the trace to argus"
done
TRACE_ID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["traceId"])' "$OUT")
log "trace $TRACE_ID sent; pushing the loghub lines"
python3 "$ITEST_LIB_DIR/../e2e/feed_logs.py" --url "$ARGUS_URL" --data "$LOGHUB" --trace "$TRACE_ID" \
  --services "frontend-$RUN_ID,cart-$RUN_ID,db-$RUN_ID" || fail "pushing the loghub lines failed"

log "waiting for Argus' own metrics (argus_http_requests_total) to be scraped"
deadline=$((SECONDS + 60))
until curl -fsS "$ARGUS_URL/api/v1/label/__name__/values" | grep -q argus_http_requests_total; do
  ((SECONDS < deadline)) || fail "argus did not scrape itself within 60 s"
  sleep 0.5
done
# The label-value completion needs a few handlers scraped, not only /metrics.
curl -fsS "$ARGUS_URL/api/v1/labels" >/dev/null
sleep 2.5

PROM_ARGS=()
if command -v prometheus >/dev/null 2>&1; then
  PROM_PORT=$(free_port)
  PROM_URL="http://127.0.0.1:$PROM_PORT"
  cat >"$ITEST_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: argus
    static_configs:
      - targets: ["127.0.0.1:$ARGUS_PORT"]
EOF
  start_bg prometheus prometheus --config.file="$ITEST_TMP/prometheus.yml" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --storage.tsdb.path="$ITEST_TMP/prom-data"
  deadline=$((SECONDS + 60))
  until curl -fsS "$PROM_URL/api/v1/query?query=count(argus_http_requests_total)" 2>/dev/null | grep -q '"value"'; do
    ((SECONDS < deadline)) || fail "prometheus did not scrape argus within 60 s"
    sleep 0.5
  done
  sleep 3  # a few points for rate() and a visible line
  log "prometheus up on $PROM_URL (the metrics checks run against it too)"
  PROM_ARGS=(--prometheus "$PROM_URL")
fi

log "running the Playwright checks (screenshots in $SHOTS)"
(cd "$E2E_DIR" && CHROMIUM="$CHROMIUM" timeout 170 node ui.test.mjs --url "$ARGUS_URL" --out "$SHOTS" --trace "$TRACE_ID" --run "$RUN_ID" "${PROM_ARGS[@]}") ||
  fail "web UI checks failed (see FAIL lines; screenshots in $SHOTS)"

# The Grafana provisioning file (deploy/grafana/datasources.yaml) against the same data: each
# data source's health check and every correlation, as Grafana would make the requests.
log "checking deploy/grafana/datasources.yaml against argus as Grafana uses it"
(cd "$E2E_DIR" && timeout 60 node grafana_provisioning.mjs --url "$ARGUS_URL" --trace "$TRACE_ID" --run "$RUN_ID" \
  --file "$ITEST_LIB_DIR/../../deploy/grafana/datasources.yaml") ||
  fail "the Grafana provisioning checks failed (see FAIL lines)"
