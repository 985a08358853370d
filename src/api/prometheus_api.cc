#include "api/prometheus_api.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <limits>
#include <optional>
#include <set>

#include "api/json_writer.h"
#include "promql/functions.h"
#include "promql/lexer.h"
#include "promql/parser.h"

namespace argus::api {

namespace {

constexpr int64_t kMinTimeMs = std::numeric_limits<int64_t>::min() / 2;
constexpr int64_t kMaxTimeMs = std::numeric_limits<int64_t>::max() / 2;

}  // namespace

Result<int64_t> ParseTimeMs(std::string_view s) {
  std::string str(s);
  char* end = nullptr;
  double sec = std::strtod(str.c_str(), &end);
  if (!str.empty() && end == str.c_str() + str.size() && std::isfinite(sec)) {
    return static_cast<int64_t>(std::llround(sec * 1000));
  }
  // RFC 3339: 2006-01-02T15:04:05[.frac](Z|+hh:mm|-hh:mm)
  std::tm tm{};
  const char* p = strptime(str.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (p != nullptr) {
    int64_t ms = 0;
    if (*p == '.') {
      ++p;
      int digits = 0;
      int64_t frac = 0;
      while (std::isdigit(static_cast<unsigned char>(*p))) {
        if (digits < 3) {
          frac = frac * 10 + (*p - '0');
          ++digits;
        }
        ++p;
      }
      while (digits < 3) {
        frac *= 10;
        ++digits;
      }
      ms = frac;
    }
    int64_t offset_s = 0;
    bool ok = false;
    if (*p == 'Z' || *p == 'z') {
      ok = p[1] == '\0';
    } else if ((*p == '+' || *p == '-') && std::strlen(p) == 6 && p[3] == ':') {
      int h = std::atoi(std::string(p + 1, 2).c_str());
      int m = std::atoi(std::string(p + 4, 2).c_str());
      offset_s = (h * 3600 + m * 60) * (*p == '+' ? 1 : -1);
      ok = true;
    }
    if (ok) return (static_cast<int64_t>(timegm(&tm)) - offset_s) * 1000 + ms;
  }
  return Status::InvalidArgument("cannot parse \"" + str + "\" to a valid timestamp");
}

Result<std::vector<Matcher>> ParseSeriesSelector(std::string_view s) {
  return promql::ParseMetricSelector(s);
}

Result<int64_t> ParseDurationParamMs(std::string_view s) {
  std::string str(s);
  char* end = nullptr;
  double sec = std::strtod(str.c_str(), &end);
  if (!str.empty() && end == str.c_str() + str.size()) {
    if (!std::isfinite(sec) || std::fabs(sec) > 9.2e15) {
      return Status::InvalidArgument("cannot parse \"" + str + "\" to a valid duration. It overflows int64");
    }
    return static_cast<int64_t>(std::llround(sec * 1000));
  }
  int64_t ms;
  if (promql::ParseDurationMs(str, &ms)) return ms;
  return Status::InvalidArgument("cannot parse \"" + str + "\" to a valid duration");
}

HttpResponse ErrorResponse(const Status& st) {
  HttpResponse r;
  std::string type;
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfOrder: r.status = 400; type = "bad_data"; break;
    case StatusCode::kNotFound: r.status = 404; type = "not_found"; break;
    case StatusCode::kDeadlineExceeded: r.status = 503; type = "timeout"; break;
    case StatusCode::kCanceled: r.status = 503; type = "canceled"; break;
    case StatusCode::kUnavailable: r.status = 503; type = "unavailable"; break;
    case StatusCode::kResourceExhausted:
    case StatusCode::kUnimplemented: r.status = 422; type = "execution"; break;
    default: r.status = 500; type = "internal"; break;
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("error");
  w.Key("errorType");
  w.String(type);
  w.Key("error");
  w.String(st.message());
  w.EndObject();
  r.body = w.Take();
  return r;
}

HttpResponse SuccessResponse(std::string data_json, const std::vector<std::string>& warnings,
                             const std::vector<std::string>& infos) {
  HttpResponse r;
  r.body = "{\"status\":\"success\",\"data\":" + data_json;
  if (!warnings.empty()) {
    JsonWriter w;
    w.BeginArray();
    for (const auto& s : warnings) w.String(s);
    w.EndArray();
    r.body += ",\"warnings\":" + w.str();
  }
  if (!infos.empty()) {
    JsonWriter w;
    w.BeginArray();
    for (const auto& s : infos) w.String(s);
    w.EndArray();
    r.body += ",\"infos\":" + w.str();
  }
  r.body += "}";
  return r;
}

namespace {

struct Range {
  int64_t start_ms, end_ms;
};

Result<Range> ParseRange(const HttpRequest& req) {
  Range r{kMinTimeMs, kMaxTimeMs};
  if (req.HasParam("start") && !req.Param("start").empty()) {
    auto t = ParseTimeMs(req.Param("start"));
    if (!t.ok()) return Status::InvalidArgument("invalid parameter \"start\": " + t.status().message());
    r.start_ms = *t;
  }
  if (req.HasParam("end") && !req.Param("end").empty()) {
    auto t = ParseTimeMs(req.Param("end"));
    if (!t.ok()) return Status::InvalidArgument("invalid parameter \"end\": " + t.status().message());
    r.end_ms = *t;
  }
  if (r.end_ms < r.start_ms) {
    return Status::InvalidArgument("invalid parameter \"end\": end timestamp must not be before start time");
  }
  return r;
}

Result<std::vector<std::vector<Matcher>>> ParseMatches(const HttpRequest& req) {
  std::vector<std::vector<Matcher>> sets;
  for (const auto& m : req.Params("match[]")) {
    auto ms = ParseSeriesSelector(m);
    if (!ms.ok()) return Status::InvalidArgument("invalid parameter \"match[]\": " + ms.status().message());
    sets.push_back(std::move(*ms));
  }
  return sets;
}

Result<size_t> ParseLimit(const HttpRequest& req) {
  if (!req.HasParam("limit") || req.Param("limit").empty()) return size_t{0};
  std::string s = req.Param("limit");
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (end != s.c_str() + s.size() || v < 0) {
    return Status::InvalidArgument("invalid parameter \"limit\": cannot parse \"" + s + "\" to a valid limit");
  }
  return static_cast<size_t>(v);
}

void WriteLabels(JsonWriter* w, const Labels& ls) {
  w->BeginObject();
  for (const auto& l : ls) {
    w->Key(l.name);
    w->String(l.value);
  }
  w->EndObject();
}

HttpResponse StringList(std::vector<std::string> values, size_t limit) {
  std::vector<std::string> warnings;
  if (limit > 0 && values.size() > limit) {
    values.resize(limit);
    warnings.push_back("results truncated due to limit");
  }
  JsonWriter w;
  w.BeginArray();
  for (const auto& v : values) w.String(v);
  w.EndArray();
  return SuccessResponse(w.Take(), warnings);
}

}  // namespace

PrometheusApi::PrometheusApi(tsdb::DB* db, BuildInfo build, promql::Engine* engine)
    : db_(db), build_(std::move(build)), engine_(engine) {
  if (engine_ == nullptr) {
    owned_engine_ = std::make_unique<promql::Engine>(promql::EngineOptions{});
    engine_ = owned_engine_.get();
  }
}

bool PrometheusApi::Handle(const HttpRequest& req, HttpResponse* resp) {
  const std::string& p = req.path;
  if (p == "/api/v1/query") {
    *resp = Query(req);
  } else if (p == "/api/v1/query_range") {
    *resp = QueryRange(req);
  } else if (p == "/api/v1/format_query") {
    *resp = FormatQuery(req);
  } else if (p == "/api/v1/parse_query") {
    *resp = ParseQuery(req);
  } else if (p == "/api/v1/series") {
    *resp = Series(req);
  } else if (p == "/api/v1/labels") {
    *resp = Labels(req);
  } else if (p.rfind("/api/v1/label/", 0) == 0 && p.size() > 21 &&
             p.compare(p.size() - 7, 7, "/values") == 0) {
    *resp = LabelValues(req, p.substr(14, p.size() - 14 - 7));
  } else if (p == "/api/v1/metadata") {
    *resp = Metadata(req);
  } else if (p == "/api/v1/query_exemplars") {
    *resp = Exemplars(req);
  } else if (p == "/api/v1/status/buildinfo") {
    *resp = Buildinfo();
  } else {
    return false;
  }
  return true;
}

HttpResponse PrometheusApi::Series(const HttpRequest& req) {
  auto range = ParseRange(req);
  if (!range.ok()) return ErrorResponse(range.status());
  auto sets = ParseMatches(req);
  if (!sets.ok()) return ErrorResponse(sets.status());
  if (sets->empty()) return ErrorResponse(Status::InvalidArgument("no match[] parameter provided"));
  auto limit = ParseLimit(req);
  if (!limit.ok()) return ErrorResponse(limit.status());
  auto q = db_->NewQuerier(range->start_ms, range->end_ms);
  if (!q.ok()) return ErrorResponse(q.status());
  std::set<argus::Labels> seen;
  tsdb::SelectHints hints{range->start_ms, range->end_ms, true};
  for (const auto& ms : *sets) {
    auto ss = (*q)->Select(ms, hints);
    if (!ss.ok()) return ErrorResponse(ss.status());
    for (auto& s : *ss) seen.insert(std::move(s.labels));
  }
  std::vector<std::string> warnings;
  JsonWriter w;
  w.BeginArray();
  size_t n = 0;
  for (const auto& ls : seen) {
    if (*limit > 0 && n == *limit) {
      warnings.push_back("results truncated due to limit");
      break;
    }
    WriteLabels(&w, ls);
    ++n;
  }
  w.EndArray();
  return SuccessResponse(w.Take(), warnings);
}

HttpResponse PrometheusApi::Labels(const HttpRequest& req) {
  auto range = ParseRange(req);
  if (!range.ok()) return ErrorResponse(range.status());
  auto sets = ParseMatches(req);
  if (!sets.ok()) return ErrorResponse(sets.status());
  auto limit = ParseLimit(req);
  if (!limit.ok()) return ErrorResponse(limit.status());
  auto q = db_->NewQuerier(range->start_ms, range->end_ms);
  if (!q.ok()) return ErrorResponse(q.status());
  std::set<std::string> names;
  if (sets->empty()) sets->push_back({});
  for (const auto& ms : *sets) {
    auto r = (*q)->LabelNames(ms);
    if (!r.ok()) return ErrorResponse(r.status());
    names.insert(r->begin(), r->end());
  }
  return StringList({names.begin(), names.end()}, *limit);
}

HttpResponse PrometheusApi::LabelValues(const HttpRequest& req, const std::string& raw_name) {
  std::string name = raw_name;
  if (name.rfind("U__", 0) == 0) {
    // Prometheus 3's escaping of UTF-8 label names in the path: U__ then _xx_ hex runs.
    std::string out;
    for (size_t i = 3; i < name.size(); ++i) {
      if (name[i] == '_' && i + 1 < name.size()) {
        size_t close = name.find('_', i + 1);
        if (close == i + 1) {
          out.push_back('_');
          i = close;
          continue;
        }
        if (close != std::string::npos) {
          unsigned cp = std::strtoul(name.substr(i + 1, close - i - 1).c_str(), nullptr, 16);
          if (cp < 0x80) out.push_back(static_cast<char>(cp));
          i = close;
          continue;
        }
      }
      out.push_back(name[i]);
    }
    name = out;
  }
  auto range = ParseRange(req);
  if (!range.ok()) return ErrorResponse(range.status());
  auto sets = ParseMatches(req);
  if (!sets.ok()) return ErrorResponse(sets.status());
  auto limit = ParseLimit(req);
  if (!limit.ok()) return ErrorResponse(limit.status());
  auto q = db_->NewQuerier(range->start_ms, range->end_ms);
  if (!q.ok()) return ErrorResponse(q.status());
  std::set<std::string> values;
  if (sets->empty()) sets->push_back({});
  for (const auto& ms : *sets) {
    auto r = (*q)->LabelValues(name, ms);
    if (!r.ok()) return ErrorResponse(r.status());
    values.insert(r->begin(), r->end());
  }
  return StringList({values.begin(), values.end()}, *limit);
}

HttpResponse PrometheusApi::Metadata(const HttpRequest& req) {
  int limit = -1;
  if (!req.Param("limit").empty()) limit = std::atoi(req.Param("limit").c_str());
  int per_metric = -1;
  if (!req.Param("limit_per_metric").empty()) per_metric = std::atoi(req.Param("limit_per_metric").c_str());
  std::vector<MetricMetadata> mds = db_->Metadata(req.Param("metric"), -1);
  std::sort(mds.begin(), mds.end(), [](const MetricMetadata& a, const MetricMetadata& b) {
    return a.metric_family < b.metric_family;
  });
  JsonWriter w;
  w.BeginObject();
  int families = 0;
  for (size_t i = 0; i < mds.size();) {
    if (limit >= 0 && families == limit) break;
    size_t j = i;
    while (j < mds.size() && mds[j].metric_family == mds[i].metric_family) ++j;
    w.Key(mds[i].metric_family);
    w.BeginArray();
    for (size_t k = i; k < j && (per_metric < 0 || static_cast<int>(k - i) < per_metric); ++k) {
      w.BeginObject();
      w.Key("type");
      w.String(MetricTypeName(mds[k].type));
      w.Key("help");
      w.String(mds[k].help);
      w.Key("unit");
      w.String(mds[k].unit);
      w.EndObject();
    }
    w.EndArray();
    ++families;
    i = j;
  }
  w.EndObject();
  return SuccessResponse(w.Take());
}

HttpResponse PrometheusApi::Exemplars(const HttpRequest& req) {
  auto range = ParseRange(req);
  if (!range.ok()) return ErrorResponse(range.status());
  // Like Prometheus, any expression: exemplars of the series its selectors match.
  auto expr = promql::ParseExpr(req.Param("query"));
  if (!expr.ok()) {
    return ErrorResponse(Status::InvalidArgument("invalid parameter \"query\": " + expr.status().message()));
  }
  auto ex = db_->QueryExemplars(range->start_ms, range->end_ms, promql::ExtractSelectors(**expr));
  if (!ex.ok()) return ErrorResponse(ex.status());
  JsonWriter w;
  w.BeginArray();
  for (const auto& [ls, es] : *ex) {
    w.BeginObject();
    w.Key("seriesLabels");
    WriteLabels(&w, ls);
    w.Key("exemplars");
    w.BeginArray();
    for (const auto& e : es) {
      w.BeginObject();
      w.Key("labels");
      WriteLabels(&w, e.labels);
      w.Key("value");
      w.SampleValue(e.value);
      w.Key("timestamp");
      w.TimestampMs(e.t_ms);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  return SuccessResponse(w.Take());
}

std::string BuildInfoJson(const BuildInfo& build) {
  JsonWriter w;
  w.BeginObject();
  w.Key("version");
  w.String(build.version);
  w.Key("revision");
  w.String(build.revision);
  w.Key("branch");
  w.String(build.branch);
  w.Key("buildUser");
  w.String("argus");
  w.Key("buildDate");
  w.String(build.build_date);
  w.Key("goVersion");
  w.String(build.go_version);
  w.EndObject();
  return w.Take();
}

void WriteHistogramSample(JsonWriter* w, int64_t t_ms, const FloatHistogram& h) {
  w->BeginArray();
  w->TimestampMs(t_ms);
  w->BeginObject();
  w->Key("count");
  w->SampleValue(h.count);
  w->Key("sum");
  w->SampleValue(h.sum);
  std::vector<FloatBucket> buckets = h.AllBuckets();
  bool any = std::any_of(buckets.begin(), buckets.end(),
                         [](const FloatBucket& b) { return b.count != 0; });
  if (any) {
    w->Key("buckets");
    w->BeginArray();
    for (const auto& b : buckets) {
      if (b.count == 0) continue;
      int rule = b.lower_inclusive ? (b.upper_inclusive ? 3 : 1) : (b.upper_inclusive ? 0 : 2);
      w->BeginArray();
      w->Int(rule);
      w->SampleValue(b.lower);
      w->SampleValue(b.upper);
      w->SampleValue(b.count);
      w->EndArray();
    }
    w->EndArray();
  }
  w->EndObject();
  w->EndArray();
}

HttpResponse PrometheusApi::Buildinfo() { return SuccessResponse(BuildInfoJson(build_)); }

namespace {

// Prometheus answers execution failures with "execution" (422), timeouts with 503.
HttpResponse QueryError(const Status& st) {
  if (st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kUnimplemented) {
    return ErrorResponse(Status::ResourceExhausted(st.message()));
  }
  if (st.code() == StatusCode::kDeadlineExceeded) {
    return ErrorResponse(Status::DeadlineExceeded("query timed out in query execution"));
  }
  return ErrorResponse(st);
}

Result<promql::QueryOptions> ParseQueryOptions(const HttpRequest& req) {
  promql::QueryOptions o;
  o.cancel = req.client_gone;
  if (!req.Param("timeout").empty()) {
    auto t = ParseDurationParamMs(req.Param("timeout"));
    if (!t.ok()) return Status::InvalidArgument("invalid parameter \"timeout\": " + t.status().message());
    o.timeout_ms = *t;
  }
  return o;
}

void WriteStats(JsonWriter* w, const promql::QueryResult& r, double eval_s) {
  w->Key("stats");
  w->BeginObject();
  w->Key("timings");
  w->BeginObject();
  for (const char* k : {"evalTotalTime", "resultSortTime", "queryPreparationTime",
                        "innerEvalTime", "execQueueTime", "execTotalTime"}) {
    w->Key(k);
    w->Double(std::string(k) == "resultSortTime" || std::string(k) == "execQueueTime" ? 0 : eval_s);
  }
  w->EndObject();
  w->Key("samples");
  w->BeginObject();
  w->Key("totalQueryableSamples");
  w->Int(r.total_samples);
  w->Key("peakSamples");
  w->Int(r.peak_samples);
  w->EndObject();
  w->EndObject();
}

HttpResponse QueryResponse(promql::QueryResult r, size_t limit, bool stats, double eval_s) {
  std::vector<std::string> warnings = r.warnings;
  JsonWriter w;
  w.BeginObject();
  w.Key("resultType");
  w.String(promql::ValueTypeName(r.type));
  w.Key("result");
  switch (r.type) {
    case promql::ValueType::kScalar:
      w.BeginArray();
      w.TimestampMs(r.t_ms);
      w.SampleValue(r.scalar);
      w.EndArray();
      break;
    case promql::ValueType::kString:
      w.BeginArray();
      w.TimestampMs(r.t_ms);
      w.String(r.str);
      w.EndArray();
      break;
    case promql::ValueType::kVector:
      if (limit > 0 && r.vector.size() > limit) {
        r.vector.resize(limit);
        warnings.push_back("results truncated due to limit");
      }
      w.BeginArray();
      for (const auto& s : r.vector) {
        w.BeginObject();
        w.Key("metric");
        WriteLabels(&w, s.metric);
        if (s.h) {
          w.Key("histogram");
          WriteHistogramSample(&w, s.t_ms, *s.h);
        } else {
          w.Key("value");
          w.BeginArray();
          w.TimestampMs(s.t_ms);
          w.SampleValue(s.f);
          w.EndArray();
        }
        w.EndObject();
      }
      w.EndArray();
      break;
    default:
      if (limit > 0 && r.matrix.size() > limit) {
        r.matrix.resize(limit);
        warnings.push_back("results truncated due to limit");
      }
      w.BeginArray();
      for (const auto& s : r.matrix) {
        w.BeginObject();
        w.Key("metric");
        WriteLabels(&w, s.metric);
        // As Prometheus: "values" for the float points, "histograms" for the histogram
        // points, each only when there are some.
        bool any_float = false, any_hist = false;
        for (const auto& p : s.points) (p.h ? any_hist : any_float) = true;
        if (any_float || !any_hist) {
          w.Key("values");
          w.BeginArray();
          for (const auto& p : s.points) {
            if (p.h) continue;
            w.BeginArray();
            w.TimestampMs(p.t_ms);
            w.SampleValue(p.f);
            w.EndArray();
          }
          w.EndArray();
        }
        if (any_hist) {
          w.Key("histograms");
          w.BeginArray();
          for (const auto& p : s.points) {
            if (p.h) WriteHistogramSample(&w, p.t_ms, *p.h);
          }
          w.EndArray();
        }
        w.EndObject();
      }
      w.EndArray();
      break;
  }
  if (stats) WriteStats(&w, r, eval_s);
  w.EndObject();
  return SuccessResponse(w.Take(), warnings, r.infos);
}

Result<promql::ExprPtr> ParseQueryParam(const HttpRequest& req) {
  auto e = promql::ParseExpr(req.Param("query"));
  if (!e.ok()) return Status::InvalidArgument("invalid parameter \"query\": " + e.status().message());
  return e;
}

// A duration field of the AST in milliseconds: its literal value, or 0 for an expression that
// needs the query's step or range (Prometheus prints OriginalOffset, 0 until resolved).
int64_t AstDurationMs(int64_t fixed_ms, const std::unique_ptr<promql::DurationExpr>& expr) {
  if (!expr) return fixed_ms;
  if (!expr->IsConstant()) return 0;
  return static_cast<int64_t>(std::llround(expr->Eval(0, 0) * 1000));
}

void WriteAstMatchers(JsonWriter* w, const promql::Expr& vs) {
  w->BeginArray();
  // Prometheus appends the matcher for a metric name written outside the braces last.
  std::vector<const Matcher*> order;
  const Matcher* name = nullptr;
  for (const auto& m : vs.matchers) {
    if (name == nullptr && !vs.name.empty() && m.name() == kMetricNameLabel &&
        m.type() == MatchType::kEqual && m.value() == vs.name) {
      name = &m;
      continue;
    }
    order.push_back(&m);
  }
  if (name != nullptr) order.push_back(name);
  for (const Matcher* m : order) {
    w->BeginObject();
    w->Key("name");
    w->String(m->name());
    w->Key("type");
    w->String(MatchTypeString(m->type()));
    w->Key("value");
    w->String(m->value());
    w->EndObject();
  }
  w->EndArray();
}

// The @ modifier fields: "startOrEnd" and "timestamp" (ms), each null when not used.
void WriteAstAt(JsonWriter* w, const promql::Expr& e, bool timestamp) {
  if (!timestamp) {
    w->Key("startOrEnd");
    if (e.at == promql::AtKind::kStart) {
      w->String("start");
    } else if (e.at == promql::AtKind::kEnd) {
      w->String("end");
    } else {
      w->Null();
    }
    return;
  }
  w->Key("timestamp");
  if (e.at == promql::AtKind::kTimestamp) {
    w->Int(e.at_ms);
  } else {
    w->Null();
  }
}

void WriteOptionalDouble(JsonWriter* w, const std::optional<double>& v) {
  if (v.has_value()) {
    w->Double(*v);
  } else {
    w->Null();
  }
}

std::string_view CardinalityString(promql::Cardinality c) {
  switch (c) {
    case promql::Cardinality::kOneToOne: return "one-to-one";
    case promql::Cardinality::kManyToOne: return "many-to-one";
    case promql::Cardinality::kOneToMany: return "one-to-many";
    case promql::Cardinality::kManyToMany: return "many-to-many";
  }
  return "";
}

// Prometheus' translateAST (web/api/v1/translate_ast.go), the tree the UI's explain view
// draws. Keys are written in sorted order, as Go's encoding/json writes maps.
void WriteAst(JsonWriter* w, const promql::Expr* e) {
  using promql::ExprKind;
  if (e == nullptr) {
    w->Null();
    return;
  }
  w->BeginObject();
  switch (e->kind) {
    case ExprKind::kAggregate:
      w->Key("expr");
      WriteAst(w, e->child.get());
      w->Key("grouping");
      w->BeginArray();
      for (const auto& g : e->grouping) w->String(g);
      w->EndArray();
      w->Key("op");
      w->String(promql::AggregateOpString(e->agg_op));
      w->Key("param");
      WriteAst(w, e->param.get());
      w->Key("type");
      w->String("aggregation");
      w->Key("without");
      w->Bool(e->without);
      break;
    case ExprKind::kBinary: {
      w->Key("bool");
      w->Bool(e->return_bool);
      w->Key("lhs");
      WriteAst(w, e->lhs.get());
      w->Key("matching");
      // Only operations between two instant vectors have vector matching.
      if (e->lhs->type() == promql::ValueType::kVector &&
          e->rhs->type() == promql::ValueType::kVector) {
        const promql::VectorMatching& m = e->matching;
        w->BeginObject();
        w->Key("card");
        w->String(CardinalityString(m.card));
        w->Key("fillValues");
        w->BeginObject();
        w->Key("lhs");
        WriteOptionalDouble(w, m.fill_left);
        w->Key("rhs");
        WriteOptionalDouble(w, m.fill_right);
        w->EndObject();
        w->Key("include");
        w->BeginArray();
        for (const auto& l : m.include) w->String(l);
        w->EndArray();
        w->Key("labels");
        w->BeginArray();
        for (const auto& l : m.labels) w->String(l);
        w->EndArray();
        w->Key("on");
        w->Bool(m.on);
        w->EndObject();
      } else {
        w->Null();
      }
      w->Key("op");
      w->String(promql::BinaryOpString(e->bin_op));
      w->Key("rhs");
      WriteAst(w, e->rhs.get());
      w->Key("type");
      w->String("binaryExpr");
      break;
    }
    case ExprKind::kCall: {
      w->Key("args");
      w->BeginArray();
      for (const auto& a : e->args) WriteAst(w, a.get());
      w->EndArray();
      w->Key("func");
      w->BeginObject();
      const promql::FunctionSignature* sig = promql::LookupFunction(e->func);
      w->Key("argTypes");
      w->BeginArray();
      if (sig != nullptr) {
        for (auto t : sig->arg_types) w->String(promql::ValueTypeName(t));
      }
      w->EndArray();
      w->Key("name");
      w->String(e->func);
      w->Key("returnType");
      w->String(promql::ValueTypeName(sig != nullptr ? sig->return_type : e->type()));
      w->Key("variadic");
      w->Int(sig != nullptr ? sig->variadic : 0);
      w->EndObject();
      w->Key("type");
      w->String("call");
      break;
    }
    case ExprKind::kMatrixSelector:
    case ExprKind::kVectorSelector: {
      const promql::Expr& vs = e->kind == ExprKind::kMatrixSelector ? *e->child : *e;
      w->Key("anchored");
      w->Bool(vs.anchored);
      w->Key("matchers");
      WriteAstMatchers(w, vs);
      w->Key("name");
      w->String(vs.name);
      w->Key("offset");
      w->Int(AstDurationMs(vs.offset_ms, vs.offset_expr));
      if (e->kind == ExprKind::kMatrixSelector) {
        w->Key("range");
        w->Int(AstDurationMs(e->range_ms, e->range_expr));
      }
      w->Key("smoothed");
      w->Bool(vs.smoothed);
      WriteAstAt(w, vs, false);
      WriteAstAt(w, vs, true);
      w->Key("type");
      w->String(e->kind == ExprKind::kMatrixSelector ? "matrixSelector" : "vectorSelector");
      break;
    }
    case ExprKind::kSubquery:
      w->Key("alignEvalTime");
      w->Bool(false);
      w->Key("expr");
      WriteAst(w, e->child.get());
      w->Key("offset");
      w->Int(AstDurationMs(e->offset_ms, e->offset_expr));
      w->Key("range");
      w->Int(AstDurationMs(e->range_ms, e->range_expr));
      WriteAstAt(w, *e, false);
      w->Key("step");
      w->Int(e->has_step ? AstDurationMs(e->step_ms, e->step_expr) : 0);
      WriteAstAt(w, *e, true);
      w->Key("type");
      w->String("subquery");
      break;
    case ExprKind::kNumber:
      w->Key("type");
      w->String("numberLiteral");
      w->Key("val");
      w->String(promql::FormatFloatGo(e->number));
      break;
    case ExprKind::kParen:
      w->Key("expr");
      WriteAst(w, e->child.get());
      w->Key("type");
      w->String("parenExpr");
      break;
    case ExprKind::kString:
      w->Key("type");
      w->String("stringLiteral");
      w->Key("val");
      w->String(e->str);
      break;
    case ExprKind::kUnary:
      w->Key("expr");
      WriteAst(w, e->child.get());
      w->Key("op");
      w->String(e->un_minus ? "-" : "+");
      w->Key("type");
      w->String("unaryExpr");
      break;
  }
  w->EndObject();
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

HttpResponse PrometheusApi::Query(const HttpRequest& req) {
  auto t0 = std::chrono::steady_clock::now();
  int64_t t_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
  if (!req.Param("time").empty()) {
    auto t = ParseTimeMs(req.Param("time"));
    if (!t.ok()) return ErrorResponse(Status::InvalidArgument("invalid parameter \"time\": " + t.status().message()));
    t_ms = *t;
  }
  auto qo = ParseQueryOptions(req);
  if (!qo.ok()) return ErrorResponse(qo.status());
  auto limit = ParseLimit(req);
  if (!limit.ok()) return ErrorResponse(limit.status());
  auto expr = ParseQueryParam(req);
  if (!expr.ok()) return ErrorResponse(expr.status());
  std::string query = req.Param("query");
  auto r = engine_->InstantQuery(db_, **expr, query, t_ms, *qo);
  if (!r.ok()) return QueryError(r.status());
  return QueryResponse(std::move(*r), *limit, !req.Param("stats").empty(), SecondsSince(t0));
}

HttpResponse PrometheusApi::QueryRange(const HttpRequest& req) {
  auto t0 = std::chrono::steady_clock::now();
  auto start = ParseTimeMs(req.Param("start"));
  if (!start.ok()) return ErrorResponse(Status::InvalidArgument("invalid parameter \"start\": " + start.status().message()));
  auto end = ParseTimeMs(req.Param("end"));
  if (!end.ok()) return ErrorResponse(Status::InvalidArgument("invalid parameter \"end\": " + end.status().message()));
  if (*end < *start) {
    return ErrorResponse(Status::InvalidArgument("invalid parameter \"end\": end timestamp must not be before start time"));
  }
  auto step = ParseDurationParamMs(req.Param("step"));
  if (!step.ok()) return ErrorResponse(Status::InvalidArgument("invalid parameter \"step\": " + step.status().message()));
  if (*step <= 0) {
    return ErrorResponse(Status::InvalidArgument(
        "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer"));
  }
  if ((*end - *start) / *step > 11000) {
    return ErrorResponse(Status::InvalidArgument(
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"));
  }
  auto qo = ParseQueryOptions(req);
  if (!qo.ok()) return ErrorResponse(qo.status());
  auto limit = ParseLimit(req);
  if (!limit.ok()) return ErrorResponse(limit.status());
  auto expr = ParseQueryParam(req);
  if (!expr.ok()) return ErrorResponse(expr.status());
  std::string query = req.Param("query");
  promql::ValueType t = (*expr)->type();
  if (t != promql::ValueType::kScalar && t != promql::ValueType::kVector) {
    return ErrorResponse(Status::InvalidArgument(
        "invalid parameter \"query\": invalid expression type \"" +
        std::string(promql::DocumentedType(t)) + "\" for range query, must be Scalar or instant Vector"));
  }
  auto r = engine_->RangeQuery(db_, **expr, query, *start, *end, *step, *qo);
  if (!r.ok()) return QueryError(r.status());
  return QueryResponse(std::move(*r), *limit, !req.Param("stats").empty(), SecondsSince(t0));
}

HttpResponse PrometheusApi::FormatQuery(const HttpRequest& req) {
  auto expr = ParseQueryParam(req);
  if (!expr.ok()) return ErrorResponse(expr.status());
  JsonWriter w;
  w.String((*expr)->ToString());
  return SuccessResponse(w.Take());
}

HttpResponse PrometheusApi::ParseQuery(const HttpRequest& req) {
  auto expr = ParseQueryParam(req);
  if (!expr.ok()) return ErrorResponse(expr.status());
  JsonWriter w;
  WriteAst(&w, expr->get());
  return SuccessResponse(w.Take());
}

}  // namespace argus::api
