#include "ingest/remote_write.h"

#include <fmt/format.h>
#include <google/protobuf/unknown_field_set.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "ingest/compression.h"
#include "model/histogram.h"
#include "model/labels.h"
#include "model/sample.h"

namespace argus::ingest {

namespace {

// Errors that concern one sample or series; anything else (Unavailable, ResourceExhausted,
// IOError, ...) means the storage cannot take writes and the whole batch is abandoned.
bool IsPerSampleError(const Status& st) {
  return st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kOutOfOrder ||
         st.code() == StatusCode::kUnimplemented;
}

// A short, bounded description of a series for error messages: label values may be megabytes.
std::string DescribeSeries(const google::protobuf::RepeatedPtrField<prometheus::Label>& labels) {
  constexpr size_t kMaxValueBytes = 64;
  constexpr size_t kMaxTotalBytes = 512;
  std::string out = "{";
  for (int i = 0; i < labels.size(); ++i) {
    if (out.size() > kMaxTotalBytes) {
      out += ", ...";
      break;
    }
    if (i > 0) out += ", ";
    const std::string& v = labels[i].value();
    out += fmt::format("{}={:?}", labels[i].name().substr(0, kMaxValueBytes),
                       std::string_view(v).substr(0, kMaxValueBytes));
    if (v.size() > kMaxValueBytes) out += "...";
  }
  out += "}";
  return out;
}

// Validates one series' labels (see HandleRemoteWrite) and returns them sorted, without empty
// values.
Result<Labels> SeriesLabels(const google::protobuf::RepeatedPtrField<prometheus::Label>& in,
                            const RemoteWriteOptions& opts) {
  if (in.empty()) return Status::InvalidArgument("invalid series: no labels");
  std::vector<Label> ls;
  ls.reserve(in.size());
  for (const prometheus::Label& l : in) {
    if (l.name().empty()) return Status::InvalidArgument("invalid label: empty label name");
    if (l.value().size() > opts.max_label_value_bytes) {
      return Status::InvalidArgument(
          fmt::format("label value too long: label {:?} has a value of {} bytes, the limit is {}",
                      l.name(), l.value().size(), opts.max_label_value_bytes));
    }
    // Parsing already rejects invalid UTF-8 in proto3 strings; this covers requests built in
    // memory.
    if (!IsValidUtf8(l.name()) || !IsValidUtf8(l.value())) {
      return Status::InvalidArgument("invalid label: name or value is not valid UTF-8");
    }
    ls.push_back(Label{l.name(), l.value()});
  }
  auto by_name = [](const Label& a, const Label& b) { return a.name < b.name; };
  if (!std::is_sorted(ls.begin(), ls.end(), by_name)) std::sort(ls.begin(), ls.end(), by_name);
  for (size_t i = 1; i < ls.size(); ++i) {
    if (ls[i].name == ls[i - 1].name) {
      return Status::InvalidArgument(fmt::format("duplicate label name {:?}", ls[i].name));
    }
  }
  std::erase_if(ls, [](const Label& l) { return l.value.empty(); });
  Labels labels = Labels::FromSorted(std::move(ls));
  if (labels.MetricName().empty()) {
    return Status::InvalidArgument("invalid series: no metric name (__name__ label)");
  }
  return labels;
}

// A remote_write 1.0 Histogram as a tsdb sample: integer histograms (count_int) stay integer,
// count_float ones become FloatHistograms. Schemas 9..52 (accepted by Prometheus 3) are reduced
// to 8; anything else invalid is left to the Appender's validation.
Result<tsdb::HistogramSample> FromProto(const prometheus::Histogram& p) {
  auto hint = [&] {
    switch (p.reset_hint()) {
      case prometheus::Histogram::YES: return CounterResetHint::kCounterReset;
      case prometheus::Histogram::NO: return CounterResetHint::kNotCounterReset;
      case prometheus::Histogram::GAUGE: return CounterResetHint::kGauge;
      default: return CounterResetHint::kUnknown;
    }
  };
  auto spans = [](const auto& in) {
    std::vector<Span> out;
    out.reserve(in.size());
    for (const prometheus::BucketSpan& s : in) out.push_back(Span{s.offset(), s.length()});
    return out;
  };
  tsdb::HistogramSample s;
  s.t_ms = p.timestamp();
  if (p.count_case() == prometheus::Histogram::kCountFloat) {
    FloatHistogram f;
    f.counter_reset_hint = hint();
    f.schema = p.schema();
    f.zero_threshold = p.zero_threshold();
    f.zero_count = p.zero_count_float();
    f.count = p.count_float();
    f.sum = p.sum();
    f.positive_spans = spans(p.positive_spans());
    f.positive_buckets.assign(p.positive_counts().begin(), p.positive_counts().end());
    f.negative_spans = spans(p.negative_spans());
    f.negative_buckets.assign(p.negative_counts().begin(), p.negative_counts().end());
    f.custom_values.assign(p.custom_values().begin(), p.custom_values().end());
    if (f.schema > kExponentialSchemaMax && f.schema <= 52) {
      RETURN_IF_ERROR(f.ReduceResolution(kExponentialSchemaMax));
    }
    s.value = std::move(f);
    return s;
  }
  if (p.zero_count_case() == prometheus::Histogram::kZeroCountFloat ||
      !p.positive_counts().empty() || !p.negative_counts().empty()) {
    return Status::InvalidArgument("histogram mixes integer and float counts");
  }
  IntHistogram h;
  h.counter_reset_hint = hint();
  h.schema = p.schema();
  h.zero_threshold = p.zero_threshold();
  h.zero_count = p.zero_count_int();
  h.count = p.count_int();
  h.sum = p.sum();
  h.positive_spans = spans(p.positive_spans());
  h.positive_buckets.assign(p.positive_deltas().begin(), p.positive_deltas().end());
  h.negative_spans = spans(p.negative_spans());
  h.negative_buckets.assign(p.negative_deltas().begin(), p.negative_deltas().end());
  h.custom_values.assign(p.custom_values().begin(), p.custom_values().end());
  if (h.schema > kExponentialSchemaMax && h.schema <= 52) {
    RETURN_IF_ERROR(h.ReduceResolution(kExponentialSchemaMax));
  }
  s.value = std::move(h);
  return s;
}

Result<Labels> ExemplarLabels(const google::protobuf::RepeatedPtrField<prometheus::Label>& in) {
  std::vector<Label> ls;
  ls.reserve(in.size());
  for (const prometheus::Label& l : in) {
    if (l.name().empty() || !IsValidUtf8(l.name()) || !IsValidUtf8(l.value())) {
      return Status::InvalidArgument("invalid exemplar label");
    }
    ls.push_back(Label{l.name(), l.value()});
  }
  return Labels::FromUnsorted(std::move(ls));
}

MetricType FromProto(prometheus::MetricMetadata::MetricType t) {
  switch (t) {
    case prometheus::MetricMetadata::COUNTER:
      return MetricType::kCounter;
    case prometheus::MetricMetadata::GAUGE:
      return MetricType::kGauge;
    case prometheus::MetricMetadata::HISTOGRAM:
      return MetricType::kHistogram;
    case prometheus::MetricMetadata::GAUGEHISTOGRAM:
      return MetricType::kGaugeHistogram;
    case prometheus::MetricMetadata::SUMMARY:
      return MetricType::kSummary;
    case prometheus::MetricMetadata::INFO:
      return MetricType::kInfo;
    case prometheus::MetricMetadata::STATESET:
      return MetricType::kStateSet;
    default:
      return MetricType::kUnknown;
  }
}

// A minimal protobuf wire-format reader, used only to explain why the real parser refused a
// body (protobuf's C++ parser reports no reason).
class WireReader {
 public:
  explicit WireReader(std::string_view in) : in_(in) {}
  bool done() const { return in_.empty(); }
  bool ReadVarint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return false;
      uint8_t b = static_cast<uint8_t>(in_.front());
      in_.remove_prefix(1);
      *v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool ReadBytes(std::string_view* out) {
    uint64_t n;
    if (!ReadVarint(&n) || n > in_.size()) return false;
    *out = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  // Skips a field of wire type `wt` (groups are not used by remote_write: malformed).
  bool Skip(uint64_t wt) {
    uint64_t v;
    std::string_view s;
    switch (wt) {
      case 0:
        return ReadVarint(&v);
      case 1:
        return Advance(8);
      case 2:
        return ReadBytes(&s);
      case 5:
        return Advance(4);
      default:
        return false;
    }
  }

 private:
  bool Advance(size_t n) {
    if (in_.size() < n) return false;
    in_.remove_prefix(n);
    return true;
  }
  std::string_view in_;
};

constexpr uint64_t kLengthDelimited = 2;

// Walks a Label message; returns a problem description or "".
std::string CheckLabel(std::string_view msg, std::string_view where) {
  WireReader r(msg);
  while (!r.done()) {
    uint64_t tag;
    if (!r.ReadVarint(&tag)) return "truncated label";
    uint64_t field = tag >> 3, wt = tag & 7;
    if ((field == 1 || field == 2) && wt == kLengthDelimited) {
      std::string_view s;
      if (!r.ReadBytes(&s)) return "truncated label";
      if (!IsValidUtf8(s)) {
        return fmt::format("label {} of {} is not valid UTF-8", field == 1 ? "name" : "value",
                           where);
      }
    } else if (!r.Skip(wt)) {
      return "truncated label";
    }
  }
  return "";
}

std::string ExplainParseFailure(std::string_view body) {
  WireReader top(body);
  size_t series_index = 0;
  while (!top.done()) {
    uint64_t tag;
    if (!top.ReadVarint(&tag)) return "truncated or malformed protobuf";
    uint64_t field = tag >> 3, wt = tag & 7;
    std::string_view sub;
    if (field == 1 && wt == kLengthDelimited) {  // TimeSeries
      if (!top.ReadBytes(&sub)) return "truncated or malformed protobuf";
      std::string where = fmt::format("series #{}", series_index++);
      WireReader ts(sub);
      while (!ts.done()) {
        if (!ts.ReadVarint(&tag)) return "truncated or malformed " + where;
        uint64_t f = tag >> 3, w = tag & 7;
        std::string_view inner;
        if (f == 1 && w == kLengthDelimited) {  // Label
          if (!ts.ReadBytes(&inner)) return "truncated or malformed " + where;
          if (std::string p = CheckLabel(inner, where); !p.empty()) return p;
        } else if (f == 3 && w == kLengthDelimited) {  // Exemplar
          if (!ts.ReadBytes(&inner)) return "truncated or malformed " + where;
          WireReader ex(inner);
          while (!ex.done()) {
            if (!ex.ReadVarint(&tag)) return "truncated or malformed exemplar of " + where;
            std::string_view label;
            if ((tag >> 3) == 1 && (tag & 7) == kLengthDelimited) {
              if (!ex.ReadBytes(&label)) return "truncated or malformed exemplar of " + where;
              if (std::string p = CheckLabel(label, "an exemplar of " + where); !p.empty()) {
                return p;
              }
            } else if (!ex.Skip(tag & 7)) {
              return "truncated or malformed exemplar of " + where;
            }
          }
        } else if (!ts.Skip(w)) {
          return "truncated or malformed " + where;
        }
      }
    } else if (field == 3 && wt == kLengthDelimited) {  // MetricMetadata
      if (!top.ReadBytes(&sub)) return "truncated or malformed protobuf";
      WireReader md(sub);
      while (!md.done()) {
        if (!md.ReadVarint(&tag)) return "truncated or malformed metadata";
        uint64_t f = tag >> 3, w = tag & 7;
        std::string_view s;
        if ((f == 2 || f == 4 || f == 5) && w == kLengthDelimited) {
          if (!md.ReadBytes(&s)) return "truncated or malformed metadata";
          if (!IsValidUtf8(s)) return "metadata string is not valid UTF-8";
        } else if (!md.Skip(w)) {
          return "truncated or malformed metadata";
        }
      }
    } else if (!top.Skip(wt)) {
      return "truncated or malformed protobuf";
    }
  }
  return "malformed protobuf";
}

// protobuf's C++ parser keeps a known field sent with the wrong wire type (e.g. `timeseries`
// as a varint) as an unknown field and reports success; Go's decoder, which Prometheus uses,
// refuses it ("proto: wrong wireType"). Returns a description of the first such field, or "".
// Unknown field numbers (fields newer than ours) stay accepted and ignored, as in Prometheus.
std::string MistypedField(const google::protobuf::Message& m, const std::string& where) {
  const google::protobuf::UnknownFieldSet& unknown =
      m.GetReflection()->GetUnknownFields(m);
  for (int i = 0; i < unknown.field_count(); ++i) {
    const int number = unknown.field(i).number();
    if (const auto* f = m.GetDescriptor()->FindFieldByNumber(number)) {
      return fmt::format("field {} ({}) of {} has the wrong wire type", number, f->name(), where);
    }
  }
  return "";
}

std::string FindMistypedField(const prometheus::WriteRequest& req) {
  if (std::string p = MistypedField(req, "the WriteRequest"); !p.empty()) return p;
  for (int i = 0; i < req.timeseries_size(); ++i) {
    const prometheus::TimeSeries& ts = req.timeseries(i);
    const std::string where = fmt::format("series #{}", i);
    if (std::string p = MistypedField(ts, where); !p.empty()) return p;
    for (const auto& l : ts.labels()) {
      if (std::string p = MistypedField(l, "a label of " + where); !p.empty()) return p;
    }
    for (const auto& smp : ts.samples()) {
      if (std::string p = MistypedField(smp, "a sample of " + where); !p.empty()) return p;
    }
    for (const auto& e : ts.exemplars()) {
      if (std::string p = MistypedField(e, "an exemplar of " + where); !p.empty()) return p;
    }
  }
  for (const auto& md : req.metadata()) {
    if (std::string p = MistypedField(md, "metadata"); !p.empty()) return p;
  }
  return "";
}

}  // namespace

Status HandleRemoteWrite(std::string_view snappy_body, const RemoteWriteOptions& opts,
                         tsdb::Appender* app, WriteStats* stats) {
  Result<std::string> decoded = SnappyUncompress(snappy_body, opts.max_decoded_bytes);
  if (!decoded.ok()) {
    app->Rollback();
    return decoded.status();
  }
  prometheus::WriteRequest req;
  if (!req.ParseFromString(*decoded)) {
    app->Rollback();
    return Status::InvalidArgument("cannot decode remote write request: " +
                                   ExplainParseFailure(*decoded));
  }
  if (std::string p = FindMistypedField(req); !p.empty()) {
    app->Rollback();
    return Status::InvalidArgument("cannot decode remote write request: " + p);
  }
  return ApplyWriteRequest(req, opts, app, stats);
}

Status ApplyWriteRequest(const prometheus::WriteRequest& req, const RemoteWriteOptions& opts,
                         tsdb::Appender* app, WriteStats* stats) {
  WriteStats local;
  WriteStats& s = stats != nullptr ? *stats : local;
  s = WriteStats{};
  auto reject = [&s](uint64_t n, const std::string& why) {
    s.rejected += n;
    if (s.first_error.empty()) s.first_error = why;
  };
  auto abandon = [&s, app](Status st) {
    app->Rollback();
    s.samples = s.histograms = s.exemplars = s.metadata = 0;
    return st;
  };

  for (const prometheus::MetricMetadata& md : req.metadata()) {
    if (md.metric_family_name().empty()) continue;
    MetricMetadata m{.metric_family = md.metric_family_name(),
                     .type = FromProto(md.type()),
                     .help = md.help(),
                     .unit = md.unit()};
    Status st = app->UpdateMetadata(m);
    if (st.ok()) {
      ++s.metadata;
    } else if (!IsPerSampleError(st)) {
      return abandon(st);
    }
  }

  for (const prometheus::TimeSeries& ts : req.timeseries()) {
    Result<Labels> labels = SeriesLabels(ts.labels(), opts);
    if (!labels.ok()) {
      uint64_t n = static_cast<uint64_t>(ts.samples_size() + ts.histograms_size());
      reject(std::max<uint64_t>(n, 1),
             labels.status().message() + " for series " + DescribeSeries(ts.labels()));
      continue;
    }
    for (const prometheus::Sample& sample : ts.samples()) {
      Status st = app->Append(*labels, sample.timestamp(), sample.value());
      if (st.ok()) {
        ++s.samples;
      } else if (IsPerSampleError(st)) {
        reject(1, fmt::format("{} for series {} at timestamp {}", st.message(),
                              DescribeSeries(ts.labels()), sample.timestamp()));
      } else {
        return abandon(st);
      }
    }
    for (const prometheus::Exemplar& e : ts.exemplars()) {
      Result<Labels> el = ExemplarLabels(e.labels());
      if (!el.ok()) continue;
      Status st = app->AppendExemplar(*labels, Exemplar{*el, e.value(), e.timestamp()});
      if (st.ok()) {
        ++s.exemplars;
      } else if (!IsPerSampleError(st)) {
        return abandon(st);
      }
    }
    for (const prometheus::Histogram& ph : ts.histograms()) {
      Result<tsdb::HistogramSample> hs = FromProto(ph);
      Status st = hs.ok() ? app->AppendHistogram(*labels, *hs) : hs.status();
      if (st.ok()) {
        ++s.histograms;
      } else if (IsPerSampleError(st)) {
        reject(1, fmt::format("{} for series {} at timestamp {}", st.message(),
                              DescribeSeries(ts.labels()), ph.timestamp()));
      } else {
        return abandon(st);
      }
    }
  }

  if (Status st = app->Commit(); !st.ok()) {
    s.samples = s.histograms = s.exemplars = s.metadata = 0;
    return st;
  }
  if (s.rejected == 0) return Status::OK();
  if (s.rejected == 1) return Status::InvalidArgument(s.first_error);
  return Status::InvalidArgument(
      fmt::format("{} (and {} more rejected)", s.first_error, s.rejected - 1));
}

}  // namespace argus::ingest
