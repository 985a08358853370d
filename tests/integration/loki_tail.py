"""Checks Loki's live tail (/loki/api/v1/tail over a WebSocket) on a running Argus: the lookback
frame carries lines pushed before the session opened, lines pushed afterwards arrive within a
few seconds through the query's line filter, other streams stay out, and a bad query is refused
with HTTP 400 instead of an upgrade. Prints one line per check; exits 1 on the first failure.

Python's standard library has no WebSocket client, so the few frames needed (RFC 6455: the
upgrade handshake, reading text/continuation/close frames, sending a masked close) are written
by hand here.
"""
import argparse
import base64
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse
import urllib.request


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def ok(msg):
    print("  ok: " + msg)


def push(url, labels, lines, ts0_ns):
    body = {"streams": [{"stream": labels, "values": [[str(ts0_ns + i), l] for i, l in enumerate(lines)]}]}
    req = urllib.request.Request(url + "/loki/api/v1/push", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        if r.status != 204:
            fail("push answered %d" % r.status)


class WebSocket:
    def __init__(self, host, port, path):
        self.sock = socket.create_connection((host, port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            head += chunk
        header, _, self.buf = head.partition(b"\r\n\r\n")
        self.status = int(header.split(b" ", 2)[1]) if header else 0
        self.header = header.decode(errors="replace")

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_message(self):
        """Returns the next text message (continuations joined), or None on a close frame."""
        parts = []
        while True:
            b0, b1 = self._read(2)
            opcode, fin = b0 & 0x0F, b0 & 0x80
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            if b1 & 0x80:
                fail("server frames must not be masked")
            payload = self._read(n)
            if opcode == 8:
                return None
            if opcode in (9, 10):  # ping/pong: nothing to do for this test
                continue
            parts.append(payload)
            if fin:
                return b"".join(parts).decode()

    def close(self):
        mask = os.urandom(4)
        payload = struct.pack(">H", 1000)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        try:
            self.sock.sendall(bytes([0x88, 0x80 | len(payload)]) + mask + masked)
        except OSError:
            pass
        self.sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    args = ap.parse_args()
    u = urllib.parse.urlparse(args.url)
    now = time.time_ns()
    run = str(os.getpid())

    push(args.url, {"job": "tail", "run": run}, ["before the session: needle 0"], now - 5 * 10**9)

    bad = WebSocket(u.hostname, u.port, "/loki/api/v1/tail?" + urllib.parse.urlencode({"query": "count_over_time({job=\"tail\"}[1m])"}))
    if bad.status != 400:
        fail("a metric query must be refused with 400, got %d" % bad.status)
    bad.sock.close()
    ok("a metric query is refused with HTTP 400")

    q = '{job="tail", run="%s"} |= "needle"' % run
    path = "/loki/api/v1/tail?" + urllib.parse.urlencode({"query": q, "start": str(now - 60 * 10**9), "limit": "100"})
    ws = WebSocket(u.hostname, u.port, path)
    if ws.status != 101:
        fail("tail upgrade answered %d: %s" % (ws.status, ws.header))
    ok("the tail request is upgraded (101)")

    got = []  # (ts, line) of every entry received
    frames = []
    errors = []

    def reader():
        try:
            while True:
                m = ws.recv_message()
                if m is None:
                    return
                frame = json.loads(m)
                frames.append(frame)
                for s in frame.get("streams", []):
                    if s["stream"].get("run") != run:
                        errors.append("frame carries a stream the query does not select: %r" % s["stream"])
                    for ts, line in s["values"]:
                        got.append((int(ts), line))
        except (EOFError, OSError, ValueError) as e:
            if not stop.is_set():
                errors.append("reading frames: %r" % e)

    stop = threading.Event()
    t = threading.Thread(target=reader, daemon=True)
    t.start()

    deadline = time.time() + 10
    while time.time() < deadline and not got:
        time.sleep(0.05)
    if [l for _, l in got] != ["before the session: needle 0"]:
        fail("the lookback frame should hold the line pushed before the session, got %r" % got)
    ok("the lookback frame holds the line pushed before the session")

    lines = ["live needle %d" % i for i in range(1, 51)]
    pushed_at = time.time()
    for i, l in enumerate(lines):
        # Interleave lines the filter drops and another stream the selector does not match.
        push(args.url, {"job": "tail", "run": run}, [l, "live hay %d" % i], time.time_ns())
        push(args.url, {"job": "tail", "run": run + "x"}, ["other needle %d" % i], time.time_ns())
    deadline = time.time() + 15
    want = ["before the session: needle 0"] + lines
    while time.time() < deadline and len(got) < len(want):
        time.sleep(0.05)
    latency = time.time() - pushed_at
    stop.set()
    ws.close()
    if errors:
        fail(errors[0])
    if [l for _, l in got] != want:
        fail("tail delivered %d lines, want %d in order; first difference near %r" %
             (len(got), len(want), next((g for g, w in zip([l for _, l in got], want) if g != w), got[-1:])))
    if any("dropped_entries" in f for f in frames):
        fail("no entry should be dropped at this rate")
    ok("all %d live lines arrived in push order within %.1fs, filtered by |= and the selector" % (len(lines), latency))


if __name__ == "__main__":
    main()
