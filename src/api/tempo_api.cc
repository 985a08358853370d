#include "api/tempo_api.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <unordered_set>

#include "api/json_writer.h"
#include "traceql/engine.h"
#include "traceql/lexer.h"
#include "traceql/metrics.h"
#include "traceql/parser.h"

namespace argus::api {

namespace otlp = opentelemetry::proto;
using tracestore::AttrScope;
using tracestore::ValueType;

namespace {

HttpResponse PlainError(int status, const std::string& msg) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = msg + "\n";
  return r;
}

HttpResponse FromStatus(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument: return PlainError(400, st.message());
    case StatusCode::kNotFound: return PlainError(404, st.message());
    case StatusCode::kUnimplemented: return PlainError(501, st.message());
    case StatusCode::kUnavailable: return PlainError(503, st.message());
    default: return PlainError(500, st.ToString());
  }
}

HttpResponse Json(std::string body) {
  HttpResponse r;
  r.body = std::move(body);
  return r;
}

std::string Hex(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

bool WantsProtobuf(const HttpRequest& req) {
  std::string accept = req.Header("accept");
  return accept.find("application/protobuf") != std::string::npos ||
         accept.find("application/x-protobuf") != std::string::npos;
}

// Tempo's start/end: Unix seconds. 0 when absent.
Result<uint64_t> ParseSeconds(const HttpRequest& req, std::string_view name) {
  std::string v = req.Param(name);
  if (v.empty()) return uint64_t{0};
  uint64_t x = 0;
  for (char c : v) {
    if (c < '0' || c > '9' || x > UINT64_MAX / 100) {
      return Status::InvalidArgument("invalid " + std::string(name) + ": " + v +
                                     " (expected Unix seconds)");
    }
    x = x * 10 + static_cast<uint64_t>(c - '0');
  }
  return x;
}

Result<uint64_t> ParseUint(const HttpRequest& req, std::string_view name, uint64_t def) {
  std::string v = req.Param(name);
  if (v.empty()) return def;
  uint64_t x = 0;
  for (char c : v) {
    if (c < '0' || c > '9' || x > UINT32_MAX) {
      return Status::InvalidArgument("invalid " + std::string(name) + ": " + v);
    }
    x = x * 10 + static_cast<uint64_t>(c - '0');
  }
  return x;
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Legacy search: `tags` is logfmt (`service.name=cart http.status_code=500 name="GET /"`);
// becomes a TraceQL filter.
Result<std::string> TagsToTraceQL(std::string_view tags) {
  std::vector<std::string> conds;
  size_t i = 0;
  while (i < tags.size()) {
    while (i < tags.size() && tags[i] == ' ') ++i;
    if (i >= tags.size()) break;
    size_t eq = tags.find('=', i);
    if (eq == std::string_view::npos) return Status::InvalidArgument("invalid tags: " + std::string(tags));
    std::string key(tags.substr(i, eq - i));
    i = eq + 1;
    std::string value;
    if (i < tags.size() && tags[i] == '"') {
      ++i;
      while (i < tags.size() && tags[i] != '"') {
        if (tags[i] == '\\' && i + 1 < tags.size()) ++i;
        value += tags[i++];
      }
      if (i >= tags.size()) return Status::InvalidArgument("invalid tags: unterminated quote");
      ++i;
    } else {
      while (i < tags.size() && tags[i] != ' ') value += tags[i++];
    }
    if (key.empty()) return Status::InvalidArgument("invalid tags: empty key");
    if (key == "name") {
      conds.push_back("name = " + Quote(value));
    } else if (key == "status.code") {
      conds.push_back("status = " + std::string(value == "error" || value == "2" ? "error"
                                                : value == "ok" || value == "1" ? "ok" : "unset"));
    } else {
      std::string attr = "." + Quote(key);
      bool integer = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      }) && value.size() < 18;
      if (integer) {
        conds.push_back("(" + attr + " = " + Quote(value) + " || " + attr + " = " + value + ")");
      } else {
        conds.push_back(attr + " = " + Quote(value));
      }
    }
  }
  if (conds.empty()) return std::string("{}");
  std::string q = "{ ";
  for (size_t k = 0; k < conds.size(); ++k) q += (k ? " && " : "") + conds[k];
  return q + " }";
}

void WriteValue(JsonWriter* w, const traceql::OutputValue& v) {
  w->BeginObject();
  switch (v.type) {
    case traceql::OutputValue::Type::kString: w->Key("stringValue"); w->String(v.s); break;
    case traceql::OutputValue::Type::kInt: w->Key("intValue"); w->String(std::to_string(v.i)); break;
    case traceql::OutputValue::Type::kDouble: w->Key("doubleValue"); w->ShortestDouble(v.d); break;
    case traceql::OutputValue::Type::kBool: w->Key("boolValue"); w->Bool(v.b); break;
    case traceql::OutputValue::Type::kNone: break;
  }
  w->EndObject();
}

