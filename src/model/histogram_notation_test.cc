#include "model/histogram_notation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

namespace argus {
namespace {

TEST(HistogramNotationTest, ParsesAllKeys) {
  // From native_histograms.test ("histogram_rate").
  Result<FloatHistogram> h = ParseHistogramLiteral(
      "{{schema:1 count:12 sum:18.4 z_bucket:2 z_bucket_w:0.001 buckets:[1 2 0 1 1] "
      "n_buckets:[1 2 0 1 1]}}");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->schema, 1);
  EXPECT_EQ(h->count, 12);
  EXPECT_EQ(h->sum, 18.4);
  EXPECT_EQ(h->zero_count, 2);
  EXPECT_EQ(h->zero_threshold, 0.001);
  EXPECT_EQ(h->positive_spans, (std::vector<Span>{{0, 5}}));
  EXPECT_EQ(h->positive_buckets, (std::vector<double>{1, 2, 0, 1, 1}));
  EXPECT_EQ(h->negative_buckets, (std::vector<double>{1, 2, 0, 1, 1}));

  Result<FloatHistogram> c = ParseHistogramLiteral(
      "{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1] offset:1 "
      "counter_reset_hint:gauge}}");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->custom_values, (std::vector<double>{5, 10}));
  EXPECT_EQ(c->positive_spans, (std::vector<Span>{{1, 1}}));
  EXPECT_EQ(c->counter_reset_hint, CounterResetHint::kGauge);
  EXPECT_TRUE(c->Validate().ok());

  Result<FloatHistogram> e = ParseHistogramLiteral("{{}}");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->count, 0);
  EXPECT_TRUE(e->positive_spans.empty());

  // Trailing space inside the list, Inf and NaN (histogram_stddev_stdvar_6/7).
  Result<FloatHistogram> s = ParseHistogramLiteral("{{schema:3 count:7 sum:NaN buckets:[0 1 ] n_offset:-2 n_buckets:[1]}}");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(std::isnan(s->sum));
  EXPECT_EQ(s->positive_buckets.size(), 2u);
  EXPECT_EQ(s->negative_spans, (std::vector<Span>{{-2, 1}}));
  EXPECT_TRUE(std::isinf(ParseHistogramLiteral("{{sum:-Inf}}")->sum));
}

TEST(HistogramNotationTest, RejectsMalformed) {
  EXPECT_FALSE(ParseHistogramLiteral("{{schema:x}}").ok());
  EXPECT_FALSE(ParseHistogramLiteral("{{schema:1").ok());
  EXPECT_FALSE(ParseHistogramLiteral("{{bogus:1}}").ok());
  EXPECT_FALSE(ParseHistogramLiteral("{{buckets:[1 2}}").ok());
  EXPECT_FALSE(ParseHistogramLiteral("{{counter_reset_hint:maybe}}").ok());
  EXPECT_FALSE(ParseHistogramLiteral("{{sum:infinity}}").ok());
  EXPECT_FALSE(ExpandHistogramItem("{{}}y3").ok());
  EXPECT_FALSE(ExpandHistogramItem("{{}}+{{}}").ok());
  EXPECT_FALSE(ExpandHistogramItem("{{}}+{{schema:-53}}x2").ok());
  EXPECT_FALSE(ExpandHistogramItem("{{}}x100000000000").ok());
}

TEST(HistogramNotationTest, GarbageNeverCrashes) {
  const std::string alphabet = "{}[]: x+-0123456789.eEinfaNschemabuckets_offzrwt";
  uint32_t seed = 7;
  for (int round = 0; round < 5000; ++round) {
    std::string s = round % 2 ? "{{" : "";
    size_t n = (seed = seed * 1103515245 + 12345) % 40;
    for (size_t i = 0; i < n; ++i) {
      seed = seed * 1103515245 + 12345;
      s += alphabet[(seed >> 8) % alphabet.size()];
    }
    if (round % 3 == 0) s += "}}";
    Result<std::vector<FloatHistogram>> r = ExpandHistogramItem(s);
    if (r.ok()) {
      EXPECT_LE(r->size(), kMaxHistogramRepetitions + 1);
    }
    (void)ParseHistogramLiteral(s).ok();
    (void)SplitSeriesItems(s);
  }
}

