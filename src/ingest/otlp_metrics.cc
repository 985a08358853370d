#include "ingest/otlp_metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <unordered_map>
#include <utility>

#include "model/sample.h"

namespace argus::ingest {

namespace otlp_common = opentelemetry::proto::common::v1;
namespace otlp_metrics = opentelemetry::proto::metrics::v1;
namespace otlp_resource = opentelemetry::proto::resource::v1;
using opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;

namespace {

// ---------------------------------------------------------------------------------------------
// Names (github.com/prometheus/otlptranslator: MetricNamer, LabelNamer, UnitNamer).

// Length of the UTF-8 sequence starting with `lead`; 1 for a stray byte, so that every byte is
// consumed exactly once.
size_t RuneLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xf0 && lead < 0xf8) return 4;
  if (lead >= 0xe0) return lead < 0xf0 ? 3 : 1;
  if (lead >= 0xc0) return 2;
  return 1;
}

bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

// Calls fn(rune, is_single_byte) for each rune of `s`.
template <typename Fn>
void ForEachRune(std::string_view s, Fn fn) {
  for (size_t i = 0; i < s.size();) {
    size_t n = std::min(RuneLength(static_cast<unsigned char>(s[i])), s.size() - i);
    fn(s.substr(i, n));
    i += n;
  }
}

// Characters kept in metric-name tokens: [a-zA-Z0-9:] (the underscore separates tokens).
bool IsMetricTokenRune(std::string_view rune) {
  return rune.size() == 1 && (IsAsciiAlnum(rune[0]) || rune[0] == ':');
}

std::vector<std::string> NameTokens(std::string_view name) {
  std::vector<std::string> tokens;
  std::string cur;
  ForEachRune(name, [&](std::string_view r) {
    if (IsMetricTokenRune(r)) {
      cur += r;
    } else if (!cur.empty()) {
      tokens.push_back(std::move(cur));
      cur.clear();
    }
  });
  if (!cur.empty()) tokens.push_back(std::move(cur));
  return tokens;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' ||
                        s.front() == '\r' || s.front() == '\v' || s.front() == '\f')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' ||
                        s.back() == '\r' || s.back() == '\v' || s.back() == '\f')) {
    s.remove_suffix(1);
  }
  return s;
}

// UCUM unit -> Prometheus unit word (otlptranslator's unitMap).
std::string_view MainUnitWord(std::string_view unit) {
  static const std::unordered_map<std::string_view, std::string_view> kUnits = {
      {"d", "days"},
      {"h", "hours"},
      {"min", "minutes"},
      {"s", "seconds"},
      {"ms", "milliseconds"},
      {"us", "microseconds"},
      {"ns", "nanoseconds"},
      {"By", "bytes"},
      {"KiBy", "kibibytes"},
      {"MiBy", "mebibytes"},
      {"GiBy", "gibibytes"},
      {"TiBy", "tibibytes"},
      {"KBy", "kilobytes"},
      {"MBy", "megabytes"},
      {"GBy", "gigabytes"},
      {"TBy", "terabytes"},
      {"m", "meters"},
      {"V", "volts"},
      {"A", "amperes"},
      {"J", "joules"},
      {"W", "watts"},
      {"g", "grams"},
      {"Cel", "celsius"},
      {"Hz", "hertz"},
      {"1", ""},
      {"%", "percent"},
  };
  auto it = kUnits.find(unit);
  return it == kUnits.end() ? unit : it->second;
}

