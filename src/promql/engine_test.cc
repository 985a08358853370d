#include "promql/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "promql/functions.h"
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

// An anchored / smoothed range as a value: its points bracketed by synthetic points exactly
// at the range's start and end (Prometheus' extendFloats).
TEST_F(EngineTest, ExtendedRangeSelectorValues) {
  // Samples every 15s with value t/1.5s; the range (50s, 110s].
  auto r = Instant("http_requests_total[1m] anchored", 110000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->type, ValueType::kMatrix);
  ASSERT_EQ(r->matrix.size(), 1u);
  const auto& a = r->matrix[0].points;
  ASSERT_EQ(a.size(), 6u);  // 50s (anchor 45s), 60, 75, 90, 105, 110s (last at 105s)
  EXPECT_EQ(a.front().t_ms, 50000);
  EXPECT_DOUBLE_EQ(a.front().f, 30);  // the sample at 45s
  EXPECT_EQ(a.back().t_ms, 110000);
  EXPECT_DOUBLE_EQ(a.back().f, 70);  // the sample at 105s
  r = Instant("http_requests_total[1m] smoothed", 110000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& s = r->matrix[0].points;
  ASSERT_EQ(s.size(), 6u);
  EXPECT_NEAR(s.front().f, 50000 / 1500.0, 1e-9);  // interpolated between 45s and 60s
  EXPECT_NEAR(s.back().f, 110000 / 1500.0, 1e-9);  // between 105s and 120s
  // increase over the smoothed range is exact for a straight line: 60s of 10 per 15s.
  r = Instant("increase(http_requests_total[1m] smoothed)", 110000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->vector.size(), 1u);
  EXPECT_NEAR(r->vector[0].f, 40, 1e-9);
  // Functions the modifiers do not define fail with upstream's text.
  r = Instant("max_over_time(http_requests_total[1m] anchored)", 110000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "anchored modifier can only be used with: changes, delta, increase, rate, resets - not with max_over_time");
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

// Range-query aggregations are evaluated series by series (AggregateSeriesMajor); instant
// queries step by step. Both must give the same bits at every step, with gaps, NaN, +-Inf,
// huge values (avg's overflow path) and series that start late.
TEST(EngineAggregationTest, RangeAggregationsEqualStepByStep) {
  MemoryStorage st;
  uint64_t seed = 42;
  auto next = [&] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return seed >> 33;
  };
  for (int i = 0; i < 60; ++i) {
    std::vector<Sample> pts;
    for (int t = 0; t <= 40; ++t) {
      if (next() % 5 == 0 || t < i % 7) continue;  // gaps, late starts
      double v = static_cast<double>(next() % 1000) - 500;
      switch (next() % 40) {
        case 0: v = std::nan(""); break;
        case 1: v = INFINITY; break;
        case 2: v = -INFINITY; break;
        case 3: v = 1.7e308; break;
        default: break;
      }
      pts.push_back({t * 15000LL, v});
    }
    st.Add(Labels::FromMap({{"__name__", "m"}, {"g", std::to_string(i % 4)}, {"h", std::to_string(i % 3)},
                            {"i", std::to_string(i)}}),
           pts);
  }
  Engine engine{EngineOptions{}};
  for (const char* q : {"sum by (g) (m)", "avg by (g) (m)", "count by (h) (m)", "min without (i) (m)",
                        "max(m)", "group by (g, h) (m)", "stddev by (g) (m)", "stdvar by (h) (m)",
                        "sum by (g) (rate(m[1m]))"}) {
    auto e = ParseExpr(q);
    ASSERT_TRUE(e.ok());
    auto range = engine.RangeQuery(&st, **e, q, 0, 600000, 15000);
    ASSERT_TRUE(range.ok()) << q << ": " << range.status().message();
    size_t points = 0;
    for (int64_t t = 0; t <= 600000; t += 15000) {
      auto inst = engine.InstantQuery(&st, **e, q, t);
      ASSERT_TRUE(inst.ok()) << q;
      for (const auto& s : inst->vector) {
        auto it = std::find_if(range->matrix.begin(), range->matrix.end(),
                               [&](const Series& r) { return r.metric == s.metric; });
        ASSERT_NE(it, range->matrix.end()) << q << " at " << t << ": no series " << s.metric.ToString();
        auto p = std::find_if(it->points.begin(), it->points.end(), [&](const Point& x) { return x.t_ms == t; });
        ASSERT_NE(p, it->points.end()) << q << " at " << t;
        if (std::isnan(s.f)) {
          EXPECT_TRUE(std::isnan(p->f)) << q << " at " << t;
        } else {
          EXPECT_EQ(p->f, s.f) << q << " at " << t << " " << s.metric.ToString();
        }
        ++points;
      }
    }
    size_t range_points = 0;
    for (const auto& s : range->matrix) range_points += s.points.size();
    EXPECT_EQ(range_points, points) << q;
    EXPECT_GT(points, 0u) << q;
  }
}

}  // namespace
}  // namespace argus::promql

