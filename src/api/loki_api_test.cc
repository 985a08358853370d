#include "api/loki_api.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace argus::api {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kNow = 1'700'000'000 * kSec;

class LokiApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/argus_loki_api_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    logstore::LogStoreOptions o;
    o.wal.sync = wal::SyncPolicy::kNone;
    store_ = std::move(*logstore::LogStore::Open(dir_, o));
    push_ = std::make_unique<ingest::LokiPushHandler>(ingest::LokiLimits{}, store_.get());
    api_ = std::make_unique<LokiApi>(store_.get(), push_.get());
    HttpRequest req;
    req.method = "POST";
    req.path = "/loki/api/v1/push";
    req.headers["content-type"] = "application/json";
    req.body = R"({"streams":[{"stream":{"app":"web"},"values":[)";
    for (int i = 0; i < 10; ++i) {
      if (i) req.body += ",";
      req.body += "[\"" + std::to_string(kNow - (10 - i) * kSec) + "\",\"GET /x status=" + (i % 2 ? "500" : "200") + "\"]";
    }
    req.body += R"(]},{"stream":{"app":"db"},"values":[[")" + std::to_string(kNow - kSec) + R"(","q",{"trace_id":"t"}]]}]})";
    HttpResponse r = Call(req);
    ASSERT_EQ(r.status, 204) << r.body;
  }
  void TearDown() override {
    api_.reset();
    push_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  HttpResponse Call(const HttpRequest& req) {
    HttpResponse r;
    EXPECT_TRUE(api_->Handle(req, kNow, &r));
    return r;
  }
  HttpResponse Get(const std::string& path, std::vector<std::pair<std::string, std::string>> params,
                   std::map<std::string, std::string> headers = {}) {
    HttpRequest req;
    req.method = "GET";
    req.path = path;
    req.params = std::move(params);
    req.headers = std::move(headers);
    return Call(req);
  }

  std::string dir_;
  std::unique_ptr<logstore::LogStore> store_;
  std::unique_ptr<ingest::LokiPushHandler> push_;
  std::unique_ptr<LokiApi> api_;
};

