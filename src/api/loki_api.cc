#include "api/loki_api.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "api/json_writer.h"
#include "api/prometheus_api.h"
#include "logql/convert.h"
#include "logql/detect.h"
#include "logql/engine.h"
#include "logql/parser.h"

namespace argus::api {

namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;
constexpr size_t kMaxEntriesLimit = 5000;  // Loki's max_entries_limit_per_query default

HttpResponse TextResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

void WriteLabels(JsonWriter& w, const logql::LabelSet& ls) {
  w.BeginObject();
  for (const Label& l : ls) {
    w.Key(l.name);
    w.String(l.value);
  }
  w.EndObject();
}

void WriteLabels(JsonWriter& w, const Labels& ls) {
  w.BeginObject();
  for (const Label& l : ls) {
    w.Key(l.name);
    w.String(l.value);
  }
  w.EndObject();
}

void WriteTimestamp(JsonWriter& w, int64_t ts_ns) {
  // Seconds with millisecond precision, as Loki's matrix and vector answers carry them.
  w.TimestampMs(ts_ns / 1'000'000);
}

void WriteStats(JsonWriter& w, const logql::QueryStats& st, double exec_s, size_t returned) {
  w.Key("stats");
  w.BeginObject();
  w.Key("summary");
  w.BeginObject();
  double secs = std::max(exec_s, 1e-9);
  w.Key("bytesProcessedPerSecond");
  w.Int(static_cast<int64_t>(static_cast<double>(st.bytes_scanned) / secs));
  w.Key("linesProcessedPerSecond");
  w.Int(static_cast<int64_t>(static_cast<double>(st.entries_scanned) / secs));
  w.Key("totalBytesProcessed");
  w.Uint(st.bytes_scanned);
  w.Key("totalLinesProcessed");
  w.Uint(st.entries_scanned);
  w.Key("totalStructuredMetadataBytesProcessed");
  w.Int(0);
  w.Key("totalPostFilterLines");
  w.Uint(st.entries_scanned);
  w.Key("execTime");
  w.Double(exec_s);
  w.Key("queueTime");
  w.Double(0);
  w.Key("subqueries");
  w.Int(0);
  w.Key("totalEntriesReturned");
  w.Uint(returned);
  w.Key("splits");
  w.Int(0);
  w.Key("shards");
  w.Int(0);
  w.EndObject();
  for (const char* part : {"querier", "ingester"}) {
    w.Key(part);
    w.BeginObject();
    w.Key("store");
    w.BeginObject();
    w.Key("totalChunksRef");
    w.Int(0);
    w.Key("totalChunksDownloaded");
    w.Int(0);
    w.Key("chunksDownloadTime");
    w.Int(0);
    w.Key("chunk");
    w.BeginObject();
    w.Key("headChunkBytes");
    w.Int(0);
    w.Key("headChunkLines");
    w.Int(0);
    w.Key("decompressedBytes");
    w.Uint(std::string_view(part) == "querier" ? st.bytes_scanned : 0);
    w.Key("decompressedLines");
    w.Uint(std::string_view(part) == "querier" ? st.entries_scanned : 0);
    w.Key("compressedBytes");
    w.Int(0);
    w.Key("totalDuplicates");
    w.Int(0);
    w.EndObject();
    w.EndObject();
    w.EndObject();
  }
  w.Key("cache");
  w.BeginObject();
  for (const char* c : {"chunk", "index", "result", "statsResult", "volumeResult"}) {
    w.Key(c);
    w.BeginObject();
    for (const char* k : {"entriesFound", "entriesRequested", "entriesStored", "bytesReceived", "bytesSent",
                          "requests", "downloadTime"}) {
      w.Key(k);
      w.Int(0);
    }
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
}

Result<std::pair<int64_t, int64_t>> StartEnd(const HttpRequest& req, int64_t now_ns) {
  int64_t end = now_ns, start;
  if (req.HasParam("end")) {
    ASSIGN_OR_RETURN(end, ParseLokiTimeNs(req.Param("end")));
  }
  start = end - 3600 * kNsPerSec;
  if (req.HasParam("start")) {
    ASSIGN_OR_RETURN(start, ParseLokiTimeNs(req.Param("start")));
  }
  if (req.HasParam("since") && !req.HasParam("start")) {
    ASSIGN_OR_RETURN(int64_t since, ParseLokiStepNs(req.Param("since")));
    start = end - since;
  }
  if (end < start) return Status::InvalidArgument("end timestamp must not be before or equal to start time");
  return std::make_pair(start, end);
}

// A positive integer parameter, `def` when absent. InvalidArgument otherwise.
Result<size_t> PositiveParam(const HttpRequest& req, std::string_view name, size_t def) {
  if (!req.HasParam(name)) return def;
  std::string v = req.Param(name);
  char* e = nullptr;
  long long n = std::strtoll(v.c_str(), &e, 10);
  if (v.empty() || e != v.c_str() + v.size() || n <= 0) {
    return Status::InvalidArgument(std::string(name) + " must be a positive value");
  }
  return static_cast<size_t>(n);
}

Result<std::vector<Matcher>> OptionalSelector(const HttpRequest& req) {
  std::string q = req.Param("query");
  if (q.empty()) return std::vector<Matcher>{};
  auto e = logql::ParseExpr(q);
  if (!e.ok()) return e.status();
  const logql::Expr* x = e->get();
  while (x->kind != logql::ExprKind::kLog && x->kind != logql::ExprKind::kRangeAgg && x->lhs) x = x->lhs.get();
  return x->selector.matchers;
}

}  // namespace

Result<int64_t> ParseLokiTimeNs(std::string_view s) {
  std::string str(s);
  if (str.empty()) return Status::InvalidArgument("cannot parse \"\" to a valid timestamp");
  bool digits = std::all_of(str.begin(), str.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '-'; });
  if (digits) {
    errno = 0;
    long long v = std::strtoll(str.c_str(), nullptr, 10);
    if (errno == 0) return str.size() <= 10 ? static_cast<int64_t>(v) * kNsPerSec : static_cast<int64_t>(v);
  }
  char* end = nullptr;
  double f = std::strtod(str.c_str(), &end);
  if (end == str.c_str() + str.size() && std::isfinite(f)) return static_cast<int64_t>(std::llround(f * 1e9));
  auto ms = ParseTimeMs(str);
  if (ms.ok()) return *ms * 1'000'000;
  return Status::InvalidArgument("cannot parse \"" + str + "\" to a valid timestamp");
}