namespace argus::promql {
namespace {

// Native histograms stored next to floats: selected with lookback and staleness, summed,
// rated (with a counter reset) and counted.
class HistogramEngineTest : public ::testing::Test {
 protected:
  static FloatHistogram H(double count, std::vector<double> buckets) {
    FloatHistogram h;
    h.count = count;
    h.sum = count * 2;
    h.positive_spans = {{0, static_cast<uint32_t>(buckets.size())}};
    h.positive_buckets = std::move(buckets);
    return h;
  }
  void SetUp() override {
    Labels a = Labels::FromMap({{"__name__", "req_hist"}, {"job", "a"}});
    Labels b = Labels::FromMap({{"__name__", "req_hist"}, {"job", "b"}});
    // job a: count 2, 4, 6 at 0, 60s, 120s; a reset to 1 at 180s; stale at 240s.
    FloatHistogram stale;
    stale.sum = StaleNaN();
    st_.AddHistograms(a, {{0, H(2, {1, 1})}, {60000, H(4, {2, 2})}, {120000, H(6, {3, 3})},
                          {180000, H(1, {1, 0})}, {240000, stale}});
    st_.AddHistograms(b, {{0, H(10, {5, 5})}, {120000, H(10, {5, 5})}});
  }
  Result<QueryResult> Instant(const std::string& q, int64_t t) {
    ASSIGN_OR_RETURN(ExprPtr e, ParseExpr(q));
    return engine_.InstantQuery(&st_, *e, q, t);
  }
  MemoryStorage st_;
  Engine engine_{EngineOptions{}};
};

TEST_F(HistogramEngineTest, SelectorLookbackAndStaleness) {
  auto r = Instant("req_hist", 150000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->vector.size(), 2u);
  ASSERT_TRUE(r->vector[0].IsHistogram());
  EXPECT_EQ(r->vector[0].h->count, 6);
  r = Instant("req_hist", 250000);  // a is stale; b's sample at 120s is within the lookback
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->vector.size(), 1u);
  EXPECT_EQ(r->vector[0].metric.Get("job"), "b");
}

TEST_F(HistogramEngineTest, SumRateAndCount) {
  auto r = Instant("sum(req_hist)", 120000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->vector.size(), 1u);
  ASSERT_TRUE(r->vector[0].IsHistogram());
  EXPECT_EQ(r->vector[0].h->count, 16);
  EXPECT_EQ(r->vector[0].h->positive_buckets, (std::vector<double>{8, 8}));

  r = Instant("histogram_count(increase(req_hist{job=\"a\"}[3m]))", 180000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->vector.size(), 1u);
  // Samples at 60s, 120s, 180s: 4 -> 6, reset, 1: raw increase 2 + 1 = 3 over 120s, extrapolated
  // by 60s to the range start (below 1.1 x the interval; the zero point is farther) and 0 at
  // the end.
  EXPECT_NEAR(r->vector[0].f, 3.0 * 180 / 120, 1e-9);

  r = Instant("count(req_hist) + scalar(count_over_time(req_hist{job=\"b\"}[5m]))", 120000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->vector.size(), 1u);
  EXPECT_EQ(r->vector[0].f, 4);

  r = Instant("req_hist{job=\"b\"} * 2 - req_hist", 120000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->vector.size(), 1u);
  ASSERT_TRUE(r->vector[0].IsHistogram());
  EXPECT_EQ(r->vector[0].h->count, 10);
  EXPECT_EQ(r->vector[0].h->counter_reset_hint, CounterResetHint::kGauge);

  r = Instant("req_hist + 1", 120000);  // incompatible: dropped with an info
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->vector.empty());
  ASSERT_EQ(r->infos.size(), 1u);
  EXPECT_NE(r->infos[0].find("incompatible sample types"), std::string::npos);
}


}  // namespace
}  // namespace argus::promql

