"""Sends malformed and hostile requests to a running Argus and checks each answer.

Usage: bad_input.py --url http://127.0.0.1:9090 --otlp-http http://127.0.0.1:4318

Each case expects a status (Prometheus remote-write handler: 204 or 400 with a plain-text
message; OTLP/HTTP spec "Failures": 400 with a google.rpc.Status body in the request's encoding,
415 for an unsupported Content-Type). After every case /-/ready must still answer 200 and the
series written at the start must still be complete. Prints one line per check; exits 1 if any
check failed.
"""

import argparse
import json
import math
import sys
import time

import promapi
import wire

RW_HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}
NOW_MS = int(time.time() * 1000) // 1000 * 1000
GOOD_SAMPLES = [(float(i), NOW_MS - (60 - i) * 1000) for i in range(0, 60, 5)]  # 12 samples


class Checker:
    def __init__(self, url, otlp_http):
        self.url = url
        self.otlp_http = otlp_http
        self.failures = 0

    def expect(self, ok, what):
        print(f"  {'ok' if ok else 'FAIL'}: {what}")
        if not ok:
            self.failures += 1
        return ok

    def post(self, url, body, headers):
        return promapi.request(url, method="POST", body=body, headers=headers, timeout_s=60)

    def remote_write(self, name, body, want, raw=False):
        """POSTs a WriteRequest (snappy-compressed unless raw) and checks status and message."""
        payload = body if raw else wire.snappy_block(body)
        status, _, resp = self.post(self.url + "/api/v1/write", payload, RW_HEADERS)
        text = resp.decode("utf-8", "replace").strip()
        ok = status in want
        if ok and status >= 400:
            ok = len(text) > 0
        self.expect(ok, f"remote_write {name}: HTTP {status} (want {'/'.join(map(str, want))})"
                        f"{' message: ' + text[:160] if text else ''}")
        self.still_healthy(name)

    def otlp(self, name, url, body, content_type, want_status, want_body):
        """POSTs to an OTLP/HTTP endpoint; want_body: 'proto-status', 'json-status', 'json-ok',
        'proto-ok' or None (no check)."""
        status, headers, resp = self.post(url, body, {"Content-Type": content_type})
        detail = ""
        ok = status == want_status
        try:
            if want_body == "proto-status":
                msg = wire.rpc_status_message(resp)
                detail = f" google.rpc.Status message: {msg[:160]!r}"
                ok = ok and len(msg) > 0
            elif want_body == "json-status":
                msg = json.loads(resp).get("message", "")
                detail = f" JSON Status message: {msg[:160]!r}"
                ok = ok and isinstance(msg, str) and len(msg) > 0
            elif want_body == "json-ok":
                doc = json.loads(resp) if resp.strip() else {}
                detail = f" body: {resp[:160]!r}"
                ok = ok and isinstance(doc, dict) and "partialSuccess" not in doc
            elif want_body == "proto-ok":
                detail = f" body: {resp[:160]!r}"
                ok = ok and not any(num == 1 for num, _, _ in wire.parse_fields(resp))
        except ValueError as e:
            detail = f" body does not parse ({e}): {resp[:160]!r}"
            ok = False
        self.expect(ok, f"OTLP {name}: HTTP {status} (want {want_status}){detail}")
        self.still_healthy(name)

    def still_healthy(self, after):
        status, _, _ = promapi.request(self.url + "/-/ready", timeout_s=10)
        if status != 200:
            self.expect(False, f"/-/ready answers {status} after {after}")
            return
        try:
            rows = promapi.query(self.url, 'count_over_time(bad_input_ok{case="before"}[5m])',
                                 NOW_MS / 1000)
            got = rows[0][1][1] if len(rows) == 1 else None
        except promapi.ApiError as e:
            got = str(e)
        if got != float(len(GOOD_SAMPLES)):
            self.expect(False, f"after {after}: the {len(GOOD_SAMPLES)} samples written first are "
                               f"no longer all queryable (count_over_time: {got})")