std::string OutputKey(const traceql::Attribute& a) {
  if (!a.IsIntrinsic()) return a.name;
  std::string n = traceql::IntrinsicName(a.intrinsic);
  size_t colon = n.find(':');
  return colon == std::string::npos ? n : n.substr(colon + 1);
}

// One search hit, already rendered (the TraceView is gone once the callback returns).
struct Hit {
  uint64_t seq = 0;  // the order found
  std::string trace_id;
  uint64_t start_unix_nano = 0;
  uint64_t duration_ms = 0;
  std::string root_service, root_name;
  std::string spansets_json;   // the array
  std::string first_spanset;   // "spanSet" (deprecated single form)
  std::string service_stats;   // the object
};

// Conditions one span must meet for the filter `f` to hold on it: the terms of its top-level
// && chain that the columns can check: `attr = literal` for string and integer attributes,
// name, status and kind, and `duration` compared with a duration literal.
void SpanConditions(const traceql::FieldExpr& f, std::vector<tracestore::SpanCondition>* out) {
  using traceql::FieldExpr;
  if (f.kind != FieldExpr::Kind::kBinary) return;
  if (f.op == traceql::Op::kAnd) {
    SpanConditions(*f.lhs, out);
    SpanConditions(*f.rhs, out);
    return;
  }
  traceql::Op op = f.op;
  const FieldExpr* a = f.lhs.get();
  const FieldExpr* v = f.rhs.get();
  if (a->kind != FieldExpr::Kind::kAttribute) {
    std::swap(a, v);
    // `5ms < duration` is `duration > 5ms`.
    op = op == traceql::Op::kLt ? traceql::Op::kGt : op == traceql::Op::kGt ? traceql::Op::kLt
         : op == traceql::Op::kLte ? traceql::Op::kGte : op == traceql::Op::kGte ? traceql::Op::kLte : op;
  }
  if (a->kind != FieldExpr::Kind::kAttribute || v->kind != FieldExpr::Kind::kStatic) return;
  const traceql::Attribute& attr = a->attr;
  const traceql::Static& val = v->value;
  tracestore::SpanCondition c;
  if (attr.IsIntrinsic() && attr.intrinsic == traceql::Intrinsic::kDuration &&
      val.type == traceql::StaticType::kDuration && val.i >= 0) {
    // Span duration in nanoseconds against a bound.
    uint64_t ns = static_cast<uint64_t>(val.i);
    c.field = tracestore::SpanCondition::Field::kDuration;
    switch (op) {
      case traceql::Op::kEq: c.min_duration_nano = c.max_duration_nano = ns; break;
      case traceql::Op::kGt: c.min_duration_nano = ns + 1; break;
      case traceql::Op::kGte: c.min_duration_nano = ns; break;
      case traceql::Op::kLt:
        if (ns == 0) return;
        c.max_duration_nano = ns - 1;
        break;
      case traceql::Op::kLte: c.max_duration_nano = ns; break;
      default: return;
    }
    out->push_back(std::move(c));
    return;
  }
  if (op != traceql::Op::kEq) return;
  if (attr.IsIntrinsic()) {
    if (attr.intrinsic == traceql::Intrinsic::kName && val.type == traceql::StaticType::kString) {
      c.field = tracestore::SpanCondition::Field::kName;
      c.value = val.s;
    } else if (attr.intrinsic == traceql::Intrinsic::kStatus && val.type == traceql::StaticType::kStatus) {
      c.field = tracestore::SpanCondition::Field::kStatus;
      c.code = val.i;
    } else if (attr.intrinsic == traceql::Intrinsic::kKind && val.type == traceql::StaticType::kKind) {
      c.field = tracestore::SpanCondition::Field::kKind;
      c.code = val.i;
    } else {
      return;
    }
  } else {
    if (attr.parent || (val.type != traceql::StaticType::kString && val.type != traceql::StaticType::kInt)) return;
    if (attr.scope == traceql::AttributeScope::kNone) {
      c.any_scope = true;
    } else if (attr.scope == traceql::AttributeScope::kSpan) {
      c.scope = AttrScope::kSpan;
    } else if (attr.scope == traceql::AttributeScope::kResource) {
      c.scope = AttrScope::kResource;
    } else {
      return;  // event, link and instrumentation attributes are not in the columns
    }
    c.field = tracestore::SpanCondition::Field::kAttribute;
    c.key = attr.name;
    if (val.type == traceql::StaticType::kInt) {
      c.value_type = tracestore::ValueType::kInt;
      c.int_value = val.i;
    } else {
      c.value = val.s;
    }
  }
  out->push_back(std::move(c));
}

