"""Checks what Argus stored from tests/otel/export.js (one run per transport).

Usage: otel_check.py --url http://127.0.0.1:9090 --run <id>

Expected series, named as Prometheus 3's OTLP receiver names them by default (translation
strategy UnderscoreEscapingWithSuffixes; docs/format/otlp-metrics-translation.md), for each
run kind K with job J (service.name, or "shop/itest-otel" where service.namespace is set) and
instance "K-<id>" (service.instance.id):

  export.js instrument                         series                                  value
  counter test.sent (By) +100 +200            test_sent_bytes_total{direction="out"}    300
  counter test.requests, 5 x +1               test_requests_total{http_request_method}  5
  up-down counter test.queue.length ({item})  test_queue_length                         7
  observable gauge test.utilization (1)       test_utilization_ratio{core="0"}          0.75
  gauge test.temperature (Cel)                test_temperature_celsius                  21.5
  histogram request.duration (s), bounds      request_duration_seconds_bucket{le,route} 1,3,4,5,6
    [0.1,0.5,1,5], values 0.05 0.2 0.3 0.7 2 10  _sum 13.25, _count 6
  resource                                    target_info{deployment_environment, telemetry_sdk_*} 1

The delta run exports twice: 7 more requests and observations 1 and 2, which Argus accumulates
into cumulative series: requests 12, buckets 1,3,5,7,8, sum 16.25, count 8.
"""

import argparse
import math
import sys

import promapi

INF = math.inf


def expected_for(kind):
    requests, buckets, hsum, hcount = 5.0, {0.1: 1, 0.5: 3, 1: 4, 5: 5, INF: 6}, 13.25, 6.0
    if kind == "delta":
        requests, buckets, hsum, hcount = 12.0, {0.1: 1, 0.5: 3, 1: 5, 5: 7, INF: 8}, 16.25, 8.0
    return {
        ("test_sent_bytes_total", (("direction", "out"),)): 300.0,
        ("test_requests_total", (("http_request_method", "GET"),)): requests,
        ("test_queue_length", ()): 7.0,
        ("test_utilization_ratio", (("core", "0"),)): 0.75,
        ("test_temperature_celsius", ()): 21.5,
        ("request_duration_seconds_sum", (("route", "/api"),)): hsum,
        ("request_duration_seconds_count", (("route", "/api"),)): hcount,
    }, buckets


class Checker:
    def __init__(self, url):
        self.url = url
        self.failures = 0

    def expect(self, ok, what):
        print(f"  {'ok' if ok else 'FAIL'}: {what}")
        if not ok:
            self.failures += 1

    def series(self, name, job, instance):
        q = f'{name}{{job="{job}", instance="{instance}"}}'
        try:
            return q, promapi.query(self.url, q)
        except promapi.ApiError as e:
            self.expect(False, f"{q}: {e}")
            return q, None

    def check_run(self, kind, run_id):
        job = "shop/itest-otel" if kind == "proto" else "itest-otel"
        instance = f"{kind}-{run_id}"
        print(f"run {kind}: job={job} instance={instance}")
        scalars, buckets = expected_for(kind)
        for (name, extra), want in scalars.items():
            q, rows = self.series(name, job, instance)
            if rows is None:
                continue
            want_labels = {"__name__": name, "job": job, "instance": instance, **dict(extra)}
            ok = (len(rows) == 1 and rows[0][0] == want_labels and
                  promapi.values_equal(rows[0][1][1], want))
            got = [(promapi.labels_key(m), v) for m, (_, v) in rows]
            self.expect(ok, f"{q} == {want} with labels {promapi.labels_key(want_labels)}; got {got}")

        q, rows = self.series("request_duration_seconds_bucket", job, instance)
        if rows is not None:
            got = {}
            for m, (_, v) in rows:
                try:
                    got[float(m.get("le", "nan"))] = v
                except ValueError:
                    got[m.get("le")] = v
            ok = (len(rows) == len(buckets) and set(got) == set(buckets) and
                  all(promapi.values_equal(got[le], float(n)) for le, n in buckets.items()) and
                  all(m.get("route") == "/api" for m, _ in rows))
            self.expect(ok, f"{q}: cumulative buckets by le {buckets}; got {got}")

        q = (f'histogram_quantile(0.5, request_duration_seconds_bucket'
             f'{{job="{job}", instance="{instance}"}})')
        try:
            v = promapi.single_value(self.url, q)
            want = 0.5 if kind != "delta" else 0.5 + (1 - 0.5) * (4 - 3) / 2
            self.expect(promapi.values_equal(v, want), f"{q} == {want}; got {v}")
        except promapi.ApiError as e:
            self.expect(False, f"{q}: {e}")

        q, rows = self.series("target_info", job, instance)
        if rows is not None:
            labels = rows[0][0] if len(rows) == 1 else {}
            ok = (len(rows) == 1 and rows[0][1][1] == 1.0 and
                  labels.get("deployment_environment") == "itest" and
                  labels.get("telemetry_sdk_language") == "nodejs" and
                  labels.get("telemetry_sdk_name") == "opentelemetry" and
                  "telemetry_sdk_version" in labels and
                  not {"service_name", "service_namespace", "service_instance_id"} & set(labels))
            self.expect(ok, f"{q} == 1 with the other resource attributes as labels and without "
                            f"service_*; got {[(promapi.labels_key(m), v) for m, (_, v) in rows]}")

        # No other series of this run: names must be exactly the translated ones.
        q = f'count by (__name__) ({{job="{job}", instance="{instance}"}})'
        try:
            names = {m.get("__name__") for m, _ in promapi.query(self.url, q)}
        except promapi.ApiError as e:
            self.expect(False, f"{q}: {e}")
            return
        want_names = {n for n, _ in scalars} | {"request_duration_seconds_bucket", "target_info"}
        self.expect(names == want_names, f"the run stored exactly the metrics {sorted(want_names)}; "
                                         f"got {sorted(n or '' for n in names)}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--run", required=True)
    args = p.parse_args()
    c = Checker(args.url)
    for kind in ("grpc", "proto", "json", "delta"):
        c.check_run(kind, args.run)
    print("all checks passed" if c.failures == 0 else f"{c.failures} checks failed")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
