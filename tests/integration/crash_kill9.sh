#!/usr/bin/env bash
# Durability under kill -9: rw_crash_client writes numbered samples to Argus (running with
# --storage.tsdb.wal-sync=batch) and records every acknowledged request; Argus is killed with
# SIGKILL at a random moment 20 times and restarted on the same storage path while the client
# keeps retrying. Afterwards every acknowledged sample must be queryable: for each series
# crash_test{writer=...}, the samples 0..A (A = highest acknowledged i) are all there (count and
# sum over the exact range) and the value at A's timestamp is A.
#
# Why this holds for `batch` too: an acknowledged write has reached the WAL with write(2), and
# SIGKILL does not lose the page cache (only power loss would).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
itest_init crash_kill9

CLIENT="${ITEST_TOOLS_DIR:-$ITEST_LIB_DIR/../../build/tests}/rw_crash_client"
[ -x "$CLIENT" ] || fail "$CLIENT does not exist (build the rw_crash_client target)"
CYCLES="${CRASH_CYCLES:-20}"
SERIES=4
STEP_MS=20
DATA="$ITEST_TMP/argus-data"
ACKED="$ITEST_TMP/acked"
write_argus_config "$ITEST_TMP/argus.yml"
ARGUS_FLAGS=(--config.file="$ITEST_TMP/argus.yml" --storage.tsdb.wal-sync=batch)

start_argus "$DATA" "${ARGUS_FLAGS[@]}"
wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"
log "argus up on $ARGUS_URL (wal-sync=batch)"

# One hour ago: the data (20 ms apart, 2500 samples/s per series, i.e. 50 s of data per second)
# stays in the past for the ~40 s the test writes.
BASE_MS=$(( ($(date +%s) - 3600) * 1000 ))
: >"$ACKED"
start_bg client "$CLIENT" --url "$ARGUS_URL/api/v1/write" --acked "$ACKED" --base-ms "$BASE_MS" \
  --series "$SERIES" --samples-per-series 25 --step-ms "$STEP_MS" --rate 100
CLIENT_PID=$BG_PID

acked_lines() { wc -l <"$ACKED"; }
progress_cycles=0
for ((cycle = 1; cycle <= CYCLES; cycle++)); do
  before=$(acked_lines)
  delay_ms=$((200 + RANDOM % 1801))
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -0 "$CLIENT_PID" 2>/dev/null || fail "rw_crash_client exited (see client.log)"
  kill -0 "$ARGUS_PID" 2>/dev/null || fail "argus exited on its own before kill -9 number $cycle"
  kill -KILL "$ARGUS_PID"
  wait "$ARGUS_PID" 2>/dev/null || true
  after=$(acked_lines)
  ((after > before)) && progress_cycles=$((progress_cycles + 1))
  log "cycle $cycle/$CYCLES: kill -9 after ${delay_ms} ms; $((after - before)) requests acked in this cycle, $after in total"
  start_argus "$DATA" "${ARGUS_FLAGS[@]}"
  wait_ready "$ARGUS_URL" 120 "$ARGUS_PID"
done

# Writes must work after the last restart too.
target=$(($(acked_lines) + 20))
deadline=$((SECONDS + 30))
while (($(acked_lines) < target)); do
  ((SECONDS < deadline)) || fail "fewer than 20 requests acked in 30 s after the last restart"
  kill -0 "$CLIENT_PID" 2>/dev/null || fail "rw_crash_client exited (see client.log)"
  sleep 0.2
done
stop_pid "$CLIENT_PID" TERM
client_rc=0
wait "$CLIENT_PID" 2>/dev/null || client_rc=$?
summary=$(tail -n 1 "$ITEST_TMP/client.log")
log "client: $summary"
check "the client had no request rejected (exit status $client_rc; rejections in client.log)" \
  test "$client_rc" -eq 0
check "requests were acknowledged in at least half of the $CYCLES cycles ($progress_cycles)" \
  test $((progress_cycles * 2)) -ge "$CYCLES"
check "the acked file only grows" \
  python3 -c 'import sys; v=[int(l) for l in open(sys.argv[1])]; sys.exit(v != sorted(v) or len(v) != len(set(v)))' "$ACKED"

# The final check runs against a freshly restarted Argus (one more kill -9 first).
kill -KILL "$ARGUS_PID"
wait "$ARGUS_PID" 2>/dev/null || true
start_argus "$DATA" "${ARGUS_FLAGS[@]}"
wait_ready "$ARGUS_URL" 120 "$ARGUS_PID"

A=$(tail -n 1 "$ACKED")
log "highest acknowledged i: $A ($(acked_lines) requests acked)"
ITEST_LIB_DIR="$ITEST_LIB_DIR" python3 - "$ARGUS_URL" "$BASE_MS" "$STEP_MS" "$A" "$SERIES" <<'EOF'
import os
import sys
sys.path.insert(0, os.environ["ITEST_LIB_DIR"])
import promapi

url, base_ms, step_ms, a, series = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
t_ms = base_ms + a * step_ms
t = f"{t_ms // 1000}.{t_ms % 1000:03d}"
window = f"{a * step_ms + step_ms // 2}ms"  # starts half a step before sample 0
checks = [
    (f"count_over_time(crash_test[{window}])", float(a + 1), "samples 0..A present"),
    (f"sum_over_time(crash_test[{window}])", a * (a + 1) / 2, "their values sum to A(A+1)/2"),
    ("crash_test", float(a), "the value at A's timestamp is A"),
]
failures = 0
for q, expected, what in checks:
    rows = promapi.query(url, q, t)
    got = {m.get("writer"): v for m, (_, v) in rows}
    if sorted(got) != [str(s) for s in range(series)]:
        print(f"FAIL: {q} @ {t}: expected series writer=0..{series - 1}, got {sorted(got)}")
        failures += 1
        continue
    bad = [(w, v) for w, v in sorted(got.items()) if not promapi.values_equal(v, expected)]
    for writer, v in bad:
        print(f"FAIL: {q} @ {t} writer={writer}: got {v!r}, expected {expected!r} ({what})")
    failures += len(bad)
    if not bad:
        print(f"  ok: {what}: {q} = {expected:.17g} for all {series} writers")
sys.exit(1 if failures else 0)
EOF
