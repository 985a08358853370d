#include "server/web_ui.h"

#include <algorithm>

#include "api/dashboard_api.h"
#include "server/web_assets.h"

namespace argus::server {

namespace {

const WebAsset* FindAsset(std::string_view path) {
  auto assets = WebAssets();
  auto it = std::lower_bound(assets.begin(), assets.end(), path,
                             [](const WebAsset& a, std::string_view p) { return a.path < p; });
  return it != assets.end() && it->path == path ? &*it : nullptr;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// True when the client's Accept-Encoding lists gzip (without q=0).
bool AcceptsGzip(const api::HttpRequest& req) {
  std::string ae = req.Header("accept-encoding");
  size_t p = ae.find("gzip");
  if (p == std::string::npos) return false;
  size_t end = ae.find(',', p);
  std::string_view part =
      std::string_view(ae).substr(p, end == std::string::npos ? std::string::npos : end - p);
  return part.find("q=0") == std::string_view::npos || part.find("q=0.") != std::string_view::npos;
}

// True when If-None-Match lists `etag` (or is "*").
bool NotModified(const api::HttpRequest& req, std::string_view etag) {
  std::string inm = req.Header("if-none-match");
  if (inm.empty()) return false;
  if (inm == "*") return true;
  return inm.find(etag) != std::string::npos;
}

void Serve(const api::HttpRequest& req, const WebAsset& a, bool immutable,
           api::HttpResponse* resp) {
  resp->headers.emplace_back("ETag", std::string(a.etag));
  resp->headers.emplace_back("Cache-Control",
                             immutable ? "public, max-age=31536000, immutable" : "no-cache");
  resp->headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (!a.gzip.empty()) resp->headers.emplace_back("Vary", "Accept-Encoding");
  if (NotModified(req, a.etag)) {
    resp->status = 304;
    resp->body.clear();
    return;
  }
  resp->status = 200;
  resp->content_type = std::string(a.content_type);
  if (!a.gzip.empty() && AcceptsGzip(req)) {
    resp->headers.emplace_back("Content-Encoding", "gzip");
    resp->body = std::string(a.gzip);
  } else {
    resp->body = std::string(a.body);
  }
}

}  // namespace

bool IsApiPath(std::string_view path) {
  static constexpr std::string_view kExact[] = {
      "/api", "/loki", "/prometheus", "/otlp", "/tempo", "/metrics", "/ready", "/federate", "/-"};
  static constexpr std::string_view kPrefixes[] = {"/api/",   "/loki/",    "/prometheus/", "/otlp/",
                                                   "/tempo/", "/metrics/", "/-/",          "/v1/",
                                                   "/debug/", "/federate/"};
  for (auto e : kExact) {
    if (path == e) return true;
  }
  for (auto p : kPrefixes) {
    if (StartsWith(path, p)) return true;
  }
  return false;
}

bool ServeWebUi(const api::HttpRequest& req, const std::string& storage_path,
                api::HttpResponse* resp) {
  if (StartsWith(req.path, api::kDashboardApiPrefix)) {
    *resp = api::DashboardApi(storage_path + "/dashboards").Handle(req);
    return true;
  }
  if (req.method != "GET" || IsApiPath(req.path)) return false;
  if (const WebAsset* a = FindAsset(req.path == "/" ? "/index.html" : req.path)) {
    Serve(req, *a, StartsWith(req.path, "/assets/"), resp);
    return true;
  }
  // A missing file (a stale hashed asset, /favicon.ico) is a 404, not the page: a script tag
  // that received HTML would fail confusingly.
  std::string_view last = std::string_view(req.path).substr(req.path.rfind('/') + 1);
  if (StartsWith(req.path, "/assets/") || last.find('.') != std::string_view::npos) return false;
  const WebAsset* index = FindAsset("/index.html");
  if (!index) return false;
  Serve(req, *index, false, resp);
  return true;
}

}  // namespace argus::server
