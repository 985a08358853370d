"""Differential PromQL test: the queries of the PromQL compliance tester, run on Prometheus and Argus.

Usage:
  promql_compliance.py expand  --queries FILE
  promql_compliance.py compare --queries FILE --ref URL --argus URL --start S --end E --step STEP
  promql_compliance.py first-sample --ref URL --end E

expand   prints every concrete query (templates expanded, metric names adapted), one a line.
first-sample  prints the time (whole seconds, rounded up) by which every series the server
         holds in the 10 minutes before E had its first sample: the latest series start.
compare  runs each concrete query as a range query (Prometheus docs, querying/api,
         /api/v1/query_range) on the reference Prometheus and on Argus over the same window
         and compares the answers the way upstream's tester does (promql/comparer/comparer.go:
         cmpopts.EquateApprox with a relative 1e-5 and margin 0, EquateNaNs): same result type,
         same series (label sets), same timestamps, values equal to a relative 1e-5, NaN ==
         NaN. A `should_fail: true` query must fail on both. Prints each failure with the
         query, the expected (Prometheus) and the actual (Argus) answer, then
         `N passed, M failed, K allowed` and exits 1 if anything failed.

The queries come from ../shared/conformance/promql-compliance/promql-test-queries.yml
(prometheus/compliance). Its templates name variant lists ({{.range}}, {{.binOp}}, ...); the
lists below are upstream's (promql/testcases/expand.go, testVariantArgs), and every
combination is expanded in the same order (the first variant argument varies slowest).

The window's start is moved by a few hundred milliseconds off every scrape timestamp (see
pick_offset_ms): Prometheus 3 (which Argus follows) made range selectors and the lookback
window left-open, Prometheus 2.42 has them closed, so a sample exactly on a window's left edge
would count in 2.42 only. Off the edges both definitions select the same samples.
"""

import argparse
import concurrent.futures
import math
import re
import sys

import yaml

import promapi
import promtool_compare

