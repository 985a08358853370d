#!/usr/bin/env bash
# Loki push API with real log lines: the loghub samples (../shared/data/loghub relative to the
# repo) go in through JSON and snappy protobuf pushes and must come back exactly from
# query_range (order, line filters matching a grep of the same bytes, count_over_time).
# Skips when the samples are absent.
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
