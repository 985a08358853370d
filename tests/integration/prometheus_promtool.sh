#!/usr/bin/env bash
# Prometheus 2.42 scrapes node_exporter and itself every 5 s and remote-writes everything to
# Argus; once both hold the same raw data, promtool runs the same instant and range queries
# (tests/integration/promtool_compare.py, QUERIES) against both and the answers must be
# identical: same series, same timestamps, values equal to a relative 1e-9.
#
# Needs: prometheus, promtool, prometheus-node-exporter (skips without them); $ARGUS_BIN.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
itest_init prometheus_promtool
need_cmd prometheus "Prometheus"
need_cmd promtool "promtool (Prometheus)"
need_node_exporter
COMPARE=(python3 "$ITEST_LIB_DIR/promtool_compare.py")

NODE_PORT=$(free_port)
PROM_PORT=$(free_port)

log "starting node_exporter on 127.0.0.1:$NODE_PORT"
start_node_exporter node_exporter "$NODE_PORT" cpu meminfo loadavg netdev stat vmstat diskstats \
  filesystem time
NODE_PID=$BG_PID

write_argus_config "$ITEST_TMP/argus.yml"
start_argus "$ITEST_TMP/argus-data" --config.file="$ITEST_TMP/argus.yml"
log "starting argus on $ARGUS_URL"
wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"

cat >"$ITEST_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 5s
  scrape_timeout: 4s
  evaluation_interval: 5s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:$NODE_PORT']
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:$PROM_PORT']
$(prom_remote_write_yaml "$ARGUS_URL/api/v1/write")
EOF
log "starting prometheus on 127.0.0.1:$PROM_PORT (remote_write to argus)"
start_prometheus "$ITEST_TMP/prometheus.yml"

# Every series must be older than the compared window (T-120 s: a range query from T-60 s of
# rate(...[1m])). A counter born inside a rate window is where Prometheus 2.42
# and Prometheus 3 (which Argus follows) differ: 3.x caps the extrapolation to the series start
# at half a scrape interval *before* extrapolating to the counter's zero point, 2.42 after it
# (promql/functions.go extrapolatedRate, changed by prometheus/prometheus#13725 in 2.51; upstream's functions.test checks the 3.x rule, and so
# does `argus test promql`). Prometheus' own http counters are born at its first self-scrape and
# this test's first query, so T waits for 28 scrapes: 135 s of data.
log "waiting until both servers hold >= 28 scrapes of each job (about 150 s)"
deadline=$((SECONDS + 240))
until "${COMPARE[@]}" scrapes --ref "$PROM_URL" --argus "$ARGUS_URL" --time $(($(date +%s) - 15)) --min 28; do
  ((SECONDS < deadline)) || fail "fewer than 28 scrapes of each job reached both servers in 240 s"
  kill -0 "$ARGUS_PID" 2>/dev/null || fail "argus exited"
  kill -0 "$PROM_PID" 2>/dev/null || fail "prometheus exited"
  kill -0 "$NODE_PID" 2>/dev/null || fail "node_exporter exited"
  sleep 2
done

T=$(( ($(date +%s) - 15) / 5 * 5 ))
log "evaluation time T=$T ($(date -u -d "@$T" +%FT%TZ)); checking both hold the same raw data"
"${COMPARE[@]}" sync --ref "$PROM_URL" --argus "$ARGUS_URL" --time "$T" --timeout 30 ||
  fail "argus does not hold the samples prometheus remote-wrote"

check_remote_write_complete "$PROM_URL"

log "comparing promtool answers: instant at T, range [T-60s, T] step 5s"
"${COMPARE[@]}" compare --ref "$PROM_URL" --argus "$ARGUS_URL" --time "$T" \
  --start $((T - 60)) --end "$T" --step 5s || fail "promtool answers differ (see MISMATCH lines)"

log "range [T-45s, T] with a step (7s) unaligned to the scrape interval"
"${COMPARE[@]}" compare --ref "$PROM_URL" --argus "$ARGUS_URL" --time "$T" \
  --start $((T - 45)) --end "$T" --step 7s || fail "promtool answers differ (see MISMATCH lines)"
