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
//   GET /api/metrics/query_range?q=&start=&end=&since=&step=&exemplars=
//       tempopb.QueryRangeResponse: {"series":[{"labels":[KeyValue],"promLabels":"{..}",
//       "samples":[{"timestampMs":"..","value":1.5}],"exemplars":[..]}],"metrics":{..}}
//   GET /api/metrics/query (same parameters): tempopb.QueryInstantResponse, one interval
//       [start, end): {"series":[{"labels":[..],"promLabels":"..","value":3}],"metrics":{..}}
//       start/end are Unix seconds (10 digits or fewer, fractions allowed) or nanoseconds;
//       default the last hour (`since`, a duration, sets the length); step is seconds or a
//       duration, default Tempo's (~240 points). Evaluation: traceql/metrics.h. Samples
//       without a value (NaN) are left out.
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
// The same for one pipeline (a metrics query's `pipeline | rate()`).
tracestore::ColumnFilter ColumnFilterFor(const traceql::Pipeline& p);

class TempoApi {
 public:
  // `store` is not owned and must outlive the API.
  TempoApi(tracestore::TraceStore* store, BuildInfo build) : store_(store), build_(std::move(build)) {}

  // Handles `req` if its path is one of this API's; returns false otherwise.
  bool Handle(const HttpRequest& req, HttpResponse* resp);

 private:
  HttpResponse TraceById(const HttpRequest& req, std::string_view id, bool v2);
  HttpResponse Search(const HttpRequest& req);
  HttpResponse MetricsQuery(const HttpRequest& req, bool instant);
  HttpResponse SearchTags(const HttpRequest& req, bool v2);
  HttpResponse SearchTagValues(const HttpRequest& req, const std::string& tag, bool v2);
  HttpResponse Buildinfo();

  tracestore::TraceStore* store_;
  BuildInfo build_;
};

}  // namespace argus::api