def ok_series(case, samples):
    return wire.series([("__name__", "bad_input_ok"), ("case", case)], samples)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--otlp-http", required=True)
    args = p.parse_args()
    c = Checker(args.url, args.otlp_http)

    print("remote_write (POST /api/v1/write)")
    status, _, resp = c.post(args.url + "/api/v1/write",
                             wire.snappy_block(wire.write_request([ok_series("before", GOOD_SAMPLES)])),
                             RW_HEADERS)
    if not c.expect(status == 204, f"valid write of bad_input_ok{{case=\"before\"}}: HTTP {status} "
                                   f"{resp[:200]!r}"):
        return 1
    c.still_healthy("the valid write")

    valid = wire.write_request([ok_series("x", [(1.0, NOW_MS)])])
    c.remote_write("body that is not snappy", b"this is not snappy at all", [400], raw=True)
    c.remote_write("empty body", b"", [400], raw=True)
    c.remote_write("snappy of a truncated protobuf", valid[:-5], [400])
    c.remote_write("protobuf of the wrong shape (field 1 is a varint)", wire.field_varint(1, 7), [400])
    c.remote_write("label name that is not UTF-8",
                   wire.write_request([wire.series([("__name__", "bad_input_utf8"),
                                                    (b"\xff\xfe", "v")], [(1.0, NOW_MS)])]), [400])
    c.remote_write("label value that is not UTF-8",
                   wire.write_request([wire.series([("__name__", "bad_input_utf8"),
                                                    ("a", b"\xc3\x28")], [(1.0, NOW_MS)])]), [400])
    c.remote_write("duplicate label names",
                   wire.write_request([wire.series([("__name__", "bad_input_dup"), ("a", "1"),
                                                    ("a", "2")], [(1.0, NOW_MS)])]), [400])
    c.remote_write("series without a metric name",
                   wire.write_request([wire.series([("a", "1")], [(1.0, NOW_MS)])]), [400])
    c.remote_write("NaN value (valid)",
                   wire.write_request([wire.series([("__name__", "bad_input_nan")],
                                                   [(math.nan, NOW_MS)])]), [204])
    rows = promapi.query(args.url, "bad_input_nan", NOW_MS / 1000)
    c.expect(len(rows) == 1 and math.isnan(rows[0][1][1]),
             f"the NaN sample reads back as NaN: {rows}")
    month_ms = 30 * 24 * 3600 * 1000
    c.remote_write("sample 30 days older than its series' newest (outside the OOO window)",
                   wire.write_request([ok_series("before", [(99.0, NOW_MS - month_ms)])]), [400])
    c.remote_write("new series 30 days in the past (out of bounds)",
                   wire.write_request([ok_series("old", [(1.0, NOW_MS - month_ms)])]), [400])
    rows = promapi.query(args.url, 'bad_input_ok{case="before"}', (NOW_MS - month_ms) / 1000)
    c.expect(rows == [], f"the rejected 30-day-old sample is not stored: {rows}")
    c.remote_write("10 MB label value",
                   wire.write_request([wire.series([("__name__", "bad_input_big"),
                                                    ("v", "x" * (10 << 20))], [(1.0, NOW_MS)])]),
                   [400, 413])
    rows = promapi.query(args.url, "bad_input_big", NOW_MS / 1000)
    c.expect(rows == [], f"the series with the 10 MB label value is not stored: {len(rows)} series")

    for name, base in (("OTLP port", args.otlp_http + "/v1/metrics"),
                       ("main port", args.url + "/otlp/v1/metrics")):
        print(f"OTLP/HTTP on the {name} (POST {base})")
        c.otlp("empty protobuf request (valid)", base, b"", "application/x-protobuf", 200, "proto-ok")
        c.otlp("empty JSON request (valid)", base, b"{}", "application/json", 200, "json-ok")
        c.otlp("wrong Content-Type text/plain", base, b"{}", "text/plain", 415, None)
        c.otlp("garbage protobuf", base, b"\xff\xff\xff\xff\x0f garbage \x00\x01", "application/x-protobuf",
               400, "proto-status")
        c.otlp("truncated protobuf", base, wire.field_len(1, b"x" * 50)[:20], "application/x-protobuf",
               400, "proto-status")
        c.otlp("garbage JSON", base, b'{"resourceMetrics": [ {not json', "application/json",
               400, "json-status")
        c.otlp("JSON of the wrong shape", base, b'{"resourceMetrics": 42}', "application/json",
               400, "json-status")

    print(f"{'all checks passed' if c.failures == 0 else f'{c.failures} checks failed'}")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
