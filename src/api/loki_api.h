// The Loki HTTP API (Loki docs, reference/loki-http-api): push, query, query_range, labels,
// label values, series, index/stats and index/volume, with Loki's JSON shapes as Grafana
// parses them and Loki's errors (plain-text bodies: 400 for bad requests and queries, 429 for
// rate limits, 500 otherwise).
//
//   POST /loki/api/v1/push                 JSON (gzip optional) or snappy protobuf; 204
//   GET|POST /loki/api/v1/query            query, time, limit (100), direction (backward)
//   GET|POST /loki/api/v1/query_range      query, start, end, step, interval, limit, direction
//   GET /loki/api/v1/labels                start, end, query
//   GET /loki/api/v1/label/<name>/values   start, end, query
//   GET|POST /loki/api/v1/series           match[] (repeatable), start, end
//   GET /loki/api/v1/index/stats           query, start, end
//   GET /loki/api/v1/index/volume          query, start, end, limit, targetLabels (vector)
//   GET /loki/api/v1/index/volume_range    the same per step (matrix)
//   GET /loki/api/v1/detected_fields       query, start, end, line_limit (1000), limit (1000)
//   GET /loki/api/v1/detected_field/<name>/values   the same; the field's distinct values
//   GET /loki/api/v1/detected_labels       query, start, end
//   GET /loki/api/v1/patterns              query, start, end, step
// The detected_* answers are bare objects ({"fields":[...],"limit":N}, {"values":[...]},
// {"detectedLabels":[...]}), patterns uses the {"status","data":[...]} envelope with samples
// as [unix seconds, count]; the rules are in logql/detect.h.
// Times are Unix nanoseconds, Unix seconds (with a fraction) or RFC 3339; start defaults to
// end - 1h, end to now. The X-Loki-Response-Encoding-Flags: categorize-labels header puts
// structured metadata and parsed labels in each value's third element instead of the stream.
//
// Example:
//   LokiApi api(store.get(), push.get());
//   HttpResponse resp;
//   if (api.Handle(req, now_ns, &resp)) send(resp);
//
// Thread-safety: thread-safe (the store and push handler are).
#pragma once

#include <cstdint>
#include <string>

#include "api/http.h"
#include "ingest/loki_push.h"
#include "logstore/log_store.h"
#include "util/status.h"

namespace argus::api {

// Parses a Loki time parameter to Unix ns: an integer of up to 10 digits is seconds, a longer
// one nanoseconds, a number with a fraction seconds, else RFC 3339. InvalidArgument otherwise.
Result<int64_t> ParseLokiTimeNs(std::string_view s);
// Parses a step: a duration ("30s", "1m") or seconds ("15", "0.5"). InvalidArgument otherwise.
Result<int64_t> ParseLokiStepNs(std::string_view s);

class LokiApi {
 public:
  // `store` and `push` must outlive the API.
  LokiApi(logstore::LogStore* store, ingest::LokiPushHandler* push) : store_(store), push_(push) {}
  // Handles `req` if its path is a Loki API path (returns true and fills `resp`).
  bool Handle(const HttpRequest& req, int64_t now_ns, HttpResponse* resp);

 private:
  HttpResponse Push(const HttpRequest& req, int64_t now_ns);
  HttpResponse Query(const HttpRequest& req, int64_t now_ns, bool range);
  HttpResponse Labels(const HttpRequest& req, int64_t now_ns, const std::string* name);
  HttpResponse Series(const HttpRequest& req, int64_t now_ns);
  HttpResponse IndexStats(const HttpRequest& req, int64_t now_ns);
  HttpResponse Volume(const HttpRequest& req, int64_t now_ns, bool range);
  HttpResponse DetectedFields(const HttpRequest& req, int64_t now_ns, const std::string* values_of);
  HttpResponse DetectedLabels(const HttpRequest& req, int64_t now_ns);
  HttpResponse Patterns(const HttpRequest& req, int64_t now_ns);

  logstore::LogStore* store_;
  ingest::LokiPushHandler* push_;
};

// A Loki error: text/plain body with the message; 400 for InvalidArgument/OutOfOrder/NotFound
// of a query, 429 for ResourceExhausted, 503 for Unavailable, 500 otherwise.
HttpResponse LokiError(const Status& st);

}  // namespace argus::api
