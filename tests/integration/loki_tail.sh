#!/usr/bin/env bash
# Loki live tail over a WebSocket (/loki/api/v1/tail): a session opened with a line filter
# receives the earlier matching line in its lookback frame and then every matching line pushed
# after it opened, in order and nothing else (loki_tail.py speaks the WebSocket frames). Then
# Argus must stop promptly with a tail session still open.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
itest_init loki_tail

write_argus_config "$ITEST_TMP/argus.yml"
start_argus "$ITEST_TMP/argus-data" --config.file="$ITEST_TMP/argus.yml"
wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"
log "argus up on $ARGUS_URL"

python3 "$ITEST_LIB_DIR/loki_tail.py" --url "$ARGUS_URL" || fail "loki tail session"

log "graceful stop with an open tail session"
python3 - "$ARGUS_PORT" "$ITEST_TMP/upgraded" <<'PY' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /loki/api/v1/tail?query=%7Bjob%3D%22tail%22%7D HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
s.settimeout(30)
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(4096)
open(sys.argv[2], "w").write(head.split(b" ")[1].decode())
try:
    while s.recv(65536):  # never answers the close frame: the server must not wait for it
        pass
except OSError:
    pass
PY
holder=$!
for _ in $(seq 1 100); do [ -s "$ITEST_TMP/upgraded" ] && break; sleep 0.1; done
check "a second tail session is open (status $(cat "$ITEST_TMP/upgraded" 2>/dev/null))" \
  test "$(cat "$ITEST_TMP/upgraded" 2>/dev/null)" = 101
t0=$SECONDS
kill -TERM "$ARGUS_PID"
wait "$ARGUS_PID" 2>/dev/null || true
check "argus stopped within 5 s with a tail session open (took $((SECONDS - t0)) s)" test $((SECONDS - t0)) -le 5
wait "$holder" 2>/dev/null || true
