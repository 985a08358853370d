#!/usr/bin/env bash
# Differential PromQL test: every query of the PromQL compliance tester
# (../shared/conformance/promql-compliance/promql-test-queries.yml, templates expanded, about
# 540 queries) runs as a range query on a real Prometheus 2.42 and on Argus holding the same
# data, and the answers must agree to a relative 1e-5 (tests/integration/promql_compliance.py
# says exactly how and why each demo metric name maps where it does, and lists, with the
# upstream change, the differences where 2.42 answers otherwise than Prometheus 3).
#
# The data: three node_exporters stand in for upstream's three demo-service instances (the
# scrape config labels them instance="demo.promlabs.com:10000".."10002", job="demo"), plus
# Prometheus' own request-duration histogram. Prometheus scrapes every 1 s and remote-writes
# to Argus. Inside the compared window one node_exporter is stopped for 10 s and started
# again, so its series go stale (Prometheus writes staleness markers) and come back.
#
# Metric names (METRIC_MAP in promql_compliance.py has the reasons):
#   demo_memory_usage_bytes{type="free"}  -> node_scrape_collector_duration_seconds{collector="meminfo"}
#   demo_num_cpus                         -> node_load1
#   demo_cpu_usage_seconds_total          -> node_cpu_seconds_total
#   demo_disk_usage_bytes                 -> node_memory_MemFree_bytes
#   demo_batch_last_success_timestamp_seconds -> node_time_seconds
#   demo_intermittent_metric              -> node_load5
#   demo_api_request_duration_seconds_*   -> prometheus_http_request_duration_seconds_*
#                                            (Prometheus' self-scrape, handler="/metrics")
#
# Timeline (s after Prometheus is ready): 0 scrapes start; 72 node_exporter #3 stops; 82 it is
# back; 97 the scrapes stop; then the window [65, 95] (its start moved later if a series began
# late, see below) is compared with step 1 s (540 range queries on each server, 4 at a time).
# About 2.5 minutes in all.
#
# Needs: prometheus, prometheus-node-exporter, python3-yaml, ../shared/conformance (skips
# without them); $ARGUS_BIN.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
itest_init promql_compliance
QUERIES="$ITEST_LIB_DIR/../../../shared/conformance/promql-compliance/promql-test-queries.yml"
[ -f "$QUERIES" ] || skip "$QUERIES is absent (the shared conformance corpus is not installed)"
need_cmd prometheus "Prometheus"
need_node_exporter
python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed"
COMPLIANCE=(python3 "$ITEST_LIB_DIR/promql_compliance.py")
"${COMPLIANCE[@]}" expand --queries "$QUERIES" >"$ITEST_TMP/queries.txt" ||
  fail "cannot expand $QUERIES"
log "$(wc -l <"$ITEST_TMP/queries.txt") concrete queries from $(basename "$QUERIES")"

COLLECTORS=(cpu meminfo loadavg time stat)
mapfile -t NODE_PORTS < <(free_port 3)
NODE_PIDS=()
for i in 0 1 2; do
  start_node_exporter "node_exporter$i" "${NODE_PORTS[$i]}" "${COLLECTORS[@]}"
  NODE_PIDS+=("$BG_PID")
done

write_argus_config "$ITEST_TMP/argus.yml"
start_argus "$ITEST_TMP/argus-data" --config.file="$ITEST_TMP/argus.yml"
log "starting argus on $ARGUS_URL"
wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"