// The groups of span conditions every match of `e` needs (spanset operators whose result
// needs both sides need both sides' groups; `||` and negated operators need less).
void RequiredGroups(const traceql::SpansetExpr& e, tracestore::ColumnFilter* out) {
  using traceql::SpansetExpr;
  using traceql::SpansetOp;
  switch (e.kind) {
    case SpansetExpr::Kind::kFilter: {
      std::vector<tracestore::SpanCondition> g;
      SpanConditions(*e.filter, &g);
      if (!g.empty()) out->required.push_back(std::move(g));
      return;
    }
    case SpansetExpr::Kind::kPipeline:
      return;
    case SpansetExpr::Kind::kOp:
      switch (e.op) {
        case SpansetOp::kUnion:
          return;
        case SpansetOp::kNotChild: case SpansetOp::kNotParent: case SpansetOp::kNotDescendant:
        case SpansetOp::kNotAncestor: case SpansetOp::kNotSibling:
          RequiredGroups(*e.rhs, out);
          return;
        default:
          RequiredGroups(*e.lhs, out);
          RequiredGroups(*e.rhs, out);
          return;
      }
  }
}


// A metrics query's start/end (Tempo: Unix seconds when 10 digits or fewer, else
// nanoseconds; fractional seconds allowed). Nanoseconds; 0 when absent.
Result<int64_t> ParseMetricsTime(const HttpRequest& req, std::string_view name) {
  std::string v = req.Param(name);
  if (v.empty()) return int64_t{0};
  size_t dot = v.find('.');
  std::string whole = v.substr(0, dot);
  bool digits = !whole.empty() && whole.size() <= 19 &&
                std::all_of(whole.begin(), whole.end(), [](char c) { return c >= '0' && c <= '9'; });
  std::string frac = dot == std::string::npos ? "" : v.substr(dot + 1);
  bool frac_ok = std::all_of(frac.begin(), frac.end(), [](char c) { return c >= '0' && c <= '9'; });
  uint64_t u = 0;
  for (char c : digits ? whole : std::string()) u = u * 10 + static_cast<uint64_t>(c - '0');  // < 10^19
  if (!digits || !frac_ok || u > static_cast<uint64_t>(INT64_MAX)) {
    return Status::InvalidArgument("invalid " + std::string(name) + ": " + v +
                                   " (expected Unix seconds or nanoseconds)");
  }
  int64_t x = static_cast<int64_t>(u);
  if (whole.size() > 10) return x;  // nanoseconds
  if (x > INT64_MAX / 1'000'000'000) return Status::InvalidArgument("invalid " + std::string(name) + ": " + v);
  frac = (frac + "000000000").substr(0, 9);
  return x * 1'000'000'000 + std::stoll(frac);
}

// Tempo's step: seconds (possibly fractional) or a duration such as "30s". Nanoseconds.
Result<int64_t> ParseStep(const std::string& v) {
  int64_t ns = 0;
  if (traceql::ParseTraceQLDuration(v, &ns) && ns > 0) return ns;
  char* end = nullptr;
  double s = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || *end != '\0' || !(s > 0) || s > 1e9) {
    return Status::InvalidArgument("invalid step: " + v + " (expected seconds or a duration such as 30s)");
  }
  return static_cast<int64_t>(s * 1e9);
}

void WriteLabels(JsonWriter* w, const std::vector<traceql::MetricsLabel>& labels) {
  w->BeginArray();
  for (const traceql::MetricsLabel& l : labels) {
    w->BeginObject();
    w->Key("key");
    w->String(l.key);
    w->Key("value");
    WriteValue(w, l.value);
    w->EndObject();
  }
  w->EndArray();
}
}  // namespace

tracestore::ColumnFilter ColumnFilterFor(const traceql::Pipeline& p) {
  tracestore::ColumnFilter f;
  if (!p.stages.empty() && p.stages[0].kind == traceql::PipelineStage::Kind::kSpanset) {
    // Later stages only narrow what the first stage found.
    RequiredGroups(*p.stages[0].spanset, &f);
  }
  return f;
}

tracestore::ColumnFilter ColumnFilterFor(const traceql::RootExpr& q) {
  if (q.kind != traceql::RootKind::kPipeline) return {};
  return ColumnFilterFor(q.pipeline);
}

