#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "api/http.h"
#include "api/json_writer.h"
#include "api/prometheus_api.h"
#include "model/histogram_notation.h"

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

TEST_F(ApiDbTest, InstantQuery) {
  auto r = Get("/api/v1/query", {{"query", "sum(up)"}, {"time", "2"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
            "[{\"metric\":{},\"value\":[2,\"1\"]}]}}");
  r = Get("/api/v1/query", {{"query", "up{job=\"a\"}"}, {"time", "1.5"}});
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
            "[{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},\"value\":[1.5,\"1\"]}]}}");
  r = Get("/api/v1/query", {{"query", "1 + 1"}, {"time", "10"}});
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[10,\"2\"]}}");
  r = Get("/api/v1/query", {{"query", "\"hi\""}, {"time", "10"}});
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"string\",\"result\":[10,\"hi\"]}}");
  r = Get("/api/v1/query", {{"query", "up[5m]"}, {"time", "2"}, {"limit", "1"}});
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":"
            "[{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},\"values\":[[1,\"1\"]]}]},"
            "\"warnings\":[\"results truncated due to limit\"]}");
  r = Get("/api/v1/query", {{"query", "up"}, {"time", "2"}, {"stats", "all"}});
  EXPECT_NE(r.body.find("\"totalQueryableSamples\":2"), std::string::npos) << r.body;
}

