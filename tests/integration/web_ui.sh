#!/usr/bin/env bash
# The web UI end to end, in headless Chromium driven by Playwright (tests/e2e/ui.test.mjs):
# Argus scrapes itself every 2 s; the test loads /, checks there are no console errors,
# autocompletes metric and label names in Explore, runs a PromQL query and sees the chart's
# series (skipped with a message while Argus answers 404 on /api/v1/query_range; with
# Prometheus installed the same checks also run with the UI's Prometheus API pointed at a real
# Prometheus that scrapes Argus), walks the logs and traces views (against recorded Loki/Tempo
# answers while Argus lacks those APIs), imports a Grafana dashboard JSON and sees its panels.
# Screenshots of each view go to tests/out/screenshots/.
#
# playwright-core comes from npm, pinned by tests/e2e/package-lock.json and installed with
# `npm ci` into $ITEST_E2E_DIR (the build tree) the first time; the browser is the system
# Chromium (Debian packages chromium, chromium-driver; scripts/setup installs them). Skips
# without node/npm/chromium or when npm cannot install playwright-core (offline).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
itest_init web_ui
need_cmd node "Node.js"
need_cmd npm "npm"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] || skip "Chromium ($CHROMIUM) is not installed (Debian package chromium)"

SRC_DIR="$(cd "$ITEST_LIB_DIR/../e2e" && pwd)"
E2E_DIR="${ITEST_E2E_DIR:-$ITEST_TMP/e2e}"
SHOTS="${ITEST_SCREENSHOTS:-$(cd "$ITEST_LIB_DIR/.." && pwd)/out/screenshots}"
mkdir -p "$E2E_DIR" "$SHOTS"
cp "$SRC_DIR/package.json" "$SRC_DIR/ui.test.mjs" "$E2E_DIR/"
rm -rf "$E2E_DIR/fixtures" && cp -r "$SRC_DIR/fixtures" "$E2E_DIR/fixtures"
if ! cmp -s "$SRC_DIR/package-lock.json" "$E2E_DIR/package-lock.json" ||
   [ ! -f "$E2E_DIR/node_modules/.package-lock.json" ]; then
  cp "$SRC_DIR/package-lock.json" "$E2E_DIR/"
  log "installing playwright-core into $E2E_DIR (npm ci)"
  if ! (cd "$E2E_DIR" && npm ci --no-audit --no-fund >"$ITEST_TMP/npm.log" 2>&1); then
    tail -n 20 "$ITEST_TMP/npm.log"
    rm -f "$E2E_DIR/package-lock.json"
    skip "npm ci could not install playwright-core (offline?)"
  fi
fi

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
  log "prometheus up on $PROM_URL (API backend for the graph checks while Argus has no PromQL engine)"
  PROM_ARGS=(--prometheus "$PROM_URL")
else
  log "prometheus is not installed: the graph checks run only if Argus answers /api/v1/query_range"
fi

log "running the Playwright checks (screenshots in $SHOTS)"
(cd "$E2E_DIR" && CHROMIUM="$CHROMIUM" timeout 300 node ui.test.mjs --url "$ARGUS_URL" --out "$SHOTS" "${PROM_ARGS[@]}") ||
  fail "web UI checks failed (see FAIL lines; screenshots in $SHOTS)"
