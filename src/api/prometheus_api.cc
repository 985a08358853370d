#include "api/prometheus_api.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <set>

#include "api/json_writer.h"
#include <cstring>

namespace argus::api {

namespace {

constexpr int64_t kMinTimeMs = std::numeric_limits<int64_t>::min() / 2;
constexpr int64_t kMaxTimeMs = std::numeric_limits<int64_t>::max() / 2;

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool IsNameChar(char c) { return IsNameStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

Result<std::string> ParseQuoted(std::string_view s, size_t* pos) {
  char q = s[*pos];
  std::string out;
  size_t i = *pos + 1;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == q) {
      *pos = i + 1;
      return out;
    }
    if (c == '\\' && q != '`' && i + 1 < s.size()) {
      char n = s[++i];
      switch (n) {
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        default: out.push_back(n);
      }
      continue;
    }
    out.push_back(c);
  }
  return Status::InvalidArgument("unterminated quoted string");
}

void SkipSpace(std::string_view s, size_t* pos) {
  while (*pos < s.size() && std::isspace(static_cast<unsigned char>(s[*pos]))) ++*pos;
}


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
  std::vector<Matcher> out;
  size_t pos = 0;
  SkipSpace(s, &pos);
  if (pos < s.size() && IsNameStart(s[pos])) {
    size_t start = pos;
    while (pos < s.size() && IsNameChar(s[pos])) ++pos;
    ASSIGN_OR_RETURN(Matcher m, Matcher::Make(MatchType::kEqual, std::string(kMetricNameLabel),
                                              std::string(s.substr(start, pos - start))));
    out.push_back(std::move(m));
    SkipSpace(s, &pos);
  }
  if (pos < s.size() && s[pos] == '{') {
    ++pos;
    while (true) {
      SkipSpace(s, &pos);
      if (pos < s.size() && s[pos] == '}') {
        ++pos;
        break;
      }
      std::string name;
      if (pos < s.size() && (s[pos] == '"' || s[pos] == '\'')) {
        ASSIGN_OR_RETURN(name, ParseQuoted(s, &pos));
      } else {
        size_t start = pos;
        while (pos < s.size() && IsNameChar(s[pos])) ++pos;
        name = std::string(s.substr(start, pos - start));
      }
      if (name.empty()) return Status::InvalidArgument("unexpected character in label matcher");
      SkipSpace(s, &pos);
      bool bare_name = pos < s.size() && (s[pos] == ',' || s[pos] == '}');
      if (bare_name && out.empty()) {  // {"utf8.metric.name"}
        ASSIGN_OR_RETURN(Matcher m, Matcher::Make(MatchType::kEqual,
                                                  std::string(kMetricNameLabel), name));
        out.push_back(std::move(m));
      } else {
        MatchType type;
        if (s.substr(pos, 2) == "=~") {
          type = MatchType::kRegexMatch;
          pos += 2;
        } else if (s.substr(pos, 2) == "!~") {
          type = MatchType::kRegexNoMatch;
          pos += 2;
        } else if (s.substr(pos, 2) == "!=") {
          type = MatchType::kNotEqual;
          pos += 2;
        } else if (s.substr(pos, 1) == "=") {
          type = MatchType::kEqual;
          pos += 1;
        } else {
          return Status::InvalidArgument("unexpected character after label name \"" + name + "\"");
        }
        SkipSpace(s, &pos);
        if (pos >= s.size() || (s[pos] != '"' && s[pos] != '\'' && s[pos] != '`')) {
          return Status::InvalidArgument("expected a quoted label value for \"" + name + "\"");
        }
        ASSIGN_OR_RETURN(std::string value, ParseQuoted(s, &pos));
        ASSIGN_OR_RETURN(Matcher m, Matcher::Make(type, name, value));
        out.push_back(std::move(m));
      }
      SkipSpace(s, &pos);
      if (pos < s.size() && s[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < s.size() && s[pos] == '}') {
        ++pos;
        break;
      }
      return Status::InvalidArgument("unexpected end of label matchers");
    }
  }
  SkipSpace(s, &pos);
  if (pos != s.size()) return Status::InvalidArgument("unexpected character at position " + std::to_string(pos + 1));
  if (out.empty()) return Status::InvalidArgument("vector selector must contain at least one non-empty matcher");
  bool any_non_empty = std::any_of(out.begin(), out.end(), [](const Matcher& m) { return !m.MatchesEmpty(); });
  if (!any_non_empty) {
    return Status::InvalidArgument("vector selector must contain at least one non-empty matcher");
  }
  return out;
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

HttpResponse SuccessResponse(std::string data_json, const std::vector<std::string>& warnings) {
  HttpResponse r;
  r.body = "{\"status\":\"success\",\"data\":" + data_json;
  if (!warnings.empty()) {
    JsonWriter w;
    w.BeginArray();
    for (const auto& s : warnings) w.String(s);
    w.EndArray();
    r.body += ",\"warnings\":" + w.str();
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
    if (!ms.ok()) return Status::InvalidArgument("invalid parameter \"match[]\": 1:1: parse error: " + ms.status().message());
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

bool PrometheusApi::Handle(const HttpRequest& req, HttpResponse* resp) {
  const std::string& p = req.path;
  if (p == "/api/v1/series") {
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
  std::string query = req.Param("query");
  auto ms = ParseSeriesSelector(query);
  if (!ms.ok()) {
    return ErrorResponse(Status::InvalidArgument("invalid parameter \"query\": " + ms.status().message()));
  }
  auto ex = db_->QueryExemplars(range->start_ms, range->end_ms, {*ms});
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

HttpResponse PrometheusApi::Buildinfo() {
  JsonWriter w;
  w.BeginObject();
  w.Key("version");
  w.String(build_.version);
  w.Key("revision");
  w.String(build_.revision);
  w.Key("branch");
  w.String(build_.branch);
  w.Key("buildUser");
  w.String("argus");
  w.Key("buildDate");
  w.String(build_.build_date);
  w.Key("goVersion");
  w.String(build_.go_version);
  w.EndObject();
  return SuccessResponse(w.Take());
}

}  // namespace argus::api
