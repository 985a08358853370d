#include "ingest/loki_push.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <map>

#include "ingest/compression.h"
#include "loki/push.pb.h"

namespace argus::ingest {

namespace {

using logstore::LogEntry;
using logstore::PushStream;

bool ValidLabelName(std::string_view n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    if (!(std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (i > 0 && std::isdigit(static_cast<unsigned char>(c))))) {
      return false;
    }
  }
  return true;
}

Result<Labels> LabelsFromPairs(std::vector<Label> pairs, std::string_view text) {
  for (const Label& l : pairs) {
    if (!ValidLabelName(l.name)) {
      return Status::InvalidArgument("error parsing labels '" + std::string(text) + "' with error: invalid label name: " + l.name);
    }
  }
  auto ls = Labels::FromUnsorted(std::move(pairs));
  if (!ls.ok()) return Status::InvalidArgument("error parsing labels '" + std::string(text) + "' with error: " + ls.status().message());
  return ls;
}

Result<int64_t> ParseNs(std::string_view s) {
  if (s.empty() || s.size() > 19) return Status::InvalidArgument("invalid timestamp: " + std::string(s));
  int64_t v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return Status::InvalidArgument("invalid timestamp: " + std::string(s));
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string FormatNs(int64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1'000'000'000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string AnyValueString(const opentelemetry::proto::common::v1::AnyValue& v);

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

std::string AnyValueJson(const opentelemetry::proto::common::v1::AnyValue& v) {
  using opentelemetry::proto::common::v1::AnyValue;
  switch (v.value_case()) {
    case AnyValue::kStringValue: {
      std::string o;
      AppendJsonString(o, v.string_value());
      return o;
    }
    case AnyValue::kArrayValue: {
      std::string o = "[";
      for (int i = 0; i < v.array_value().values_size(); ++i) {
        if (i) o += ",";
        o += AnyValueJson(v.array_value().values(i));
      }
      return o + "]";
    }
    case AnyValue::kKvlistValue: {
      std::string o = "{";
      for (int i = 0; i < v.kvlist_value().values_size(); ++i) {
        if (i) o += ",";
        AppendJsonString(o, v.kvlist_value().values(i).key());
        o += ":" + AnyValueJson(v.kvlist_value().values(i).value());
      }
      return o + "}";
    }
    case AnyValue::VALUE_NOT_SET: return "null";
    default: return AnyValueString(v);
  }
}

std::string AnyValueString(const opentelemetry::proto::common::v1::AnyValue& v) {
  using opentelemetry::proto::common::v1::AnyValue;
  switch (v.value_case()) {
    case AnyValue::kStringValue: return v.string_value();
    case AnyValue::kBoolValue: return v.bool_value() ? "true" : "false";
    case AnyValue::kIntValue: return std::to_string(v.int_value());
    case AnyValue::kDoubleValue: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", v.double_value());
      return buf;
    }
    case AnyValue::kBytesValue: {
      static const char* k = "0123456789abcdef";
      std::string o;
      for (unsigned char c : v.bytes_value()) {
        o.push_back(k[c >> 4]);
        o.push_back(k[c & 15]);
      }
      return o;
    }
    case AnyValue::kArrayValue: case AnyValue::kKvlistValue: return AnyValueJson(v);
    default: return "";
  }
}

std::string OtlpLabelName(std::string_view key) {
  std::string o;
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    o.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_');
  }
  if (!o.empty() && std::isdigit(static_cast<unsigned char>(o[0]))) o = "_" + o;
  return o;
}

std::string Hex(const std::string& bytes) {
  static const char* k = "0123456789abcdef";
  std::string o;
  for (unsigned char c : bytes) {
    o.push_back(k[c >> 4]);
    o.push_back(k[c & 15]);
  }
  return o;
}

}  // namespace

Result<Labels> ParseLabelsText(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("error parsing labels '" + std::string(s) + "' with error: " + std::string(why));
  };
  size_t p = 0;
  auto ws = [&] { while (p < s.size() && std::isspace(static_cast<unsigned char>(s[p]))) ++p; };
  ws();
  if (p >= s.size() || s[p] != '{') return bad("expected {");
  ++p;
  std::vector<Label> pairs;
  while (true) {
    ws();
    if (p < s.size() && s[p] == '}') {
      ++p;
      break;
    }
    size_t st = p;
    while (p < s.size() && (std::isalnum(static_cast<unsigned char>(s[p])) || s[p] == '_')) ++p;
    std::string name(s.substr(st, p - st));
    ws();
    if (name.empty() || p >= s.size() || s[p] != '=') return bad("expected a label name and =");
    ++p;
    ws();
    if (p >= s.size() || s[p] != '"') return bad("expected a quoted value");
    ++p;
    std::string value;
    bool closed = false;
    while (p < s.size()) {
      char c = s[p++];
      if (c == '\\' && p < s.size()) {
        char e = s[p++];
        value.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e);
        continue;
      }
      if (c == '"') {
        closed = true;
        break;
      }
      value.push_back(c);
    }
    if (!closed) return bad("unterminated quoted value");
    pairs.push_back({name, value});
    ws();
    if (p < s.size() && s[p] == ',') {
      ++p;
      continue;
    }
    ws();
    if (p < s.size() && s[p] == '}') {
      ++p;
      break;
    }
    return bad("expected , or }");
  }
  ws();
  if (p != s.size()) return bad("unexpected text after }");
  return LabelsFromPairs(std::move(pairs), s);
}

