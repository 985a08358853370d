#include "tsdb/histogram_chunk.h"

#include <limits>

#include "util/coding.h"

namespace argus::tsdb {
namespace {

void PutDouble(std::string* out, double v) { PutFixed64(out, DoubleBits(v)); }

bool GetDouble(std::string_view* in, double* v) {
  uint64_t bits;
  if (!GetFixed64(in, &bits)) return false;
  *v = BitsDouble(bits);
  return true;
}

void PutSpans(const std::vector<Span>& spans, std::string* out) {
  PutVarint64(out, spans.size());
  for (const Span& s : spans) {
    PutVarsint64(out, s.offset);
    PutVarint64(out, s.length);
  }
}

bool GetSpans(std::string_view* in, std::vector<Span>* spans) {
  uint64_t n;
  if (!GetVarint64(in, &n) || n > in->size() / 2) return false;  // >= 2 bytes per span
  spans->resize(n);
  for (Span& s : *spans) {
    int64_t off;
    uint64_t len;
    if (!GetVarsint64(in, &off) || !GetVarint64(in, &len)) return false;
    if (off < std::numeric_limits<int32_t>::min() || off > std::numeric_limits<int32_t>::max() ||
        len > std::numeric_limits<uint32_t>::max()) {
      return false;
    }
    s.offset = static_cast<int32_t>(off);
    s.length = static_cast<uint32_t>(len);
  }
  return true;
}

void PutDoubles(const std::vector<double>& vs, std::string* out) {
  PutVarint64(out, vs.size());
  for (double v : vs) PutDouble(out, v);
}

bool GetDoubles(std::string_view* in, std::vector<double>* vs) {
  uint64_t n;
  if (!GetVarint64(in, &n) || n > in->size() / 8) return false;
  vs->resize(n);
  for (double& v : *vs) {
    if (!GetDouble(in, &v)) return false;
  }
  return true;
}

void PutDeltas(const std::vector<int64_t>& vs, std::string* out) {
  PutVarint64(out, vs.size());
  for (int64_t v : vs) PutVarsint64(out, v);
}

bool GetDeltas(std::string_view* in, std::vector<int64_t>* vs) {
  uint64_t n;
  if (!GetVarint64(in, &n) || n > in->size()) return false;
  vs->resize(n);
  for (int64_t& v : *vs) {
    if (!GetVarsint64(in, &v)) return false;
  }
  return true;
}

}  // namespace

void EncodeHistogramBody(const HistogramValue& v, std::string* out, int64_t st_ms, int64_t t_ms) {
  const uint8_t st_flag = st_ms != 0 ? kStartTimestampFlag : 0;
  if (const IntHistogram* h = std::get_if<IntHistogram>(&v)) {
    out->push_back(static_cast<char>(st_flag | (static_cast<uint8_t>(h->counter_reset_hint) << 1)));
    PutVarsint64(out, h->schema);
    PutDouble(out, h->zero_threshold);
    PutVarint64(out, h->zero_count);
    PutVarint64(out, h->count);
    PutDouble(out, h->sum);
    PutSpans(h->positive_spans, out);
    PutDeltas(h->positive_buckets, out);
    PutSpans(h->negative_spans, out);
    PutDeltas(h->negative_buckets, out);
    PutDoubles(h->custom_values, out);
    if (st_flag != 0) PutVarsint64(out, static_cast<int64_t>(static_cast<uint64_t>(t_ms) - static_cast<uint64_t>(st_ms)));
    return;
  }
  const FloatHistogram& f = std::get<FloatHistogram>(v);
  out->push_back(static_cast<char>(st_flag | 1 | (static_cast<uint8_t>(f.counter_reset_hint) << 1)));
  PutVarsint64(out, f.schema);
  PutDouble(out, f.zero_threshold);
  PutDouble(out, f.zero_count);
  PutDouble(out, f.count);
  PutDouble(out, f.sum);
  PutSpans(f.positive_spans, out);
  PutDoubles(f.positive_buckets, out);
  PutSpans(f.negative_spans, out);
  PutDoubles(f.negative_buckets, out);
  PutDoubles(f.custom_values, out);
  if (st_flag != 0) PutVarsint64(out, static_cast<int64_t>(static_cast<uint64_t>(t_ms) - static_cast<uint64_t>(st_ms)));
}

Status DecodeHistogramBody(std::string_view* in, HistogramValue* v, int64_t t_ms,
                           int64_t* st_ms) {
  const Status bad = Status::Corruption("malformed histogram");
  if (in->empty()) return bad;
  const uint8_t flags = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  if (flags > 15) return bad;
  // The start timestamp, stored last as t_ms - st_ms; 0 when the flag is not set.
  auto read_st = [&]() -> bool {
    if (st_ms != nullptr) *st_ms = 0;
    if ((flags & kStartTimestampFlag) == 0) return true;
    int64_t d;
    if (!GetVarsint64(in, &d)) return false;
    if (st_ms != nullptr) {
      *st_ms = static_cast<int64_t>(static_cast<uint64_t>(t_ms) - static_cast<uint64_t>(d));
    }
    return true;
  };
  const auto hint = static_cast<CounterResetHint>((flags >> 1) & 3);
  int64_t schema;
  if (!GetVarsint64(in, &schema) || schema < std::numeric_limits<int32_t>::min() ||
      schema > std::numeric_limits<int32_t>::max()) {
    return bad;
  }
  if ((flags & 1) == 0) {
    IntHistogram h;
    h.counter_reset_hint = hint;
    h.schema = static_cast<int32_t>(schema);
    if (!GetDouble(in, &h.zero_threshold) || !GetVarint64(in, &h.zero_count) ||
        !GetVarint64(in, &h.count) || !GetDouble(in, &h.sum) ||
        !GetSpans(in, &h.positive_spans) || !GetDeltas(in, &h.positive_buckets) ||
        !GetSpans(in, &h.negative_spans) || !GetDeltas(in, &h.negative_buckets) ||
        !GetDoubles(in, &h.custom_values) || !read_st()) {
      return bad;
    }
    *v = std::move(h);
    return Status::OK();
  }
  FloatHistogram f;
  f.counter_reset_hint = hint;
  f.schema = static_cast<int32_t>(schema);
  if (!GetDouble(in, &f.zero_threshold) || !GetDouble(in, &f.zero_count) ||
      !GetDouble(in, &f.count) || !GetDouble(in, &f.sum) || !GetSpans(in, &f.positive_spans) ||
      !GetDoubles(in, &f.positive_buckets) || !GetSpans(in, &f.negative_spans) ||
      !GetDoubles(in, &f.negative_buckets) || !GetDoubles(in, &f.custom_values) || !read_st()) {
    return bad;
  }
  *v = std::move(f);
  return Status::OK();
}

HistogramChunk::HistogramChunk(bool is_float) : is_float_(is_float), b_(2, '\0') {}

void HistogramChunk::Append(const HistogramSample& s) {
  if (n_ == 0) {
    PutVarsint64(&b_, s.t_ms);
    first_t_ = s.t_ms;
  } else {
    PutVarint64(&b_, static_cast<uint64_t>(s.t_ms) - static_cast<uint64_t>(last_t_));
  }
  last_t_ = s.t_ms;
  EncodeHistogramBody(s.value, &b_, s.st_ms, s.t_ms);
  ++n_;
  b_[0] = static_cast<char>((n_ >> 8) & 0xff);
  b_[1] = static_cast<char>(n_ & 0xff);
}

Result<HistogramChunk> HistogramChunk::FromBytes(std::string bytes, bool is_float) {
  std::vector<HistogramSample> samples;
  RETURN_IF_ERROR(DecodeHistogramChunk(bytes, std::numeric_limits<int64_t>::min(),
                                       std::numeric_limits<int64_t>::max(), &samples));
  HistogramChunk c(is_float);
  for (const HistogramSample& s : samples) {
    if (s.is_float() != is_float) return Status::Corruption("histogram chunk of mixed kinds");
  }
  c.b_ = std::move(bytes);
  c.n_ = static_cast<int>(samples.size());
  if (!samples.empty()) {
    c.first_t_ = samples.front().t_ms;
    c.last_t_ = samples.back().t_ms;
  }
  return c;
}

Status DecodeHistogramChunk(std::string_view bytes, int64_t mint_ms, int64_t maxt_ms,
                            std::vector<HistogramSample>* out) {
  if (bytes.size() < 2) return Status::Corruption("histogram chunk shorter than its header");
  const int n = (static_cast<uint8_t>(bytes[0]) << 8) | static_cast<uint8_t>(bytes[1]);
  std::string_view in = bytes.substr(2);
  int64_t t = 0;
  for (int i = 0; i < n; ++i) {
    if (i == 0) {
      if (!GetVarsint64(&in, &t)) return Status::Corruption("histogram chunk: bad timestamp");
    } else {
      uint64_t d;
      if (!GetVarint64(&in, &d)) return Status::Corruption("histogram chunk: bad timestamp");
      t = static_cast<int64_t>(static_cast<uint64_t>(t) + d);
    }
    HistogramSample s;
    s.t_ms = t;
    RETURN_IF_ERROR(DecodeHistogramBody(&in, &s.value, t, &s.st_ms)
                        .WithContext("histogram chunk sample " + std::to_string(i)));
    if (t > maxt_ms) return Status::OK();
    if (t >= mint_ms) out->push_back(std::move(s));
  }
  return Status::OK();
}

}  // namespace argus::tsdb
