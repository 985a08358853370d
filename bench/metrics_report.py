"""Helpers of bench/run-metrics (stdlib only): query latencies and the final table.

  metrics_report.py queries --out RESULTS --start S --end E --step STEP --runs N
                            [--set metrics|dashboard] [--pids NAME=PID,NAME=PID]
                            NAME=URL NAME=URL
      Runs each range query of the set (QUERY_SETS: `metrics`, the default, or `dashboard`)
      once as a warm-up, then N times against each server (alternating), and appends to
      RESULTS (a key=value file) the median latency in ms per server and whether both servers
      returned the same answer (same series, values equal to a relative 1e-9; a check that the
      comparison is fair, not a benchmark figure). With --pids it also records each server's
      peak-memory delta of the query: the peak RSS (VmHWM) is reset to the current RSS
      (`echo 5 > /proc/PID/clear_refs`, Linux proc(5)) before the warm-up, and the delta is
      VmHWM after the last run minus VmRSS at the reset, in bytes (0 if RSS shrank).
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

# Dashboard queries (bench/run-metrics --queries dashboard) over the loadgen's metrics. With the
# default 100 000 series (438 targets) the selectors touch: node_cpu_seconds_total 14 K
# series, http_request_duration_seconds_bucket 38.5 K, http_requests_total 14 K,
# container_cpu_usage_seconds_total 3.5 K, the pods' counters and buckets together 56 K, and
# every series (100 K) for the last one. They are what Grafana's node-exporter and
# Kubernetes dashboards ask: rates summed by a label, quantiles (histogram and aggregation),
# topk, subqueries (with and without a step) and long ranges (1 h).
DASHBOARD_QUERIES = [
    "sum by (mode) (rate(node_cpu_seconds_total[5m]))",
    'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))',
    "histogram_quantile(0.99, sum by (le, namespace) (rate(http_request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
    "sum by (namespace, code) (rate(http_requests_total[5m]))",
    "quantile by (namespace) (0.9, rate(container_cpu_usage_seconds_total[5m]))",
    "topk(10, sum by (pod) (rate(http_requests_total[5m])))",
    "max_over_time(sum by (namespace) (rate(http_requests_total[5m]))[30m:1m])",
    "avg_over_time(sum by (instance) (rate(node_network_receive_bytes_total[1m]))[10m:])",
    "sum by (namespace) (increase(http_requests_total[1h]))",
    'sum by (namespace) (rate({job="kubernetes-pods", __name__=~".+_total|.+_bucket"}[5m]))',
    "1 - avg by (instance) (node_filesystem_avail_bytes / node_filesystem_size_bytes)",
    'count by (job) ({__name__=~".+"})',
]

QUERY_SETS = {"metrics": QUERIES, "dashboard": DASHBOARD_QUERIES}


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
    query_set = QUERY_SETS[opts.get("set", "metrics")]
    pids = dict(kv.split("=", 1) for kv in opts["pids"].split(",")) if "pids" in opts else {}
    with open(opts["out"], "a") as out:
        for n, q in enumerate(query_set, 1):
            answers, times = {}, {name: [] for name, _ in servers}
            base_rss = {name: reset_peak(pid) for name, pid in pids.items()}
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
            peak = {name: max(0, proc_status_bytes(pid, "VmHWM") - base_rss[name])
                    for name, pid in pids.items()}
            for name, _ in servers:
                out.write(f"{name}.query.{n}.median_ms={statistics.median(times[name]):.2f}\n")
                if name in peak:
                    out.write(f"{name}.query.{n}.peak_delta_bytes={peak[name]}\n")
            print(f"  q{n}: " + "  ".join(
                f"{name} {statistics.median(times[name]):.1f} ms" +
                (f" +{peak[name] / 1e6:.1f} MB" if name in peak else "") for name, _ in servers) +
                  f"  ({len(answers[first])} series, answers {'match' if match else 'DIFFER'})")


def proc_status_bytes(pid, key):
    """VmRSS, VmHWM, ... of a process from /proc/PID/status, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} in /proc/{pid}/status")


def reset_peak(pid):
    """Resets the process's VmHWM to its current RSS (proc(5), clear_refs value 5); returns
    that RSS in bytes."""
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")
    return proc_status_bytes(pid, "VmRSS")


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
        if f"{a}.query.{n}.peak_delta_bytes" in r:
            rows.append((f"q{n} peak memory delta, VmHWM (MB)", f"query.{n}.peak_delta_mb"))
            for side in (a, b):
                key = f"{side}.query.{n}.peak_delta_bytes"
                if key in r:
                    r[f"{side}.query.{n}.peak_delta_mb"] = str(int(r[key]) / 1e6)
        n += 1
    print(f"| figure | {a} | {b} | {b}/{a} |")
    print("| --- | ---: | ---: | ---: |")
    for label, key in rows:
        va, vb = num(f"{a}.{key}"), num(f"{b}.{key}")
        ratio = f"{vb / va:.2f}" if va and vb is not None else "n/a"
        print(f"| {label} | {fmt(va)} | {fmt(vb)} | {ratio} |")
    lat, mem = [], []
    for i in range(1, n):
        la, lb = num(f"{a}.query.{i}.median_ms"), num(f"{b}.query.{i}.median_ms")
        if la and lb is not None:
            lat.append(lb / la)
        ma, mb = num(f"{a}.query.{i}.peak_delta_bytes"), num(f"{b}.query.{i}.peak_delta_bytes")
        if ma and ma >= 1e6 and mb is not None:  # smaller deltas are page-level noise
            mem.append(mb / ma)
    if lat:
        print(f"\nquery latency {b}/{a}: median {statistics.median(lat):.2f}, "
              f"geometric mean {math.exp(statistics.fmean(math.log(max(x, 1e-9)) for x in lat)):.2f}, "
              f"worst {max(lat):.2f} over {len(lat)} queries")
    if mem:
        print(f"query peak-memory delta {b}/{a}: median {statistics.median(mem):.2f} over "
              f"{len(mem)} queries where {a}'s delta was at least 1 MB")
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