TEST_F(LokiApiTest, QueryRangeStreamsBackwardWithLimit) {
  auto r = Get("/loki/api/v1/query_range", {{"query", R"({app="web"} |= "500")"}, {"limit", "2"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("resultType":"streams")"), std::string::npos);
  EXPECT_NE(r.body.find(R"("stream":{"app":"web"})"), std::string::npos);
  // Newest first: the 9th line (kNow - 1s) then the 7th.
  size_t a = r.body.find(std::to_string(kNow - kSec)), b = r.body.find(std::to_string(kNow - 3 * kSec));
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_EQ(r.body.find(std::to_string(kNow - 5 * kSec)), std::string::npos);  // limit 2
  EXPECT_NE(r.body.find(R"("totalEntriesReturned":2)"), std::string::npos);
}

TEST_F(LokiApiTest, QueryRangeMatrixAndInstantVector) {
  auto r = Get("/loki/api/v1/query_range",
               {{"query", R"(sum by (app) (count_over_time({app="web"}[1m])))"},
                {"start", std::to_string(kNow - 60 * kSec)}, {"end", std::to_string(kNow)}, {"step", "30s"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("resultType":"matrix")"), std::string::npos);
  EXPECT_NE(r.body.find(R"({"metric":{"app":"web"},"values":[)"), std::string::npos);
  EXPECT_NE(r.body.find(R"([1700000000,"10"])"), std::string::npos);
  auto v = Get("/loki/api/v1/query", {{"query", R"(count_over_time({app="web"} |= "500" [1m]))"}, {"time", "1700000000"}});
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_NE(v.body.find(R"({"metric":{"app":"web"},"value":[1700000000,"5"]})"), std::string::npos);
}

TEST_F(LokiApiTest, CategorizeLabelsMovesMetadataOutOfTheStream) {
  auto plain = Get("/loki/api/v1/query_range", {{"query", R"({app="db"})"}});
  EXPECT_NE(plain.body.find(R"("stream":{"app":"db","trace_id":"t"})"), std::string::npos) << plain.body;
  auto cat = Get("/loki/api/v1/query_range", {{"query", R"({app="db"})"}},
                 {{"x-loki-response-encoding-flags", "categorize-labels"}});
  EXPECT_NE(cat.body.find(R"("stream":{"app":"db"})"), std::string::npos) << cat.body;
  EXPECT_NE(cat.body.find(R"({"structuredMetadata":{"trace_id":"t"}})"), std::string::npos) << cat.body;
}

TEST_F(LokiApiTest, LabelsValuesSeriesStats) {
  EXPECT_EQ(Get("/loki/api/v1/labels", {}).body, R"({"status":"success","data":["app"]})");
  EXPECT_EQ(Get("/loki/api/v1/label/app/values", {}).body, R"({"status":"success","data":["db","web"]})");
  EXPECT_EQ(Get("/loki/api/v1/series", {{"match[]", R"({app="db"})"}}).body,
            R"({"status":"success","data":[{"app":"db"}]})");
  EXPECT_EQ(Get("/loki/api/v1/index/stats", {{"query", R"({app="db"})"}}).body,
            R"({"streams":1,"chunks":1,"bytes":1,"entries":1})");
}

TEST_F(LokiApiTest, VolumeAndVolumeRange) {
  auto v = Get("/loki/api/v1/index/volume", {{"query", R"({app=~".+"})"}, {"end", std::to_string(kNow)}});
  ASSERT_EQ(v.status, 200) << v.body;
  // web: 10 lines of 17 bytes ("GET /x status=200" or "=500"); db: one 1-byte line.
  EXPECT_NE(v.body.find(R"({"metric":{"app":"web"},"value":[1700000000,"170"]})"), std::string::npos) << v.body;
  EXPECT_LT(v.body.find(R"("app":"web")"), v.body.find(R"("app":"db")"));  // largest first
  auto r = Get("/loki/api/v1/index/volume_range", {{"query", R"({app="web"})"}, {"start", std::to_string(kNow - 10 * kSec)},
                                                   {"end", std::to_string(kNow)}, {"step", "5s"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("resultType":"matrix")"), std::string::npos);
  EXPECT_NE(r.body.find(R"("values":[[1699999990,"17"],[1699999995,"85"],[1700000000,"68"]])"), std::string::npos) << r.body;
}

TEST_F(LokiApiTest, ErrorsArePlainText400) {
  auto r = Get("/loki/api/v1/query_range", {{"query", R"({app="web"} |= )"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type.rfind("text/plain", 0), 0u);
  EXPECT_NE(r.body.find("parse error"), std::string::npos);
  EXPECT_EQ(Get("/loki/api/v1/query_range", {{"query", R"({app="web"})"}, {"limit", "6000"}}).status, 400);
  EXPECT_EQ(Get("/loki/api/v1/query_range", {{"query", R"({app="web"})"}, {"direction", "up"}}).status, 400);
  HttpRequest bad;
  bad.method = "POST";
  bad.path = "/loki/api/v1/push";
  bad.headers["content-type"] = "application/x-protobuf";
  bad.body = "garbage";
  EXPECT_EQ(Call(bad).status, 400);
}

TEST_F(LokiApiTest, DetectedFieldsAndValues) {
  auto web = Get("/loki/api/v1/detected_fields", {{"query", R"({app="web"})"}});
  ASSERT_EQ(web.status, 200) << web.body;
  EXPECT_EQ(web.body, R"({"fields":[{"label":"status","type":"int","cardinality":2,"parsers":["logfmt"]}],"limit":1000})");
  auto db = Get("/loki/api/v1/detected_fields", {{"query", R"({app="db"})"}, {"limit", "5"}});
  // The fixture's trace_id is "t", which Go's strconv.ParseBool reads as true: Loki says boolean.
  EXPECT_EQ(db.body, R"({"fields":[{"label":"trace_id","type":"boolean","cardinality":1,"parsers":null}],"limit":5})");
  // line_limit samples the newest lines only: the last one is status=500.
  auto one = Get("/loki/api/v1/detected_field/status/values", {{"query", R"({app="web"})"}, {"line_limit", "1"}});
  EXPECT_EQ(one.body, R"({"values":["500"],"limit":1000})");
  auto all = Get("/loki/api/v1/detected_field/status/values", {{"query", R"({app="web"} | logfmt)"}});
  EXPECT_EQ(all.body, R"({"values":["200","500"],"limit":1000})");
  EXPECT_EQ(Get("/loki/api/v1/detected_fields", {}).status, 400);
  EXPECT_EQ(Get("/loki/api/v1/detected_fields", {{"query", R"(count_over_time({app="web"}[1m]))"}}).status, 400);
  EXPECT_EQ(Get("/loki/api/v1/detected_fields", {{"query", R"({app="web"})"}, {"line_limit", "x"}}).status, 400);
}

TEST_F(LokiApiTest, DetectedLabels) {
  EXPECT_EQ(Get("/loki/api/v1/detected_labels", {}).body, R"({"detectedLabels":[{"label":"app","cardinality":2}]})");
  EXPECT_EQ(Get("/loki/api/v1/detected_labels", {{"query", R"({app="db"})"}}).body,
            R"({"detectedLabels":[{"label":"app","cardinality":1}]})");
  EXPECT_EQ(Get("/loki/api/v1/detected_labels", {{"query", "{"}}).status, 400);
}

TEST_F(LokiApiTest, PatternsCountPerStep) {
  auto r = Get("/loki/api/v1/patterns", {{"query", R"({app="web"})"}, {"start", std::to_string(kNow - 20 * kSec)},
                                         {"end", std::to_string(kNow)}, {"step", "5s"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"status":"success","data":[{"pattern":"GET /x <_>","level":"unknown","samples":[[1699999990,5],[1699999995,5]]}]})");
  EXPECT_EQ(Get("/loki/api/v1/patterns", {}).status, 400);
  EXPECT_EQ(Get("/loki/api/v1/patterns", {{"query", R"({app="web"})"}, {"step", "0"}}).status, 400);
}

TEST(LokiTimeTest, ParsesLokiTimeForms) {
  EXPECT_EQ(*ParseLokiTimeNs("1700000000"), 1'700'000'000 * kSec);
  EXPECT_EQ(*ParseLokiTimeNs("1700000000000000000"), 1'700'000'000 * kSec);
  EXPECT_EQ(*ParseLokiTimeNs("1700000000.5"), 1'700'000'000 * kSec + 500'000'000);
  EXPECT_EQ(*ParseLokiTimeNs("2023-11-14T22:13:20Z"), 1'700'000'000 * kSec);
  EXPECT_FALSE(ParseLokiTimeNs("yesterday").ok());
  EXPECT_EQ(*ParseLokiStepNs("30s"), 30 * kSec);
  EXPECT_EQ(*ParseLokiStepNs("15"), 15 * kSec);
}

}  // namespace
}  // namespace argus::api
