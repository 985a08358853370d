// The read side of the Prometheus HTTP API (Prometheus docs, querying/api): instant and range
// queries through the PromQL engine (/api/v1/query, /api/v1/query_range, /api/v1/format_query,
// /api/v1/parse_query with Prometheus 3's AST JSON), series, label names and values, metadata, exemplars, build info, plus the response envelope
// and error bodies every endpoint uses.
//
// Envelope: {"status":"success","data":...,"warnings":[...]} or
// {"status":"error","errorType":"bad_data","error":"..."} with HTTP 400 (bad_data),
// 422 (execution), 503 (timeout, canceled, unavailable), 500 (internal).
//
// Example:
//   PrometheusApi api(db.get());
//   HttpResponse resp;
//   if (api.Handle(req, &resp)) send(resp);      // req.path without any /prometheus prefix
//
// Thread-safety: Handle may be called from many threads at once (the DB is thread-safe).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "promql/engine.h"
#include "tsdb/db.h"
#include "util/status.h"

namespace argus::api {

// Parses a Prometheus API time: Unix seconds (float) or RFC 3339, to milliseconds.
// InvalidArgument with Prometheus' wording ("cannot parse \"x\" to a valid timestamp").
Result<int64_t> ParseTimeMs(std::string_view s);

// A Prometheus error response: errorType from the status code (InvalidArgument -> bad_data/400,
// ResourceExhausted/Internal/Unimplemented -> execution/422, DeadlineExceeded -> timeout/503,
// Canceled -> canceled/503, Unavailable -> unavailable/503, NotFound -> not_found/404).
HttpResponse ErrorResponse(const Status& st);
// A success envelope around `data_json` (already-encoded JSON) with optional warnings and
// infos (Prometheus 3 returns PromQL info annotations as "infos").
HttpResponse SuccessResponse(std::string data_json, const std::vector<std::string>& warnings = {},
                             const std::vector<std::string>& infos = {});

// Parses a Prometheus API duration: float seconds ("15", "0.5") or a duration ("1m30s"), to
// milliseconds. InvalidArgument "cannot parse \"x\" to a valid duration".
Result<int64_t> ParseDurationParamMs(std::string_view s);

class JsonWriter;
// Writes a native histogram sample as the Prometheus HTTP API does (the value of "histogram"
// in vectors, the elements of "histograms" in matrices): [ts, {"count":"4","sum":"5",
// "buckets":[[boundary_rule,"lower","upper","count"],...]}] with counts and bounds formatted
// like float sample values, only non-empty buckets, ascending, and boundary_rule 0 = (l,u],
// 1 = [l,u), 2 = (l,u), 3 = [l,u].
void WriteHistogramSample(JsonWriter* w, int64_t t_ms, const FloatHistogram& h);

// Parses selectors of the form `name{label="v",...}` / `{label=~"v"}` (one per match[]) with
// the PromQL parser (one selector grammar). InvalidArgument with the parser's message.
Result<std::vector<Matcher>> ParseSeriesSelector(std::string_view s);

struct BuildInfo {
  std::string version, revision, branch, build_date, go_version = "n/a (C++20)";
};
// The build-info object both Prometheus (/api/v1/status/buildinfo, inside the envelope) and
// Tempo (/api/status/buildinfo, bare) answer: version, revision, branch, buildUser, buildDate,
// goVersion.
std::string BuildInfoJson(const BuildInfo& build);

class PrometheusApi {
 public:
  // `engine` runs the queries (not owned; must outlive this); nullptr = an engine with the
  // default options owned by this object.
  PrometheusApi(tsdb::DB* db, BuildInfo build, promql::Engine* engine = nullptr);
  // Handles `req` if its path is one of this API's; returns false otherwise.
  bool Handle(const HttpRequest& req, HttpResponse* resp);

 private:
  HttpResponse Series(const HttpRequest& req);
  HttpResponse Labels(const HttpRequest& req);
  HttpResponse LabelValues(const HttpRequest& req, const std::string& name);
  HttpResponse Metadata(const HttpRequest& req);
  HttpResponse Exemplars(const HttpRequest& req);
  HttpResponse Buildinfo();
  HttpResponse Query(const HttpRequest& req);
  HttpResponse QueryRange(const HttpRequest& req);
  HttpResponse FormatQuery(const HttpRequest& req);
  // GET/POST /api/v1/parse_query: the parsed query as Prometheus' AST JSON.
  HttpResponse ParseQuery(const HttpRequest& req);
  tsdb::DB* db_;
  BuildInfo build_;
  std::unique_ptr<promql::Engine> owned_engine_;
  promql::Engine* engine_;
};

}  // namespace argus::api
