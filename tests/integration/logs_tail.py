#!/usr/bin/env python3
"""Checks what the logs_tail integration test tailed: for every file, query_range returns
exactly its lines with the timestamps its timestamp stage parses (computed here with Python's
own strptime), and a line filter returns exactly what `grep -F` finds in the file.

Usage: logs_tail.py --url URL --data LOGHUB_DIR check|count APP
"""
import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zoneinfo

# app -> (loghub file, regex capturing the timestamp, strptime format, time zone, needle)
APPS = {
    "apache": ("Apache_2k.log", r"^\[([^\]]+)\]", "%a %b %d %H:%M:%S %Y", "UTC", "mod_jk child"),
    "bgl": ("BGL_2k.log", r"^\S+ \d+ \S+ \S+ (\S+) ", "%Y-%m-%d-%H.%M.%S.%f", "UTC", "parity error"),
    "thunderbird": ("Thunderbird_2k.log", r"^\S+ (\d+) ", "unix", "UTC", "session opened"),
    "openstack": ("OpenStack_2k.log", r"^\S+ (\S+ \S+) ", "%Y-%m-%d %H:%M:%S.%f", "Europe/Berlin", "GET /v2/"),
    "hadoop": ("Hadoop_2k.log", r"^(\S+ \S+) ", "%Y-%m-%d %H:%M:%S,%f", "UTC", "RMContainerAllocator"),
    "spark": ("Spark_2k.log", r"^(\S+ \S+) ", "%y/%m/%d %H:%M:%S", "UTC", "Finished task"),
    "hdfs": ("HDFS_2k.log", r"^(\S+ \S+) ", "%y%m%d %H%M%S", "UTC", "PacketResponder"),
}


def expected_ts_ns(app, line):
    _, rx, fmt, tz, _ = APPS[app]
    value = re.search(rx, line).group(1)
    if fmt == "unix":
        return int(value) * 10**9
    t = dt.datetime.strptime(value, fmt).replace(tzinfo=zoneinfo.ZoneInfo(tz))
    micros = (t - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1)
    return micros * 1000


def file_lines(data, app, needle=None):
    path = f"{data}/{APPS[app][0]}"
    if needle is None:
        with open(path, encoding="utf-8", errors="strict", newline="") as f:
            raw = f.read().split("\n")
    else:
        out = subprocess.run(["grep", "-F", "--", needle, path], capture_output=True, check=True)
        raw = out.stdout.decode("utf-8").split("\n")
    return [l.rstrip("\r") for l in raw if l.rstrip("\r")]


def query(url, q, limit=5000):
    params = urllib.parse.urlencode({"query": q, "start": str(946684800 * 10**9),
                                     "end": str(time.time_ns()), "limit": limit, "direction": "forward"})
    with urllib.request.urlopen(f"{url}/loki/api/v1/query_range?{params}", timeout=30) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise SystemExit(f"query {q} failed: {body}")
    got = []
    for s in body["data"]["result"]:
        got.extend((int(ts), line) for ts, line in s["values"])
    return sorted(got)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("what", choices=["check", "count"])
    ap.add_argument("app", nargs="?")
    a = ap.parse_args()
    if a.what == "count":
        print(len(query(a.url, '{app="%s"}' % a.app)))
        return 0
    failed = 0
    for app, (_, _, _, _, needle) in APPS.items():
        for sel, lines in (('{app="%s"}' % app, file_lines(a.data, app)),
                           ('{app="%s"} |= "%s"' % (app, needle), file_lines(a.data, app, needle))):
            want = sorted((expected_ts_ns(app, l), l) for l in lines)
            got = query(a.url, sel)
            if got == want:
                print(f"  ok: {sel}: {len(got)} lines with the parsed timestamps")
                continue
            failed += 1
            print(f"FAIL: {sel}: got {len(got)} lines, want {len(want)}", file=sys.stderr)
            for g, w in zip(got, want):
                if g != w:
                    print(f"  first difference: got {g!r}\n                    want {w!r}", file=sys.stderr)
                    break
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
