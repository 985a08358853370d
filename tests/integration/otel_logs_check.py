"""Checks that the log records tests/otel/logs.js sent come back through the Loki API: per
transport three lines in order under the stream {service_name="logs-<transport>-<run>"}, with
the record's trace and span IDs, severity and attributes as structured metadata (read with the
categorize-labels encoding flag), a `| trace_id="..."` filter selecting exactly one
transport's records, and detected_fields listing trace_id as structured metadata. Prints one
line per check; exits 1 on the first failure.
"""
import argparse
import json
import sys
import time
import urllib.parse
import urllib.request

SEVERITIES = ["INFO", "WARN", "ERROR"]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def ok(msg):
    print("  ok: " + msg)


def get(url, path, params, headers=None):
    req = urllib.request.Request(url + path + "?" + urllib.parse.urlencode(params), headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--sent", required=True, help="logs.js output: {transport: {traceId, spanId}}")
    args = ap.parse_args()
    sent = json.loads(args.sent)
    now = time.time_ns()
    window = {"start": str(now - 3600 * 10**9), "end": str(now + 60 * 10**9)}
    for t, ids in sent.items():
        svc = "logs-%s-%s" % (t, args.run)
        r = get(args.url, "/loki/api/v1/query_range",
                dict(window, query='{service_name="%s"}' % svc, direction="forward"),
                {"X-Loki-Response-Encoding-Flags": "categorize-labels"})
        streams = r["data"]["result"]
        # Entries whose metadata differ may come as separate result streams; with
        # categorize-labels each must carry only the stream labels.
        if not streams or any(s["stream"] != {"service_name": svc} for s in streams):
            fail("%s: want stream labels {service_name=%s}, got %r" % (t, svc, [s["stream"] for s in streams]))
        values = sorted((v for s in streams for v in s["values"]), key=lambda v: int(v[0]))
        lines = [v[1] for v in values]
        want = ["%s record %d run=%s" % (t, i, args.run) for i in range(3)]
        if lines != want:
            fail("%s: lines %r, want %r" % (t, lines, want))
        for i, v in enumerate(values):
            md = v[2].get("structuredMetadata", {}) if len(v) > 2 else {}
            expect = {"trace_id": ids["traceId"], "span_id": ids["spanId"], "severity_text": SEVERITIES[i],
                      "http_method": "GET", "attempt": str(i)}
            for k, want_v in expect.items():
                if md.get(k) != want_v:
                    fail("%s record %d: structured metadata %s=%r, want %r (all: %r)" % (t, i, k, md.get(k), want_v, md))
        ok("%s: 3 records in order under service_name=%s with trace_id, span_id, severity and attributes" % (t, svc))

    grpc_trace = sent["grpc"]["traceId"]
    r = get(args.url, "/loki/api/v1/query_range",
            dict(window, query='{service_name=~"logs-.+-%s"} | trace_id="%s"' % (args.run, grpc_trace)))
    got = sorted(v[1] for s in r["data"]["result"] for v in s["values"])
    if got != sorted("grpc record %d run=%s" % (i, args.run) for i in range(3)):
        fail("| trace_id filter returned %r" % got)
    ok("| trace_id=\"%s\" selects exactly the gRPC transport's 3 records" % grpc_trace)

    r = get(args.url, "/loki/api/v1/detected_fields",
            dict(window, query='{service_name="logs-grpc-%s"}' % args.run))
    fields = {f["label"]: f for f in r["fields"]}
    tf = fields.get("trace_id")
    if not tf or tf["parsers"] is not None or tf["cardinality"] != 1:
        fail("detected_fields should list trace_id as structured metadata with cardinality 1: %r" % r)
    ok("detected_fields lists trace_id (structured metadata, cardinality 1)")


if __name__ == "__main__":
    main()