TEST_F(ApiDbTest, RangeQuery) {
  auto r = Get("/api/v1/query_range",
               {{"query", "up * 2"}, {"start", "1"}, {"end", "31"}, {"step", "15s"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
            "{\"metric\":{\"job\":\"a\"},\"values\":[[1,\"2\"],[16,\"2\"],[31,\"2\"]]},"
            "{\"metric\":{\"job\":\"b\"},\"values\":[[1,\"0\"],[16,\"0\"],[31,\"0\"]]}]}}");
  r = Get("/api/v1/query_range", {{"query", "up"}, {"start", "1"}, {"end", "0"}, {"step", "1"}});
  EXPECT_EQ(r.status, 400);
  r = Get("/api/v1/query_range", {{"query", "up"}, {"start", "0"}, {"end", "1"}, {"step", "0"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("zero or negative query resolution step widths are not accepted"),
            std::string::npos);
  r = Get("/api/v1/query_range", {{"query", "up[1m]"}, {"start", "0"}, {"end", "1"}, {"step", "1"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("invalid expression type \\\"range vector\\\" for range query"),
            std::string::npos);
  r = Get("/api/v1/query_range", {{"query", "up"}, {"start", "0"}, {"end", "100000"}, {"step", "1"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("exceeded maximum resolution of 11,000 points"), std::string::npos);
}

TEST_F(ApiDbTest, QueryErrors) {
  auto r = Get("/api/v1/query", {{"query", "sum(up"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body,
            "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
            "\\\"query\\\": 1:7: parse error: unclosed left parenthesis\"}");
  r = Get("/api/v1/query", {{"query", ""}});
  EXPECT_NE(r.body.find("no expression found in input"), std::string::npos);
  r = Get("/api/v1/query", {{"query", "up"}, {"time", "x"}});
  EXPECT_EQ(r.status, 400);
  // A runtime error is an execution error (422).
  r = Get("/api/v1/query", {{"query", "up + on() up"}, {"time", "2"}});
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.body.find("\"errorType\":\"execution\""), std::string::npos);
  EXPECT_NE(r.body.find("many-to-many matching not allowed"), std::string::npos);
}

TEST_F(ApiDbTest, SampleLimit) {
  promql::EngineOptions o;
  o.max_samples = 1;
  promql::Engine engine(o);
  PrometheusApi api(db_.get(), BuildInfo{}, &engine);
  HttpRequest req;
  req.method = "POST";
  req.path = "/api/v1/query";
  req.params = {{"query", "up"}, {"time", "2"}};
  HttpResponse resp;
  ASSERT_TRUE(api.Handle(req, &resp));
  EXPECT_EQ(resp.status, 422);
  EXPECT_NE(resp.body.find("query processing would load too many samples into memory in query execution"),
            std::string::npos);
}

TEST_F(ApiDbTest, ParseQueryReturnsPrometheusAst) {
  auto r = Get("/api/v1/parse_query", {{"query", "sum by (job) (rate(x{a=\"b\"}[5m]))"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"expr\":{\"args\":[{\"anchored\":false,"
            "\"matchers\":[{\"name\":\"a\",\"type\":\"=\",\"value\":\"b\"},"
            "{\"name\":\"__name__\",\"type\":\"=\",\"value\":\"x\"}],\"name\":\"x\","
            "\"offset\":0,\"range\":300000,\"smoothed\":false,\"startOrEnd\":null,"
            "\"timestamp\":null,\"type\":\"matrixSelector\"}],\"func\":{\"argTypes\":"
            "[\"matrix\"],\"name\":\"rate\",\"returnType\":\"vector\",\"variadic\":0},"
            "\"type\":\"call\"},\"grouping\":[\"job\"],\"op\":\"sum\",\"param\":null,"
            "\"type\":\"aggregation\",\"without\":false}}");
  // Binary operations: vector matching only between two instant vectors.
  r = Get("/api/v1/parse_query", {{"query", "-a / on(x) group_left(y) b @ 10 > bool 1"}});
  EXPECT_NE(r.body.find("\"card\":\"many-to-one\",\"fillValues\":{\"lhs\":null,\"rhs\":null},"
                        "\"include\":[\"y\"],\"labels\":[\"x\"],\"on\":true"),
            std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"bool\":true"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"matching\":null"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"timestamp\":10000"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"type\":\"unaryExpr\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("{\"type\":\"numberLiteral\",\"val\":\"1\"}"), std::string::npos) << r.body;
  r = Get("/api/v1/parse_query", {{"query", "max_over_time((up)[1h:5m] offset 1m)"}});
  EXPECT_NE(r.body.find("\"alignEvalTime\":false,\"expr\":{\"expr\":"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"offset\":60000,\"range\":3600000,\"startOrEnd\":null,\"step\":300000"),
            std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"type\":\"parenExpr\""), std::string::npos) << r.body;
  // A parse error is bad_data, as for the other query endpoints.
  r = Get("/api/v1/parse_query", {{"query", "sum("}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("\"errorType\":\"bad_data\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("invalid parameter \\\"query\\\""), std::string::npos) << r.body;
}

// The HTTP server's hang-up flag reaches the engine: a query whose client is gone is canceled.
TEST_F(ApiDbTest, QueryOfGoneClientIsCanceled) {
  std::atomic<bool> gone{true};
  PrometheusApi api(db_.get(), BuildInfo{});
  HttpRequest req;
  req.method = "GET";
  req.path = "/api/v1/query";
  req.params = {{"query", "vector(1)"}, {"time", "2"}};
  req.client_gone = &gone;
  HttpResponse resp;
  ASSERT_TRUE(api.Handle(req, &resp));
  EXPECT_EQ(resp.status, 503) << resp.body;
  EXPECT_NE(resp.body.find("\"errorType\":\"canceled\""), std::string::npos) << resp.body;
  gone = false;
  ASSERT_TRUE(api.Handle(req, &resp));
  EXPECT_EQ(resp.status, 200) << resp.body;
}

TEST_F(ApiDbTest, FormatQuery) {
  auto r = Get("/api/v1/format_query", {{"query", "sum(rate(x[300s]))by(job)"}});
  EXPECT_EQ(r.body, "{\"status\":\"success\",\"data\":\"sum by (job) (rate(x[5m]))\"}");
  EXPECT_EQ(ParseDurationParamMs("1m30s").value(), 90000);
  EXPECT_EQ(ParseDurationParamMs("0.5").value(), 500);
  EXPECT_FALSE(ParseDurationParamMs("x").ok());
}

}  // namespace
}  // namespace argus::api

namespace argus::api {
namespace {

// Grafana sends a panel's whole expression to /api/v1/query_exemplars; like Prometheus, the
// exemplars of every series its selectors match come back, and only those.
TEST_F(ApiDbTest, ExemplarsOfAWholeExpression) {
  Labels a = Labels::FromMap({{"__name__", "up"}, {"job", "a"}});
  Labels other = Labels::FromMap({{"__name__", "other"}, {"x", "y"}});
  auto app = db_->NewAppender();
  ASSERT_TRUE(app->Append(a, 2000, 1).ok());
  ASSERT_TRUE(app->AppendExemplar(a, Exemplar{Labels::FromMap({{"trace_id", "t1"}}), 1.5, 2000}).ok());
  ASSERT_TRUE(app->Append(other, 2000, 2).ok());
  ASSERT_TRUE(app->AppendExemplar(other, Exemplar{Labels::FromMap({{"trace_id", "t2"}}), 2.5, 2000}).ok());
  ASSERT_TRUE(app->Commit().ok());

  auto r = Get("/api/v1/query_exemplars",
               {{"query", "histogram_quantile(0.9, sum by (le) (rate(up{job=\"a\"}[5m])))"},
                {"start", "0"}, {"end", "10"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"trace_id\":\"t1\""), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("t2"), std::string::npos) << r.body;

  r = Get("/api/v1/query_exemplars", {{"query", "up{job=\"a\"} / on() group_left other"},
                                      {"start", "0"}, {"end", "10"}});
  EXPECT_NE(r.body.find("t1"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("t2"), std::string::npos) << r.body;

  r = Get("/api/v1/query_exemplars", {{"query", "sum(up"}, {"start", "0"}, {"end", "10"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("invalid parameter \\\"query\\\""), std::string::npos) << r.body;
}

TEST(PrometheusApiTest, HistogramSampleJsonLikePrometheus) {
  auto h = ParseHistogramLiteral(
      "{{schema:0 count:4 sum:5 z_bucket:1 z_bucket_w:0.001 buckets:[1 0 2] n_buckets:[3]}}");
  ASSERT_TRUE(h.ok()) << h.status().message();
  JsonWriter w;
  WriteHistogramSample(&w, 1500, *h);
  // Negative bucket -1..-0.5 is [l,u) (rule 1), the zero bucket closed (3), positive buckets
  // (l,u] (0); the empty bucket (1,2] is left out.
  EXPECT_EQ(w.Take(),
            "[1.5,{\"count\":\"4\",\"sum\":\"5\",\"buckets\":[[1,\"-1\",\"-0.5\",\"3\"],"
            "[3,\"-0.001\",\"0.001\",\"1\"],[0,\"0.5\",\"1\",\"1\"],[0,\"2\",\"4\",\"2\"]]}]");
  FloatHistogram empty;
  JsonWriter w2;
  WriteHistogramSample(&w2, 0, empty);
  EXPECT_EQ(w2.Take(), "[0,{\"count\":\"0\",\"sum\":\"0\"}]");
}

}  // namespace
}  // namespace argus::api
