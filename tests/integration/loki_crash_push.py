"""Pushes loghub lines to Argus' Loki push API in numbered batches until told to stop, and
appends the number of every acknowledged batch (204) to --acked; connection errors and 5xx (the
server being killed and restarted) are retried with the same batch. With --verify it instead
reads every line of {job="crash"} back and checks that each line of each acknowledged batch is
there (a batch whose ack was lost may be stored twice: that is allowed, losing one is not).

Lines are "b=<batch> i=<k> <loghub line>", alternately sent as JSON and snappy protobuf
(encoders from loki_push.py), timestamps 1 us apart starting --base-ns.
"""
import argparse
import glob
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loki_push import push_request_proto, snappy_literal  # noqa: E402

BATCH = 200


def loghub_lines(data):
    out = []
    for path in sorted(glob.glob(os.path.join(data, "*.log"))):
        with open(path, encoding="utf-8") as f:
            out.extend(l for l in f.read().split("\n") if l)
    return out


def batch_lines(src, b):
    return ["b=%d i=%d %s" % (b, k, src[(b * BATCH + k) % len(src)]) for k in range(BATCH)]


def push(url, b, lines, base_ns):
    entries = [(base_ns + (b * BATCH + k) * 1000, l) for k, l in enumerate(lines)]
    if b % 2 == 0:
        body = json.dumps({"streams": [{"stream": {"job": "crash"},
                                        "values": [[str(t), l] for t, l in entries]}]}).encode()
        ct = "application/json"
    else:
        body = snappy_literal(push_request_proto('{job="crash"}', entries))
        ct = "application/x-protobuf"
    req = urllib.request.Request(url + "/loki/api/v1/push", data=body, method="POST", headers={"Content-Type": ct})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def run_pusher(a, src):
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    b = 0
    with open(a.acked, "a") as acked:
        while not stop:
            lines = batch_lines(src, b)
            try:
                status = push(a.url, b, lines, a.base_ns)
            except urllib.error.HTTPError as e:
                if e.code >= 500 or e.code == 429:
                    time.sleep(0.05)
                    continue
                print("FAIL: batch %d rejected with %d: %s" % (b, e.code, e.read()[:200]))
                sys.exit(1)
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.05)  # argus is down: retry the same batch
                continue
            if status != 204:
                print("FAIL: batch %d answered %d" % (b, status))
                sys.exit(1)
            acked.write("%d\n" % b)
            acked.flush()
            b += 1
    print("pushed %d batches" % b)


def run_verify(a, src):
    acked = [int(l) for l in open(a.acked) if l.strip()]
    if not acked:
        print("FAIL: no batch was acknowledged")
        sys.exit(1)
    stored = set()
    start = a.base_ns - 1
    end = a.base_ns + (max(acked) + 1) * BATCH * 1000 + 1
    # Page forward through the stream (5000 lines per query, Loki's limit).
    while True:
        q = urllib.parse.urlencode({"query": '{job="crash"}', "start": str(start), "end": str(end),
                                    "limit": "5000", "direction": "forward"})
        with urllib.request.urlopen(a.url + "/loki/api/v1/query_range?" + q, timeout=60) as r:
            res = json.load(r)["data"]["result"]
        vals = [v for s in res for v in s["values"]]
        for ts, line in vals:
            stored.add((int(ts), line))
        if len(vals) < 5000:
            break
        start = max(int(ts) for ts, _ in vals)  # inclusive: re-reads the last ns, harmless for a set
    missing = 0
    for b in acked:
        for k, l in enumerate(batch_lines(src, b)):
            if (a.base_ns + (b * BATCH + k) * 1000, l) not in stored:
                missing += 1
                if missing <= 3:
                    print("FAIL: acknowledged line lost: batch %d line %d" % (b, k))
    if missing:
        print("FAIL: %d acknowledged lines lost" % missing)
        sys.exit(1)
    print("  ok: all %d lines of the %d acknowledged batches are stored (%d stored in all)" %
          (len(acked) * BATCH, len(acked), len(stored)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--acked", required=True)
    ap.add_argument("--base-ns", type=int, required=True)
    ap.add_argument("--verify", action="store_true")
    a = ap.parse_args()
    src = loghub_lines(a.data)
    (run_verify if a.verify else run_pusher)(a, src)


if __name__ == "__main__":
    main()