// The "per" part of a UCUM unit ("By/s": "s") -> singular word (otlptranslator's perUnitMap).
std::string_view PerUnitWord(std::string_view unit) {
  static const std::unordered_map<std::string_view, std::string_view> kPerUnits = {
      {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
      {"w", "week"},   {"mo", "month"}, {"y", "year"},
  };
  auto it = kPerUnits.find(unit);
  return it == kPerUnits.end() ? unit : it->second;
}

bool HasBraces(std::string_view s) {
  return s.find('{') != std::string_view::npos || s.find('}') != std::string_view::npos;
}

// Splits `unit` at the first '/' into the main suffix ("bytes") and the per suffix
// ("per_second"); annotations in braces ("{request}") give no suffix.
std::pair<std::string, std::string> UnitSuffixes(std::string_view unit) {
  std::string main_suffix, per_suffix;
  size_t slash = unit.find('/');
  std::string_view main_unit = Trim(unit.substr(0, slash));
  if (!main_unit.empty() && !HasBraces(main_unit)) main_suffix = MainUnitWord(main_unit);
  if (slash != std::string_view::npos && slash + 1 < unit.size()) {
    std::string_view per_unit = Trim(unit.substr(slash + 1));
    if (!per_unit.empty() && !HasBraces(per_unit)) per_suffix = PerUnitWord(per_unit);
    if (!per_suffix.empty()) per_suffix = "per_" + per_suffix;
  }
  return {main_suffix, per_suffix};
}

// Makes a unit suffix name-safe: other runes become '_', runs of '_' collapse, one leading '_'
// goes.
std::string CleanUpUnit(std::string_view unit) {
  std::string out;
  ForEachRune(unit, [&](std::string_view r) {
    char c = IsMetricTokenRune(r) ? r[0] : '_';
    if (c == '_' && !out.empty() && out.back() == '_') return;
    out.push_back(c);
  });
  if (!out.empty() && out.front() == '_') out.erase(0, 1);
  return out;
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void RemoveAll(std::vector<std::string>* v, std::string_view s) {
  std::erase_if(*v, [s](const std::string& t) { return t == s; });
}

std::string TrimSuffix(std::string s, std::string_view suffix) {
  if (s.size() >= suffix.size() &&
      s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) {
    s.resize(s.size() - suffix.size());
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Values.

// Go's strconv.FormatFloat(v, 'f', -1, 64), as Prometheus formats `le` and `quantile`.
std::string FormatFloatShortest(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

// A double attribute as text: the ECMAScript number-to-string rule that pdata's
// Value.AsString uses (fixed notation for 1e-6 <= |v| < 1e21, else exponent notation).
std::string FormatAttributeDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  double a = std::fabs(v);
  char buf[400];
  if (a != 0 && (a < 1e-6 || a >= 1e21)) {
    auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
    std::string s(buf, r.ptr);
    // "1e-07" -> "1e-7", as Go's encoding/json writes it.
    size_t n = s.size();
    if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') s.erase(n - 2, 1);
    return s;
  }
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                 static_cast<uint8_t>(in[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          out->append(fmt::format("\\u{:04x}", c));
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void AppendJson(std::string* out, const otlp_common::AnyValue& v);

void AppendJsonObject(std::string* out, const otlp_common::KeyValueList& kvs) {
  // Go's encoding/json writes map keys sorted.
  std::vector<const otlp_common::KeyValue*> sorted;
  for (const auto& kv : kvs.values()) sorted.push_back(&kv);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto* a, const auto* b) { return a->key() < b->key(); });
  out->push_back('{');
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(out, sorted[i]->key());
    out->push_back(':');
    AppendJson(out, sorted[i]->value());
  }
  out->push_back('}');
}

void AppendJson(std::string* out, const otlp_common::AnyValue& v) {
  switch (v.value_case()) {
    case otlp_common::AnyValue::kStringValue:
      AppendJsonString(out, v.string_value());
      break;
    case otlp_common::AnyValue::kBoolValue:
      out->append(v.bool_value() ? "true" : "false");
      break;
    case otlp_common::AnyValue::kIntValue:
      out->append(std::to_string(v.int_value()));
      break;
    case otlp_common::AnyValue::kDoubleValue:
      out->append(FormatAttributeDouble(v.double_value()));
      break;
    case otlp_common::AnyValue::kBytesValue:
      AppendJsonString(out, Base64(v.bytes_value()));
      break;
    case otlp_common::AnyValue::kArrayValue: {
      out->push_back('[');
      for (int i = 0; i < v.array_value().values_size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendJson(out, v.array_value().values(i));
      }
      out->push_back(']');
      break;
    }
    case otlp_common::AnyValue::kKvlistValue:
      AppendJsonObject(out, v.kvlist_value());
      break;
    default:
      out->append("null");
  }
}

// An attribute value as a label value (pdata's Value.AsString).
std::string AnyValueToString(const otlp_common::AnyValue& v) {
  switch (v.value_case()) {
    case otlp_common::AnyValue::kStringValue:
      return v.string_value();
    case otlp_common::AnyValue::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case otlp_common::AnyValue::kIntValue:
      return std::to_string(v.int_value());
    case otlp_common::AnyValue::kDoubleValue:
      return FormatAttributeDouble(v.double_value());
    case otlp_common::AnyValue::kBytesValue:
      return Base64(v.bytes_value());
    case otlp_common::AnyValue::kArrayValue:
    case otlp_common::AnyValue::kKvlistValue: {
      std::string out;
      AppendJson(&out, v);
      return out;
    }
    default:
      return "";
  }
}

size_t RuneCount(std::string_view s) {
  size_t n = 0;
  ForEachRune(s, [&n](std::string_view) { ++n; });
  return n;
}

int64_t NsToMs(uint64_t ns) { return static_cast<int64_t>(ns / 1'000'000); }

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsPerSampleError(const Status& st) {
  return st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kOutOfOrder ||
         st.code() == StatusCode::kUnimplemented;
}

constexpr uint32_t kNoRecordedValue =
    otlp_metrics::DataPointFlags::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK;
constexpr std::string_view kServiceName = "service.name";
constexpr std::string_view kServiceNamespace = "service.namespace";
constexpr std::string_view kServiceInstanceId = "service.instance.id";
// target_info gets a sample every half lookback delta (Prometheus' default lookback is 5 min)
// from the earliest to the latest point of the resource; at most this many per request.
constexpr int64_t kTargetInfoIntervalMs = 150'000;
constexpr int64_t kMaxTargetInfoSamples = 64;
// OpenMetrics' limit on the combined length of exemplar label names and values, in runes.
constexpr size_t kMaxExemplarRunes = 128;

// The identifying labels a resource gives every series.
struct ResourceIdentity {
  std::optional<std::string> job;
  std::optional<std::string> instance;
};

const otlp_common::AnyValue* FindAttribute(
    const google::protobuf::RepeatedPtrField<otlp_common::KeyValue>& attrs, std::string_view key) {
  for (const auto& kv : attrs) {
    if (kv.key() == key) return &kv.value();
  }
  return nullptr;
}

ResourceIdentity IdentityOf(const otlp_resource::Resource& resource) {
  ResourceIdentity id;
  const auto& attrs = resource.attributes();
  if (const auto* name = FindAttribute(attrs, kServiceName)) {
    std::string job = AnyValueToString(*name);
    if (const auto* ns = FindAttribute(attrs, kServiceNamespace)) {
      job = AnyValueToString(*ns) + "/" + job;
    }
    id.job = std::move(job);
  }
  if (const auto* inst = FindAttribute(attrs, kServiceInstanceId)) {
    id.instance = AnyValueToString(*inst);
  }
  return id;
}

// Label set of a point (Prometheus' createAttributes): the attributes sorted by key with
// sanitised names (values of keys that collide after sanitising are joined with ';' in key
// order), then job and instance from the resource, which win over attributes.
std::map<std::string, std::string> AttributeLabels(
    const google::protobuf::RepeatedPtrField<otlp_common::KeyValue>& attrs,
    const ResourceIdentity& id, const std::vector<std::string_view>& ignore = {}) {
  std::vector<std::pair<std::string_view, const otlp_common::AnyValue*>> sorted;
  sorted.reserve(attrs.size());
  for (const auto& kv : attrs) {
    if (std::find(ignore.begin(), ignore.end(), kv.key()) != ignore.end()) continue;
    sorted.emplace_back(kv.key(), &kv.value());
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : sorted) {
    std::string name = OtlpLabelName(key);
    if (name.empty()) continue;
    std::string v = AnyValueToString(*value);
    auto [it, inserted] = out.try_emplace(std::move(name), v);
    if (!inserted) it->second += ";" + v;
  }
  if (id.job) out["job"] = *id.job;
  if (id.instance) out["instance"] = *id.instance;
  return out;
}

// `base` plus __name__ (and one more label, e.g. le), as a Labels (empty values dropped).
Labels SeriesLabels(const std::map<std::string, std::string>& base, std::string_view name,
                    std::string_view extra_name = {}, std::string_view extra_value = {}) {
  std::vector<Label> out;
  out.reserve(base.size() + 2);
  for (const auto& [k, v] : base) {
    if (v.empty() || k == kMetricNameLabel || (!extra_name.empty() && k == extra_name)) continue;
    out.push_back(Label{k, v});
  }
  out.push_back(Label{std::string(kMetricNameLabel), std::string(name)});
  if (!extra_name.empty() && !extra_value.empty()) {
    out.push_back(Label{std::string(extra_name), std::string(extra_value)});
  }
  std::sort(out.begin(), out.end(), [](const Label& a, const Label& b) { return a.name < b.name; });
  return Labels::FromSorted(std::move(out));
}

std::optional<Exemplar> ToExemplar(const otlp_metrics::Exemplar& e) {
  Exemplar out;
  switch (e.value_case()) {
    case otlp_metrics::Exemplar::kAsDouble:
      out.value = e.as_double();
      break;
    case otlp_metrics::Exemplar::kAsInt:
      out.value = static_cast<double>(e.as_int());
      break;
    default:
      return std::nullopt;
  }
  out.t_ms = NsToMs(e.time_unix_nano());
  std::vector<Label> labels;
  size_t runes = 0;
  if (!e.trace_id().empty()) {
    labels.push_back(Label{"trace_id", Hex(e.trace_id())});
    runes += 8 + labels.back().value.size();
  }
  if (!e.span_id().empty()) {
    labels.push_back(Label{"span_id", Hex(e.span_id())});
    runes += 7 + labels.back().value.size();
  }
  std::vector<Label> filtered;
  for (const auto& kv : e.filtered_attributes()) {
    std::string v = AnyValueToString(kv.value());
    runes += RuneCount(kv.key()) + RuneCount(v);
    filtered.push_back(Label{kv.key(), std::move(v)});
  }
  // Filtered attributes only fit if the whole label set stays within the OpenMetrics limit.
  if (runes <= kMaxExemplarRunes) {
    for (auto& l : filtered) {
      if (!l.name.empty()) labels.push_back(std::move(l));
    }
  }
  Result<Labels> ls = Labels::FromUnsorted(std::move(labels));
  if (!ls.ok()) return std::nullopt;
  out.labels = std::move(*ls);
  return out;
}

template <typename Points>
void ExtendRange(const Points& points, uint64_t* earliest_ns, uint64_t* latest_ns) {
  for (const auto& p : points) {
    *earliest_ns = std::min<uint64_t>(*earliest_ns, p.time_unix_nano());
    *latest_ns = std::max<uint64_t>(*latest_ns, p.time_unix_nano());
  }
}

// Translates one request. Per-point problems are collected in `result_`; a storage failure is
// returned and ends the translation.
// Prometheus' zero threshold for OTLP points that give none (otlptranslator
// defaultZeroThreshold).
constexpr double kDefaultZeroThreshold = 1e-128;

// One side of an exponential histogram point as Prometheus spans and delta buckets. OTLP bucket
// `offset + i` covers (base^(offset+i), base^(offset+i+1)]; Prometheus' index of that range is
// one higher. With scale_down > 0 (OTLP scale above 8), 2^scale_down neighbouring buckets are
// merged: Prometheus index ((offset + i) >> scale_down) + 1. Empty buckets are dropped and gaps
// of up to two buckets are filled with zeros instead of starting a new span (as Prometheus'
// convertBucketsLayout, after client_golang).
void ConvertBuckets(const otlp_metrics::ExponentialHistogramDataPoint::Buckets& b,
                    int32_t scale_down, std::vector<Span>* spans, std::vector<int64_t>* deltas) {
  std::vector<std::pair<int32_t, uint64_t>> merged;
  for (int i = 0; i < b.bucket_counts_size(); ++i) {
    const int32_t idx = ((b.offset() + i) >> scale_down) + 1;
    if (!merged.empty() && merged.back().first == idx) {
      merged.back().second += b.bucket_counts(i);
    } else {
      merged.emplace_back(idx, b.bucket_counts(i));
    }
  }
  spans->clear();
  deltas->clear();
  int64_t prev_count = 0, last_idx = 0;
  for (const auto& [idx, count] : merged) {
    if (count == 0) continue;
    if (spans->empty()) {
      spans->push_back(Span{idx, 0});
    } else {
      const int64_t gap = static_cast<int64_t>(idx) - last_idx - 1;
      if (gap > 2) {
        spans->push_back(Span{static_cast<int32_t>(gap), 0});
      } else {
        for (int64_t g = 0; g < gap; ++g) {
          deltas->push_back(-prev_count);
          prev_count = 0;
          ++spans->back().length;
        }
      }
    }
    deltas->push_back(static_cast<int64_t>(count) - prev_count);
    prev_count = static_cast<int64_t>(count);
    ++spans->back().length;
    last_idx = idx;
  }
}

}  // namespace

Result<IntHistogram> ExponentialToNative(const otlp_metrics::ExponentialHistogramDataPoint& p) {
  int32_t scale = p.scale();
  if (scale < kExponentialSchemaMin) {
    return Status::InvalidArgument(fmt::format(
        "cannot convert exponential to native histogram. Scale must be >= -4, was {}", scale));
  }
  int32_t scale_down = 0;
  if (scale > kExponentialSchemaMax) {
    scale_down = scale - kExponentialSchemaMax;
    scale = kExponentialSchemaMax;
  }
  IntHistogram h;
  h.schema = scale;
  h.zero_count = p.zero_count();
  h.zero_threshold = p.zero_threshold() > 0 ? p.zero_threshold() : kDefaultZeroThreshold;
  ConvertBuckets(p.positive(), scale_down, &h.positive_spans, &h.positive_buckets);
  ConvertBuckets(p.negative(), scale_down, &h.negative_spans, &h.negative_buckets);
  if ((p.flags() & kNoRecordedValue) != 0) {
    // Prometheus' stale histogram: sum is the StaleNaN, count its bit pattern.
    h.sum = StaleNaN();
    h.count = kStaleNaNBits;
  } else {
    h.sum = p.has_sum() ? p.sum() : 0;
    h.count = p.count();
  }
  return h;
}

namespace {

class Translator {
 public:
  Translator(DeltaAccumulator* deltas, tsdb::Appender* app, OtlpResult* result)
      : deltas_(deltas), app_(app), result_(result) {}

  Status Run(const ExportMetricsServiceRequest& req) {
    for (const auto& rm : req.resource_metrics()) {
      ResourceIdentity id = IdentityOf(rm.resource());
      uint64_t earliest_ns = std::numeric_limits<uint64_t>::max(), latest_ns = 0;
      for (const auto& sm : rm.scope_metrics()) {
        for (const auto& metric : sm.metrics()) {
          ExtendTimeRange(metric, &earliest_ns, &latest_ns);
          RETURN_IF_ERROR(Metric(metric, id));
        }
      }
      if (earliest_ns != std::numeric_limits<uint64_t>::max()) {
        RETURN_IF_ERROR(TargetInfo(rm.resource(), id, NsToMs(earliest_ns), NsToMs(latest_ns)));
      }
    }
    return Status::OK();
  }

  // Reverts the delta totals this request advanced (the batch is not going to be visible).
  void RevertDeltas() {
    for (auto it = undos_.rbegin(); it != undos_.rend(); ++it) deltas_->Revert(*it);
    undos_.clear();
  }

 private:
  static void ExtendTimeRange(const otlp_metrics::Metric& m, uint64_t* lo, uint64_t* hi) {
    switch (m.data_case()) {
      case otlp_metrics::Metric::kGauge:
        ExtendRange(m.gauge().data_points(), lo, hi);
        break;
      case otlp_metrics::Metric::kSum:
        ExtendRange(m.sum().data_points(), lo, hi);
        break;
      case otlp_metrics::Metric::kHistogram:
        ExtendRange(m.histogram().data_points(), lo, hi);
        break;
      case otlp_metrics::Metric::kExponentialHistogram:
        ExtendRange(m.exponential_histogram().data_points(), lo, hi);
        break;
      case otlp_metrics::Metric::kSummary:
        ExtendRange(m.summary().data_points(), lo, hi);
        break;
      default:
        break;
    }
  }

  // The start timestamp (ms) a point's start_time_unix_nano gives its sample: 0 (unknown)
  // when it is unset, and for delta points, which are stored accumulated into a cumulative
  // series whose start is not the delta interval's (OTLP spec, metrics data model,
  // "Temporality"; storing it would make PromQL see a reset at every point).
  static int64_t StartMs(uint64_t start_time_unix_nano, bool delta) {
    if (delta || start_time_unix_nano == 0) return 0;
    return NsToMs(start_time_unix_nano);
  }

  void Reject(int64_t points, const std::string& why) {
    result_->rejected_points += points;
    if (result_->error_message.empty()) result_->error_message = why;
  }
  void Warn(const std::string& why) {
    if (result_->error_message.empty()) result_->error_message = why;
  }

  // Appends one sample. A per-sample refusal is stored in *point_error (first one wins) and is
  // not an error of this function; storage failures are.
  // A non-zero `st_ms` is stored as the sample's start timestamp.
  Status Append(const Labels& ls, int64_t t_ms, double v, std::string* point_error,
                int64_t st_ms = 0) {
    Status st = st_ms != 0 ? app_->AppendWithST(ls, st_ms, t_ms, v) : app_->Append(ls, t_ms, v);
    if (st.ok()) return st;
    if (!IsPerSampleError(st)) return st;
    if (point_error->empty()) *point_error = st.message();
    return Status::OK();
  }

  Status AppendExemplar(const Labels& ls, const otlp_metrics::Exemplar& e) {
    std::optional<Exemplar> ex = ToExemplar(e);
    if (!ex) return Status::OK();
    Status st = app_->AppendExemplar(ls, *ex);
    // Like Prometheus, a refused exemplar does not fail its sample.
    if (!st.ok() && !IsPerSampleError(st)) return st;
    return Status::OK();
  }

  Status Metric(const otlp_metrics::Metric& m, const ResourceIdentity& id) {
    OtlpMetricKind kind;
    MetricType type;
    int points = 0;
    otlp_metrics::AggregationTemporality temporality =
        otlp_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE;
    switch (m.data_case()) {
      case otlp_metrics::Metric::kGauge:
        kind = OtlpMetricKind::kGauge;
        type = MetricType::kGauge;
        points = m.gauge().data_points_size();
        break;
      case otlp_metrics::Metric::kSum:
        kind = m.sum().is_monotonic() ? OtlpMetricKind::kMonotonicCounter
                                      : OtlpMetricKind::kNonMonotonicCounter;
        type = m.sum().is_monotonic() ? MetricType::kCounter : MetricType::kGauge;
        points = m.sum().data_points_size();
        temporality = m.sum().aggregation_temporality();
        break;
      case otlp_metrics::Metric::kHistogram:
        kind = OtlpMetricKind::kHistogram;
        type = MetricType::kHistogram;
        points = m.histogram().data_points_size();
        temporality = m.histogram().aggregation_temporality();
        break;
      case otlp_metrics::Metric::kExponentialHistogram:
        kind = OtlpMetricKind::kExponentialHistogram;
        type = MetricType::kHistogram;
        points = m.exponential_histogram().data_points_size();
        temporality = m.exponential_histogram().aggregation_temporality();
        break;
      case otlp_metrics::Metric::kSummary:
        kind = OtlpMetricKind::kSummary;
        type = MetricType::kSummary;
        points = m.summary().data_points_size();
        break;
      default:
        Warn(fmt::format("unsupported metric type: metric {:?} has no data", m.name()));
        return Status::OK();
    }
    bool delta = temporality == otlp_metrics::AGGREGATION_TEMPORALITY_DELTA;
    if ((temporality != otlp_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE && !delta) ||
        (delta && deltas_ == nullptr)) {
      Reject(points,
             fmt::format("invalid temporality and type combination for metric {:?}", m.name()));
      return Status::OK();
    }
    if (points == 0) {
      Warn(fmt::format("empty data points. {} is dropped", m.name()));
      return Status::OK();
    }
    std::string family = OtlpMetricName(m.name(), m.unit(), kind);
    if (family.empty()) {
      Reject(points, fmt::format("normalization for metric {:?} resulted in empty name", m.name()));
      return Status::OK();
    }
    Status st = app_->UpdateMetadata(MetricMetadata{.metric_family = family,
                                                    .type = type,
                                                    .help = m.description(),
                                                    .unit = OtlpUnitName(m.unit())});
    if (!st.ok() && !IsPerSampleError(st)) return st;

    switch (m.data_case()) {
      case otlp_metrics::Metric::kGauge:
        for (const auto& p : m.gauge().data_points()) {
          RETURN_IF_ERROR(NumberPoint(p, family, id, /*delta=*/false, /*exemplars=*/false));
        }
        break;
      case otlp_metrics::Metric::kSum:
        for (const auto& p : m.sum().data_points()) {
          RETURN_IF_ERROR(NumberPoint(p, family, id, delta, /*exemplars=*/true, /*with_st=*/true));
        }
        break;
      case otlp_metrics::Metric::kHistogram:
        for (const auto& p : m.histogram().data_points()) {
          RETURN_IF_ERROR(HistogramPoint(p, family, id, delta));
        }
        break;
      case otlp_metrics::Metric::kExponentialHistogram:
        for (const auto& p : m.exponential_histogram().data_points()) {
          RETURN_IF_ERROR(ExponentialHistogramPoint(p, family, id, delta));
        }
        break;
      case otlp_metrics::Metric::kSummary:
        for (const auto& p : m.summary().data_points()) {
          RETURN_IF_ERROR(SummaryPoint(p, family, id));
        }
        break;
      default:
        break;
    }
    return Status::OK();
  }

  // `with_st`: a sum point, whose start_time_unix_nano becomes the sample's start timestamp.
  Status NumberPoint(const otlp_metrics::NumberDataPoint& p, const std::string& family,
                     const ResourceIdentity& id, bool delta, bool exemplars,
                     bool with_st = false) {
    int64_t t_ms = NsToMs(p.time_unix_nano());
    int64_t st_ms = with_st ? StartMs(p.start_time_unix_nano(), delta) : 0;
    Labels ls = SeriesLabels(AttributeLabels(p.attributes(), id), family);
    double v = p.value_case() == otlp_metrics::NumberDataPoint::kAsInt
                   ? static_cast<double>(p.as_int())
                   : p.as_double();
    bool stale = (p.flags() & kNoRecordedValue) != 0;
    bool advanced_delta = false;
    if (stale) {
      v = StaleNaN();
    } else if (delta) {
      if (std::isnan(v)) {
        Reject(1, fmt::format("metric {}: delta point with a NaN value cannot be accumulated",
                              family));
        return Status::OK();
      }
      DeltaAccumulator::Undo undo;
      Result<double> total = deltas_->AddSum(ls, t_ms, v, &undo);
      if (!total.ok()) {
        Reject(1, fmt::format("metric {}: {}", family, total.status().message()));
        return Status::OK();
      }
      v = *total;
      undos_.push_back(std::move(undo));
      advanced_delta = true;
    }
    std::string point_error;
    RETURN_IF_ERROR(Append(ls, t_ms, v, &point_error, st_ms));
    if (!point_error.empty()) {
      if (advanced_delta) {
        deltas_->Revert(undos_.back());
        undos_.pop_back();
      }
      Reject(1, fmt::format("metric {}: {}", family, point_error));
      return Status::OK();
    }
    if (exemplars) {
      for (const auto& e : p.exemplars()) RETURN_IF_ERROR(AppendExemplar(ls, e));
    }
    return Status::OK();
  }

  Status HistogramPoint(const otlp_metrics::HistogramDataPoint& p, const std::string& family,
                        const ResourceIdentity& id, bool delta) {
    int64_t t_ms = NsToMs(p.time_unix_nano());
    int64_t st_ms = StartMs(p.start_time_unix_nano(), delta);
    std::map<std::string, std::string> base = AttributeLabels(p.attributes(), id);
    bool stale = (p.flags() & kNoRecordedValue) != 0;

    DeltaAccumulator::HistogramTotal h;
    h.bounds.assign(p.explicit_bounds().begin(), p.explicit_bounds().end());
    h.bucket_counts.assign(p.bucket_counts().begin(), p.bucket_counts().end());
    h.count = static_cast<double>(p.count());
    h.sum = p.has_sum() ? p.sum() : 0;
    bool advanced_delta = false;
    if (delta && !stale) {
      DeltaAccumulator::Undo undo;
      Result<DeltaAccumulator::HistogramTotal> total =
          deltas_->AddHistogram(SeriesLabels(base, family), t_ms, h, &undo);
      if (!total.ok()) {
        Reject(1, fmt::format("metric {}: {}", family, total.status().message()));
        return Status::OK();
      }
      h = std::move(*total);
      undos_.push_back(std::move(undo));
      advanced_delta = true;
    }

    auto value = [stale](double v) { return stale ? StaleNaN() : v; };
    std::string point_error;
    if (p.has_sum()) {
      RETURN_IF_ERROR(
          Append(SeriesLabels(base, family + "_sum"), t_ms, value(h.sum), &point_error, st_ms));
    }
    RETURN_IF_ERROR(
        Append(SeriesLabels(base, family + "_count"), t_ms, value(h.count), &point_error, st_ms));
    // Buckets become cumulative `le` series; +Inf holds the count (OpenMetrics histogram).
    std::vector<std::pair<double, Labels>> buckets;
    double cumulative = 0;
    size_t n = std::min(h.bounds.size(), h.bucket_counts.size());
    for (size_t i = 0; i < n; ++i) {
      cumulative += h.bucket_counts[i];
      Labels ls = SeriesLabels(base, family + "_bucket", "le", FormatFloatShortest(h.bounds[i]));
      RETURN_IF_ERROR(Append(ls, t_ms, value(cumulative), &point_error, st_ms));
      buckets.emplace_back(h.bounds[i], std::move(ls));
    }
    Labels inf = SeriesLabels(base, family + "_bucket", "le", "+Inf");
    RETURN_IF_ERROR(Append(inf, t_ms, value(h.count), &point_error, st_ms));
    buckets.emplace_back(std::numeric_limits<double>::infinity(), std::move(inf));

    if (!point_error.empty()) {
      if (advanced_delta) {
        deltas_->Revert(undos_.back());
        undos_.pop_back();
      }
      Reject(1, fmt::format("metric {}: {}", family, point_error));
      return Status::OK();
    }
    // Each exemplar goes to the first bucket whose bound holds its value.
    std::stable_sort(buckets.begin(), buckets.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& e : p.exemplars()) {
      double v = e.value_case() == otlp_metrics::Exemplar::kAsInt ? static_cast<double>(e.as_int())
                                                                  : e.as_double();
      for (const auto& [bound, ls] : buckets) {
        if (v <= bound) {
          RETURN_IF_ERROR(AppendExemplar(ls, e));
          break;
        }
      }
    }
    return Status::OK();
  }

  // An exponential histogram point becomes one native histogram sample of <family>
  // (Prometheus' otlptranslator exponentialToNativeHistogram, see ExponentialToNative).
  Status ExponentialHistogramPoint(const otlp_metrics::ExponentialHistogramDataPoint& p,
                                   const std::string& family, const ResourceIdentity& id,
                                   bool delta) {
    int64_t t_ms = NsToMs(p.time_unix_nano());
    Labels ls = SeriesLabels(AttributeLabels(p.attributes(), id), family);
    Result<IntHistogram> h = ExponentialToNative(p);
    if (!h.ok()) {
      Reject(1, fmt::format("metric {}: {}", family, h.status().message()));
      return Status::OK();
    }
    tsdb::HistogramSample sample{t_ms, *h, StartMs(p.start_time_unix_nano(), delta)};
    bool stale = (p.flags() & kNoRecordedValue) != 0;
    bool advanced_delta = false;
    if (delta && !stale) {
      if (Status valid = h->Validate(); !valid.ok()) {
        Reject(1, fmt::format("metric {}: {}", family, valid.message()));
        return Status::OK();
      }
      DeltaAccumulator::Undo undo;
      Result<FloatHistogram> total = deltas_->AddNativeHistogram(ls, t_ms, h->ToFloat(), &undo);
      if (!total.ok()) {
        Reject(1, fmt::format("metric {}: {}", family, total.status().message()));
        return Status::OK();
      }
      sample.value = std::move(*total);
      undos_.push_back(std::move(undo));
      advanced_delta = true;
    }
    Status st = app_->AppendHistogram(ls, sample);
    if (!st.ok()) {
      if (!IsPerSampleError(st)) return st;
      if (advanced_delta) {
        deltas_->Revert(undos_.back());
        undos_.pop_back();
      }
      Reject(1, fmt::format("metric {}: {}", family, st.message()));
      return Status::OK();
    }
    for (const auto& e : p.exemplars()) RETURN_IF_ERROR(AppendExemplar(ls, e));
    return Status::OK();
  }

  Status SummaryPoint(const otlp_metrics::SummaryDataPoint& p, const std::string& family,
                      const ResourceIdentity& id) {
    int64_t t_ms = NsToMs(p.time_unix_nano());
    std::map<std::string, std::string> base = AttributeLabels(p.attributes(), id);
    bool stale = (p.flags() & kNoRecordedValue) != 0;
    auto value = [stale](double v) { return stale ? StaleNaN() : v; };
    std::string point_error;
    RETURN_IF_ERROR(
        Append(SeriesLabels(base, family + "_sum"), t_ms, value(p.sum()), &point_error));
    RETURN_IF_ERROR(Append(SeriesLabels(base, family + "_count"), t_ms,
                           value(static_cast<double>(p.count())), &point_error));
    for (const auto& q : p.quantile_values()) {
      RETURN_IF_ERROR(
          Append(SeriesLabels(base, family, "quantile", FormatFloatShortest(q.quantile())), t_ms,
                 value(q.value()), &point_error));
    }
    if (!point_error.empty()) Reject(1, fmt::format("metric {}: {}", family, point_error));
    return Status::OK();
  }

  // target_info (Prometheus' addResourceTargetInfo): the resource attributes other than the
  // identifying ones, with job/instance, value 1, from the earliest to the latest point time.
  Status TargetInfo(const otlp_resource::Resource& resource, const ResourceIdentity& id,
                    int64_t earliest_ms, int64_t latest_ms) {
    static const std::vector<std::string_view> kIdentifying = {kServiceNamespace, kServiceName,
                                                               kServiceInstanceId};
    bool has_other =
        std::any_of(resource.attributes().begin(), resource.attributes().end(), [](const auto& kv) {
          return std::find(kIdentifying.begin(), kIdentifying.end(), kv.key()) ==
                 kIdentifying.end();
        });
    if (!has_other || (!id.job && !id.instance)) return Status::OK();
    Labels ls =
        SeriesLabels(AttributeLabels(resource.attributes(), id, kIdentifying), "target_info");
    if (!ls.Has("job") && !ls.Has("instance")) return Status::OK();
    Status st = app_->UpdateMetadata(MetricMetadata{.metric_family = "target_info",
                                                    .type = MetricType::kGauge,
                                                    .help = "Target metadata",
                                                    .unit = ""});
    if (!st.ok() && !IsPerSampleError(st)) return st;
    int64_t start_ms =
        std::max(earliest_ms, latest_ms - (kMaxTargetInfoSamples - 1) * kTargetInfoIntervalMs);
    std::string ignored;  // target_info is synthetic: refusals (e.g. out of order) don't count
    int64_t last_ms = std::numeric_limits<int64_t>::min();
    for (int64_t t = start_ms; t < latest_ms; t += kTargetInfoIntervalMs) {
      RETURN_IF_ERROR(Append(ls, t, 1, &ignored));
      last_ms = t;
    }
    if (last_ms < latest_ms) RETURN_IF_ERROR(Append(ls, latest_ms, 1, &ignored));
    return Status::OK();
  }

  DeltaAccumulator* deltas_;
  tsdb::Appender* app_;
  OtlpResult* result_;
  std::vector<DeltaAccumulator::Undo> undos_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public naming functions.

std::string OtlpMetricName(std::string_view name, std::string_view unit, OtlpMetricKind kind) {
  std::vector<std::string> tokens = NameTokens(name);
  auto [main_raw, per_raw] = UnitSuffixes(unit);
  std::string main_suffix = CleanUpUnit(main_raw);
  std::string per_suffix = CleanUpUnit(per_raw);
  if (Contains(tokens, main_suffix)) main_suffix.clear();
  if (per_suffix == "per_") {
    per_suffix.clear();
  } else {
    per_suffix = TrimSuffix(std::move(per_suffix), "_");
    if (Contains(tokens, per_suffix)) per_suffix.clear();
  }
  if (!per_suffix.empty()) main_suffix = TrimSuffix(std::move(main_suffix), "_");
  if (!main_suffix.empty()) tokens.push_back(main_suffix);
  if (!per_suffix.empty()) tokens.push_back(per_suffix);
  if (kind == OtlpMetricKind::kMonotonicCounter) {
    RemoveAll(&tokens, "total");
    tokens.push_back("total");
  }
  // Unit "1" on a gauge is a ratio (counters with unit "1" are usually counts of things).
  if (unit == "1" && kind == OtlpMetricKind::kGauge) {
    RemoveAll(&tokens, "ratio");
    tokens.push_back("ratio");
  }
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) out += '_';
    out += tokens[i];
  }
  if (!out.empty() && IsAsciiDigit(out[0])) out.insert(0, "_");
  return out;
}

std::string OtlpLabelName(std::string_view key) {
  if (key.empty()) return "";
  std::string out;
  out.reserve(key.size());
  ForEachRune(key, [&out](std::string_view r) {
    out.push_back(r.size() == 1 && (IsAsciiAlnum(r[0]) || r[0] == '_') ? r[0] : '_');
  });
  if (IsAsciiDigit(out[0])) {
    out.insert(0, "key_");
  } else if (out[0] == '_' && (out.size() < 2 || out[1] != '_')) {
    out.insert(0, "key");
  }
  // A name made only of underscores is not usable unless it was given that way.
  if (out != key && std::all_of(out.begin(), out.end(), [](char c) { return c == '_'; })) {
    return "";
  }
  return out;
}

std::string OtlpUnitName(std::string_view unit) {
  auto [main_raw, per_raw] = UnitSuffixes(unit);
  std::string main_suffix = CleanUpUnit(main_raw), per_suffix = CleanUpUnit(per_raw);
  std::string u;
  if (!main_suffix.empty() && !per_suffix.empty()) {
    u = main_suffix + "_" + per_suffix;
  } else if (!main_suffix.empty()) {
    u = main_suffix;
  } else {
    u = per_suffix;
  }
  if (!u.empty() && u.front() == '_') u.erase(0, 1);
  if (!u.empty() && u.back() == '_') u.pop_back();
  return u;
}

// ---------------------------------------------------------------------------------------------
// DeltaAccumulator.

Result<DeltaAccumulator::State*> DeltaAccumulator::Prepare(const Labels& key, int64_t t_ms,
                                                           bool is_histogram, Undo* undo) {
  auto it = series_.find(key);
  undo->key = key;
  undo->t_ms = t_ms;
  if (it == series_.end()) {
    if (series_.size() >= opts_.max_series) {
      return Status::ResourceExhausted(fmt::format(
          "too many delta series to accumulate (limit {}); point dropped", opts_.max_series));
    }
    undo->existed = false;
    it = series_.emplace(key, State{}).first;
    it->second.is_histogram = is_histogram;
  } else {
    State& s = it->second;
    if (t_ms <= s.last_t_ms) {
      return Status::OutOfOrder(
          fmt::format("delta point at {} ms is not newer than the last accumulated point at {} ms",
                      t_ms, s.last_t_ms));
    }
    undo->existed = true;
    undo->previous_t_ms = s.last_t_ms;
    if (s.is_histogram) {
      undo->previous_histogram = s.histogram;
    } else {
      undo->previous_sum = s.sum_total;
    }
    if (s.is_histogram != is_histogram) {
      s = State{};
      s.is_histogram = is_histogram;
    }
  }
  it->second.last_t_ms = t_ms;
  it->second.touched_ms = WallClockMs();
  return &it->second;
}

Result<double> DeltaAccumulator::AddSum(const Labels& key, int64_t t_ms, double delta, Undo* undo) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(State * s, Prepare(key, t_ms, /*is_histogram=*/false, undo));
  s->sum_total += delta;
  return s->sum_total;
}

Result<DeltaAccumulator::HistogramTotal> DeltaAccumulator::AddHistogram(const Labels& key,
                                                                        int64_t t_ms,
                                                                        const HistogramTotal& delta,
                                                                        Undo* undo) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(State * s, Prepare(key, t_ms, /*is_histogram=*/true, undo));
  HistogramTotal& h = s->histogram;
  if (h.bounds != delta.bounds || h.bucket_counts.size() != delta.bucket_counts.size()) {
    // New or changed bucket layout: the running total restarts (a counter reset downstream).
    h = delta;
  } else {
    for (size_t i = 0; i < h.bucket_counts.size(); ++i)
      h.bucket_counts[i] += delta.bucket_counts[i];
    h.count += delta.count;
    h.sum += delta.sum;
  }
  return h;
}

Result<FloatHistogram> DeltaAccumulator::AddNativeHistogram(const Labels& key, int64_t t_ms,
                                                            const FloatHistogram& delta,
                                                            Undo* undo) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(key);
  std::optional<FloatHistogram> previous;
  if (it != series_.end() && it->second.native) previous = it->second.native;
  ASSIGN_OR_RETURN(State * s, Prepare(key, t_ms, /*is_histogram=*/true, undo));
  undo->previous_native = std::move(previous);
  if (!s->native || s->native->UsesCustomBuckets() != delta.UsesCustomBuckets()) {
    s->native = delta;
  } else {
    FloatHistogram total = *s->native;
    Result<AddResult> r = total.Add(delta);
    if (!r.ok()) {
      s->native = delta;
    } else {
      total.Compact(0);
      s->native = std::move(total);
    }
  }
  s->native->counter_reset_hint = CounterResetHint::kUnknown;
  return *s->native;
}

