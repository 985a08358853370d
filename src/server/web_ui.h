// Serves the embedded web UI (server/web_assets.h) and its dashboards API
// (api/dashboard_api.h) on the main HTTP port.
//
// Routes: `/` and UI routes such as `/explore/metrics` or `/dashboards/x` answer index.html
// (single-page-app fallback, revalidated with its ETag); files under `/assets/` carry a content
// hash in their names and are cached for a year (`immutable`); other embedded files are
// revalidated. A request whose `If-None-Match` matches answers 304; gzip is sent when the client
// accepts it. API paths (/api, /loki, /prometheus, /otlp, /metrics, /-/, /ready, ...) are never
// claimed, so the UI cannot shadow an endpoint, existing or future.
//
// Example:
//   api::HttpResponse resp;
//   if (ServeWebUi(req, storage_path, &resp)) return resp;   // else: try the APIs, then 404
//
// Thread-safety: safe to call from many threads (the dashboards store locks its writes).
#pragma once

#include <string>
#include <string_view>

#include "api/http.h"

namespace argus::server {

// True when `path` belongs to an API (or a future one) rather than to the UI.
bool IsApiPath(std::string_view path);

// Answers `req` into `*resp` and returns true when it is a UI request (a GET of an embedded
// file or a UI route) or a dashboards API request (/api/argus/v1/dashboards..., stored under
// `storage_path`/dashboards). Returns false, leaving `*resp` untouched, for everything else.
bool ServeWebUi(const api::HttpRequest& req, const std::string& storage_path,
                api::HttpResponse* resp);

}  // namespace argus::server