# promql/testcases/expand.go (prometheus/compliance), testVariantArgs.
VARIANT_ARGS = {
    "range": ["1s", "15s", "1m", "5m", "15m", "1h"],
    "offset": ["1m", "5m", "10m"],
    "simpleAggrOp": ["sum", "avg", "max", "min", "count", "stddev", "stdvar"],
    "simpleTimeAggrOp": ["sum", "avg", "max", "min", "count", "stddev", "stdvar", "absent", "last"],
    "topBottomOp": ["topk", "bottomk"],
    "quantile": ["-0.5", "0.1", "0.5", "0.75", "0.95", "0.90", "0.99", "1", "1.5"],
    "arithBinOp": ["+", "-", "*", "/", "%", "^"],
    "compBinOp": ["==", "!=", "<", ">", "<=", ">="],
    "binOp": ["+", "-", "*", "/", "%", "^", "==", "!=", "<", ">", "<=", ">="],
    "simpleMathFunc": ["abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "round"],
    "extrapolatedRateFunc": ["delta", "rate", "increase"],
    "clampFunc": ["clamp_min", "clamp_max"],
    "instantRateFunc": ["idelta", "irate"],
    "dateFunc": ["day_of_month", "day_of_week", "days_in_month", "hour", "minute", "month", "year"],
    "smoothingFactor": ["0.1", "0.5", "0.8"],
    "trendFactor": ["0.1", "0.5", "0.8"],
}

# The demo service's metrics (julius/prometheus-demo-service) and what stands in for each among
# what node_exporter 1.5 (and Prometheus itself) expose, chosen for the same shape: the same
# kind (gauge or counter) and one label dimension where the demo metric has one.
#   demo_memory_usage_bytes{type}     gauge, one label with a few values per instance ->
#       node_scrape_collector_duration_seconds{collector}, and the value "free" -> "meminfo"
#   demo_num_cpus                     gauge, one series per instance -> node_load1
#   demo_cpu_usage_seconds_total{mode} counter -> node_cpu_seconds_total{cpu, mode}
#   demo_disk_usage_bytes             gauge that drifts -> node_memory_MemFree_bytes
#   demo_batch_last_success_timestamp_seconds  a Unix time -> node_time_seconds
#   demo_intermittent_metric          a series with gaps -> node_load5 (the script stops one
#       node_exporter inside the window, so its series go stale and come back)
#   demo_api_request_duration_seconds_{bucket,sum,count} classic histogram ->
#       prometheus_http_request_duration_seconds_* of Prometheus' own /metrics handler
# The instance names stay the demo's: the script's scrape config labels the three
# node_exporters demo.promlabs.com:10000, :10001 and :10002, as the queries expect.
METRIC_MAP = [
    (r"\bdemo_memory_usage_bytes\b", "node_scrape_collector_duration_seconds"),
    (r"\btype\b", "collector"),
    (r'"free"', '"meminfo"'),
    (r"\bdemo_num_cpus\b", "node_load1"),
    (r"\bdemo_cpu_usage_seconds_total\b", "node_cpu_seconds_total"),
    (r"\bdemo_disk_usage_bytes\b", "node_memory_MemFree_bytes"),
    (r"\bdemo_batch_last_success_timestamp_seconds\b", "node_time_seconds"),
    (r"\bdemo_intermittent_metric\b", "node_load5"),
    (r"\bdemo_api_request_duration_seconds_", "prometheus_http_request_duration_seconds_"),
]

# Concrete queries (after adaptation) where Prometheus 2.42 answers differently from
# Prometheus 3, which Argus follows, each with the upstream change. A listed query that
# differs counts as "allowed"; one that matches is reported so that the list can be trimmed.
ALLOWED = {
    # Prometheus 3 accepts any UTF-8 string as a label name (prometheus/common#724 made UTF-8
    # validation the default); label_join checked names that way already and label_replace
    # followed in prometheus/prometheus#15974. 2.42 still refuses "~invalid" as a legacy
    # name. Upstream's compliance suite changed these cases to a name invalid under both
    # schemes in prometheus/compliance#181.
    'label_replace(node_load1, "~invalid", "", "src", "(.*)")':
        "UTF-8 label names, prometheus/prometheus#15974",
    'label_join(node_load1, "~invalid", "-", "instance")':
        "UTF-8 label names, prometheus/common#724",
}

TEMPLATE_ARG = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")


def adapt(query):
    """query with the demo service's names replaced; raises ValueError if one has no mapping."""
    adapted = query
    for pattern, repl in METRIC_MAP:
        adapted = re.sub(pattern, repl, adapted)
    if "demo_" in adapted:
        raise ValueError(f"no mapping for a demo metric in {query!r}")
    return adapted


def expand(template, variant_args):
    """Every instantiation of template; the first variant argument varies slowest."""
    if not variant_args:
        return [TEMPLATE_ARG.sub(lambda m: _unbound(m.group(1)), template)]
    name, rest = variant_args[0], variant_args[1:]
    if name not in VARIANT_ARGS:
        raise ValueError(f"unknown variant argument {name!r} in {template!r}")
    out = []
    for value in VARIANT_ARGS[name]:
        bound = re.sub(r"\{\{\s*\." + name + r"\s*\}\}", value, template)
        out.extend(expand(bound, rest))
    return out


def _unbound(name):
    raise ValueError(f"template argument {name!r} has no variant list")


def load_cases(path):
    """[(concrete adapted query, should_fail)] in file order."""
    with open(path) as f:
        doc = yaml.safe_load(f)
    cases = []
    for tc in doc["test_cases"]:
        for q in expand(tc["query"], tc.get("variant_args") or []):
            cases.append((adapt(q), bool(tc.get("should_fail", False))))
    return cases


def pick_offset_ms(url, end_s):
    """A millisecond offset within the second that no scrape timestamp of the last 10 minutes
    before end_s is within 2 ms of (scrapes every 1 s keep their offset; see the module doc)."""
    used = set()
    for _, values in promapi.query_raw(url, "up[10m]", end_s):
        for ts, _ in values:
            used.add(round(float(ts) * 1000) % 1000)
    for candidate in (500, 250, 750, 125, 375, 625, 875, 60, 940):
        if all(min(abs(candidate - u), 1000 - abs(candidate - u)) > 2 for u in used):
            return candidate
    raise promapi.ApiError(f"no free millisecond offset among scrape offsets {sorted(used)}")


def range_answer(url, query, start, end, step):
    """(result type, {labels key: [(ts, value)]}) of a range query; raises ApiError."""
    data = promapi.api_get(url, "/api/v1/query_range",
                           {"query": query, "start": start, "end": end, "step": step})
    series = {}
    for row in data["result"]:
        key = promapi.labels_key(row.get("metric", {}))
        if key in series:
            raise promapi.ApiError(f"duplicate series {key} in one answer")
        series[key] = [(float(t), promapi.parse_value(v)) for t, v in row.get("values", [])]
    return data["resultType"], series


def show(series, limit=4):
    items = sorted(series.items())
    text = "; ".join(f"{k} {v[:3]}{'...' if len(v) > 3 else ''}" for k, v in items[:limit])
    more = f" (+{len(items) - limit} more series)" if len(items) > limit else ""
    return (text or "(empty)") + more


def compare_one(query, should_fail, args, sizes):
    """Returns a list of problems (empty when both agree); sets sizes[query] to the number of
    points in Prometheus' answer."""
    ref_err = got_err = None
    try:
        ref = range_answer(args.ref, query, args.start, args.end, args.step)
    except promapi.ApiError as e:
        ref_err = str(e)
    try:
        got = range_answer(args.argus, query, args.start, args.end, args.step)
    except promapi.ApiError as e:
        got_err = str(e)
    if should_fail:
        problems = []
        if ref_err is None:
            problems.append("expected to fail, but Prometheus answered")
        if got_err is None:
            problems.append(f"expected to fail, but Argus answered: {show(got[1])}")
        return problems
    if ref_err is not None:
        return [f"Prometheus failed: {ref_err}"]
    if got_err is not None:
        return [f"Argus failed: {got_err}"]
    (rkind, rser), (gkind, gser) = ref, got
    sizes[query] = sum(len(v) for v in rser.values())
    problems = []
    if rkind != gkind:
        problems.append(f"result type: expected {rkind}, actual {gkind}")
    problems += promtool_compare.diff(rser, gser, rel=args.rel)
    if problems:
        problems.append(f"expected: {show(rser)}")
        problems.append(f"actual:   {show(gser)}")
    return problems


def compare(args):
    cases = load_cases(args.queries)
    offset_ms = pick_offset_ms(args.ref, args.end)
    args.start = f"{args.start}.{offset_ms:03d}"
    args.end = f"{args.end}.{offset_ms:03d}"
    print(f"  {len(cases)} queries, range [{args.start}, {args.end}] step {args.step}")
    passed = failed = allowed = nonempty = 0
    sizes = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.parallel) as pool:
        results = list(pool.map(lambda c: compare_one(c[0], c[1], args, sizes), cases))
    for (query, _), problems in zip(cases, results):
        if not problems:
            passed += 1
            nonempty += bool(sizes.get(query))
            if query in ALLOWED:
                print(f"  note: allow-listed query now matches: {query}")
            continue
        if query in ALLOWED:
            allowed += 1
            print(f"  allowed ({ALLOWED[query]}): {query}: {problems[0]}")
            continue
        failed += 1
        print(f"  MISMATCH {query}")
        for p in problems[:12]:
            print(f"      {p}")
        if len(problems) > 12:
            print(f"      ... and {len(problems) - 12} more")
    print(f"  {nonempty} of the passing queries have a non-empty answer")
    print(f"{passed} passed, {failed} failed, {allowed} allowed (2.42 differs from 3.x)")
    return 1 if failed else 0


def first_sample(args):
    starts = [float(values[0][0]) for _, values in
              promapi.query_raw(args.ref, '{__name__!=""}[10m]', args.end) if values]
    if not starts:
        raise promapi.ApiError("the reference server holds no samples")
    print(math.ceil(max(starts)))
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["expand", "compare", "first-sample"])
    p.add_argument("--queries")
    p.add_argument("--ref")
    p.add_argument("--argus")
    p.add_argument("--start", type=int)
    p.add_argument("--end", type=int)
    p.add_argument("--step", default="1s")
    p.add_argument("--rel", type=float, default=1e-5)
    p.add_argument("--parallel", type=int, default=4)
    args = p.parse_args()
    if args.mode == "expand":
        for query, should_fail in load_cases(args.queries):
            print(query + ("    # should_fail" if should_fail else ""))
        return 0
    try:
        if args.mode == "first-sample":
            return first_sample(args)
        return compare(args)
    except promapi.ApiError as e:
        print(f"error: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
