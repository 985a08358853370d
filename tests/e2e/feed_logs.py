"""Feeds real log lines to a running Argus for the web UI end-to-end test (tests/e2e/ui.test.mjs,
driven by tests/integration/web_ui.sh), through Loki's JSON push API (/loki/api/v1/push).

  python3 feed_logs.py --url http://127.0.0.1:9090 --data ../shared/data/loghub \
      --trace <32 hex> --services frontend-r1,cart-r1,db-r1

Streams pushed (timestamps spread over the last 50 minutes, so the UI's default "last 1 hour"
shows them all):
  {job="loghub", service_name="<file>"}         every line of OpenSSH, HDFS and Linux samples
  {job="loghub", service_name="apache", level=}  the Apache sample, one stream per [level]
  {job="e2e", service_name="<service>"}          for each traced service, 12 lines of the
                                                 OpenSSH sample in the last 2 minutes; every
                                                 third carries trace_id=<trace> (and span_id)
                                                 in structured metadata, as OTel log bridges
                                                 write it
Prints one JSON object with what was pushed (stream lines per service, traced lines); exits 1
if a push is not answered 204.
"""
import argparse
import json
import os
import re
import sys
import time
import urllib.request

LOGHUB_FILES = ["OpenSSH_2k.log", "HDFS_2k.log", "Linux_2k.log"]
TRACED_LINES = 12


def push(url, streams):
    body = json.dumps({"streams": streams}).encode()
    req = urllib.request.Request(url + "/loki/api/v1/push", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        if r.status != 204:
            raise RuntimeError(f"push answered {r.status}: {r.read()[:200]!r}")


def read_lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def spread(n, start_ns, end_ns):
    step = (end_ns - start_ns) // max(1, n)
    return [start_ns + i * step for i in range(n)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--trace", required=True)
    ap.add_argument("--services", required=True, help="comma-separated service names of the trace")
    args = ap.parse_args()

    now_ns = time.time_ns()
    hour_start = now_ns - 50 * 60 * 10**9
    summary = {"streams": {}, "traced": 0}

    for name in LOGHUB_FILES:
        lines = read_lines(os.path.join(args.data, name))
        svc = name.split("_")[0].lower()
        ts = spread(len(lines), hour_start, now_ns - 3 * 60 * 10**9)
        push(args.url, [{"stream": {"job": "loghub", "service_name": svc},
                         "values": [[str(t), l] for t, l in zip(ts, lines)]}])
        summary["streams"][svc] = len(lines)

    apache = read_lines(os.path.join(args.data, "Apache_2k.log"))
    ts = spread(len(apache), hour_start, now_ns - 3 * 60 * 10**9)
    by_level = {}
    for t, l in zip(ts, apache):
        m = re.match(r"\[[^\]]*\] \[(\w+)\]", l)
        by_level.setdefault(m.group(1) if m else "unknown", []).append([str(t), l])
    push(args.url, [{"stream": {"job": "loghub", "service_name": "apache", "level": lvl}, "values": v}
                    for lvl, v in sorted(by_level.items())])
    summary["streams"]["apache"] = len(apache)

    ssh = read_lines(os.path.join(args.data, "OpenSSH_2k.log"))
    for k, svc in enumerate(args.services.split(",")):
        ts = spread(TRACED_LINES, now_ns - 120 * 10**9, now_ns - 10**9)
        values = []
        for i, t in enumerate(ts):
            line = ssh[k * TRACED_LINES + i]
            if i % 3 == 0:
                values.append([str(t), line, {"trace_id": args.trace, "span_id": f"{k + 1:016x}"}])
                summary["traced"] += 1
            else:
                values.append([str(t), line])
        push(args.url, [{"stream": {"job": "e2e", "service_name": svc}, "values": values}])
        summary["streams"][svc] = TRACED_LINES

    print(json.dumps(summary))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - one clear line for the shell script
        print(f"feed_logs: {e}", file=sys.stderr)
        sys.exit(1)