Result<int64_t> ParseLokiStepNs(std::string_view s) {
  std::string str(s);
  char* end = nullptr;
  double f = std::strtod(str.c_str(), &end);
  if (!str.empty() && end == str.c_str() + str.size() && std::isfinite(f)) return static_cast<int64_t>(std::llround(f * 1e9));
  auto d = logql::ParseGoDuration(str, true);
  if (d.ok()) return *d;
  return Status::InvalidArgument("cannot parse \"" + str + "\" to a valid duration");
}

HttpResponse LokiError(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument: case StatusCode::kOutOfOrder: case StatusCode::kNotFound:
      return TextResponse(400, st.message());
    case StatusCode::kResourceExhausted: return TextResponse(429, st.message());
    case StatusCode::kUnavailable: return TextResponse(503, st.message());
    case StatusCode::kCanceled: case StatusCode::kDeadlineExceeded: return TextResponse(504, st.message());
    default: return TextResponse(500, st.message());
  }
}

bool LokiApi::Handle(const HttpRequest& req, int64_t now_ns, HttpResponse* resp) {
  const std::string& p = req.path;
  static const std::string kPrefix = "/loki/api/v1/";
  if (p.rfind(kPrefix, 0) != 0) return false;
  std::string rest = p.substr(kPrefix.size());
  if (rest == "push") {
    *resp = req.method == "POST" ? Push(req, now_ns) : TextResponse(405, "method not allowed");
  } else if (rest == "query") {
    *resp = Query(req, now_ns, false);
  } else if (rest == "query_range") {
    *resp = Query(req, now_ns, true);
  } else if (rest == "labels" || rest == "label") {
    *resp = Labels(req, now_ns, nullptr);
  } else if (rest.rfind("label/", 0) == 0 && rest.size() > 13 && rest.ends_with("/values")) {
    std::string name = rest.substr(6, rest.size() - 6 - 7);
    *resp = Labels(req, now_ns, &name);
  } else if (rest == "series") {
    *resp = Series(req, now_ns);
  } else if (rest == "index/stats") {
    *resp = IndexStats(req, now_ns);
  } else if (rest == "index/volume") {
    *resp = Volume(req, now_ns, false);
  } else if (rest == "index/volume_range") {
    *resp = Volume(req, now_ns, true);
  } else if (rest == "detected_fields") {
    *resp = DetectedFields(req, now_ns, nullptr);
  } else if (rest.rfind("detected_field/", 0) == 0 && rest.size() > 22 && rest.ends_with("/values")) {
    std::string name = rest.substr(15, rest.size() - 15 - 7);
    *resp = DetectedFields(req, now_ns, &name);
  } else if (rest == "detected_labels") {
    *resp = DetectedLabels(req, now_ns);
  } else if (rest == "patterns") {
    *resp = Patterns(req, now_ns);
  } else {
    *resp = TextResponse(404, "404 page not found");
  }
  return true;
}

