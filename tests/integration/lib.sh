# Shared helpers for the integration tests; source it from a bash script run with
# `set -euo pipefail`.
#
# Example:
#   source "$(dirname "$0")/lib.sh"
#   itest_init otel_sdk            # temp dir in $ITEST_TMP, cleanup on exit
#   need_cmd node "Node.js"        # exit 77 (CTest SKIP) if absent
#   start_argus "$ITEST_TMP/data"  # sets ARGUS_PID, ARGUS_URL, ARGUS_PORT, ...
#   wait_ready "$ARGUS_URL" 60
#   check "up is 1" test "$(prom_value "$ARGUS_URL" 'up')" = 1
#
# Conventions: everything listens on 127.0.0.1 on ports picked by free_port; every process
# started with start_bg is killed by cleanup (TERM, then KILL after 5 s) and its log, kept in
# $ITEST_TMP/<name>.log, is printed (last 40 lines) when the test fails. Set ITEST_KEEP=1 to keep
# the temp dir. The Argus binary is $ARGUS_BIN (set by tests/CMakeLists.txt).

ITEST_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ITEST_PIDS=()
ITEST_NAMES=()
ITEST_TMP=""
ITEST_NAME=""

# itest_init NAME: creates the temp dir and installs the exit trap.
itest_init() {
  ITEST_NAME="$1"
  ITEST_TMP="$(mktemp -d "${TMPDIR:-/tmp}/argus-itest-$1.XXXXXX")"
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  echo "== $ITEST_NAME: temp dir $ITEST_TMP"
}

log() { echo "[$(date +%H:%M:%S)] $*"; }

# fail MSG: prints MSG and exits 1.
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# skip MSG: prints MSG and exits 77, which tests/CMakeLists.txt declares as SKIP_RETURN_CODE.
skip() {
  echo "SKIP: $*"
  exit 77
}

# need_cmd CMD WHAT: skips the test when the external program CMD is not installed.
need_cmd() {
  command -v "$1" >/dev/null 2>&1 || skip "$2 ($1) is not installed"
}

# check DESCRIPTION CMD...: runs CMD; prints "ok" or fails the test with DESCRIPTION.
check() {
  local what="$1"
  shift
  if "$@"; then
    echo "  ok: $what"
  else
    fail "$what"
  fi
}

# free_port [N]: prints N (default 1) distinct TCP ports on 127.0.0.1, one a line, that were
# free a moment ago.
free_port() {
  python3 -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in socks))' "${1:-1}"
}

# start_bg NAME CMD...: runs CMD in the background with its output in $ITEST_TMP/NAME.log
# (appended, so restarts keep one log); sets BG_PID.
start_bg() {
  local name="$1"
  shift
  "$@" >>"$ITEST_TMP/$name.log" 2>&1 &
  BG_PID=$!
  ITEST_PIDS+=("$BG_PID")
  ITEST_NAMES+=("$name")
}

