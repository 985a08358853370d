#include "tsdb/wal_records.h"

#include "tsdb/histogram_chunk.h"
#include "util/coding.h"

namespace argus::tsdb {

namespace {

constexpr uint8_t kMaxMetricType = static_cast<uint8_t>(MetricType::kStateSet);

void PutLabels(const Labels& labels, std::string* out) {
  PutVarint64(out, labels.size());
  for (const auto& l : labels) {
    PutLengthPrefixed(out, l.name);
    PutLengthPrefixed(out, l.value);
  }
}

bool GetLabels(std::string_view* in, Labels* labels, Status* st) {
  uint64_t n;
  if (!GetVarint64(in, &n)) return false;
  // Every label takes at least 2 bytes; refuse counts the input cannot hold before reserving.
  if (n > in->size() / 2) return false;
  std::vector<Label> ls;
  ls.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view name, value;
    if (!GetLengthPrefixed(in, &name) || !GetLengthPrefixed(in, &value)) return false;
    ls.push_back(Label{std::string(name), std::string(value)});
  }
  Result<Labels> r = Labels::FromUnsorted(std::move(ls));
  if (!r.ok()) {
    *st = Status::Corruption("wal record: " + r.status().message());
    return false;
  }
  *labels = std::move(*r);
  return true;
}

// Checks the type byte and strips it.
Status Expect(std::string_view* rec, WalRecordType type, const char* what) {
  if (rec->empty() || static_cast<uint8_t>((*rec)[0]) != static_cast<uint8_t>(type)) {
    return Status::Corruption(std::string("wal record is not a ") + what + " record");
  }
  rec->remove_prefix(1);
  return Status::OK();
}

Status Truncated(const char* what, size_t entry) {
  return Status::Corruption(std::string("wal ") + what + " record: malformed or truncated entry " +
                            std::to_string(entry));
}

}  // namespace

Result<WalRecordType> WalRecordTypeOf(std::string_view rec) {
  if (rec.empty()) return Status::Corruption("empty wal record");
  const uint8_t t = static_cast<uint8_t>(rec[0]);
  if (t < 1 || t > 6) return Status::Corruption("unknown wal record type " + std::to_string(t));
  return static_cast<WalRecordType>(t);
}

void EncodeSeriesRecord(const std::vector<RefSeries>& series, std::string* out) {
  out->push_back(static_cast<char>(WalRecordType::kSeries));
  for (const auto& s : series) {
    PutVarint64(out, s.ref);
    PutLabels(s.labels, out);
  }
}

namespace {

// kSamples and kSamplesWithST: a varsint base time, then per sample ref, t - base, the value's
// bits and (with ST) t - st. Differences wrap, so any int64 pair round-trips.
void EncodeSamples(const std::vector<RefSample>& samples, bool with_st, std::string* out) {
  out->push_back(static_cast<char>(with_st ? WalRecordType::kSamplesWithST : WalRecordType::kSamples));
  const int64_t base = samples.empty() ? 0 : samples.front().t_ms;
  PutVarsint64(out, base);
  auto diff = [](int64_t x, int64_t y) {
    return static_cast<int64_t>(static_cast<uint64_t>(x) - static_cast<uint64_t>(y));
  };
  for (const auto& s : samples) {
    PutVarint64(out, s.ref);
    PutVarsint64(out, diff(s.t_ms, base));
    PutFixed64(out, DoubleBits(s.v));
    if (with_st) PutVarsint64(out, diff(s.t_ms, s.st_ms));
  }
}

Status DecodeSamples(std::string_view rec, bool with_st, std::vector<RefSample>* out) {
  const char* what = with_st ? "samples with start timestamps" : "samples";
  RETURN_IF_ERROR(Expect(&rec, with_st ? WalRecordType::kSamplesWithST : WalRecordType::kSamples, what));
  int64_t base;
  if (!GetVarsint64(&rec, &base)) return Truncated(what, 0);
  for (size_t i = 0; !rec.empty(); ++i) {
    RefSample s;
    int64_t delta, st_delta = 0;
    uint64_t bits;
    if (!GetVarint64(&rec, &s.ref) || !GetVarsint64(&rec, &delta) || !GetFixed64(&rec, &bits) ||
        (with_st && !GetVarsint64(&rec, &st_delta))) {
      return Truncated(what, i);
    }
    s.t_ms = static_cast<int64_t>(static_cast<uint64_t>(base) + static_cast<uint64_t>(delta));
    s.v = BitsDouble(bits);
    if (with_st) {
      s.st_ms = static_cast<int64_t>(static_cast<uint64_t>(s.t_ms) - static_cast<uint64_t>(st_delta));
    }
    out->push_back(s);
  }
  return Status::OK();
}

}  // namespace

void EncodeSamplesRecord(const std::vector<RefSample>& samples, std::string* out) {
  EncodeSamples(samples, false, out);
}

void EncodeSamplesWithSTRecord(const std::vector<RefSample>& samples, std::string* out) {
  EncodeSamples(samples, true, out);
}