namespace argus::promql {
namespace {

// Start timestamps (Prometheus' `use-start-timestamps`): the kernels on plain points, then the
// engine with the option on and off. The full semantics are in the upstream script
// start_timestamps.test, run by `argus test promql`.
TEST(StartTimestampTest, ResetRules) {
  // ST after the previous sample: a new count started.
  EXPECT_TRUE(IsStartTimestampReset(0, 1000, 1500, 2000));
  // ST at the previous sample whose own start is known: a delta series.
  EXPECT_TRUE(IsStartTimestampReset(500, 1000, 1000, 2000));
  // ... but with an unknown (0), invalid (after its sample) or equal-to-sample previous start:
  // OTel's cumulative with unknown start, no reset.
  EXPECT_FALSE(IsStartTimestampReset(0, 1000, 1000, 2000));
  EXPECT_FALSE(IsStartTimestampReset(1500, 1000, 1000, 2000));
  EXPECT_FALSE(IsStartTimestampReset(1000, 1000, 1000, 2000));
  // Unknown, at or after its own sample, or before the previous sample: no reset.
  EXPECT_FALSE(IsStartTimestampReset(0, 1000, 0, 2000));
  EXPECT_FALSE(IsStartTimestampReset(0, 1000, 2000, 2000));
  EXPECT_FALSE(IsStartTimestampReset(0, 1000, 900, 2000));
  EXPECT_TRUE(StartTimeOverlaps(500, 1000, 900));
  EXPECT_FALSE(StartTimeOverlaps(900, 1000, 900));  // cumulative: same start as before
  EXPECT_FALSE(StartTimeOverlaps(500, 1000, 1000));  // delta: starts at the previous sample
  EXPECT_FALSE(StartTimeOverlaps(500, 1000, 0));
}

TEST(StartTimestampTest, IncreaseUsesZeroPointAtStartTime) {
  // One sample of 3 at 240s whose counter started at 90s, range (60s, 360s]: the increase is
  // the whole value; without the start time there is no result.
  std::vector<Point> one = {{240000, 3, nullptr, 90000}};
  auto r = ExtrapolatedRate(one, 60000, 360000, true, false);
  ASSERT_TRUE(r.has_value());
  EXPECT_DOUBLE_EQ(*r, 3);
  one[0].st_ms = 0;
  EXPECT_FALSE(ExtrapolatedRate(one, 60000, 360000, true, false).has_value());
  // A start time at the (open) range start is outside: plain extrapolation.
  std::vector<Point> two = {{120000, 1, nullptr, 60000}, {180000, 2, nullptr, 60000}};
  auto plain = ExtrapolatedRate(two, 60000, 180000, true, false);
  two[0].st_ms = two[1].st_ms = 0;
  EXPECT_EQ(plain, ExtrapolatedRate(two, 60000, 180000, true, false));
  // Delta samples (each starts at the previous one): every step is a reset.
  std::vector<Point> delta = {{60000, 60, nullptr, 1000}, {120000, 60, nullptr, 60000},
                              {180000, 60, nullptr, 120000}};
  bool overlap = false;
  r = ExtrapolatedRate(delta, 0, 180000, true, false, &overlap);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(overlap);
  EXPECT_NEAR(*r, 180, 1e-9);  // 0 + 60 + 60, plus the first 60 from its start time
  std::vector<Point> overlapping = {{60000, 1, nullptr, 1000}, {120000, 2, nullptr, 30000}};
  ExtrapolatedRate(overlapping, 0, 120000, true, true, &overlap);
  EXPECT_TRUE(overlap);
  EXPECT_EQ(StartTimeOverlapWarning("x"),
            "sample has start time that overlaps with previous sample timestamp for metric \"x\"");
  EXPECT_EQ(CountResets(delta), 2);
}

TEST(StartTimestampTest, EngineReadsThemOnlyWhenEnabled) {
  MemoryStorage st;
  Labels ls = Labels::FromMap({{"__name__", "c_total"}});
  st.Add(ls, {{60000, 5}, {120000, 10}}, {0, 100000});
  auto run = [&](bool enabled, const std::string& q) {
    EngineOptions o;
    o.use_start_timestamps = enabled;
    Engine engine(o);
    auto e = ParseExpr(q);
    EXPECT_TRUE(e.ok());
    auto r = engine.InstantQuery(&st, **e, q, 120000);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return *r;
  };
  QueryResult on = run(true, "start_timestamp(c_total)");
  ASSERT_EQ(on.vector.size(), 1u);
  EXPECT_DOUBLE_EQ(on.vector[0].f, 100);
  EXPECT_TRUE(run(false, "start_timestamp(c_total)").vector.empty());
  EXPECT_TRUE(run(true, "start_timestamp(c_total * 1)").vector.empty());
  // The start at 100s (after the sample at 60s) is a reset: 10 is counted whole.
  EXPECT_DOUBLE_EQ(run(true, "resets(c_total[2m])").vector[0].f, 1);
  EXPECT_DOUBLE_EQ(run(false, "resets(c_total[2m])").vector[0].f, 0);
  // Subqueries drop the start timestamps.
  EXPECT_DOUBLE_EQ(run(true, "resets(c_total[2m:1m])").vector[0].f, 0);
}

}  // namespace
}  // namespace argus::promql
