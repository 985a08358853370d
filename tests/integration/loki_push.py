"""Pushes the loghub samples to a running Argus through Loki's JSON and protobuf push APIs and
checks that query_range gives them back exactly (counts, order, line filters against a grep of
the same bytes, and a metric query). Prints one line per check; exits 1 on the first failure.

The protobuf body (logproto.PushRequest) and its snappy block are encoded here by hand (snappy
as literal-only blocks, which every decoder accepts), so the test needs only the standard
library.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, wire, payload):
    key = varint((num << 3) | wire)
    if wire == 2:
        return key + varint(len(payload)) + payload
    return key + payload


def push_request_proto(labels, entries):
    stream = field(1, 2, labels.encode())
    for ts_ns, line in entries:
        ts = field(1, 0, varint(ts_ns // 10**9)) + field(2, 0, varint(ts_ns % 10**9))
        entry = field(1, 2, ts) + field(2, 2, line.encode())
        stream += field(2, 2, entry)
    return field(1, 2, stream)


def snappy_literal(data):
    out = bytearray(varint(len(data)))
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        else:
            out.append(61 << 2)
            out += bytes([n & 0xFF, (n >> 8) & 0xFF])
        out += chunk
    return bytes(out)


def post(url, body, content_type):
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    for attempt in range(20):
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as e:
            if e.code == 429:
                time.sleep(1)
                continue
            raise SystemExit(f"FAIL: push answered {e.code}: {e.read().decode(errors='replace')}")
    raise SystemExit("FAIL: push kept answering 429")


def post_status(url, body, content_type):
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def get(url, path, **params):
    q = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{url}{path}?{q}", timeout=60) as r:
        return json.loads(r.read())


def check(what, ok):
    if not ok:
        print(f"FAIL: {what}")
        sys.exit(1)
    print(f"  ok: {what}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--data", required=True)
    a = ap.parse_args()
    files = sorted(glob.glob(os.path.join(a.data, "*.log")))
    now = time.time_ns()
    base = now - 30 * 60 * 10**9  # half an hour ago, one millisecond apart
    want = {}
    for i, path in enumerate(files):
        name = os.path.basename(path)
        with open(path, encoding="utf-8") as f:
            lines = [l for l in f.read().split("\n") if l]
        want[name] = lines
        entries = [(base + k * 10**6, l) for k, l in enumerate(lines)]
        labels = '{job="loghub", file="%s"}' % name
        if i % 2 == 0:
            body = json.dumps({"streams": [{"stream": {"job": "loghub", "file": name},
                                            "values": [[str(t), l] for t, l in entries]}]}).encode()
            check(f"JSON push of {name} ({len(lines)} lines)", post(a.url + "/loki/api/v1/push", body, "application/json") == 204)
        else:
            body = snappy_literal(push_request_proto(labels, entries))
            check(f"protobuf push of {name} ({len(lines)} lines)",
                  post(a.url + "/loki/api/v1/push", body, "application/x-protobuf") == 204)
    start, end = str(base - 10**9), str(now)
    for name, lines in want.items():
        r = get(a.url, "/loki/api/v1/query_range", query='{job="loghub", file="%s"}' % name,
                start=start, end=end, limit=5000, direction="forward")
        got = [v[1] for s in r["data"]["result"] for v in s["values"]]
        check(f"{name}: query_range returns the {len(lines)} lines in order", got == lines)
    # Line filters give back exactly the lines `grep -F` finds in the same file, in order.
    needles = [("Apache_2k.log", "error"), ("OpenSSH_2k.log", "Failed password"), ("HDFS_2k.log", "blk_"),
               ("Linux_2k.log", "session opened"), ("Zookeeper_2k.log", "WARN"), ("Spark_2k.log", "INFO"),
               ("Windows_2k.log", "CBS"), ("Mac_2k.log", "kernel["), ("BGL_2k.log", "RAS KERNEL"),
               ("Android_2k.log", ": "), ("HealthApp_2k.log", "|"), ("OpenStack_2k.log", "status: 200"),
               ("Hadoop_2k.log", "\\"), ("OpenStack_2k.log", "\"GET ")]
    for name, needle in needles:
        if name not in want:
            continue
        g = subprocess.run(["grep", "-F", "--", needle, os.path.join(a.data, name)], capture_output=True, text=True)
        expect = [l for l in g.stdout.split("\n") if l]
        esc = needle.replace("\\", "\\\\").replace('"', '\\"')
        r = get(a.url, "/loki/api/v1/query_range", query='{file="%s"} |= "%s"' % (name, esc),
                start=start, end=end, limit=5000, direction="forward")
        got = [v[1] for s in r["data"]["result"] for v in s["values"]]
        check(f'{name} |= {needle!r}: the {len(got)} lines grep -F finds ({len(expect)}), in order', got == expect)
    r = get(a.url, "/loki/api/v1/query", query='sum by (file) (count_over_time({job="loghub"}[1h]))', time=end)
    counts = {s["metric"]["file"]: int(float(s["value"][1])) for s in r["data"]["result"]}
    check("count_over_time by file equals the line counts", counts == {n: len(l) for n, l in want.items()})
    r = get(a.url, "/loki/api/v1/label/file/values", start=start, end=end)
    check("label values list every file", sorted(r["data"]) == sorted(want))

    # Bad input: each gets a 400 with Loki's message and nothing of it is stored.
    push = a.url + "/loki/api/v1/push"
    ts = str(time.time_ns())
    cases = [
        ("bad snappy", b"\xff\x00garbage", "application/x-protobuf", "decompress"),
        ("invalid JSON", b"{not json", "application/json", "couldn't parse push request"),
        ("invalid label name", json.dumps({"streams": [{"stream": {"bad-name": "x"}, "values": [[ts, "l"]]}]}).encode(),
         "application/json", "error parsing labels"),
        ("oversized line", json.dumps({"streams": [{"stream": {"job": "bad"}, "values": [[ts, "x" * 300000]]}]}).encode(),
         "application/json", "Max entry size '262144' bytes exceeded"),
        ("no labels", json.dumps({"streams": [{"stream": {}, "values": [[ts, "l"]]}]}).encode(),
         "application/json", "at least one label pair is required"),
    ]
    for what, body, ct, msg in cases:
        code, text = post_status(push, body, ct)
        check(f"{what}: 400 mentioning '{msg}' (got {code}: {text[:80]!r})", code == 400 and msg in text)
    r = get(a.url, "/loki/api/v1/query_range", query='{job="bad"}', start=start, end=str(time.time_ns()), limit=10)
    check("nothing of the rejected pushes was stored", r["data"]["result"] == [])


if __name__ == "__main__":
    main()
