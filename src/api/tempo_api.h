// The Tempo HTTP API (Tempo docs, api_docs/): trace by ID, TraceQL search, tag names and
// values, echo and build info, answering Grafana's Tempo data source as Tempo does. JSON is
// protobuf's JSON mapping of Tempo's messages (lowerCamelCase keys, 64-bit integers as
// strings, IDs as base64 inside traces and hex in search results); protobuf answers are
// tempopb.Trace (v1) and tempopb.TraceByIDResponse (v2) when the client asks with
// `Accept: application/protobuf`.
//
//   GET /api/traces/<id>                     tempopb.Trace: {"batches":[ResourceSpans...]}
//   GET /api/v2/traces/<id>                  tempopb.TraceByIDResponse: {"trace":{...}}
//   GET /api/search?q=&start=&end=&limit=&spss=&tags=&minDuration=&maxDuration=
//   GET /api/search/tags, /api/v2/search/tags[?scope=]
//   GET /api/search/tag/<tag>/values, /api/v2/search/tag/<scoped tag>/values[?q=]
//   GET /api/echo, /api/status/buildinfo
//   GET /api/metrics/query_range, /api/metrics/query: the query is validated (400); evaluation
//       of TraceQL metrics is not implemented (501)
// Errors are plain text with Tempo's status codes: 400 for a bad ID or query, 404 for an
// unknown trace, 501 for TraceQL Tempo parses but does not execute, 500 otherwise.
//
// Example:
//   TempoApi api(store, BuildInfo{...});
//   HttpResponse resp;
//   if (api.Handle(req, &resp)) return resp;
//
// Thread-safety: thread-safe (the store is).
#pragma once

#include <string>

#include "api/http.h"
#include "api/prometheus_api.h"
#include "traceql/ast.h"
#include "tracestore/trace_store.h"
#include "util/status.h"

namespace argus::api {

// A trace ID from its hex form: up to 32 hex digits, left-padded with zeros to 16 bytes (as
// Tempo accepts). Errors: InvalidArgument.
Result<std::string> ParseTraceId(std::string_view hex);

// What the trace store's columns can check of a search query, to skip block traces (and
// whole blocks) that cannot match: the string-equality, name, status and kind conditions of
// the first stage's filters. Admits a superset of the query's matches.
tracestore::ColumnFilter ColumnFilterFor(const traceql::RootExpr& q);

class TempoApi {
 public:
  // `store` is not owned and must outlive the API.
  TempoApi(tracestore::TraceStore* store, BuildInfo build) : store_(store), build_(std::move(build)) {}

  // Handles `req` if its path is one of this API's; returns false otherwise.
  bool Handle(const HttpRequest& req, HttpResponse* resp);

 private:
  HttpResponse TraceById(const HttpRequest& req, std::string_view id, bool v2);
  HttpResponse Search(const HttpRequest& req);
  HttpResponse SearchTags(const HttpRequest& req, bool v2);
  HttpResponse SearchTagValues(const HttpRequest& req, const std::string& tag, bool v2);
  HttpResponse Buildinfo();

  tracestore::TraceStore* store_;
  BuildInfo build_;
};

}  // namespace argus::api
