#include "promql/engine.h"

#include <gtest/gtest.h>

#include <cmath>

#include "promql/memory_storage.h"
#include "promql/parser.h"

namespace argus::promql {
namespace {

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // http_requests_total{job="a"}: 0, 10, 20, ... every 15s for 10 minutes.
    std::vector<Sample> a, b;
    for (int i = 0; i <= 40; ++i) a.push_back({i * 15000LL, i * 10.0});
    st_.Add(Labels::FromMap({{"__name__", "http_requests_total"}, {"job", "a"}}), a);
    // gauge{job="b"}: 1 at 0s, stale at 60s.
    b = {{0, 1}, {60000, StaleNaN()}};
    st_.Add(Labels::FromMap({{"__name__", "gauge"}, {"job", "b"}}), b);
  }

  Result<QueryResult> Instant(const std::string& q, int64_t t) {
    ASSIGN_OR_RETURN(ExprPtr e, ParseExpr(q));
    return engine_.InstantQuery(&st_, *e, q, t);
  }

  MemoryStorage st_;
  Engine engine_{EngineOptions{}};
};

TEST_F(EngineTest, RateOverCounter) {
  auto r = Instant("rate(http_requests_total[1m])", 300000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->type, ValueType::kVector);
  ASSERT_EQ(r->vector.size(), 1u);
  EXPECT_NEAR(r->vector[0].f, 10.0 / 15.0, 1e-9);
  EXPECT_EQ(r->vector[0].metric.Get("__name__"), "");  // rate drops the name
  EXPECT_TRUE(r->infos.empty());
}

TEST_F(EngineTest, LookbackAndStaleness) {
  auto r = Instant("gauge", 30000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->vector.size(), 1u);
  r = Instant("gauge", 61000);  // the stale marker at 60s ends the series
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->vector.empty());
  // Past the lookback delta nothing is returned.
  r = Instant("http_requests_total", 600000 + 300000);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->vector.empty());
  r = Instant("http_requests_total", 600000 + 299999);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->vector.size(), 1u);
}

TEST_F(EngineTest, RangeQueryMatrix) {
  auto e = ParseExpr("http_requests_total * 2");
  ASSERT_TRUE(e.ok());
  auto r = engine_.RangeQuery(&st_, **e, "", 0, 60000, 30000);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->matrix.size(), 1u);
  ASSERT_EQ(r->matrix[0].points.size(), 3u);
  EXPECT_EQ(r->matrix[0].points[2].f, 80);
}

TEST_F(EngineTest, ManyToManyError) {
  auto r = Instant("http_requests_total + on() {__name__=~\".+\"}", 30000);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("many-to-many matching not allowed"), std::string::npos);
}

TEST_F(EngineTest, MaxSamples) {
  EngineOptions o;
  o.max_samples = 3;
  Engine small(o);
  auto e = ParseExpr("http_requests_total[10m]");
  ASSERT_TRUE(e.ok());
  auto r = small.InstantQuery(&st_, **e, "", 600000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(r.status().message(), std::string(kTooManySamples));
}

TEST_F(EngineTest, NonCounterInfo) {
  auto r = Instant("rate(gauge[1m])", 50000);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->infos.size(), 0u);  // one sample: no output, no info
  r = Instant("increase(gauge[2m] offset -1s)", 30000);
  ASSERT_TRUE(r.ok());
}

}  // namespace
}  // namespace argus::promql
