#include "server/web_ui.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "server/web_assets.h"

namespace argus::server {
namespace {

api::HttpRequest Get(std::string path, std::map<std::string, std::string> headers = {}) {
  api::HttpRequest r;
  r.method = "GET";
  r.path = std::move(path);
  r.headers = std::move(headers);
  return r;
}

const WebAsset* Find(std::string_view path) {
  for (const WebAsset& a : WebAssets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

std::string HeaderOf(const api::HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(WebUi, AssetsAreSortedAndHaveIndex) {
  auto assets = WebAssets();
  ASSERT_FALSE(assets.empty());
  for (size_t i = 1; i < assets.size(); ++i) EXPECT_LT(assets[i - 1].path, assets[i].path);
  const WebAsset* index = Find("/index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_NE(index->body.find("<html"), std::string_view::npos);
  EXPECT_EQ(index->etag.size(), 18u);
}

TEST(WebUi, RootAndRoutesServeIndex) {
  const WebAsset* index = Find("/index.html");
  ASSERT_NE(index, nullptr);
  for (const char* path :
       {"/", "/explore/metrics", "/dashboards/argus-self", "/explore/traces/abc123"}) {
    api::HttpResponse r;
    ASSERT_TRUE(ServeWebUi(Get(path), "/nonexistent", &r)) << path;
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, index->body) << path;
    EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-cache") << path;
    EXPECT_EQ(HeaderOf(r, "ETag"), index->etag) << path;
  }
}

TEST(WebUi, NeverShadowsApis) {
  for (const char* path :
       {"/api/v1/query", "/api/v1/query_range", "/loki/api/v1/query_range",
        "/prometheus/api/v1/labels", "/otlp/v1/traces", "/metrics", "/-/ready", "/-/healthy",
        "/ready", "/api/traces/1", "/api", "/federate", "/v1/traces", "/tempo/api/search"}) {
    api::HttpResponse r;
    r.status = 999;
    EXPECT_FALSE(ServeWebUi(Get(path), "/nonexistent", &r)) << path;
    EXPECT_EQ(r.status, 999) << path;
    EXPECT_TRUE(IsApiPath(path)) << path;
  }
  api::HttpResponse r;
  api::HttpRequest post = Get("/explore/metrics");
  post.method = "POST";
  EXPECT_FALSE(ServeWebUi(post, "/nonexistent", &r));
}

TEST(WebUi, MissingFilesAreNotThePage) {
  api::HttpResponse r;
  EXPECT_FALSE(ServeWebUi(Get("/assets/index-deadbeef.js"), "/nonexistent", &r));
  EXPECT_FALSE(ServeWebUi(Get("/favicon.ico"), "/nonexistent", &r));
}

TEST(WebUi, HashedAssetsAreImmutableAndRevalidate) {
  const WebAsset* asset = nullptr;
  for (const WebAsset& a : WebAssets()) {
    if (a.path.rfind("/assets/", 0) == 0) asset = &a;
  }
  if (WebAssetsArePlaceholder()) {
    EXPECT_EQ(asset, nullptr);
    GTEST_SKIP() << "built without npm: only the placeholder page is embedded";
  }
  ASSERT_NE(asset, nullptr);
  api::HttpResponse r;
  ASSERT_TRUE(ServeWebUi(Get(std::string(asset->path)), "/nonexistent", &r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, asset->body);
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(r.content_type, asset->content_type);

  api::HttpResponse again;
  ASSERT_TRUE(ServeWebUi(
      Get(std::string(asset->path), {{"if-none-match", std::string(asset->etag)}}), "/x", &again));
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
}

TEST(WebUi, GzipWhenAccepted) {
  const WebAsset* asset = nullptr;
  for (const WebAsset& a : WebAssets()) {
    if (!a.gzip.empty()) asset = &a;
  }
  if (!asset) GTEST_SKIP() << "no embedded file is large enough to be compressed";
  EXPECT_LT(asset->gzip.size(), asset->body.size());
  EXPECT_EQ(static_cast<unsigned char>(asset->gzip[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(asset->gzip[1]), 0x8b);
  api::HttpResponse r;
  std::string path = asset->path == "/index.html" ? "/" : std::string(asset->path);
  ASSERT_TRUE(ServeWebUi(Get(path, {{"accept-encoding", "gzip, deflate, br"}}), "/x", &r));
  EXPECT_EQ(HeaderOf(r, "Content-Encoding"), "gzip");
  EXPECT_EQ(r.body, asset->gzip);
  api::HttpResponse plain;
  ASSERT_TRUE(ServeWebUi(Get(path, {{"accept-encoding", "gzip;q=0, br"}}), "/x", &plain));
  EXPECT_EQ(HeaderOf(plain, "Content-Encoding"), "");
  EXPECT_EQ(plain.body, asset->body);
}

TEST(WebUi, DashboardsApiIsRouted) {
  auto dir = std::filesystem::temp_directory_path() / "argus-web-ui-test";
  std::filesystem::remove_all(dir);
  api::HttpRequest put = Get("/api/argus/v1/dashboards/d1");
  put.method = "PUT";
  put.body = R"({"title":"T"})";
  api::HttpResponse r;
  ASSERT_TRUE(ServeWebUi(put, dir.string(), &r));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(std::filesystem::exists(dir / "dashboards" / "d1.json"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace argus::server