Result<std::vector<PushStream>> DecodeLokiJson(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element doc;
  auto bad = [](std::string_view why) {
    return Status::InvalidArgument("couldn't parse push request: " + std::string(why));
  };
  if (auto err = parser.parse(padded).get(doc); err) return bad(simdjson::error_message(err));
  simdjson::dom::array streams;
  if (doc["streams"].get(streams)) return bad("missing streams array");
  std::vector<PushStream> out;
  for (simdjson::dom::element st : streams) {
    simdjson::dom::object stream_obj;
    if (st["stream"].get(stream_obj)) return bad("a stream needs a \"stream\" object of labels");
    std::vector<Label> pairs;
    std::string text = "{";
    for (auto [k, v] : stream_obj) {
      std::string_view sv;
      if (v.get(sv)) return bad("label values must be strings");
      if (text.size() > 1) text += ", ";
      text += std::string(k) + "=\"" + std::string(sv) + "\"";
      pairs.push_back({std::string(k), std::string(sv)});
    }
    text += "}";
    ASSIGN_OR_RETURN(Labels ls, LabelsFromPairs(std::move(pairs), text));
    PushStream ps{std::move(ls), {}};
    simdjson::dom::array values;
    if (st["values"].get(values)) return bad("a stream needs a \"values\" array");
    for (simdjson::dom::element v : values) {
      simdjson::dom::array tuple;
      if (v.get(tuple) || tuple.size() < 2 || tuple.size() > 3) return bad("each value must be [\"<ts>\", \"<line>\"] or [\"<ts>\", \"<line>\", {metadata}]");
      LogEntry e;
      std::string_view ts_s;
      int64_t ts_i;
      if (!tuple.at(0).get(ts_s)) {
        ASSIGN_OR_RETURN(e.ts_ns, ParseNs(ts_s));
      } else if (!tuple.at(0).get(ts_i)) {
        e.ts_ns = ts_i;
      } else {
        return bad("timestamps must be strings of Unix nanoseconds");
      }
      std::string_view line;
      if (tuple.at(1).get(line)) return bad("log lines must be strings");
      e.line = std::string(line);
      if (tuple.size() == 3) {
        simdjson::dom::object md;
        if (tuple.at(2).get(md)) return bad("structured metadata must be an object");
        for (auto [k, mv] : md) {
          std::string_view sv;
          if (mv.get(sv)) return bad("structured metadata values must be strings");
          e.metadata.push_back({std::string(k), std::string(sv)});
        }
      }
      ps.entries.push_back(std::move(e));
    }
    out.push_back(std::move(ps));
  }
  return out;
}

Result<std::vector<PushStream>> DecodeLokiProto(std::string_view proto) {
  logproto::PushRequest req;
  if (!req.ParseFromArray(proto.data(), static_cast<int>(proto.size()))) {
    return Status::InvalidArgument("couldn't parse push request: invalid protobuf");
  }
  std::vector<PushStream> out;
  for (const auto& s : req.streams()) {
    ASSIGN_OR_RETURN(Labels ls, ParseLabelsText(s.labels()));
    PushStream ps{std::move(ls), {}};
    for (const auto& e : s.entries()) {
      LogEntry en;
      en.ts_ns = e.timestamp().seconds() * 1'000'000'000 + e.timestamp().nanos();
      en.line = e.line();
      for (const auto& m : e.structuredmetadata()) en.metadata.push_back({m.name(), m.value()});
      ps.entries.push_back(std::move(en));
    }
    out.push_back(std::move(ps));
  }
  return out;
}

