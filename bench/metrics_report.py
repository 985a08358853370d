"""Helpers of bench/run-metrics (stdlib only): query latencies and the final table.

  metrics_report.py queries --out RESULTS --start S --end E --step STEP --runs N NAME=URL NAME=URL
      Runs each range query of QUERIES once as a warm-up, then N times against each server
      (alternating), and appends to RESULTS (a key=value file) the median latency in ms per
      server and whether both servers returned the same answer (same series, values equal to
      a relative 1e-9; a check that the comparison is fair, not a benchmark figure).
  metrics_report.py table --results RESULTS NAME_A NAME_B
      Prints the figures of both servers and the B/A ratio as a Markdown table.

Query latency is measured by the client: from sending the request to having read the whole
JSON answer (one new HTTP connection per request, no caching on either side).
"""

import json
import math
import statistics
import sys
import time
import urllib.parse
import urllib.request

# Range queries over the loadgen's metrics (bench/loadgen.cc); {instance} is the first target.
QUERIES = [
    "sum by (mode) (rate(node_cpu_seconds_total[5m]))",
    "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "topk(5, sum by (pod) (rate(container_cpu_usage_seconds_total[5m])))",
    'rate(node_network_receive_bytes_total{instance="10.0.0.0:9100"}[5m])',
    'sum by (namespace, code) (rate(http_requests_total{code="500"}[5m]))',
    "avg(node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)",
    'max_over_time(container_memory_working_set_bytes{namespace="shop"}[10m])',
    "count by (job) (up)",
]


def run_query(url, q, start, end, step):
    params = urllib.parse.urlencode({"query": q, "start": start, "end": end, "step": step})
    t0 = time.perf_counter()
    with urllib.request.urlopen(f"{url}/api/v1/query_range?{params}", timeout=300) as resp:
        body = resp.read()
    elapsed_ms = (time.perf_counter() - t0) * 1000
    doc = json.loads(body)
    if doc.get("status") != "success":
        raise RuntimeError(f"{url}: {q}: {doc}")
    return elapsed_ms, doc["data"]["result"]


def same_answer(a, b):
    def norm(result):
        return {json.dumps(r["metric"], sort_keys=True): [(t, float(v)) for t, v in r["values"]]
                for r in result}
    na, nb = norm(a), norm(b)
    if na.keys() != nb.keys():
        return False
    for key, va in na.items():
        vb = nb[key]
        if [t for t, _ in va] != [t for t, _ in vb]:
            return False
        for (_, x), (_, y) in zip(va, vb):
            if math.isnan(x) and math.isnan(y):
                continue
            if not (x == y or abs(x - y) <= 1e-9 * max(abs(x), abs(y))):
                return False
    return True


def queries(argv):
    opts, servers = {}, []
    i = 0
    while i < len(argv):
        if argv[i].startswith("--"):
            opts[argv[i][2:]] = argv[i + 1]
            i += 2
        else:
            name, url = argv[i].split("=", 1)
            servers.append((name, url))
            i += 1
    runs = int(opts.get("runs", "10"))
    with open(opts["out"], "a") as out:
        for n, q in enumerate(QUERIES, 1):
            answers, times = {}, {name: [] for name, _ in servers}
            for name, url in servers:  # warm-up
                _, answers[name] = run_query(url, q, opts["start"], opts["end"], opts["step"])
            for _ in range(runs):
                for name, url in servers:
                    ms, _ = run_query(url, q, opts["start"], opts["end"], opts["step"])
                    times[name].append(ms)
            first = servers[0][0]
            match = all(same_answer(answers[first], answers[name]) for name, _ in servers[1:])
            out.write(f"query.{n}.expr={q}\n")
            out.write(f"query.{n}.series={len(answers[first])}\n")
            out.write(f"query.{n}.match={'yes' if match else 'NO'}\n")
            for name, _ in servers:
                out.write(f"{name}.query.{n}.median_ms={statistics.median(times[name]):.2f}\n")
            print(f"  q{n}: " + "  ".join(f"{name} {statistics.median(times[name]):.1f} ms"
                                         for name, _ in servers) +
                  f"  ({len(answers[first])} series, answers {'match' if match else 'DIFFER'})")


def load(path):
    values = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                values[k] = v
    return values


def fmt(v):
    if v is None:
        return "n/a"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def table(argv):
    path, a, b = argv[1], argv[2], argv[3]
    r = load(path)

    def num(key):
        try:
            return float(r[key])
        except (KeyError, ValueError):
            return None

    rows = [
        ("ingest rate (samples/s, higher is better)", "ingest_samples_per_s"),
        ("ingest CPU (core-seconds per million samples)", "ingest_cpu_s_per_million"),
        ("RSS after ingest (bytes per active series)", "rss_bytes_per_series"),
        ("peak RSS, VmHWM (bytes per active series)", "hwm_bytes_per_series"),
        ("disk after shutdown (bytes per sample)", "disk_bytes_per_sample"),
        ("restart until ready (s)", "restart_s"),
        ("RSS after restart (bytes per active series)", "rss_restart_bytes_per_series"),
    ]
    n = 1
    while f"query.{n}.expr" in r:
        rows.append((f"q{n} median latency (ms): `{r[f'query.{n}.expr']}`"
                     f"{'' if r.get(f'query.{n}.match') == 'yes' else ' (ANSWERS DIFFER)'}",
                     f"query.{n}.median_ms"))
        n += 1
    print(f"| figure | {a} | {b} | {b}/{a} |")
    print("| --- | ---: | ---: | ---: |")
    for label, key in rows:
        va, vb = num(f"{a}.{key}"), num(f"{b}.{key}")
        ratio = f"{vb / va:.2f}" if va and vb is not None else "n/a"
        print(f"| {label} | {fmt(va)} | {fmt(vb)} | {ratio} |")
    for side in (a, b):
        if f"{side}.disk_breakdown" in r:
            print(f"\n{side} storage after shutdown: {r[f'{side}.disk_breakdown']}")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "queries":
        return queries(sys.argv[2:])
    if len(sys.argv) == 5 and sys.argv[1] == "table":
        return table(sys.argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main() or 0)