Result<std::string> ParseTraceId(std::string_view hex) {
  if (hex.empty() || hex.size() > 32) {
    return Status::InvalidArgument("invalid trace ID \"" + std::string(hex) + "\": 1 to 32 hex digits");
  }
  std::string padded = std::string(32 - hex.size(), '0') + std::string(hex);
  std::string out(16, '\0');
  for (size_t i = 0; i < 32; ++i) {
    char c = padded[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return Status::InvalidArgument("invalid trace ID \"" + std::string(hex) + "\": not hex");
    out[i / 2] = static_cast<char>(out[i / 2] | (i % 2 ? d : d << 4));
  }
  return out;
}

bool TempoApi::Handle(const HttpRequest& req, HttpResponse* resp) {
  const std::string& p = req.path;
  auto tag_values = [&](std::string_view prefix, bool v2) {
    if (p.rfind(prefix, 0) != 0 || p.size() <= prefix.size() + 7 || !p.ends_with("/values")) return false;
    *resp = SearchTagValues(req, p.substr(prefix.size(), p.size() - prefix.size() - 7), v2);
    return true;
  };
  if (p == "/api/echo") {
    *resp = PlainError(200, "echo");
    resp->body = "echo";
  } else if (p == "/api/status/buildinfo") {
    *resp = Buildinfo();
  } else if (p.rfind("/api/traces/", 0) == 0) {
    *resp = TraceById(req, std::string_view(p).substr(12), false);
  } else if (p.rfind("/api/v2/traces/", 0) == 0) {
    *resp = TraceById(req, std::string_view(p).substr(15), true);
  } else if (p == "/api/search") {
    *resp = Search(req);
  } else if (p == "/api/search/tags") {
    *resp = SearchTags(req, false);
  } else if (p == "/api/v2/search/tags") {
    *resp = SearchTags(req, true);
  } else if (tag_values("/api/search/tag/", false) || tag_values("/api/v2/search/tag/", true)) {
  } else if (p == "/api/metrics/query_range") {
    *resp = MetricsQuery(req, false);
  } else if (p == "/api/metrics/query") {
    *resp = MetricsQuery(req, true);
  } else {
    return false;
  }
  return true;
}

HttpResponse TempoApi::Buildinfo() { return Json(BuildInfoJson(build_)); }

HttpResponse TempoApi::TraceById(const HttpRequest& req, std::string_view hex, bool v2) {
  auto id = ParseTraceId(hex);
  if (!id.ok()) return FromStatus(id.status());
  // start/end are accepted (Grafana sends them) but not needed: blocks are found by ID.
  auto start = ParseSeconds(req, "start");
  auto end = ParseSeconds(req, "end");
  if (!start.ok()) return FromStatus(start.status());
  if (!end.ok()) return FromStatus(end.status());
  auto t = store_->FindTrace(*id);
  if (!t.ok()) return FromStatus(t.status());
  if (!t->has_value()) return PlainError(404, "trace not found");
  const std::string& data = **t;  // serialized TracesData == tempopb.Trace on the wire
  HttpResponse r;
  if (WantsProtobuf(req)) {
    r.content_type = "application/protobuf";
    if (v2) {
      // TraceByIDResponse { Trace trace = 1; }: field 1, wire type 2, length, bytes.
      r.body.push_back(0x0a);
      uint64_t n = data.size();
      while (n >= 0x80) {
        r.body.push_back(static_cast<char>(n | 0x80));
        n >>= 7;
      }
      r.body.push_back(static_cast<char>(n));
      r.body += data;
    } else {
      r.body = data;
    }
    return r;
  }
  otlp::trace::v1::TracesData td;
  if (!td.ParseFromString(data)) return PlainError(500, "stored trace does not decode");
  std::string json;
  google::protobuf::util::JsonPrintOptions po;
  if (!google::protobuf::util::MessageToJsonString(td, &json, po).ok()) {
    return PlainError(500, "cannot encode the trace as JSON");
  }
  // {"resourceSpans":[...]} -> v1 {"batches":[...]} or v2 {"trace":{"resourceSpans":[...]}}.
  if (v2) {
    r.body = "{\"trace\":" + json + "}";
  } else {
    constexpr std::string_view kKey = "{\"resourceSpans\":";
    r.body = json.rfind(kKey, 0) == 0 ? "{\"batches\":" + json.substr(kKey.size()) : "{\"batches\":[]}";
  }
  return r;
}

HttpResponse TempoApi::Search(const HttpRequest& req) {
  std::string q = req.Param("q");
  if (q.empty()) {
    auto tq = TagsToTraceQL(req.Param("tags"));
    if (!tq.ok()) return FromStatus(tq.status());
    q = *tq;
  }
  auto root = traceql::ParseAndValidate(q);
  if (!root.ok()) return FromStatus(root.status());
  if ((*root)->kind == traceql::RootKind::kMetrics) {
    return PlainError(400, "metrics queries are not searches: use /api/metrics/query_range");
  }
  auto start = ParseSeconds(req, "start");
  auto end = ParseSeconds(req, "end");
  auto limit = ParseUint(req, "limit", 20);
  auto spss = ParseUint(req, "spss", 3);
  for (const Status& st : {start.status(), end.status(), limit.status(), spss.status()}) {
    if (!st.ok()) return FromStatus(st);
  }
  if (*start && *end && *end < *start) return PlainError(400, "invalid start/end: end is before start");
  int64_t min_ns = 0, max_ns = 0;
  for (auto [name, out] : {std::pair<const char*, int64_t*>{"minDuration", &min_ns},
                           std::pair<const char*, int64_t*>{"maxDuration", &max_ns}}) {
    std::string v = req.Param(name);
    if (!v.empty() && !traceql::ParseTraceQLDuration(v, out)) {
      return PlainError(400, std::string("invalid ") + name + ": " + v);
    }
  }
  if (*limit == 0) *limit = 20;
  uint64_t start_ns = *start * 1'000'000'000ULL;
  uint64_t end_ns = *end ? *end * 1'000'000'000ULL + 999'999'999ULL : (*start ? UINT64_MAX : 0);

  std::vector<traceql::Attribute> shown = traceql::ReferencedAttributes(**root);
  tracestore::ColumnFilter columns = ColumnFilterFor(**root);
  // The `limit` most recent hits so far, as a heap whose top is the one to drop next: the
  // oldest, and of equally old ones the last found. Once it is full, a trace that starts no
  // later than its top cannot be in the answer, so the prefilter skips it before its spans
  // are read: most traces of a search cost one index entry.
  std::vector<Hit> hits;
  auto drop_first = [](const Hit& a, const Hit& b) {
    return a.start_unix_nano != b.start_unix_nano ? a.start_unix_nano > b.start_unix_nano : a.seq < b.seq;
  };
  uint64_t found = 0;
  std::unordered_set<std::string> seen;
  uint64_t inspected = 0, inspected_bytes = 0;
  auto prefilter = [&](const tracestore::TraceSummary& s) {
    uint64_t d = s.end_unix_nano - s.start_unix_nano;
    if (min_ns && d < static_cast<uint64_t>(min_ns)) return false;
    if (max_ns && d > static_cast<uint64_t>(max_ns)) return false;
    if (hits.size() >= *limit && s.start_unix_nano <= hits.front().start_unix_nano) return false;
    return !seen.count(s.trace_id);
  };
  Status st = store_->ForEachTrace(
      start_ns, end_ns, prefilter,
      [&](const tracestore::TraceSummary& s, const std::string& data) -> Result<bool> {
        ++inspected;
        inspected_bytes += data.size();
        ASSIGN_OR_RETURN(std::unique_ptr<traceql::TraceView> t, traceql::TraceView::Parse(data));
        ASSIGN_OR_RETURN(std::vector<traceql::Spanset> sets, traceql::EvaluateSearch(**root, *t));
        if (sets.empty()) return true;
        seen.insert(s.trace_id);
        if (hits.size() >= *limit && t->start_unix_nano() <= hits.front().start_unix_nano) return true;
        Hit h;
        h.seq = found++;
        h.trace_id = Hex(s.trace_id);
        h.start_unix_nano = t->start_unix_nano();
        h.duration_ms = (t->end_unix_nano() - t->start_unix_nano()) / 1'000'000;
        h.root_service = t->root() >= 0 ? std::string(t->root_service()) : "<root span not yet received>";
        h.root_name = t->root() >= 0 ? std::string(t->root_name()) : "";
        for (size_t k = 0; k < sets.size(); ++k) {
          JsonWriter one;
          one.BeginObject();
          one.Key("spans");
          one.BeginArray();
          std::vector<int> spans = sets[k].spans;
          std::sort(spans.begin(), spans.end(), [&](int a, int b) {
            return t->spans()[a].span->start_time_unix_nano() < t->spans()[b].span->start_time_unix_nano();
          });
          for (size_t n = 0; n < spans.size() && n < *spss; ++n) {
            const auto& sp = *t->spans()[spans[n]].span;
            one.BeginObject();
            one.Key("spanID");
            one.String(Hex(sp.span_id()));
            one.Key("name");
            one.String(sp.name());
            one.Key("startTimeUnixNano");
            one.String(std::to_string(sp.start_time_unix_nano()));
            one.Key("durationNanos");
            one.String(std::to_string(sp.end_time_unix_nano() - sp.start_time_unix_nano()));
            one.Key("attributes");
            one.BeginArray();
            for (const traceql::Attribute& a : shown) {
              if (a.intrinsic == traceql::Intrinsic::kName || a.intrinsic == traceql::Intrinsic::kDuration) continue;
              traceql::OutputValue v = traceql::AttributeValue(*t, spans[n], a);
              if (v.type == traceql::OutputValue::Type::kNone) continue;
              one.BeginObject();
              one.Key("key");
              one.String(OutputKey(a));
              one.Key("value");
              WriteValue(&one, v);
              one.EndObject();
            }
            one.EndArray();
            one.EndObject();
          }
          one.EndArray();
          one.Key("matched");
          one.Int(static_cast<int64_t>(spans.size()));
          if (!sets[k].group_key.empty()) {
            one.Key("attributes");
            one.BeginArray();
            one.BeginObject();
            one.Key("key");
            one.String("by(" + sets[k].group_key + ")");
            one.Key("value");
            one.BeginObject();
            one.Key("stringValue");
            one.String(sets[k].group_value);
            one.EndObject();
            one.EndObject();
            one.EndArray();
          }
          one.EndObject();
          std::string js = one.Take();
          if (k == 0) h.first_spanset = js;
          h.spansets_json += (k ? "," : "") + js;
        }
        h.spansets_json = "[" + h.spansets_json + "]";
        std::map<std::string, std::pair<uint32_t, uint32_t>> stats;
        for (const auto& ref : t->spans()) {
          auto& e = stats[std::string(traceql::TraceView::ServiceName(ref))];
          ++e.first;
          if (ref.span->status().code() == otlp::trace::v1::Status::STATUS_CODE_ERROR) ++e.second;
        }
        JsonWriter sw;
        sw.BeginObject();
        for (const auto& [svc, c] : stats) {
          sw.Key(svc);
          sw.BeginObject();
          sw.Key("spanCount");
          sw.Int(c.first);
          if (c.second) {
            sw.Key("errorCount");
            sw.Int(c.second);
          }
          sw.EndObject();
        }
        sw.EndObject();
        h.service_stats = sw.Take();
        hits.push_back(std::move(h));
        std::push_heap(hits.begin(), hits.end(), drop_first);
        if (hits.size() > *limit) {
          std::pop_heap(hits.begin(), hits.end(), drop_first);
          hits.pop_back();
        }
        return true;
      },
      &columns);
  if (!st.ok()) return FromStatus(st);
  // Most recent first; equally recent ones in the order found.
  std::sort_heap(hits.begin(), hits.end(), drop_first);
  std::string out = "{\"traces\":[";
  for (size_t k = 0; k < hits.size(); ++k) {
    const Hit& h = hits[k];
    JsonWriter w;
    w.BeginObject();
    w.Key("traceID");
    w.String(h.trace_id);
    w.Key("rootServiceName");
    w.String(h.root_service);
    w.Key("rootTraceName");
    w.String(h.root_name);
    w.Key("startTimeUnixNano");
    w.String(std::to_string(h.start_unix_nano));
    w.Key("durationMs");
    w.Int(static_cast<int64_t>(h.duration_ms));
    std::string head = w.Take();  // an open object
    out += (k ? "," : "") + head + ",\"spanSet\":" + (h.first_spanset.empty() ? "{}" : h.first_spanset) +
           ",\"spanSets\":" + h.spansets_json + ",\"serviceStats\":" + h.service_stats + "}";
  }
  JsonWriter m;
  m.BeginObject();
  m.Key("inspectedTraces");
  m.Int(static_cast<int64_t>(inspected));
  m.Key("inspectedBytes");
  m.String(std::to_string(inspected_bytes));
  m.Key("totalBlocks");
  m.Int(static_cast<int64_t>(store_->stats().blocks));
  m.Key("completedJobs");
  m.Int(1);
  m.Key("totalJobs");
  m.Int(1);
  m.EndObject();
  out += "],\"metrics\":" + m.Take() + "}";
  return Json(std::move(out));
}

HttpResponse TempoApi::MetricsQuery(const HttpRequest& req, bool instant) {
  auto root = traceql::ParseAndValidate(req.Param("q"));
  if (!root.ok()) return FromStatus(root.status());
  if ((*root)->kind != traceql::RootKind::kMetrics) {
    return PlainError(400, "not a metrics query: use a metrics function such as {} | rate()");
  }
  auto start = ParseMetricsTime(req, "start");
  auto end = ParseMetricsTime(req, "end");
  auto exemplars = ParseUint(req, "exemplars", 100);
  for (const Status& st : {start.status(), end.status(), exemplars.status()}) {
    if (!st.ok()) return FromStatus(st);
  }
  traceql::MetricsRange range;
  range.instant = instant;
  range.max_exemplars = *exemplars;
  range.end_ns = *end ? *end : tracestore::NowMs() * 1'000'000;
  range.start_ns = *start;
  if (!range.start_ns) {
    int64_t since_ns = 3600LL * 1'000'000'000;  // Tempo's default: the last hour
    std::string since = req.Param("since");
    if (!since.empty() && (!traceql::ParseTraceQLDuration(since, &since_ns) || since_ns <= 0)) {
      return PlainError(400, "invalid since: " + since);
    }
    range.start_ns = range.end_ns - since_ns;
  }
  if (range.end_ns <= range.start_ns) {
    return PlainError(400, fmt::format("http parameter start must be before end. received start={} end={}",
                                       range.start_ns, range.end_ns));
  }
  std::string step = req.Param("step");
  if (step.empty()) {
    range.step_ns = traceql::DefaultMetricsStepNs(range.start_ns, range.end_ns);
  } else {
    auto st = ParseStep(step);
    if (!st.ok()) return FromStatus(st.status());
    range.step_ns = *st;
  }
  auto ev = traceql::MetricsEvaluator::Create(**root, range);
  if (!ev.ok()) return FromStatus(ev.status());
  tracestore::ColumnFilter columns;
  if (const traceql::Pipeline* p = (*ev)->SinglePipeline()) columns = ColumnFilterFor(*p);
  uint64_t inspected_bytes = 0;
  Status st = store_->ForEachTrace(
      static_cast<uint64_t>(range.start_ns), static_cast<uint64_t>(range.end_ns), nullptr,
      [&](const tracestore::TraceSummary&, const std::string& data) -> Result<bool> {
        inspected_bytes += data.size();
        ASSIGN_OR_RETURN(std::unique_ptr<traceql::TraceView> t, traceql::TraceView::Parse(data));
        RETURN_IF_ERROR((*ev)->Observe(*t));
        return true;
      },
      &columns);
  if (!st.ok()) return FromStatus(st);
  traceql::MetricsResult res = (*ev)->Finish();

  JsonWriter w;
  w.BeginObject();
  w.Key("series");
  w.BeginArray();
  for (const traceql::MetricsSeries& s : res.series) {
    if (instant && std::isnan(s.values[0])) continue;
    w.BeginObject();
    w.Key("labels");
    WriteLabels(&w, s.labels);
    w.Key("promLabels");
    w.String(s.PromLabels());
    if (instant) {
      w.Key("value");
      w.ShortestDouble(s.values[0]);
      w.EndObject();
      continue;
    }
    w.Key("samples");
    w.BeginArray();
    for (size_t i = 0; i < res.intervals; ++i) {
      if (std::isnan(s.values[i])) continue;  // no value: no sample (protobuf JSON would say "NaN")
      w.BeginObject();
      w.Key("timestampMs");
      w.String(std::to_string(res.IntervalStartMs(i)));
      w.Key("value");
      w.ShortestDouble(s.values[i]);
      w.EndObject();
    }
    w.EndArray();
    w.Key("exemplars");
    w.BeginArray();
    for (const traceql::MetricsExemplar& e : s.exemplars) {
      w.BeginObject();
      w.Key("labels");
      WriteLabels(&w, e.labels);
      w.Key("value");
      w.ShortestDouble(e.value);
      w.Key("timestampMs");
      w.String(std::to_string(e.ts_ms));
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("metrics");
  w.BeginObject();
  w.Key("inspectedTraces");
  w.Int(static_cast<int64_t>(res.inspected_traces));
  w.Key("inspectedBytes");
  w.String(std::to_string(inspected_bytes));
  w.Key("inspectedSpans");
  w.String(std::to_string(res.inspected_spans));
  w.Key("totalBlocks");
  w.Int(static_cast<int64_t>(store_->stats().blocks));
  w.Key("completedJobs");
  w.Int(1);
  w.Key("totalJobs");
  w.Int(1);
  w.EndObject();
  w.EndObject();
  return Json(w.Take());
}

HttpResponse TempoApi::SearchTags(const HttpRequest& req, bool v2) {
  std::vector<std::string> span = store_->TagNames(AttrScope::kSpan);
  std::vector<std::string> resource = store_->TagNames(AttrScope::kResource);
  JsonWriter w;
  w.BeginObject();
  if (!v2) {
    std::set<std::string> all(span.begin(), span.end());
    all.insert(resource.begin(), resource.end());
    w.Key("tagNames");
    w.BeginArray();
    for (const std::string& t : all) w.String(t);
    w.EndArray();
    w.EndObject();
    return Json(w.Take());
  }
  std::string scope = req.Param("scope");
  if (!scope.empty() && scope != "span" && scope != "resource" && scope != "intrinsic" && scope != "all") {
    return PlainError(400, "invalid scope: " + scope + " (span, resource, intrinsic or all)");
  }
  static const std::vector<std::string> kIntrinsics = {
      "duration", "event:name", "event:timeSinceStart", "instrumentation:name",
      "instrumentation:version", "kind", "link:spanID", "link:traceID", "name", "rootName",
      "rootServiceName", "span:duration", "span:id", "span:kind", "span:name", "span:parentID",
      "span:status", "span:statusMessage", "status", "statusMessage", "trace:duration", "trace:id",
      "trace:rootName", "trace:rootService", "traceDuration"};
  w.Key("scopes");
  w.BeginArray();
  auto emit = [&](const std::string& name, const std::vector<std::string>& tags) {
    if (!scope.empty() && scope != "all" && scope != name) return;
    w.BeginObject();
    w.Key("name");
    w.String(name);
    w.Key("tags");
    w.BeginArray();
    for (const std::string& t : tags) w.String(t);
    w.EndArray();
    w.EndObject();
  };
  emit("span", span);
  emit("resource", resource);
  emit("intrinsic", kIntrinsics);
  w.EndArray();
  w.EndObject();
  return Json(w.Take());
}

HttpResponse TempoApi::SearchTagValues(const HttpRequest& req, const std::string& tag, bool v2) {
  (void)req;  // `q` narrows values in Tempo; any (even partial) q is accepted and all values returned
  struct Out {
    std::string type, value;
  };
  std::vector<Out> values;
  auto type_name = [](ValueType t) {
    switch (t) {
      case ValueType::kInt: return "int";
      case ValueType::kDouble: return "float";
      case ValueType::kBool: return "bool";
      default: return "string";
    }
  };
  auto add_attr = [&](AttrScope scope, const std::string& key) {
    for (const auto& v : store_->TagValues(scope, key)) values.push_back({type_name(v.type), v.value});
  };
  if (!v2) {
    add_attr(AttrScope::kSpan, tag);
    add_attr(AttrScope::kResource, tag);
  } else if (tag.rfind("span.", 0) == 0) {
    add_attr(AttrScope::kSpan, tag.substr(5));
  } else if (tag.rfind("resource.", 0) == 0) {
    add_attr(AttrScope::kResource, tag.substr(9));
  } else if (tag.rfind(".", 0) == 0) {
    add_attr(AttrScope::kSpan, tag.substr(1));
    add_attr(AttrScope::kResource, tag.substr(1));
  } else if (tag == "name" || tag == "span:name") {
    for (const std::string& n : store_->SpanNames()) values.push_back({"string", n});
  } else if (tag == "status" || tag == "span:status") {
    for (const char* s : {"error", "ok", "unset"}) values.push_back({"keyword", s});
  } else if (tag == "kind" || tag == "span:kind") {
    for (const char* s : {"client", "consumer", "internal", "producer", "server", "unspecified"}) {
      values.push_back({"keyword", s});
    }
  } else if (tag == "rootServiceName" || tag == "trace:rootService") {
    add_attr(AttrScope::kResource, "service.name");
  } else if (tag == "rootName" || tag == "trace:rootName") {
    for (const std::string& n : store_->SpanNames()) values.push_back({"string", n});
  } else {
    return PlainError(400, "invalid tag \"" + tag + "\": use a scoped attribute (span.x, resource.x, .x) or an intrinsic");
  }
  // Values may come from both scopes: keep each (type, value) once.
  std::sort(values.begin(), values.end(), [](const Out& a, const Out& b) {
    return a.value != b.value ? a.value < b.value : a.type < b.type;
  });
  values.erase(std::unique(values.begin(), values.end(),
                           [](const Out& a, const Out& b) { return a.value == b.value && a.type == b.type; }),
               values.end());
  JsonWriter w;
  w.BeginObject();
  w.Key("tagValues");
  w.BeginArray();
  for (const Out& v : values) {
    if (!v2) {
      w.String(v.value);
      continue;
    }
    w.BeginObject();
    w.Key("type");
    w.String(v.type);
    w.Key("value");
    w.String(v.value);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Json(w.Take());
}

}  // namespace argus::api
