"""Small client for the Prometheus HTTP API (Prometheus docs, querying/api), stdlib only.

Used by the integration test scripts, both as a module and as a command:

    python3 promapi.py single-value < answer.json     # prints the value of a 1-sample vector

Example:
    import promapi
    rows = promapi.query("http://127.0.0.1:9090", "up", t=1700000000)
    for metric, (ts, value) in rows: ...
"""

import json
import math
import sys
import urllib.error
import urllib.parse
import urllib.request


class ApiError(Exception):
    """An HTTP or API-level error; str() carries the status and the server's message."""


def request(url, params=None, method="GET", body=None, headers=None, timeout_s=30):
    """Sends one request; returns (status, headers, body bytes) without raising on HTTP errors.
    Status 0 means no HTTP answer (connection refused or reset, timeout); the body then holds
    the error text."""
    if params:
        url = url + "?" + urllib.parse.urlencode(params)
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
    except (urllib.error.URLError, OSError) as e:
        return 0, {}, str(e).encode()


def api_get(base_url, path, params, timeout_s=30):
    """GETs base_url+path and returns the `data` of a successful API answer."""
    status, _, body = request(base_url + path, params, timeout_s=timeout_s)
    try:
        doc = json.loads(body)
    except ValueError:
        raise ApiError(f"{path} {params}: HTTP {status}, body is not JSON: {body[:200]!r}")
    if status != 200 or doc.get("status") != "success":
        raise ApiError(f"{path} {params}: HTTP {status}: {doc.get('errorType')}: {doc.get('error')}")
    return doc["data"]


def parse_value(s):
    """Prometheus encodes sample values as strings ("1.5", "NaN", "+Inf")."""
    return float(s)


def query(base_url, q, t=None):
    """Instant query; returns [(metric dict, (ts, float))] for a vector or a scalar (empty
    metric), or raises ApiError."""
    params = {"query": q}
    if t is not None:
        params["time"] = str(t)
    data = api_get(base_url, "/api/v1/query", params)
    if data["resultType"] == "vector":
        return [(r["metric"], (r["value"][0], parse_value(r["value"][1]))) for r in data["result"]]
    if data["resultType"] == "scalar":
        return [({}, (data["result"][0], parse_value(data["result"][1])))]
    raise ApiError(f"query {q!r}: unexpected result type {data['resultType']}")


def query_raw(base_url, q, t=None):
    """Instant query of a range selector (e.g. 'up[5m]'); returns [(metric, [(ts, float)...])]."""
    params = {"query": q}
    if t is not None:
        params["time"] = str(t)
    data = api_get(base_url, "/api/v1/query", params)
    if data["resultType"] == "matrix":
        return [(r["metric"], [(v[0], parse_value(v[1])) for v in r["values"]])
                for r in data["result"]]
    raise ApiError(f"query {q!r}: unexpected result type {data['resultType']}")


def query_range(base_url, q, start, end, step):
    """Range query; returns [(metric dict, [(ts, float)...])]."""
    data = api_get(base_url, "/api/v1/query_range",
                   {"query": q, "start": str(start), "end": str(end), "step": str(step)})
    return [(r["metric"], [(v[0], parse_value(v[1])) for v in r["values"]])
            for r in data["result"]]


def single_value(base_url, q, t=None):
    """Value of the one sample `q` returns; raises ApiError unless exactly one."""
    rows = query(base_url, q, t)
    if len(rows) != 1:
        raise ApiError(f"query {q!r}: expected 1 sample, got {len(rows)}: {rows[:5]}")
    return rows[0][1][1]


def values_equal(a, b, rel=1e-9):
    """Float equality up to a relative tolerance; NaN equals NaN, infinities must match."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rel * max(abs(a), abs(b)) or a == b


def labels_key(metric):
    """Canonical text of a label set, e.g. '{job="a", mode="idle"}'."""
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(metric.items())) + "}"


def _main():
    if len(sys.argv) == 2 and sys.argv[1] == "single-value":
        doc = json.load(sys.stdin)
        result = doc["data"]["result"]
        if doc["data"]["resultType"] == "scalar":
            print(result[1])
            return 0
        if len(result) != 1:
            print(f"expected 1 sample, got {len(result)}: {result[:5]}", file=sys.stderr)
            return 1
        print(result[0]["value"][1])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main())