HttpResponse LokiApi::Push(const HttpRequest& req, int64_t now_ns) {
  Status st = push_->HandleHttp(req.body, req.Header("content-type"), req.Header("content-encoding"), now_ns, nullptr);
  if (!st.ok()) return LokiError(st);
  HttpResponse r;
  r.status = 204;
  r.content_type = "";
  return r;
}

HttpResponse LokiApi::Query(const HttpRequest& req, int64_t now_ns, bool range) {
  auto t0 = std::chrono::steady_clock::now();
  std::string q = req.Param("query");
  if (q.empty()) return TextResponse(400, "query must not be empty");
  logql::QueryParams p;
  if (req.HasParam("limit")) {
    char* e = nullptr;
    std::string ls = req.Param("limit");
    long long l = std::strtoll(ls.c_str(), &e, 10);
    if (e != ls.c_str() + ls.size() || l <= 0) return TextResponse(400, "limit must be a positive value");
    if (static_cast<size_t>(l) > kMaxEntriesLimit) {
      return TextResponse(400, "max entries limit per query exceeded, limit > max_entries_limit (" + ls + " > " +
                                   std::to_string(kMaxEntriesLimit) + ")");
    }
    p.limit = static_cast<size_t>(l);
  }
  if (req.HasParam("direction")) {
    std::string d = req.Param("direction");
    std::transform(d.begin(), d.end(), d.begin(), ::tolower);
    if (d == "forward") p.direction = logql::Direction::kForward;
    else if (d == "backward") p.direction = logql::Direction::kBackward;
    else return TextResponse(400, "invalid direction '" + req.Param("direction") + "'");
  }
  if (range) {
    auto se = StartEnd(req, now_ns);
    if (!se.ok()) return LokiError(se.status());
    p.start_ns = se->first;
    p.end_ns = se->second;
    if (req.HasParam("step")) {
      auto s = ParseLokiStepNs(req.Param("step"));
      if (!s.ok()) return LokiError(s.status());
      p.step_ns = *s;
      if (p.step_ns <= 0) {
        return TextResponse(400, "zero or negative query resolution step widths are not accepted. Try a positive integer");
      }
    } else {
      double secs = std::floor(static_cast<double>(p.end_ns - p.start_ns) / 1e9 / 250);
      p.step_ns = static_cast<int64_t>(std::max(1.0, secs)) * kNsPerSec;
    }
    if ((p.end_ns - p.start_ns) / p.step_ns > 11000) {
      return TextResponse(400, "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
    }
  } else {
    p.end_ns = now_ns;
    if (req.HasParam("time")) {
      auto t = ParseLokiTimeNs(req.Param("time"));
      if (!t.ok()) return LokiError(t.status());
      p.end_ns = *t;
    }
    p.start_ns = p.end_ns;
    p.step_ns = 0;
  }
  auto e = logql::ParseExpr(q);
  if (!e.ok()) return LokiError(e.status());
  if ((*e)->kind == logql::ExprKind::kLog && !range) {
    // An instant log query reads the hour before `time`, newest first.
    p.start_ns = p.end_ns - 3600 * kNsPerSec;
    p.step_ns = kNsPerSec;
    p.end_ns += 1;
  }
  auto res = logql::Evaluate(*store_, **e, p);
  if (!res.ok()) return LokiError(res.status());
  if (range && req.HasParam("interval") && res->type == logql::QueryResult::Type::kStreams) {
    // `interval`: keep only entries at least this far apart, per stream (Loki API reference,
    // "Step versus interval"); the first entry in query direction is always kept.
    auto iv = ParseLokiStepNs(req.Param("interval"));
    if (!iv.ok()) return LokiError(iv.status());
    if (*iv > 0) {
      for (auto& s : res->streams) {
        std::vector<logql::StreamEntry> kept;
        for (auto& en : s.entries) {
          if (kept.empty() || std::llabs(en.ts_ns - kept.back().ts_ns) >= *iv) kept.push_back(std::move(en));
        }
        s.entries = std::move(kept);
      }
    }
  }
  const bool categorize = req.Header("x-loki-response-encoding-flags").find("categorize-labels") != std::string::npos;
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginObject();
  w.Key("resultType");
  w.String(logql::ResultTypeName(res->type));
  w.Key("result");
  size_t returned = 0;
  switch (res->type) {
    case logql::QueryResult::Type::kScalar:
      w.BeginArray();
      WriteTimestamp(w, p.end_ns);
      w.SampleValue(res->scalar);
      w.EndArray();
      break;
    case logql::QueryResult::Type::kVector:
      w.BeginArray();
      for (const auto& s : res->series) {
        w.BeginObject();
        w.Key("metric");
        WriteLabels(w, s.labels);
        w.Key("value");
        w.BeginArray();
        WriteTimestamp(w, s.points[0].ts_ns);
        w.SampleValue(s.points[0].value);
        w.EndArray();
        w.EndObject();
        ++returned;
      }
      w.EndArray();
      break;
    case logql::QueryResult::Type::kMatrix:
      w.BeginArray();
      for (const auto& s : res->series) {
        w.BeginObject();
        w.Key("metric");
        WriteLabels(w, s.labels);
        w.Key("values");
        w.BeginArray();
        for (const auto& pt : s.points) {
          w.BeginArray();
          WriteTimestamp(w, pt.ts_ns);
          w.SampleValue(pt.value);
          w.EndArray();
          ++returned;
        }
        w.EndArray();
        w.EndObject();
      }
      w.EndArray();
      break;
    case logql::QueryResult::Type::kStreams: {
      w.BeginArray();
      for (const auto& s : res->streams) {
        logql::LabelSet labels = s.labels;
        if (categorize) {
          std::set<std::string> extra;
          for (const auto& en : s.entries) {
            for (const Label& l : en.metadata) extra.insert(l.name);
            for (const Label& l : en.parsed) extra.insert(l.name);
          }
          std::erase_if(labels, [&](const Label& l) { return extra.contains(l.name); });
        }
        w.BeginObject();
        w.Key("stream");
        WriteLabels(w, labels);
        w.Key("values");
        w.BeginArray();
        for (const auto& en : s.entries) {
          w.BeginArray();
          w.String(std::to_string(en.ts_ns));
          w.String(en.line);
          if (categorize && (!en.metadata.empty() || !en.parsed.empty())) {
            w.BeginObject();
            if (!en.metadata.empty()) {
              w.Key("structuredMetadata");
              WriteLabels(w, logql::LabelSet(en.metadata.begin(), en.metadata.end()));
            }
            if (!en.parsed.empty()) {
              w.Key("parsed");
              WriteLabels(w, logql::LabelSet(en.parsed.begin(), en.parsed.end()));
            }
            w.EndObject();
          }
          w.EndArray();
          ++returned;
        }
        w.EndArray();
        w.EndObject();
      }
      w.EndArray();
      break;
    }
  }
  double exec_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  WriteStats(w, res->stats, exec_s, returned);
  if (categorize) {
    w.Key("encodingFlags");
    w.BeginArray();
    w.String("categorize-labels");
    w.EndArray();
  }
  w.EndObject();
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

HttpResponse LokiApi::Labels(const HttpRequest& req, int64_t now_ns, const std::string* name) {
  auto se = StartEnd(req, now_ns);
  if (!se.ok()) return LokiError(se.status());
  auto ms = OptionalSelector(req);
  if (!ms.ok()) return LokiError(ms.status());
  std::vector<std::string> out = name ? store_->LabelValues(*name, *ms, se->first, se->second)
                                      : store_->LabelNames(*ms, se->first, se->second);
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginArray();
  for (const std::string& s : out) w.String(s);
  w.EndArray();
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

HttpResponse LokiApi::Series(const HttpRequest& req, int64_t now_ns) {
  auto se = StartEnd(req, now_ns);
  if (!se.ok()) return LokiError(se.status());
  std::vector<std::string> matches = req.Params("match[]");
  if (matches.empty()) matches = req.Params("match");
  std::set<argus::Labels> seen;
  std::vector<argus::Labels> out;
  if (matches.empty()) {
    out = store_->Series({}, se->first, se->second);
  }
  for (const std::string& m : matches) {
    auto ms = logql::ParseSelector(m);
    if (!ms.ok()) return LokiError(ms.status());
    for (argus::Labels& ls : store_->Series(*ms, se->first, se->second)) {
      if (seen.insert(ls).second) out.push_back(std::move(ls));
    }
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginArray();
  for (const argus::Labels& ls : out) WriteLabels(w, ls);
  w.EndArray();
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

HttpResponse LokiApi::IndexStats(const HttpRequest& req, int64_t now_ns) {
  auto se = StartEnd(req, now_ns);
  if (!se.ok()) return LokiError(se.status());
  auto ms = OptionalSelector(req);
  if (!ms.ok()) return LokiError(ms.status());
  uint64_t streams = 0, entries = 0, bytes = 0;
  const argus::Labels* last = nullptr;  // Select calls once per batch, a stream's batches in a row
  Status st = store_->Select(*ms, se->first, se->second, [&](const argus::Labels& ls, std::span<const logstore::LogEntry> es) {
    if (&ls != last) ++streams;
    last = &ls;
    entries += es.size();
    for (const auto& e : es) bytes += e.line.size();
    return Status::OK();
  });
  if (!st.ok()) return LokiError(st);
  JsonWriter w;
  w.BeginObject();
  w.Key("streams");
  w.Uint(streams);
  w.Key("chunks");
  w.Uint(streams);
  w.Key("bytes");
  w.Uint(bytes);
  w.Key("entries");
  w.Uint(entries);
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

HttpResponse LokiApi::Volume(const HttpRequest& req, int64_t now_ns, bool range) {
  auto se = StartEnd(req, now_ns);
  if (!se.ok()) return LokiError(se.status());
  auto ms = OptionalSelector(req);
  if (!ms.ok()) return LokiError(ms.status());
  size_t limit = 100;
  if (req.HasParam("limit")) limit = static_cast<size_t>(std::max(1LL, std::atoll(req.Param("limit").c_str())));
  std::vector<std::string> targets;
  std::string tl = req.Param("targetLabels");
  for (size_t pos = 0; !tl.empty() && pos <= tl.size();) {
    size_t c = tl.find(',', pos);
    targets.push_back(tl.substr(pos, c == std::string::npos ? std::string::npos : c - pos));
    if (c == std::string::npos) break;
    pos = c + 1;
  }
  if (targets.empty()) {
    for (const Matcher& m : *ms) targets.push_back(m.name());
  }
  int64_t step = 0;
  if (range) {
    if (req.HasParam("step")) {
      auto st = ParseLokiStepNs(req.Param("step"));
      if (!st.ok()) return LokiError(st.status());
      step = *st;
    }
    if (step <= 0) step = std::max<int64_t>(1, (se->second - se->first) / kNsPerSec / 250) * kNsPerSec;
    if ((se->second - se->first) / step > 11000) {
      return TextResponse(400, "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
    }
  }
  // Bytes per label set: in total, and (volume_range) per step bucket (t - step, t].
  std::map<logql::LabelSet, uint64_t> vol;
  std::map<logql::LabelSet, std::map<int64_t, uint64_t>> buckets;
  Status st = store_->Select(*ms, se->first, se->second, [&](const argus::Labels& ls, std::span<const logstore::LogEntry> es) {
    logql::LabelSet key;
    for (const Label& l : ls) {
      if (std::find(targets.begin(), targets.end(), l.name) != targets.end()) key.push_back(l);
    }
    uint64_t b = 0;
    for (const auto& e : es) {
      b += e.line.size();
      if (range) {
        int64_t k = (e.ts_ns - se->first + step - 1) / step;  // the first step time >= ts
        buckets[key][se->first + k * step] += e.line.size();
      }
    }
    vol[key] += b;
    return Status::OK();
  });
  if (!st.ok()) return LokiError(st);
  std::vector<std::pair<logql::LabelSet, uint64_t>> sorted(vol.begin(), vol.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (sorted.size() > limit) sorted.resize(limit);
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginObject();
  w.Key("resultType");
  w.String(range ? "matrix" : "vector");
  w.Key("result");
  w.BeginArray();
  for (const auto& [ls, b] : sorted) {
    w.BeginObject();
    w.Key("metric");
    WriteLabels(w, ls);
    if (range) {
      w.Key("values");
      w.BeginArray();
      for (const auto& [t, v] : buckets[ls]) {
        w.BeginArray();
        WriteTimestamp(w, t);
        w.String(std::to_string(v));
        w.EndArray();
      }
      w.EndArray();
    } else {
      w.Key("value");
      w.BeginArray();
      WriteTimestamp(w, se->second);
      w.String(std::to_string(b));
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

HttpResponse LokiApi::DetectedFields(const HttpRequest& req, int64_t now_ns, const std::string* values_of) {
  auto se = StartEnd(req, now_ns);
  if (!se.ok()) return LokiError(se.status());
  auto line_limit = PositiveParam(req, "line_limit", 1000);
  if (!line_limit.ok()) return LokiError(line_limit.status());
  auto limit = PositiveParam(req, "limit", 1000);
  if (!limit.ok()) return LokiError(limit.status());
  std::string q = req.Param("query");
  if (q.empty()) return TextResponse(400, "query must not be empty");
  auto e = logql::ParseExpr(q);
  if (!e.ok()) return LokiError(e.status());
  if ((*e)->kind != logql::ExprKind::kLog) return TextResponse(400, "only log queries are supported");
  // The newest `line_limit` entries the query returns, as Loki samples them.
  logql::QueryParams p;
  p.start_ns = se->first;
  p.end_ns = se->second + 1;
  p.step_ns = kNsPerSec;
  p.limit = *line_limit;
  p.direction = logql::Direction::kBackward;
  auto res = logql::Evaluate(*store_, **e, p);
  if (!res.ok()) return LokiError(res.status());
  logql::FieldDetector det;
  for (const auto& s : res->streams) {
    for (const auto& en : s.entries) {
      // The stream's own labels: the result's minus what the entry's metadata and the
      // query's parsers added.
      std::vector<Label> base;
      for (const Label& l : s.labels) {
        auto in = [&](const std::vector<Label>& v) {
          return std::any_of(v.begin(), v.end(), [&](const Label& x) { return x.name == l.name; });
        };
        if (!in(en.metadata) && !in(en.parsed)) base.push_back(l);
      }
      det.Add(argus::Labels::FromSorted(std::move(base)), {en.ts_ns, en.line, en.metadata});
    }
  }
  JsonWriter w;
  w.BeginObject();
  if (values_of) {
    w.Key("values");
    w.BeginArray();
    for (const std::string& v : det.Values(*values_of, *limit)) w.String(v);
    w.EndArray();
  } else {
    w.Key("fields");
    w.BeginArray();
    for (const logql::DetectedField& f : det.Fields(*limit)) {
      w.BeginObject();
      w.Key("label");
      w.String(f.label);
      w.Key("type");
      w.String(f.type);
      w.Key("cardinality");
      w.Uint(f.cardinality);
      w.Key("parsers");
      if (f.parsers.empty()) {
        w.Null();  // structured metadata: Drilldown reads a null parser list as such
      } else {
        w.BeginArray();
        for (const std::string& ps : f.parsers) w.String(ps);
        w.EndArray();
      }
      if (!f.json_path.empty()) {
        w.Key("jsonPath");
        w.BeginArray();
        for (const std::string& k : f.json_path) w.String(k);
        w.EndArray();
      }
      w.EndObject();
    }
    w.EndArray();
  }
  w.Key("limit");
  w.Uint(*limit);
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

HttpResponse LokiApi::DetectedLabels(const HttpRequest& req, int64_t now_ns) {
  auto se = StartEnd(req, now_ns);
  if (!se.ok()) return LokiError(se.status());
  auto ms = OptionalSelector(req);
  if (!ms.ok()) return LokiError(ms.status());
  std::vector<logql::DetectedLabel> labels = logql::DetectLabels(store_->Series(*ms, se->first, se->second));
  JsonWriter w;
  w.BeginObject();
  w.Key("detectedLabels");
  w.BeginArray();
  for (const logql::DetectedLabel& l : labels) {
    w.BeginObject();
    w.Key("label");
    w.String(l.label);
    w.Key("cardinality");
    w.Uint(l.cardinality);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

HttpResponse LokiApi::Patterns(const HttpRequest& req, int64_t now_ns) {
  auto se = StartEnd(req, now_ns);
  if (!se.ok()) return LokiError(se.status());
  if (req.Param("query").empty()) return TextResponse(400, "query must not be empty");
  auto ms = OptionalSelector(req);
  if (!ms.ok()) return LokiError(ms.status());
  int64_t step = 0;
  if (req.HasParam("step")) {
    auto st = ParseLokiStepNs(req.Param("step"));
    if (!st.ok()) return LokiError(st.status());
    step = *st;
    if (step <= 0) {
      return TextResponse(400, "zero or negative query resolution step widths are not accepted. Try a positive integer");
    }
  } else {
    // Loki's pattern samples are 10s apart; wider ranges get ~250 points as query_range.
    step = std::max<int64_t>(10, (se->second - se->first) / kNsPerSec / 250) * kNsPerSec;
  }
  logql::PatternMiner miner;
  Status st = store_->Select(*ms, se->first, se->second, [&](const argus::Labels& ls, std::span<const logstore::LogEntry> es) {
    for (const auto& e : es) miner.Add(e.ts_ns, e.line, logql::EntryLevel(ls, e));
    return Status::OK();
  });
  if (!st.ok()) return LokiError(st);
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
  w.BeginArray();
  for (const logql::DetectedPattern& p : miner.Patterns(step)) {
    w.BeginObject();
    w.Key("pattern");
    w.String(p.pattern);
    w.Key("level");
    w.String(p.level);
    w.Key("samples");
    w.BeginArray();
    for (const auto& [t, n] : p.samples) {
      w.BeginArray();
      w.Int(t / kNsPerSec);
      w.Uint(n);
      w.EndArray();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  HttpResponse r;
  r.body = w.Take();
  return r;
}

}  // namespace argus::api