TEST(HistogramNotationTest, ExpandsRepetitionAndIncrements) {
  Result<std::vector<FloatHistogram>> r =
      ExpandHistogramItem("{{schema:0 sum:5 count:4 buckets:[1 2 1]}}x10");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 11u);

  // "incr_histogram" from native_histograms.test.
  r = ExpandHistogramItem(
      "{{schema:0 sum:4 count:4 buckets:[1 2 1]}}+{{sum:2 count:1 buckets:[1] offset:1}}x10");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 11u);
  EXPECT_EQ((*r)[0].TestExpression(), "{{count:4 sum:4 buckets:[1 2 1]}}");
  EXPECT_EQ((*r)[10].TestExpression(), "{{count:14 sum:24 buckets:[1 12 1]}}");

  // "low_res_histogram": the increment has a higher resolution and is reduced.
  r = ExpandHistogramItem(
      "{{schema:-1 sum:4 count:1 buckets:[1] offset:1}}+{{schema:0 sum:4 count:4 buckets:[2 2] "
      "offset:1}}x1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[1].schema, -1);
  // schema 0 buckets 1,2 map to schema -1 bucket 1: 1 + 2 + 2.
  EXPECT_EQ((*r)[1].TestExpression(), "{{schema:-1 count:5 sum:8 offset:1 buckets:[5]}}");

  r = ExpandHistogramItem("{{count:10 buckets:[10]}}-{{count:3 buckets:[3]}}x2");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[2].count, 4);
  EXPECT_EQ((*r)[2].positive_buckets, (std::vector<double>{4}));
}

TEST(HistogramNotationTest, SplitsItemsOutsideBraces) {
  std::vector<std::string_view> items =
      SplitSeriesItems("1 {{schema:0 buckets:[1 2]}}x2  _x3 stale {{}}+{{count:1}}x1");
  ASSERT_EQ(items.size(), 5u);
  EXPECT_EQ(items[0], "1");
  EXPECT_EQ(items[1], "{{schema:0 buckets:[1 2]}}x2");
  EXPECT_EQ(items[2], "_x3");
  EXPECT_EQ(items[4], "{{}}+{{count:1}}x1");
  EXPECT_TRUE(IsHistogramItem(items[1]));
  EXPECT_FALSE(IsHistogramItem(items[3]));
}

// Every histogram item of the upstream corpus parses, and its printed form parses back to the
// same histogram (TestExpression is the printer the runner uses for failure messages).
TEST(HistogramNotationTest, ConformanceCorpusRoundTrips) {
  std::ifstream in("../shared/conformance/promql/native_histograms.test");
  if (!in) {
    in.open(std::string(ARGUS_SOURCE_DIR) + "/../shared/conformance/promql/native_histograms.test");
  }
  if (!in) GTEST_SKIP() << "../shared/conformance/promql is absent";
  std::string line;
  int items = 0;
  while (std::getline(in, line)) {
    for (std::string_view item : SplitSeriesItems(line)) {
      if (!IsHistogramItem(item)) continue;
      Result<std::vector<FloatHistogram>> hs = ExpandHistogramItem(item);
      ASSERT_TRUE(hs.ok()) << item << ": " << hs.status().ToString();
      for (const FloatHistogram& h : *hs) {
        FloatHistogram compact = h;
        compact.Compact(std::numeric_limits<int>::max());
        Result<FloatHistogram> back = ParseHistogramLiteral(FormatHistogramLiteral(h));
        ASSERT_TRUE(back.ok()) << FormatHistogramLiteral(h);
        EXPECT_EQ(back->TestExpression(), h.TestExpression()) << item;
        EXPECT_TRUE(back->count == h.count || (std::isnan(back->count) && std::isnan(h.count)));
        EXPECT_EQ(back->positive_buckets, compact.positive_buckets) << item;
      }
      ++items;
    }
  }
  EXPECT_GT(items, 300);
}

}  // namespace
}  // namespace argus