std::vector<PushStream> TranslateOtlpLogs(
    const opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest& req, int64_t now_ns) {
  static const std::vector<std::string> kIndexLabels = {
      "service.name", "service.namespace", "service.instance.id", "deployment.environment",
      "deployment.environment.name", "cloud.region", "cloud.availability_zone", "k8s.cluster.name",
      "k8s.namespace.name", "k8s.pod.name", "k8s.container.name", "container.name",
      "k8s.replicaset.name", "k8s.deployment.name", "k8s.statefulset.name", "k8s.daemonset.name",
      "k8s.cronjob.name", "k8s.job.name"};
  std::vector<PushStream> out;
  std::map<Labels, size_t> index;
  for (const auto& rl : req.resource_logs()) {
    std::vector<Label> stream;
    std::vector<Label> resource_md;
    bool has_service = false;
    for (const auto& kv : rl.resource().attributes()) {
      std::string v = AnyValueString(kv.value());
      if (std::find(kIndexLabels.begin(), kIndexLabels.end(), kv.key()) != kIndexLabels.end()) {
        if (v.empty()) continue;
        stream.push_back({OtlpLabelName(kv.key()), v});
        has_service |= kv.key() == "service.name";
      } else {
        resource_md.push_back({OtlpLabelName(kv.key()), v});
      }
    }
    if (!has_service) stream.push_back({"service_name", "unknown_service"});
    auto ls = Labels::FromUnsorted(stream);
    if (!ls.ok()) continue;  // duplicate after sanitizing: keep the first by skipping none
    auto it = index.find(*ls);
    if (it == index.end()) {
      it = index.emplace(*ls, out.size()).first;
      out.push_back({*ls, {}});
    }
    PushStream& ps = out[it->second];
    for (const auto& sl : rl.scope_logs()) {
      for (const auto& rec : sl.log_records()) {
        LogEntry e;
        e.ts_ns = rec.time_unix_nano() ? static_cast<int64_t>(rec.time_unix_nano())
                  : rec.observed_time_unix_nano() ? static_cast<int64_t>(rec.observed_time_unix_nano())
                                                  : now_ns;
        e.line = rec.has_body() ? AnyValueString(rec.body()) : "";
        std::vector<Label> md = resource_md;
        if (!sl.scope().name().empty()) md.push_back({"scope_name", sl.scope().name()});
        if (!sl.scope().version().empty()) md.push_back({"scope_version", sl.scope().version()});
        for (const auto& kv : sl.scope().attributes()) md.push_back({OtlpLabelName(kv.key()), AnyValueString(kv.value())});
        for (const auto& kv : rec.attributes()) md.push_back({OtlpLabelName(kv.key()), AnyValueString(kv.value())});
        if (!rec.trace_id().empty()) md.push_back({"trace_id", Hex(rec.trace_id())});
        if (!rec.span_id().empty()) md.push_back({"span_id", Hex(rec.span_id())});
        if (!rec.severity_text().empty()) md.push_back({"severity_text", rec.severity_text()});
        if (rec.severity_number() != 0) md.push_back({"severity_number", std::to_string(rec.severity_number())});
        // Later duplicates lose: a log attribute named like a resource attribute keeps the first.
        std::vector<Label> uniq;
        for (Label& l : md) {
          bool dup = std::any_of(uniq.begin(), uniq.end(), [&](const Label& u) { return u.name == l.name; });
          if (!dup) uniq.push_back(std::move(l));
        }
        e.metadata = std::move(uniq);
        ps.entries.push_back(std::move(e));
      }
    }
  }
  std::erase_if(out, [](const PushStream& p) { return p.entries.empty(); });
  return out;
}

LokiPushHandler::LokiPushHandler(LokiLimits limits, logstore::LogWriter* writer)
    : limits_(limits), writer_(writer), tokens_(limits.ingestion_burst_bytes), last_refill_ns_(0) {}

Status LokiPushHandler::HandleHttp(std::string_view body, std::string_view content_type,
                                   std::string_view content_encoding, int64_t now_ns, PushStats* stats) {
  bool json = content_type.find("application/json") != std::string_view::npos;
  std::vector<PushStream> streams;
  if (json) {
    std::string decoded;
    std::string_view b = body;
    if (content_encoding.find("gzip") != std::string_view::npos) {
      ASSIGN_OR_RETURN(decoded, Gunzip(body, limits_.max_decoded_bytes));
      b = decoded;
    }
    ASSIGN_OR_RETURN(streams, DecodeLokiJson(b));
  } else {
    std::string raw;
    if (content_encoding.find("gzip") != std::string_view::npos) {
      ASSIGN_OR_RETURN(raw, Gunzip(body, limits_.max_decoded_bytes));
    } else {
      auto r = SnappyUncompress(body, limits_.max_decoded_bytes);
      if (!r.ok()) return Status::InvalidArgument("couldn't decompress push request: " + r.status().message());
      raw = std::move(*r);
    }
    ASSIGN_OR_RETURN(streams, DecodeLokiProto(raw));
  }
  return Push(std::move(streams), now_ns, stats);
}

