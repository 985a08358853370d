"""Hand-rolled encoders for the wire formats the tests send, so that they can also build bytes
that no well-behaved library would produce (invalid UTF-8, duplicate labels, ...). Stdlib only.

- protobuf: the encoding rules of the Protocol Buffers docs ("Encoding"): tag = field << 3 |
  wire type; varints little-endian base 128; int64 negatives as 10-byte two's complement.
- snappy: the block format (google/snappy format_description.txt): the uncompressed length as a
  varint, then elements; we emit literals only, which every decoder must accept.
- prometheus.WriteRequest (proto/prometheus/remote.proto): timeseries = 1 {labels = 1 {name =
  1, value = 2}, samples = 2 {value = 1 (double), timestamp = 2 (int64 ms)}}.

Example:
    body = snappy_block(write_request([series([("__name__", "up")], [(1.0, 1700000000000)])]))
"""

import struct


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _bytes(s):
    return s if isinstance(s, bytes) else s.encode("utf-8")


def field_len(num, payload):
    payload = _bytes(payload)
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def field_double(num, v):
    return varint(num << 3 | 1) + struct.pack("<d", v)


def field_varint(num, n):
    return varint(num << 3 | 0) + varint(n)


def read_varint(buf, pos):
    """Returns (value, new position); raises ValueError on truncation."""
    shift = result = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def parse_fields(buf):
    """Splits a protobuf message into [(field number, wire type, value)]; raises ValueError."""
    fields, pos = [], 0
    while pos < len(buf):
        tag, pos = read_varint(buf, pos)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            v, pos = read_varint(buf, pos)
        elif wt == 1:
            v, pos = buf[pos:pos + 8], pos + 8
        elif wt == 2:
            n, pos = read_varint(buf, pos)
            if pos + n > len(buf):
                raise ValueError("truncated length-delimited field")
            v, pos = buf[pos:pos + n], pos + n
        elif wt == 5:
            v, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wt}")
        if pos > len(buf):
            raise ValueError("truncated field")
        fields.append((num, wt, v))
    return fields


def label(name, value):
    return field_len(1, name) + field_len(2, value)


def sample(value, t_ms):
    return field_double(1, value) + field_varint(2, t_ms)


def series(labels, samples):
    """labels: [(name, value)] as str or bytes (sent in the given order); samples: [(v, t_ms)]."""
    return (b"".join(field_len(1, label(n, v)) for n, v in labels) +
            b"".join(field_len(2, sample(v, t)) for v, t in samples))


def write_request(all_series):
    return b"".join(field_len(1, s) for s in all_series)


def snappy_block(data):
    out = bytearray(varint(len(data)))
    for start in range(0, len(data), 65536):
        chunk = data[start:start + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 256:
            out += bytes([60 << 2, n])
        else:
            out += bytes([61 << 2]) + n.to_bytes(2, "little")
        out += chunk
    return bytes(out)


def rpc_status_message(buf):
    """The `message` (field 2) of a serialized google.rpc.Status; raises ValueError."""
    for num, wt, v in parse_fields(buf):
        if num == 2 and wt == 2:
            return v.decode("utf-8")
    return ""
