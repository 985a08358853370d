#include "ingest/remote_write.h"

#include <fmt/format.h>
#include <google/protobuf/unknown_field_set.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "ingest/compression.h"
#include "model/histogram.h"
#include "model/labels.h"
#include "model/labels_view.h"
#include "model/sample.h"
#include "util/protowire.h"

namespace argus::ingest {

namespace {

// Errors that concern one sample or series; anything else (Unavailable, ResourceExhausted,
// IOError, ...) means the storage cannot take writes and the whole batch is abandoned.
bool IsPerSampleError(const Status& st) {
  return st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kOutOfOrder ||
         st.code() == StatusCode::kUnimplemented;
}

// A request decoded without copying: label strings point into the decoded body, which must
// outlive it. Only the rare parts (native histograms, metadata) are parsed into generated
// protobuf messages. Series, samples and exemplars refer to ranges of the flat vectors, so a
// request of thousands of series costs a handful of allocations.
struct Range {
  uint32_t begin = 0, end = 0;
  uint32_t size() const { return end - begin; }
};
struct ExemplarView {
  Range labels;
  double value = 0;
  int64_t t_ms = 0;
};
struct SeriesView {
  Range labels, samples, exemplars, histograms;
};
struct RequestView {
  std::vector<LabelRef> labels;  // series and exemplar labels, as sent
  std::vector<Sample> samples;
  std::vector<ExemplarView> exemplars;
  std::vector<prometheus::Histogram> histograms;
  std::vector<prometheus::MetricMetadata> metadata;
  std::vector<SeriesView> series;
};

// A short, bounded description of a series for error messages: label values may be megabytes.
std::string DescribeSeries(std::span<const LabelRef> labels) {
  constexpr size_t kMaxValueBytes = 64;
  constexpr size_t kMaxTotalBytes = 512;
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (out.size() > kMaxTotalBytes) {
      out += ", ...";
      break;
    }
    if (i > 0) out += ", ";
    std::string_view n = labels[i].name.substr(0, kMaxValueBytes);
    std::string_view v = labels[i].value;
    if (!IsValidUtf8(n) || !IsValidUtf8(v)) {
      out += "<label that is not valid UTF-8>";
      continue;
    }
    out += fmt::format("{}={:?}", n, v.substr(0, kMaxValueBytes));
    if (v.size() > kMaxValueBytes) out += "...";
  }
  out += "}";
  return out;
}

// Validates one series' labels (see HandleRemoteWrite) and leaves them in `out` sorted, without
// empty values (`out` is reused across series to avoid allocating).
Status SeriesLabels(std::span<const LabelRef> in, size_t index, const RemoteWriteOptions& opts,
                    std::vector<LabelRef>* out) {
  if (in.empty()) return Status::InvalidArgument("invalid series: no labels");
  out->clear();
  for (const LabelRef& l : in) {
    if (l.name.empty()) return Status::InvalidArgument("invalid label: empty label name");
    if (l.value.size() > opts.max_label_value_bytes) {
      return Status::InvalidArgument(
          fmt::format("label value too long: label {:?} has a value of {} bytes, the limit is {}",
                      IsValidUtf8(l.name) ? l.name : "?", l.value.size(),
                      opts.max_label_value_bytes));
    }
    // proto3 strings must be UTF-8; Go's decoder, which Prometheus uses, refuses the others.
    if (!IsValidUtf8(l.name)) {
      return Status::InvalidArgument(
          fmt::format("label name of series #{} is not valid UTF-8", index));
    }
    if (!IsValidUtf8(l.value)) {
      return Status::InvalidArgument(
          fmt::format("label value of series #{} is not valid UTF-8", index));
    }
    out->push_back(l);
  }
  auto by_name = [](const LabelRef& a, const LabelRef& b) { return a.name < b.name; };
  if (!std::is_sorted(out->begin(), out->end(), by_name)) {
    std::sort(out->begin(), out->end(), by_name);
  }
  for (size_t i = 1; i < out->size(); ++i) {
    if ((*out)[i].name == (*out)[i - 1].name) {
      return Status::InvalidArgument(fmt::format("duplicate label name {:?}", (*out)[i].name));
    }
  }
  std::erase_if(*out, [](const LabelRef& l) { return l.value.empty(); });
  if (LabelsView(*out).Get(kMetricNameLabel).empty()) {
    return Status::InvalidArgument("invalid series: no metric name (__name__ label)");
  }
  return Status::OK();
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

Result<Labels> ExemplarLabels(std::span<const LabelRef> in) {
  std::vector<Label> ls;
  ls.reserve(in.size());
  for (const LabelRef& l : in) {
    if (l.name.empty() || !IsValidUtf8(l.name) || !IsValidUtf8(l.value)) {
      return Status::InvalidArgument("invalid exemplar label");
    }
    ls.push_back(Label{std::string(l.name), std::string(l.value)});
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

// Reads the fields of one message: `on_field(number, wire_type, reader)` consumes a field it
// knows and returns "" or a problem; unknown field numbers are skipped (fields newer than ours
// are accepted and ignored, as in Prometheus).
template <class OnField>
std::string ForEachField(std::string_view msg, const char* truncated, OnField&& on_field) {
  WireReader r(msg);
  while (!r.done()) {
    uint64_t tag;
    if (!r.ReadVarint(&tag)) return truncated;
    const uint64_t field = tag >> 3, wt = tag & 7;
    std::string problem;
    if (!on_field(field, wt, r, &problem)) {
      if (!r.Skip(wt)) return truncated;
    }
    if (!problem.empty()) return problem;
  }
  return "";
}

// Go's decoder, which Prometheus uses, refuses a known field sent with another wire type
// ("proto: wrong wireType"); so do we.
std::string WrongWireType(uint64_t field, std::string_view name, std::string_view where) {
  return fmt::format("field {} ({}) of {} has the wrong wire type", field, name, where);
}

// Where a message sits in the request, for error messages; formatted only on error.
struct Where {
  const char* what;  // "a label of ", "an exemplar of ", ...; "" for the series itself
  size_t series;
  std::string str() const { return fmt::format("{}series #{}", what, series); }
};

// Reads a Label message into `out`.
std::string DecodeLabel(std::string_view msg, Where where, LabelRef* out) {
  return ForEachField(msg, "truncated label", [&](uint64_t f, uint64_t wt, WireReader& r,
                                                  std::string* problem) {
    if (f != 1 && f != 2) return false;
    if (wt != WireReader::kLengthDelimited) {
      *problem = WrongWireType(f, f == 1 ? "name" : "value", where.str());
    } else if (!r.ReadBytes(f == 1 ? &out->name : &out->value)) {
      *problem = "truncated label";
    }
    return true;
  });
}

// protobuf's C++ parser keeps a known field with the wrong wire type as an unknown field and
// reports success; for the messages parsed with it, this finds such a field ("" if none).
std::string MistypedField(const google::protobuf::Message& m, std::string_view where) {
  const google::protobuf::UnknownFieldSet& unknown = m.GetReflection()->GetUnknownFields(m);
  for (int i = 0; i < unknown.field_count(); ++i) {
    const int number = unknown.field(i).number();
    if (const auto* f = m.GetDescriptor()->FindFieldByNumber(number)) {
      return WrongWireType(static_cast<uint64_t>(number), f->name(), where);
    }
  }
  return "";
}

std::string DecodeExemplar(std::string_view msg, size_t series, RequestView* req) {
  ExemplarView e;
  e.labels.begin = e.labels.end = static_cast<uint32_t>(req->labels.size());
  const Where where{"an exemplar of ", series};
  const char* truncated = "truncated or malformed exemplar";
  std::string p = ForEachField(msg, truncated, [&](uint64_t f, uint64_t wt, WireReader& r,
                                                   std::string* problem) {
    static constexpr const char* kNames[] = {"", "labels", "value", "timestamp"};
    static constexpr uint64_t kTypes[] = {0, WireReader::kLengthDelimited, WireReader::kFixed64,
                                          WireReader::kVarint};
    if (f < 1 || f > 3) return false;
    if (wt != kTypes[f]) {
      *problem = WrongWireType(f, kNames[f], where.str());
      return true;
    }
    uint64_t v = 0;
    std::string_view sub;
    if (f == 1) {
      if (!r.ReadBytes(&sub)) {
        *problem = truncated;
      } else {
        *problem = DecodeLabel(sub, Where{"a label of an exemplar of ", series},
                               &req->labels.emplace_back());
        e.labels.end = static_cast<uint32_t>(req->labels.size());
      }
    } else if (!(f == 2 ? r.ReadFixed64(&v) : r.ReadVarint(&v))) {
      *problem = truncated;
    } else if (f == 2) {
      e.value = std::bit_cast<double>(v);
    } else {
      e.t_ms = static_cast<int64_t>(v);
    }
    return true;
  });
  if (p.empty()) req->exemplars.push_back(e);
  return p;
}

std::string DecodeSample(std::string_view msg, size_t series, Sample* out) {
  const char* truncated = "truncated sample";
  return ForEachField(msg, truncated, [&](uint64_t f, uint64_t wt, WireReader& r,
                                          std::string* problem) {
    if (f != 1 && f != 2) return false;
    const uint64_t want = f == 1 ? WireReader::kFixed64 : WireReader::kVarint;
    uint64_t v = 0;
    if (wt != want) {
      *problem = WrongWireType(f, f == 1 ? "value" : "timestamp",
                               Where{"a sample of ", series}.str());
    } else if (!(f == 1 ? r.ReadFixed64(&v) : r.ReadVarint(&v))) {
      *problem = truncated;
    } else if (f == 1) {
      out->v = std::bit_cast<double>(v);
    } else {
      out->t_ms = static_cast<int64_t>(v);
    }
    return true;
  });
}

std::string DecodeSeries(std::string_view msg, size_t index, RequestView* req) {
  SeriesView s;
  const auto n_labels = [&] { return static_cast<uint32_t>(req->labels.size()); };
  s.labels.begin = s.labels.end = n_labels();
  s.samples.begin = s.samples.end = static_cast<uint32_t>(req->samples.size());
  s.exemplars.begin = s.exemplars.end = static_cast<uint32_t>(req->exemplars.size());
  s.histograms.begin = s.histograms.end = static_cast<uint32_t>(req->histograms.size());
  const Where where{"", index};
  std::string p = ForEachField(msg, "truncated or malformed series", [&](uint64_t f, uint64_t wt,
                                                                        WireReader& r,
                                                                        std::string* problem) {
    static constexpr const char* kNames[] = {"", "labels", "samples", "exemplars", "histograms"};
    if (f < 1 || f > 4) return false;
    std::string_view sub;
    if (wt != WireReader::kLengthDelimited) {
      *problem = WrongWireType(f, kNames[f], where.str());
      return true;
    }
    if (!r.ReadBytes(&sub)) {
      *problem = "truncated or malformed " + where.str();
      return true;
    }
    switch (f) {
      case 1:
        // Every sender writes a series' labels together; labels split around its exemplars
        // would interleave with the exemplars' labels in the flat vector.
        if (s.labels.end != n_labels()) {
          *problem = "the labels of " + where.str() + " are not contiguous";
          return true;
        }
        *problem = DecodeLabel(sub, Where{"a label of ", index}, &req->labels.emplace_back());
        s.labels.end = n_labels();
        break;
      case 2:
        *problem = DecodeSample(sub, index, &req->samples.emplace_back());
        s.samples.end = static_cast<uint32_t>(req->samples.size());
        break;
      case 3:
        *problem = DecodeExemplar(sub, index, req);
        s.exemplars.end = static_cast<uint32_t>(req->exemplars.size());
        break;
      case 4: {
        prometheus::Histogram& h = req->histograms.emplace_back();
        if (!h.ParseFromArray(sub.data(), static_cast<int>(sub.size()))) {
          *problem = "truncated or malformed histogram of " + where.str();
        } else {
          *problem = MistypedField(h, "a histogram of " + where.str());
        }
        s.histograms.end = static_cast<uint32_t>(req->histograms.size());
        break;
      }
    }
    if (*problem == "truncated label" || *problem == "truncated sample") {
      *problem = "truncated or malformed " + where.str();
    }
    return true;
  });
  if (p.empty()) req->series.push_back(s);
  return p;
}

// Decodes a WriteRequest body (proto/prometheus/remote.proto). Returns "" or what is wrong with
// it; on error `req` is partly filled and must not be used.
std::string DecodeWriteRequest(std::string_view body, RequestView* req) {
  size_t index = 0;
  return ForEachField(body, "truncated or malformed protobuf", [&](uint64_t f, uint64_t wt,
                                                                   WireReader& r,
                                                                   std::string* problem) {
    if (f != 1 && f != 3) return false;
    if (wt != WireReader::kLengthDelimited) {
      *problem = WrongWireType(f, f == 1 ? "timeseries" : "metadata", "the WriteRequest");
      return true;
    }
    std::string_view sub;
    if (!r.ReadBytes(&sub)) {
      *problem = "truncated or malformed protobuf";
      return true;
    }
    if (f == 1) {
      *problem = DecodeSeries(sub, index++, req);
    } else {
      prometheus::MetricMetadata& md = req->metadata.emplace_back();
      if (!md.ParseFromArray(sub.data(), static_cast<int>(sub.size()))) {
        *problem = "truncated or malformed metadata, or a metadata string that is not valid UTF-8";
      } else {
        *problem = MistypedField(md, "metadata");
      }
    }
    return true;
  });
}

// Validates and appends a decoded request, then commits (the contract of HandleRemoteWrite).
Status Apply(const RequestView& req, const RemoteWriteOptions& opts, tsdb::Appender* app,
             WriteStats* stats) {
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

  for (const prometheus::MetricMetadata& md : req.metadata) {
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

  const std::span<const LabelRef> all_labels(req.labels);
  auto range = [](const auto& v, Range r) { return std::span(v).subspan(r.begin, r.size()); };
  std::vector<LabelRef> sorted;
  std::optional<Labels> owned;  // for exemplars and histograms, which take owning Labels
  for (size_t i = 0; i < req.series.size(); ++i) {
    const SeriesView& ts = req.series[i];
    const std::span<const LabelRef> sent = all_labels.subspan(ts.labels.begin, ts.labels.size());
    if (Status st = SeriesLabels(sent, i, opts, &sorted); !st.ok()) {
      uint64_t n = ts.samples.size() + ts.histograms.size();
      reject(std::max<uint64_t>(n, 1), st.message() + " for series " + DescribeSeries(sent));
      continue;
    }
    const LabelsView labels(sorted);
    owned.reset();
    auto owned_labels = [&]() -> const Labels& {
      if (!owned) owned = labels.ToLabels();
      return *owned;
    };
    for (const Sample& sample : range(req.samples, ts.samples)) {
      Status st = app->AppendBorrowed(labels, sample.t_ms, sample.v);
      if (st.ok()) {
        ++s.samples;
      } else if (IsPerSampleError(st)) {
        reject(1, fmt::format("{} for series {} at timestamp {}", st.message(),
                              DescribeSeries(sent), sample.t_ms));
      } else {
        return abandon(st);
      }
    }
    for (const ExemplarView& e : range(req.exemplars, ts.exemplars)) {
      Result<Labels> el = ExemplarLabels(all_labels.subspan(e.labels.begin, e.labels.size()));
      if (!el.ok()) continue;
      Status st = app->AppendExemplar(owned_labels(), Exemplar{*el, e.value, e.t_ms});
      if (st.ok()) {
        ++s.exemplars;
      } else if (!IsPerSampleError(st)) {
        return abandon(st);
      }
    }
    for (const prometheus::Histogram& ph : range(req.histograms, ts.histograms)) {
      Result<tsdb::HistogramSample> hs = FromProto(ph);
      Status st = hs.ok() ? app->AppendHistogram(owned_labels(), *hs) : hs.status();
      if (st.ok()) {
        ++s.histograms;
      } else if (IsPerSampleError(st)) {
        reject(1, fmt::format("{} for series {} at timestamp {}", st.message(),
                              DescribeSeries(sent), ph.timestamp()));
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

Status DecodeAndApply(std::string_view body, const RemoteWriteOptions& opts, tsdb::Appender* app,
                      WriteStats* stats) {
  RequestView req;
  if (std::string problem = DecodeWriteRequest(body, &req); !problem.empty()) {
    app->Rollback();
    if (stats != nullptr) *stats = WriteStats{};
    return Status::InvalidArgument("cannot decode remote write request: " + problem);
  }
  return Apply(req, opts, app, stats);
}

}  // namespace

Status HandleRemoteWrite(std::string_view snappy_body, const RemoteWriteOptions& opts,
                         tsdb::Appender* app, WriteStats* stats) {
  Result<std::string> decoded = SnappyUncompress(snappy_body, opts.max_decoded_bytes);
  if (!decoded.ok()) {
    app->Rollback();
    return decoded.status();
  }
  return DecodeAndApply(*decoded, opts, app, stats);
}

Status ApplyWriteRequest(const prometheus::WriteRequest& req, const RemoteWriteOptions& opts,
                         tsdb::Appender* app, WriteStats* stats) {
  // Partial: a request built in memory may hold strings that are not UTF-8, which full
  // serialization refuses; the decoder rejects those series as it does on the wire.
  std::string body;
  if (!req.SerializePartialToString(&body)) {
    app->Rollback();
    return Status::InvalidArgument("cannot encode the remote write request");
  }
  return DecodeAndApply(body, opts, app, stats);
}

}  // namespace argus::ingest