Status LokiPushHandler::Push(std::vector<PushStream> streams, int64_t now_ns, PushStats* stats) {
  PushStats local;
  if (!stats) stats = &local;
  std::vector<std::string> errors;
  uint64_t total_bytes = 0, total_lines = 0;
  std::vector<PushStream> valid;
  for (PushStream& ps : streams) {
    std::string name = ps.labels.ToString();
    if (ps.labels.empty()) {
      errors.push_back("error at least one label pair is required per stream");
      stats->rejected += ps.entries.size();
      continue;
    }
    std::string why;
    if (static_cast<int>(ps.labels.size()) > limits_.max_label_names_per_series) {
      why = "entry for stream '" + name + "' has " + std::to_string(ps.labels.size()) + " label names; limit " +
            std::to_string(limits_.max_label_names_per_series);
    }
    for (const Label& l : ps.labels) {
      if (!why.empty()) break;
      if (l.name.size() > limits_.max_label_name_length) why = "stream '" + name + "' has label name too long: '" + l.name + "'";
      else if (l.value.size() > limits_.max_label_value_length) why = "stream '" + name + "' has label value too long: '" + l.value + "'";
      else if (!IsValidUtf8(l.value)) why = "stream '" + name + "' has a label value that is not valid UTF-8";
    }
    if (!why.empty()) {
      errors.push_back(why);
      stats->rejected += ps.entries.size();
      continue;
    }
    PushStream keep{ps.labels, {}};
    for (LogEntry& e : ps.entries) {
      size_t md_bytes = 0;
      for (const Label& m : e.metadata) md_bytes += m.name.size() + m.value.size();
      std::string err;
      if (e.line.size() > limits_.max_line_size_bytes) {
        err = "Max entry size '" + std::to_string(limits_.max_line_size_bytes) + "' bytes exceeded for stream '" + name +
              "' while adding an entry with length '" + std::to_string(e.line.size()) + "' bytes";
      } else if (md_bytes > limits_.max_structured_metadata_bytes) {
        err = "stream '" + name + "' has structured metadata too large: '" + std::to_string(md_bytes) + "' bytes, limit: '" +
              std::to_string(limits_.max_structured_metadata_bytes) + "' bytes";
      } else if (e.ts_ns < now_ns - limits_.reject_old_samples_max_age_ns) {
        err = "entry for stream '" + name + "' has timestamp too old: " + FormatNs(e.ts_ns) +
              ", oldest acceptable timestamp is: " + FormatNs(now_ns - limits_.reject_old_samples_max_age_ns);
      } else if (e.ts_ns > now_ns + limits_.creation_grace_period_ns) {
        err = "entry for stream '" + name + "' has timestamp too new: " + FormatNs(e.ts_ns);
      } else if (!IsValidUtf8(e.line)) {
        err = "entry for stream '" + name + "' has a line that is not valid UTF-8";
      }
      if (!err.empty()) {
        if (errors.size() < 10) errors.push_back(err);
        ++stats->rejected;
        continue;
      }
      total_bytes += e.line.size() + md_bytes;
      ++total_lines;
      keep.entries.push_back(std::move(e));
    }
    if (!keep.entries.empty()) valid.push_back(std::move(keep));
  }
  if (total_bytes > 0 && limits_.ingestion_rate_bytes_per_s > 0) {
    std::lock_guard lock(mu_);
    if (last_refill_ns_ == 0) last_refill_ns_ = now_ns;
    double elapsed_s = static_cast<double>(std::max<int64_t>(0, now_ns - last_refill_ns_)) / 1e9;
    tokens_ = std::min(limits_.ingestion_burst_bytes, tokens_ + elapsed_s * limits_.ingestion_rate_bytes_per_s);
    last_refill_ns_ = std::max(last_refill_ns_, now_ns);
    // A push bigger than the burst can never pass; let it through when the bucket is full.
    bool fits = static_cast<double>(total_bytes) <= tokens_ || tokens_ >= limits_.ingestion_burst_bytes;
    if (!fits) {
      return Status::ResourceExhausted(
          "Ingestion rate limit exceeded for user fake (limit: " + std::to_string(static_cast<uint64_t>(limits_.ingestion_rate_bytes_per_s)) +
          " bytes/sec) while attempting to ingest '" + std::to_string(total_lines) + "' lines totaling '" +
          std::to_string(total_bytes) + "' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased");
    }
    tokens_ -= static_cast<double>(total_bytes);
  }
  if (!valid.empty()) {
    Status st = writer_->Push(valid);
    if (st.code() == StatusCode::kOutOfOrder) {
      errors.push_back(st.message());
    } else if (!st.ok()) {
      return st;
    }
    for (const PushStream& ps : valid) {
      ++stats->streams;
      stats->entries += ps.entries.size();
    }
    stats->bytes += total_bytes;
  }
  if (!errors.empty()) {
    std::string msg;
    for (const std::string& e : errors) msg += e + "\n";
    if (!msg.empty()) msg.pop_back();
    return Status::InvalidArgument(msg);
  }
  return Status::OK();
}

}  // namespace argus::ingest