# stop_pid PID [SIGNAL]: sends SIGNAL (default TERM) and waits up to 20 s for PID to exit
# (then KILLs it). Returns 0 once it is gone.
stop_pid() {
  local pid="$1" sig="${2:-TERM}" i
  kill "-$sig" "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 200; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      return 0
    fi
    sleep 0.1
  done
  echo "warning: pid $pid ignored SIG$sig for 20 s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  local i pid
  trap - EXIT
  for ((i = ${#ITEST_PIDS[@]} - 1; i >= 0; i--)); do
    pid="${ITEST_PIDS[$i]}"
    kill -0 "$pid" 2>/dev/null && stop_pid "$pid" TERM
  done
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -n "$ITEST_TMP" ]; then
    local f
    for f in "$ITEST_TMP"/*.log; do
      [ -e "$f" ] || continue
      echo "---- last lines of $(basename "$f") ----" >&2
      tail -n 40 "$f" >&2
    done
  fi
  if [ -n "$ITEST_TMP" ]; then
    if [ "${ITEST_KEEP:-0}" = 1 ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "${ITEST_KEEP_ON_FAIL:-0}" = 1 ]; }; then
      echo "kept $ITEST_TMP" >&2
    else
      rm -rf "$ITEST_TMP"
    fi
  fi
  if [ "$rc" -eq 0 ]; then
    echo "PASS: $ITEST_NAME"
  fi
  exit "$rc"
}

# need_node_for_otel_sdk: skips the test when Node.js is older than the OpenTelemetry JS SDK
# 2.x needs (^18.19 or >= 20.6).
need_node_for_otel_sdk() {
  node -e 'const [a, b] = process.versions.node.split(".").map(Number);
           process.exit(a > 20 || (a === 20 && b >= 6) || (a === 18 && b >= 19) ? 0 : 1)' ||
    skip "Node.js $(node --version) is older than the OpenTelemetry JS SDK 2.x needs (^18.19 or >= 20.6)"
}

# npm_ci_pinned SRC_DIR DEST_DIR WHAT FILE...: copies package.json and each FILE (files or
# folders) from SRC_DIR into DEST_DIR, then runs `npm ci` there when SRC_DIR/package-lock.json
# (which pins every version) differs from DEST_DIR's copy or node_modules was never installed.
# Skips the test (exit 77) when npm cannot install WHAT (offline); the lock copy is then
# removed so that the next run tries again.
npm_ci_pinned() {
  local src="$1" dest="$2" what="$3" f
  shift 3
  mkdir -p "$dest"
  for f in package.json "$@"; do
    rm -rf "${dest:?}/$f"
    cp -r "$src/$f" "$dest/"
  done
  if ! cmp -s "$src/package-lock.json" "$dest/package-lock.json" ||
     [ ! -f "$dest/node_modules/.package-lock.json" ]; then
    cp "$src/package-lock.json" "$dest/"
    log "installing $what into $dest (npm ci)"
    if ! (cd "$dest" && npm ci --no-audit --no-fund >"$ITEST_TMP/npm.log" 2>&1); then
      tail -n 20 "$ITEST_TMP/npm.log"
      rm -f "$dest/package-lock.json"
      skip "npm ci could not install $what (offline?)"
    fi
  fi
}

# argus_bin: prints the Argus binary path, or fails the test if it was not built.
argus_bin() {
  local bin="${ARGUS_BIN:-$ITEST_LIB_DIR/../../build/argus}"
  [ -x "$bin" ] || fail "the argus binary $bin does not exist (build the 'argus' target first)"
  echo "$bin"
}

# start_argus STORAGE_DIR [FLAGS...]: starts Argus on free ports (chosen on the first call and
# reused on restarts, so clients can keep their URLs) with log level info. Sets ARGUS_PID,
# ARGUS_PORT, ARGUS_URL, ARGUS_GRPC_PORT, ARGUS_HTTP_PORT, ARGUS_OTLP_HTTP_URL. Does not wait;
# call wait_ready.
start_argus() {
  local storage="$1"
  shift
  local bin
  bin="$(argus_bin)"
  if [ -z "${ARGUS_PORT:-}${ARGUS_GRPC_PORT:-}${ARGUS_HTTP_PORT:-}" ]; then
    read -r ARGUS_PORT ARGUS_GRPC_PORT ARGUS_HTTP_PORT <<<"$(free_port 3 | tr '\n' ' ')"
  fi
  : "${ARGUS_PORT:=$(free_port)}"
  : "${ARGUS_GRPC_PORT:=$(free_port)}"
  : "${ARGUS_HTTP_PORT:=$(free_port)}"
  ARGUS_URL="http://127.0.0.1:$ARGUS_PORT"
  ARGUS_OTLP_HTTP_URL="http://127.0.0.1:$ARGUS_HTTP_PORT"
  mkdir -p "$storage"
  start_bg argus "$bin" \
    --storage.path="$storage" \
    --web.listen-address="127.0.0.1:$ARGUS_PORT" \
    --otlp.grpc.listen-address="127.0.0.1:$ARGUS_GRPC_PORT" \
    --otlp.http.listen-address="127.0.0.1:$ARGUS_HTTP_PORT" \
    --log.level=info "$@"
  ARGUS_PID=$BG_PID
}

# wait_ready URL [TIMEOUT_S] [PID]: waits until URL/-/ready answers 200. Fails the test on
# timeout (default 60 s) or, if PID is given, when that process exits first.
wait_ready() {
  local url="$1" timeout_s="${2:-60}" pid="${3:-}"
  local deadline=$((SECONDS + timeout_s))
  while ((SECONDS < deadline)); do
    if curl -fsS -o /dev/null --max-time 2 "$url/-/ready" 2>/dev/null; then
      return 0
    fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      fail "process $pid exited before $url/-/ready answered"
    fi
    sleep 0.1
  done
  fail "$url/-/ready did not answer 200 within ${timeout_s}s"
}

# write_argus_config FILE: a config without scrape jobs, so Argus only holds what is sent to it.
write_argus_config() {
  cat >"$1" <<'EOF'
global:
  scrape_interval: 15s
scrape_configs: []
EOF
}

# promq URL QUERY [TIME]: prints the JSON answer of an instant query (curl fails on HTTP errors).
promq() {
  local url="$1" q="$2" t="${3:-}"
  local args=(--data-urlencode "query=$q")
  [ -n "$t" ] && args+=(--data-urlencode "time=$t")
  curl -fsS --max-time 30 "$url/api/v1/query" "${args[@]}"
}

# prom_value URL QUERY [TIME]: prints the value of the single sample a query returns, or fails.
prom_value() {
  promq "$@" | python3 "$ITEST_LIB_DIR/promapi.py" single-value
}

# need_node_exporter: sets NODE_EXPORTER_BIN to node_exporter (Debian's
# prometheus-node-exporter), or skips the test when it is not installed.
need_node_exporter() {
  NODE_EXPORTER_BIN="$(command -v prometheus-node-exporter || command -v node_exporter || true)"
  [ -n "$NODE_EXPORTER_BIN" ] || skip "node_exporter (prometheus-node-exporter) is not installed"
}

# start_node_exporter NAME PORT COLLECTOR...: starts node_exporter on 127.0.0.1:PORT with only
# the given collectors (e.g. cpu meminfo loadavg); sets BG_PID. Does not wait.
# REQUIRES: need_node_exporter was called.
start_node_exporter() {
  local name="$1" port="$2" c
  shift 2
  local args=(--web.listen-address="127.0.0.1:$port" --collector.disable-defaults)
  for c in "$@"; do args+=("--collector.$c"); done
  start_bg "$name" "$NODE_EXPORTER_BIN" "${args[@]}"
}

# prom_remote_write_yaml URL: prints a Prometheus `remote_write:` section sending everything to
# URL (Argus' /api/v1/write) with short batching deadlines and backoffs, so that data scraped
# a second ago has reached Argus a few seconds later, and metadata every 10 s.
prom_remote_write_yaml() {
  cat <<EOF2
remote_write:
  - url: $1
    queue_config:
      batch_send_deadline: 1s
      max_samples_per_send: 2000
      min_backoff: 100ms
      max_backoff: 1s
    metadata_config:
      send: true
      send_interval: 10s
EOF2
}

# start_prometheus CONFIG_FILE: starts the reference Prometheus (Debian's 2.42) with CONFIG_FILE
# and a fresh storage dir in $ITEST_TMP, on a free port chosen before (set PROM_PORT first to
# put the port in CONFIG_FILE, e.g. for a self-scrape), and waits until it is ready. Sets
# PROM_PID, PROM_PORT and PROM_URL. Skips the test when prometheus is not installed.
start_prometheus() {
  need_cmd prometheus "Prometheus"
  : "${PROM_PORT:=$(free_port)}"
  PROM_URL="http://127.0.0.1:$PROM_PORT"
  start_bg prometheus prometheus --config.file="$1" \
    --storage.tsdb.path="$ITEST_TMP/prometheus-data" --web.listen-address="127.0.0.1:$PROM_PORT" \
    --log.level=warn
  PROM_PID=$BG_PID
  wait_ready "$PROM_URL" 60 "$PROM_PID"
}

# check_remote_write_complete PROM_URL: fails the test unless Prometheus reports that none of
# its remote_write samples failed or were dropped.
check_remote_write_complete() {
  local lost
  lost=$(prom_value "$1" 'sum(prometheus_remote_storage_samples_failed_total) + sum(prometheus_remote_storage_samples_dropped_total)')
  check "prometheus reports no failed or dropped remote_write samples (got $lost)" \
    python3 -c "import sys; sys.exit(float('$lost') != 0)"
}
