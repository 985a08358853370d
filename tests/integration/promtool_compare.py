"""Compares PromQL answers of a reference Prometheus and Argus through `promtool query`.

Usage:
  promtool_compare.py sync   --ref URL --argus URL --time T [--timeout S]
  promtool_compare.py scrapes --ref URL --argus URL --time T --min N
  promtool_compare.py compare --ref URL --argus URL --time T --start S --end E --step STEP

sync     waits (up to --timeout s) until both servers hold the same raw data before T (the
         answers to {__name__!=""}[10m] at T: same series, timestamps and values); prints the
         differences and exits 1 if they never agree.
scrapes  exits 0 when every `up` series of both servers has at least N samples before T.
compare  runs every query of QUERIES with `promtool query instant --time T -o json` and
         `promtool query range --start S --end E --step STEP -o json` against both servers and
         checks that they return the same series (label sets) and the same values (relative
         tolerance 1e-9, NaN == NaN) at the same timestamps. All mismatches are printed; exit 1
         if there is any.
"""

import argparse
import json
import subprocess
import sys
import time

import promapi

# (query, may_be_empty). Queries whose answer must not be empty guard against vacuous passes.
QUERIES = [
    # selectors
    ("up", False),
    ("node_cpu_seconds_total", False),
    ('node_cpu_seconds_total{mode="idle"}', False),
    ('node_cpu_seconds_total{mode!="idle"}', False),
    ('node_cpu_seconds_total{mode=~"user|system"}', False),
    ('node_cpu_seconds_total{mode!~"i.*|s.*"}', False),
    ('{__name__=~"node_memory_Mem.*_bytes"}', False),
    ('{__name__=~"node_load.*", job="node"}', False),
    ('node_cpu_seconds_total{mode="no-such-mode"}', True),
    # rates and counters
    ("rate(node_cpu_seconds_total[1m])", False),
    ("sum by (mode) (rate(node_cpu_seconds_total[1m]))", False),
    ("irate(node_cpu_seconds_total[1m])", False),
    ("increase(node_network_receive_bytes_total[1m])", False),
    ("rate(prometheus_http_requests_total[1m])", False),
    ("resets(node_cpu_seconds_total[1m])", False),
    ("changes(node_memory_MemFree_bytes[1m])", False),
    # aggregations
    ("avg by (mode) (node_cpu_seconds_total)", False),
    ("max by (cpu) (node_cpu_seconds_total)", False),
    ("min by (mode) (node_cpu_seconds_total)", False),
    ("count by (mode) (node_cpu_seconds_total)", False),
    ("sum without (cpu) (node_cpu_seconds_total)", False),
    ("count(up)", False),
    ("topk(3, node_cpu_seconds_total)", False),
    ("bottomk(2, node_memory_MemFree_bytes)", False),
    ("stddev by (mode) (node_cpu_seconds_total)", False),
    ("quantile by (mode) (0.5, node_cpu_seconds_total)", False),
    # over-time functions
    ("avg_over_time(node_load1[1m])", False),
    ("max_over_time(node_memory_MemFree_bytes[1m])", False),
    ("min_over_time(node_memory_MemFree_bytes[1m])", False),
    ("count_over_time(node_load1[1m])", False),
    ("quantile_over_time(0.5, node_memory_MemFree_bytes[1m])", False),
    ("delta(node_memory_MemFree_bytes[1m])", False),
    ("deriv(node_memory_MemFree_bytes[1m])", False),
    ("last_over_time(node_load1[1m])", False),
    # arithmetic and comparisons between vectors
    ("node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes", False),
    ("100 * node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes", False),
    ("rate(node_network_receive_bytes_total[1m]) + rate(node_network_transmit_bytes_total[1m])",
     False),
    ("node_cpu_seconds_total / on (cpu) group_left sum by (cpu) (node_cpu_seconds_total)", False),
    ("node_load1 >= 0", False),
    ("node_load1 > bool 1000000", False),
    ('up{job="node"} and on (instance) up{job="node"}', False),
    ('up unless up{job="node"}', False),
    ("absent(no_such_metric_anywhere)", False),
    ('label_replace(up, "host", "$1", "instance", "(.*):.*")', False),
    ("abs(deriv(node_memory_MemFree_bytes[1m]))", False),
    ("clamp_max(node_load1, 0.5)", False),
    ("timestamp(up)", False),
    # histograms (Prometheus' own classic histograms, scraped like any target)
    ("histogram_quantile(0.9, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket[1m])))",
     False),
    ("histogram_quantile(0.5, sum by (le, handler) "
     "(rate(prometheus_http_request_duration_seconds_bucket[1m])))", False),
    ("histogram_quantile(0.99, rate(prometheus_tsdb_compaction_chunk_size_bytes_bucket[1m]))", False),
    ("sum(rate(prometheus_http_request_duration_seconds_count[1m]))", False),
]


def promtool(kind, url, expr, args):
    cmd = ["promtool", "query", kind, "-o", "json"] + args + [url, expr]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise promapi.ApiError(
            f"promtool query {kind} {url} failed ({proc.returncode}): {proc.stderr.strip()}")
    out = proc.stdout.strip()
    return json.loads(out) if out else []