void DeltaAccumulator::Revert(const Undo& undo) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(undo.key);
  if (it == series_.end() || it->second.last_t_ms != undo.t_ms) return;
  if (!undo.existed) {
    series_.erase(it);
    return;
  }
  State& s = it->second;
  s.last_t_ms = undo.previous_t_ms;
  s.native = undo.previous_native;
  if (undo.previous_histogram) {
    s.is_histogram = true;
    s.histogram = *undo.previous_histogram;
  } else if (undo.previous_sum) {
    s.is_histogram = false;
    s.sum_total = *undo.previous_sum;
  }
}

size_t DeltaAccumulator::ExpireIdleLocked(int64_t now_ms) {
  last_expiry_ms_ = now_ms;
  return std::erase_if(series_, [&](const auto& kv) {
    return kv.second.touched_ms < now_ms - opts_.idle_timeout_ms;
  });
}

size_t DeltaAccumulator::ExpireIdle(int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  return ExpireIdleLocked(now_ms);
}

void DeltaAccumulator::MaybeExpireIdle(int64_t now_ms) {
  constexpr int64_t kSweepIntervalMs = 60'000;
  std::lock_guard<std::mutex> lock(mu_);
  if (now_ms - last_expiry_ms_ >= kSweepIntervalMs) ExpireIdleLocked(now_ms);
}

size_t DeltaAccumulator::NumSeries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return series_.size();
}

// ---------------------------------------------------------------------------------------------

Status ApplyOtlpMetrics(const ExportMetricsServiceRequest& req, DeltaAccumulator* deltas,
                        tsdb::Appender* app, OtlpResult* result) {
  OtlpResult local;
  OtlpResult& r = result != nullptr ? *result : local;
  r = OtlpResult{};
  if (deltas != nullptr) deltas->MaybeExpireIdle(WallClockMs());
  Translator t(deltas, app, &r);
  if (Status st = t.Run(req); !st.ok()) {
    app->Rollback();
    t.RevertDeltas();
    return st;
  }
  if (Status st = app->Commit(); !st.ok()) {
    t.RevertDeltas();
    return st;
  }
  return Status::OK();
}

}  // namespace argus::ingest
