#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "api/http.h"
#include "api/json_writer.h"
#include "api/prometheus_api.h"

namespace argus::api {
namespace {

TEST(JsonWriterTest, SampleValuesFormatLikeGo) {
  EXPECT_EQ(JsonWriter::FormatSampleValue(1), "1");
  EXPECT_EQ(JsonWriter::FormatSampleValue(0.1), "0.1");
  EXPECT_EQ(JsonWriter::FormatSampleValue(-2.5), "-2.5");
  EXPECT_EQ(JsonWriter::FormatSampleValue(1e21), "1000000000000000000000");
  EXPECT_EQ(JsonWriter::FormatSampleValue(1.5e-7), "0.00000015");
  EXPECT_EQ(JsonWriter::FormatSampleValue(std::nan("")), "NaN");
  EXPECT_EQ(JsonWriter::FormatSampleValue(-INFINITY), "-Inf");
  EXPECT_EQ(JsonWriter::FormatSampleValue(INFINITY), "+Inf");
}

TEST(JsonWriterTest, EscapesAndReplacesInvalidUtf8) {
  JsonWriter w;
  w.BeginObject();
  w.Key("a\"b");
  w.String("x\n\x01\xff");
  w.Key("t");
  w.TimestampMs(1435781451781);
  w.EndObject();
  EXPECT_EQ(w.str(), "{\"a\\\"b\":\"x\\n\\u0001\xEF\xBF\xBD\",\"t\":1435781451.781}");
}

TEST(HttpTest, FormDecoding) {
  std::vector<std::pair<std::string, std::string>> p;
  ParseFormEncoded("match%5B%5D=up%7Bjob%3D%22a%22%7D&x=a+b&bad=%zz", &p);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].first, "match[]");
  EXPECT_EQ(p[0].second, "up{job=\"a\"}");
  EXPECT_EQ(p[1].second, "a b");
  EXPECT_EQ(p[2].second, "%zz");
}

TEST(PrometheusApiTest, ParsesTimes) {
  EXPECT_EQ(*ParseTimeMs("1435781451.781"), 1435781451781);
  EXPECT_EQ(*ParseTimeMs("2015-07-01T20:10:51.781Z"), 1435781451781);
  EXPECT_EQ(*ParseTimeMs("2015-07-01T22:10:51+02:00"), 1435781451000);
  auto bad = ParseTimeMs("yesterday");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "cannot parse \"yesterday\" to a valid timestamp");
}

TEST(PrometheusApiTest, ParsesSelectors) {
  auto ms = ParseSeriesSelector("up{job=\"node\", instance=~\"a.*\",x!=\"1\",y!~'z'}");
  ASSERT_TRUE(ms.ok()) << ms.status().ToString();
  ASSERT_EQ(ms->size(), 5u);
  EXPECT_EQ((*ms)[0].name(), "__name__");
  EXPECT_EQ((*ms)[2].type(), MatchType::kRegexMatch);
  EXPECT_EQ((*ms)[4].type(), MatchType::kRegexNoMatch);
  EXPECT_FALSE(ParseSeriesSelector("{job=~\".*\"}").ok());  // matches everything
  EXPECT_FALSE(ParseSeriesSelector("up{job=node}").ok());
  EXPECT_FALSE(ParseSeriesSelector("up{").ok());
  auto utf8 = ParseSeriesSelector("{\"my.metric\", a=\"b\"}");
  ASSERT_TRUE(utf8.ok());
  EXPECT_EQ((*utf8)[0].value(), "my.metric");
}

TEST(PrometheusApiTest, ErrorEnvelope) {
  HttpResponse r = ErrorResponse(Status::InvalidArgument("invalid parameter \"x\""));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter \\\"x\\\"\"}");
  EXPECT_EQ(ErrorResponse(Status::DeadlineExceeded("t")).status, 503);
  EXPECT_EQ(ErrorResponse(Status::ResourceExhausted("t")).status, 422);
}

class ApiDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/argus_api_test_XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    auto db = tsdb::DB::Open(dir_, {});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    auto app = db_->NewAppender();
    ASSERT_TRUE(app->Append(Labels::FromMap({{"__name__", "up"}, {"job", "a"}}), 1000, 1).ok());
    ASSERT_TRUE(app->Append(Labels::FromMap({{"__name__", "up"}, {"job", "b"}}), 1000, 0).ok());
    ASSERT_TRUE(app->Append(Labels::FromMap({{"__name__", "other"}, {"x", "y"}}), 1000, 2).ok());
    ASSERT_TRUE(app->Commit().ok());
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  HttpResponse Get(const std::string& path, std::vector<std::pair<std::string, std::string>> params) {
    HttpRequest req;
    req.method = "GET";
    req.path = path;
    req.params = std::move(params);
    HttpResponse resp;
    PrometheusApi api(db_.get(), BuildInfo{"0.1.0", "abc", "main", "today"});
    EXPECT_TRUE(api.Handle(req, &resp));
    return resp;
  }
  std::string dir_;
  std::unique_ptr<tsdb::DB> db_;
};

TEST_F(ApiDbTest, SeriesLabelsAndValues) {
  auto r = Get("/api/v1/series", {{"match[]", "up"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":[{\"__name__\":\"up\",\"job\":\"a\"},"
            "{\"__name__\":\"up\",\"job\":\"b\"}]}");
  r = Get("/api/v1/labels", {});
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":[\"__name__\",\"job\",\"x\"]}");
  r = Get("/api/v1/label/job/values", {{"match[]", "up{job!=\"b\"}"}});
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":[\"a\"]}");
  r = Get("/api/v1/label/__name__/values", {{"limit", "1"}});
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":[\"other\"],\"warnings\":[\"results truncated due to limit\"]}");
  r = Get("/api/v1/series", {});
  EXPECT_EQ(r.status, 400);
  r = Get("/api/v1/series", {{"match[]", "up"}, {"start", "10"}, {"end", "5"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("end timestamp must not be before start time"), std::string::npos);
  r = Get("/api/v1/status/buildinfo", {});
  EXPECT_NE(r.body.find("\"version\":\"0.1.0\""), std::string::npos);
}

}  // namespace
}  // namespace argus::api