# Only the request-duration histogram of Prometheus' own /metrics handler is kept from the
# self-scrape (and the remote_write loss counters checked below): the other handlers' series are
# born when this test starts querying, inside the compared window, and a counter born inside a
# rate() range is where 2.42 and 3.x extrapolate differently (prometheus/prometheus#13725).
PROM_PORT=$(free_port)
cat >"$ITEST_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: demo
    static_configs:
      - targets: ['127.0.0.1:${NODE_PORTS[0]}']
        labels: {instance: 'demo.promlabs.com:10000'}
      - targets: ['127.0.0.1:${NODE_PORTS[1]}']
        labels: {instance: 'demo.promlabs.com:10001'}
      - targets: ['127.0.0.1:${NODE_PORTS[2]}']
        labels: {instance: 'demo.promlabs.com:10002'}
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:$PROM_PORT']
    metric_relabel_configs:
      - source_labels: [__name__, handler]
        regex: 'prometheus_http_request_duration_seconds_(bucket|sum|count);/metrics|prometheus_remote_storage_samples_(failed|dropped)_total;'
        action: keep
$(prom_remote_write_yaml "$ARGUS_URL/api/v1/write")
EOF
log "starting prometheus on 127.0.0.1:$PROM_PORT (scrapes every 1 s, remote_write to argus)"
start_prometheus "$ITEST_TMP/prometheus.yml"
T0=$(date +%s)

# sleep_until S: sleeps until T0 + S, checking every second that the servers are still up.
sleep_until() {
  while (($(date +%s) < T0 + $1)); do
    kill -0 "$ARGUS_PID" 2>/dev/null || fail "argus exited"
    kill -0 "$PROM_PID" 2>/dev/null || fail "prometheus exited"
    sleep 1
  done
}

sleep_until 72
log "stopping node_exporter #3 (demo.promlabs.com:10002) for 10 s: its series go stale"
stop_pid "${NODE_PIDS[2]}"
sleep_until 82
start_node_exporter node_exporter2 "${NODE_PORTS[2]}" "${COLLECTORS[@]}"
log "node_exporter #3 is back"
sleep_until 97

# Queries with a negative offset read up to 10 min past the window, so the data must stop
# changing before the comparison: the scrape jobs are removed (config reload on SIGHUP), and
# Prometheus ends every series with a staleness marker and remote-writes those too.
log "stopping the scrapes (reload without scrape jobs) so that the data no longer changes"
cat >"$ITEST_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs: []
$(prom_remote_write_yaml "$ARGUS_URL/api/v1/write")
EOF
kill -HUP "$PROM_PID"
sleep 5
END=$((T0 + 95))
NOW=$(date +%s)
log "checking both servers hold the same raw data"
python3 "$ITEST_LIB_DIR/promtool_compare.py" sync --ref "$PROM_URL" --argus "$ARGUS_URL" \
  --time "$((NOW + 1))" --timeout 30 || fail "argus does not hold the samples prometheus remote-wrote"
check_remote_write_complete "$PROM_URL"
down='up{instance="demo.promlabs.com:10002"}'
stale=$(prom_value "$PROM_URL" "count_over_time($down[40s]) - sum_over_time($down[40s])" "$((T0 + 95))")
check "prometheus saw node_exporter #3 down for several scrapes (got $stale)" \
  python3 -c "import sys; sys.exit(not float('$stale') >= 5)"

# The window starts more than a minute (the longest rate() range of the histogram queries)
# after the first sample of every counter: a counter born inside a rate() range is where 2.42
# and 3.x extrapolate differently (prometheus/prometheus#13725), as noted above. On a busy
# machine Prometheus' first self-scrape can come seconds after it is ready.
first=$(python3 "$ITEST_LIB_DIR/promql_compliance.py" first-sample --ref "$PROM_URL" --end "$NOW")
START=$((first + 62 > T0 + 65 ? first + 62 : T0 + 65))
((END - START >= 20)) || fail "the first samples came too late (at $first, T0=$T0) to leave a window"
log "comparing range queries on [T0+$((START - T0)) s, T0+95 s], step 1 s"
"${COMPLIANCE[@]}" compare --queries "$QUERIES" --ref "$PROM_URL" --argus "$ARGUS_URL" \
  --start "$START" --end "$END" --step 1s || fail "Argus' answers differ from Prometheus' (see MISMATCH lines)"
