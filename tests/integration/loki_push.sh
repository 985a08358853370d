#!/usr/bin/env bash
# Loki push API with real log lines: the loghub samples (../shared/data/loghub relative to the
# repo) go in through JSON and snappy protobuf pushes and must come back exactly from
# query_range (order, `|= needle` giving the very lines `grep -F` finds, count_over_time).
# Then durability: loki_crash_push.py pushes numbered batches (JSON and protobuf) while Argus
# (--storage.tsdb.wal-sync=batch) is killed with SIGKILL at random moments and restarted;
# every acknowledged line must be there afterwards. Skips when the samples are absent.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
itest_init loki_push

data="$ITEST_LIB_DIR/../../../shared/data/loghub"
[ -d "$data" ] || skip "loghub samples not found at $data"

write_argus_config "$ITEST_TMP/argus.yml"
start_argus "$ITEST_TMP/argus-data" --config.file="$ITEST_TMP/argus.yml"
wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"
log "argus up on $ARGUS_URL"

python3 "$ITEST_LIB_DIR/loki_push.py" --url "$ARGUS_URL" --data "$data" || fail "loki push round trip"
kill -0 "$ARGUS_PID" 2>/dev/null || fail "argus exited"
log "restarting argus: the pushed lines must survive (WAL replay / snapshot)"
kill -TERM "$ARGUS_PID"
wait "$ARGUS_PID" 2>/dev/null || true
start_argus "$ITEST_TMP/argus-data" --config.file="$ITEST_TMP/argus.yml"
wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"
count=$(curl -fsS "$ARGUS_URL/loki/api/v1/query" --data-urlencode 'query=sum(count_over_time({job="loghub"}[2h]))' |
  python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)')
expect=$(for f in "$data"/*.log; do grep -c . "$f"; done | awk '{s += $1} END {print s}')
check "after a restart all $expect lines are still there (got $count)" test "$count" = "$expect"

log "file tailing: a loghub sample appended to a tailed file comes back exactly"
kill -TERM "$ARGUS_PID"
wait "$ARGUS_PID" 2>/dev/null || true
mkdir -p "$ITEST_TMP/tail"
start_argus "$ITEST_TMP/argus-data" --config.file="$ITEST_TMP/argus.yml" \
  --logs.tail="$ITEST_TMP/tail/*.log" --logs.tail.labels='{job="tailed"}'
wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"
# A last line without its newline waits for it (as Promtail does), so end the copy with one.
{ cat "$data/OpenSSH_2k.log"; echo; } >"$ITEST_TMP/tail/ssh.log"
tail_count() {
  curl -fsS "$ARGUS_URL/loki/api/v1/query" --data-urlencode "query=sum(count_over_time({job=\"tailed\"} $1 [1h]))" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)'
}
want=$(grep -c . "$data/OpenSSH_2k.log")
got=0
for _ in $(seq 1 60); do
  got=$(tail_count "")
  [ "$got" = "$want" ] && break
  sleep 0.5
done
check "tailed file: $want lines (got $got)" test "$got" = "$want"
needle_want=$(grep -F -c "Failed password" "$data/OpenSSH_2k.log")
needle_got=$(tail_count '|= "Failed password"')
check "tailed |= \"Failed password\": $needle_want lines like grep -F -c (got $needle_got)" test "$needle_got" = "$needle_want"

log "kill -9 during pushes: nothing acknowledged may be lost"
kill -TERM "$ARGUS_PID"
wait "$ARGUS_PID" 2>/dev/null || true
CRASH_FLAGS=(--config.file="$ITEST_TMP/argus.yml" --storage.tsdb.wal-sync=batch)
start_argus "$ITEST_TMP/crash-data" "${CRASH_FLAGS[@]}"
wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"
ACKED="$ITEST_TMP/acked"
: >"$ACKED"
BASE_NS=$(( ($(date +%s) - 1800) * 1000000000 ))
start_bg crash_pusher python3 "$ITEST_LIB_DIR/loki_crash_push.py" --url "$ARGUS_URL" --data "$data" \
  --acked "$ACKED" --base-ns "$BASE_NS"
PUSHER_PID=$BG_PID
progress=0
for cycle in 1 2 3 4 5 6; do
  before=$(wc -l <"$ACKED")
  delay_ms=$((300 + RANDOM % 1200))
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -0 "$PUSHER_PID" 2>/dev/null || fail "the pusher exited (see crash_pusher.log)"
  kill -KILL "$ARGUS_PID"
  wait "$ARGUS_PID" 2>/dev/null || true
  after=$(wc -l <"$ACKED")
  ((after > before)) && progress=$((progress + 1))
  log "cycle $cycle: kill -9 after ${delay_ms} ms; $((after - before)) batches acked in this cycle, $after in all"
  start_argus "$ITEST_TMP/crash-data" "${CRASH_FLAGS[@]}"
  wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"
done
sleep 1
stop_pid "$PUSHER_PID" TERM
check "batches were acknowledged in at least half of the cycles ($progress of 6)" test "$progress" -ge 3
kill -KILL "$ARGUS_PID"
wait "$ARGUS_PID" 2>/dev/null || true
start_argus "$ITEST_TMP/crash-data" "${CRASH_FLAGS[@]}"
wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"
python3 "$ITEST_LIB_DIR/loki_crash_push.py" --url "$ARGUS_URL" --data "$data" --acked "$ACKED" \
  --base-ns "$BASE_NS" --verify || fail "acknowledged lines were lost across kill -9"