def normalize(doc):
    """promtool -o json output -> {labels_key: [(ts, value)...]} and the result kind."""
    if isinstance(doc, dict) and "value" not in doc and "values" not in doc:
        raise promapi.ApiError(f"unexpected promtool output: {str(doc)[:200]}")
    if isinstance(doc, dict):  # a scalar or a string
        v = doc.get("value")
        return "scalar", {"{}": [(float(v[0]), float(v[1]))]}
    series = {}
    kind = "vector"
    for row in doc:
        key = promapi.labels_key(row.get("metric", {}))
        if key in series:
            raise promapi.ApiError(f"duplicate series {key} in one answer")
        if "values" in row:
            kind = "matrix"
            series[key] = [(float(t), float(v)) for t, v in row["values"]]
        else:
            series[key] = [(float(row["value"][0]), float(row["value"][1]))]
    return kind, series


def diff(ref, got, rel=1e-9):
    """Returns a list of human-readable differences between two normalized answers; values
    are equal up to the relative tolerance rel (NaN == NaN)."""
    problems = []
    for key in sorted(set(ref) - set(got)):
        problems.append(f"series missing in argus: {key} {ref[key][:3]}")
    for key in sorted(set(got) - set(ref)):
        problems.append(f"unexpected series in argus: {key} {got[key][:3]}")
    for key in sorted(set(ref) & set(got)):
        a, b = ref[key], got[key]
        if [t for t, _ in a] != [t for t, _ in b]:
            problems.append(f"{key}: timestamps differ: prometheus {[t for t, _ in a][:10]} "
                            f"argus {[t for t, _ in b][:10]}")
            continue
        for (t, va), (_, vb) in zip(a, b):
            if not promapi.values_equal(va, vb, rel):
                problems.append(f"{key} @ {t}: prometheus {va!r} argus {vb!r}")
                break
    return problems


def compare(args):
    failures = 0
    range_args = [f"--start={args.start}", f"--end={args.end}", f"--step={args.step}"]
    for expr, may_be_empty in QUERIES:
        for kind, extra in (("instant", [f"--time={args.time}"]), ("range", range_args)):
            try:
                rkind, ref = normalize(promtool(kind, args.ref, expr, extra))
                gkind, got = normalize(promtool(kind, args.argus, expr, extra))
            except (promapi.ApiError, ValueError, subprocess.TimeoutExpired) as e:
                print(f"  MISMATCH {kind} {expr}: {e}")
                failures += 1
                continue
            problems = diff(ref, got)
            if rkind != gkind:
                problems.insert(0, f"result type: prometheus {rkind}, argus {gkind}")
            if not ref and not may_be_empty:
                problems.append("the reference answer is empty, so the query checks nothing")
            if problems:
                failures += 1
                print(f"  MISMATCH {kind} {expr}:")
                for p in problems[:15]:
                    print(f"      {p}")
                if len(problems) > 15:
                    print(f"      ... and {len(problems) - 15} more")
            else:
                points = sum(len(v) for v in ref.values())
                print(f"  ok: {kind:7} {expr}  ({len(ref)} series, {points} points)")
    total = 2 * len(QUERIES)
    print(f"{total - failures}/{total} promtool answers identical")
    return 1 if failures else 0


def raw_samples(url, t):
    rows = promapi.query_raw(url, '{__name__!=""}[10m]', t)
    return {promapi.labels_key(m): [(float(ts), v) for ts, v in values] for m, values in rows}


def sync(args):
    deadline = time.time() + args.timeout
    while True:
        ref, got = raw_samples(args.ref, args.time), raw_samples(args.argus, args.time)
        problems = diff(ref, got)
        if not problems:
            print(f"  ok: both servers hold the same {len(ref)} series and "
                  f"{sum(len(v) for v in ref.values())} raw samples in the 10m before {args.time}")
            return 0
        if time.time() > deadline:
            print(f"FAIL: argus did not receive the same raw data as prometheus within "
                  f"{args.timeout}s ({len(problems)} differences):")
            for p in problems[:20]:
                print(f"      {p}")
            return 1
        time.sleep(1)


def scrapes(args):
    for url in (args.ref, args.argus):
        rows = promapi.query(url, "count_over_time(up[10m])", args.time)
        jobs = {m.get("job"): v for m, (_, v) in rows}
        if set(jobs) != {"node", "prometheus"} or min(jobs.values()) < args.min:
            return 1
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["sync", "scrapes", "compare"])
    p.add_argument("--ref", required=True)
    p.add_argument("--argus", required=True)
    p.add_argument("--time", type=int, required=True)
    p.add_argument("--start", type=int)
    p.add_argument("--end", type=int)
    p.add_argument("--step", default="5s")
    p.add_argument("--min", type=int, default=6)
    p.add_argument("--timeout", type=int, default=30)
    args = p.parse_args()
    try:
        return {"sync": sync, "scrapes": scrapes, "compare": compare}[args.mode](args)
    except promapi.ApiError as e:
        print(f"error: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
