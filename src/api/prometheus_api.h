// The read side of the Prometheus HTTP API that needs no query engine (Prometheus docs,
// querying/api): series, label names and values, metadata, exemplars, build info, plus the
// response envelope and error bodies every endpoint uses.
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
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
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
// A success envelope around `data_json` (already-encoded JSON) with optional warnings.
HttpResponse SuccessResponse(std::string data_json, const std::vector<std::string>& warnings = {});

// Parses selectors of the form `name{label="v",...}` / `{label=~"v"}` (one per match[]).
// InvalidArgument on a syntax error. Supports the four matcher kinds and quoted UTF-8 names.
Result<std::vector<Matcher>> ParseSeriesSelector(std::string_view s);

struct BuildInfo {
  std::string version, revision, branch, build_date, go_version = "n/a (C++20)";
};

class PrometheusApi {
 public:
  PrometheusApi(tsdb::DB* db, BuildInfo build) : db_(db), build_(std::move(build)) {}
  // Handles `req` if its path is one of this API's; returns false otherwise.
  bool Handle(const HttpRequest& req, HttpResponse* resp);

 private:
  HttpResponse Series(const HttpRequest& req);
  HttpResponse Labels(const HttpRequest& req);
  HttpResponse LabelValues(const HttpRequest& req, const std::string& name);
  HttpResponse Metadata(const HttpRequest& req);
  HttpResponse Exemplars(const HttpRequest& req);
  HttpResponse Buildinfo();
  tsdb::DB* db_;
  BuildInfo build_;
};

}  // namespace argus::api
