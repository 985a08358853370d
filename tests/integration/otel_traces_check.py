#!/usr/bin/env python3
"""Checks that Argus's Tempo API answers with the trace tests/otel/traces.js sent.

Usage: otel_traces_check.py --url http://127.0.0.1:9090 --run <id> --trace <32 hex>
Prints one FAIL line per mismatch and exits 1 if there was any.
"""
import argparse
import base64
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL: " + what)


def get(url, path, params=None, accept=None):
    full = url + path + ("?" + urllib.parse.urlencode(params) if params else "")
    req = urllib.request.Request(full, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def spans_of(batches):
    out = []
    for rs in batches:
        service = ""
        for kv in rs.get("resource", {}).get("attributes", []):
            if kv["key"] == "service.name":
                service = kv["value"].get("stringValue", "")
        for ss in rs.get("scopeSpans", []):
            for s in ss.get("spans", []):
                out.append((service, s))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--trace", required=True)
    a = ap.parse_args()
    run, tid = a.run, a.trace.lower()
    services = {"frontend-" + run, "cart-" + run, "db-" + run}

    # Trace by ID, v1 JSON: all five spans of the three services, IDs intact.
    status, body = get(a.url, "/api/traces/" + tid)
    check(status == 200, "GET /api/traces/<id> answered %d: %r" % (status, body[:200]))
    if status == 200:
        doc = json.loads(body)
        spans = spans_of(doc.get("batches", []))
        names = sorted(s["name"] for _, s in spans)
        check(names == sorted(["GET /checkout", "call cart", "POST /cart", "query db", "SELECT items"]),
              "span names %r" % names)
        check({svc for svc, _ in spans} == services, "services %r" % {svc for svc, _ in spans})
        for _, s in spans:
            check(base64.b64decode(s["traceId"]).hex() == tid, "span traceId %r" % s["traceId"])
            check(isinstance(s["startTimeUnixNano"], str), "startTimeUnixNano is not a string")
        by_name = {s["name"]: s for _, s in spans}
        cart = by_name.get("POST /cart", {})
        check(cart.get("status", {}).get("code") == "STATUS_CODE_ERROR", "cart status %r" % cart.get("status"))
        check(cart.get("parentSpanId") == by_name.get("call cart", {}).get("spanId"), "cart's parent")
        check(cart.get("kind") == "SPAN_KIND_SERVER", "cart kind %r" % cart.get("kind"))

    # v2 JSON and protobuf.
    status, body = get(a.url, "/api/v2/traces/" + tid)
    check(status == 200 and json.loads(body).get("trace", {}).get("resourceSpans"),
          "GET /api/v2/traces/<id> JSON: %d %r" % (status, body[:200]))
    status, body = get(a.url, "/api/v2/traces/" + tid, accept="application/protobuf")
    check(status == 200 and body[:1] == b"\x0a" and bytes.fromhex(tid) in body,
          "GET /api/v2/traces/<id> protobuf: %d, %d bytes" % (status, len(body)))
    status, _ = get(a.url, "/api/traces/" + "0" * 31 + "1")
    check(status == 404, "unknown trace answered %d, want 404" % status)

    # Search: an attribute filter, a structural query, and a pipeline.
    queries = [
        '{ resource.service.name = "cart-%s" && status = error }' % run,
        '{ resource.service.name = "frontend-%s" } >> { span.db.system = "postgresql" }' % run,
        '{ resource.service.name = "cart-%s" } > { kind = server }' % run,
        '{ span.run.id = "%s" } | count() = 1' % run,
    ]
    now = int(time.time())
    for q in queries:
        status, body = get(a.url, "/api/search", {"q": q, "start": now - 3600, "end": now + 60})
        ok = status == 200
        doc = json.loads(body) if ok else {}
        ids = [t["traceID"] for t in doc.get("traces", [])]
        check(ok and tid in ids, "search %s: %d, traces %r" % (q, status, ids))
        for t in doc.get("traces", []):
            if t["traceID"] == tid:
                check(t["rootServiceName"] == "frontend-" + run, "rootServiceName %r" % t["rootServiceName"])
                check(t["rootTraceName"] == "GET /checkout", "rootTraceName %r" % t["rootTraceName"])
                check(t["spanSets"] and t["spanSets"][0]["matched"] >= 1, "spanSets %r" % t["spanSets"])
    status, body = get(a.url, "/api/search", {"q": '{ resource.service.name = "nobody-%s" }' % run})
    check(status == 200 and not json.loads(body)["traces"], "search for nothing: %d %r" % (status, body[:200]))
    status, body = get(a.url, "/api/search", {"tags": "service.name=cart-%s" % run})
    check(status == 200 and tid in [t["traceID"] for t in json.loads(body)["traces"]],
          "legacy tags search: %d %r" % (status, body[:200]))

    # Tags and values.
    status, body = get(a.url, "/api/v2/search/tag/resource.service.name/values")
    values = {v["value"] for v in json.loads(body).get("tagValues", [])} if status == 200 else set()
    check(services <= values, "service.name values %r" % values)
    status, body = get(a.url, "/api/search/tags")
    check(status == 200 and "db.system" in json.loads(body).get("tagNames", []), "tags %r" % body[:300])

    # Span metrics (on by default) reach the metrics store.
    status, body = get(a.url, "/api/v1/series",
                       {"match[]": 'traces_spanmetrics_calls_total{service="cart-%s"}' % run})
    series = json.loads(body).get("data", []) if status == 200 else []
    check(any(s.get("span_name") == "POST /cart" and s.get("status_code") == "STATUS_CODE_ERROR" and
              s.get("span_kind") == "SPAN_KIND_SERVER" for s in series),
          "span metrics series: %d %r" % (status, body[:300]))
    status, body = get(a.url, "/api/v1/series",
                       {"match[]": 'traces_spanmetrics_latency_bucket{service="db-%s",le="+Inf"}' % run})
    check(status == 200 and json.loads(body).get("data"), "latency histogram: %d %r" % (status, body[:300]))

    # Service graph edges (on by default) of the three services, through PromQL.
    def instant(expr):
        status, body = get(a.url, "/api/v1/query", {"query": expr})
        result = json.loads(body).get("data", {}).get("result", []) if status == 200 else []
        return sum(float(r["value"][1]) for r in result), body[:300]
    edges = [("frontend-%s" % run, "cart-%s" % run), ("cart-%s" % run, "db-%s" % run),
             ("user", "frontend-%s" % run)]
    for client, server in edges:
        v, body = instant('traces_service_graph_request_total{client="%s",server="%s"}' % (client, server))
        check(v >= 1, "service graph edge %s -> %s: %r" % (client, server, body))
    v, body = instant('traces_service_graph_request_failed_total{client="frontend-%s",server="cart-%s"}' % (run, run))
    check(v >= 1, "failed requests frontend -> cart: %r" % body)
    v, body = instant('sum(traces_service_graph_request_server_seconds_count{server="db-%s"})' % run)
    check(v >= 1, "server seconds histogram of db: %r" % body)
    v, body = instant('histogram_quantile(0.5, sum by (le) (traces_service_graph_request_client_seconds_bucket'
                      '{client="cart-%s"}))' % run)
    check(body.find(b'"result":[{') >= 0, "client seconds quantile of cart: %r" % body)

    # TraceQL metrics over the same spans.
    status, body = get(a.url, "/api/metrics/query_range",
                       {"q": '{ resource.service.name = "cart-%s" } | count_over_time() by (name)' % run,
                        "start": now - 3600, "end": now + 60, "step": "60s"})
    doc = json.loads(body) if status == 200 else {}
    names = {}
    for s in doc.get("series", []):
        label = {l["key"]: l["value"].get("stringValue") for l in s["labels"]}
        names[label.get("name")] = sum(float(x["value"]) for x in s["samples"])
    check(names.get("POST /cart", 0) >= 1 and names.get("query db", 0) >= 1,
          "metrics query_range count_over_time by (name): %d %r" % (status, body[:300]))
    status, body = get(a.url, "/api/metrics/query",
                       {"q": '{ resource.service.name = "frontend-%s" } | rate()' % run,
                        "start": now - 3600, "end": now + 60})
    check(status == 200 and json.loads(body)["series"] and json.loads(body)["series"][0]["value"] > 0,
          "metrics query rate(): %d %r" % (status, body[:300]))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