void EncodeExemplarsRecord(const std::vector<RefExemplar>& exemplars, std::string* out) {
  out->push_back(static_cast<char>(WalRecordType::kExemplars));
  for (const auto& e : exemplars) {
    PutVarint64(out, e.ref);
    PutVarsint64(out, e.exemplar.t_ms);
    PutFixed64(out, DoubleBits(e.exemplar.value));
    PutLabels(e.exemplar.labels, out);
  }
}

void EncodeMetadataRecord(const std::vector<MetricMetadata>& metadata, std::string* out) {
  out->push_back(static_cast<char>(WalRecordType::kMetadata));
  for (const auto& m : metadata) {
    PutLengthPrefixed(out, m.metric_family);
    out->push_back(static_cast<char>(m.type));
    PutLengthPrefixed(out, m.unit);
    PutLengthPrefixed(out, m.help);
  }
}

void EncodeHistogramSamplesRecord(const std::vector<RefHistogramSample>& samples,
                                  std::string* out) {
  out->push_back(static_cast<char>(WalRecordType::kHistogramSamples));
  const int64_t base = samples.empty() ? 0 : samples.front().sample.t_ms;
  PutVarsint64(out, base);
  for (const auto& s : samples) {
    PutVarint64(out, s.ref);
    PutVarsint64(out, static_cast<int64_t>(static_cast<uint64_t>(s.sample.t_ms) -
                                           static_cast<uint64_t>(base)));
    EncodeHistogramBody(s.sample.value, out, s.sample.st_ms, s.sample.t_ms);
  }
}

Status DecodeHistogramSamplesRecord(std::string_view rec, std::vector<RefHistogramSample>* out) {
  RETURN_IF_ERROR(Expect(&rec, WalRecordType::kHistogramSamples, "histogram samples"));
  int64_t base;
  if (!GetVarsint64(&rec, &base)) return Truncated("histogram samples", 0);
  for (size_t i = 0; !rec.empty(); ++i) {
    RefHistogramSample s;
    int64_t delta;
    if (!GetVarint64(&rec, &s.ref) || !GetVarsint64(&rec, &delta)) {
      return Truncated("histogram samples", i);
    }
    s.sample.t_ms =
        static_cast<int64_t>(static_cast<uint64_t>(base) + static_cast<uint64_t>(delta));
    if (!DecodeHistogramBody(&rec, &s.sample.value, s.sample.t_ms, &s.sample.st_ms).ok()) {
      return Truncated("histogram samples", i);
    }
    out->push_back(std::move(s));
  }
  return Status::OK();
}

Status DecodeSeriesRecord(std::string_view rec, std::vector<RefSeries>* out) {
  RETURN_IF_ERROR(Expect(&rec, WalRecordType::kSeries, "series"));
  for (size_t i = 0; !rec.empty(); ++i) {
    RefSeries s;
    Status st;
    if (!GetVarint64(&rec, &s.ref) || !GetLabels(&rec, &s.labels, &st)) {
      return st.ok() ? Truncated("series", i) : st;
    }
    out->push_back(std::move(s));
  }
  return Status::OK();
}

Status DecodeSamplesRecord(std::string_view rec, std::vector<RefSample>* out) {
  return DecodeSamples(rec, false, out);
}

Status DecodeSamplesWithSTRecord(std::string_view rec, std::vector<RefSample>* out) {
  return DecodeSamples(rec, true, out);
}

Status DecodeExemplarsRecord(std::string_view rec, std::vector<RefExemplar>* out) {
  RETURN_IF_ERROR(Expect(&rec, WalRecordType::kExemplars, "exemplars"));
  for (size_t i = 0; !rec.empty(); ++i) {
    RefExemplar e;
    uint64_t bits;
    Status st;
    if (!GetVarint64(&rec, &e.ref) || !GetVarsint64(&rec, &e.exemplar.t_ms) ||
        !GetFixed64(&rec, &bits) || !GetLabels(&rec, &e.exemplar.labels, &st)) {
      return st.ok() ? Truncated("exemplars", i) : st;
    }
    e.exemplar.value = BitsDouble(bits);
    out->push_back(std::move(e));
  }
  return Status::OK();
}

Status DecodeMetadataRecord(std::string_view rec, std::vector<MetricMetadata>* out) {
  RETURN_IF_ERROR(Expect(&rec, WalRecordType::kMetadata, "metadata"));
  for (size_t i = 0; !rec.empty(); ++i) {
    std::string_view family, unit, help;
    if (!GetLengthPrefixed(&rec, &family) || rec.empty()) return Truncated("metadata", i);
    const uint8_t type = static_cast<uint8_t>(rec[0]);
    rec.remove_prefix(1);
    if (type > kMaxMetricType) return Truncated("metadata", i);
    if (!GetLengthPrefixed(&rec, &unit) || !GetLengthPrefixed(&rec, &help)) {
      return Truncated("metadata", i);
    }
    out->push_back(MetricMetadata{std::string(family), static_cast<MetricType>(type),
                                  std::string(help), std::string(unit)});
  }
  return Status::OK();
}

}  // namespace argus::tsdb
