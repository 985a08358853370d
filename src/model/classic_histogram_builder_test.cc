#include "model/classic_histogram_builder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "model/histogram_stats.h"

namespace argus {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(ClassicHistogramBuilderTest, IntegerCountsMakeAnIntegerNhcb) {
  // testhistogram{start="positive"} of histograms.test at 50m: le 0.1:25 .2:35 1:55 +Inf:60,
  // given out of order.
  ClassicHistogramBuilder b;
  ASSERT_TRUE(b.SetBucketCount(1, 55).ok());
  ASSERT_TRUE(b.SetBucketCount(0.1, 25).ok());
  ASSERT_TRUE(b.SetBucketCount(kInf, 60).ok());
  ASSERT_TRUE(b.SetBucketCount(0.2, 35).ok());
  ASSERT_TRUE(b.SetBucketCount(0.2, 35).ok());  // duplicate: ignored
  ASSERT_TRUE(b.SetCount(60).ok());
  b.SetSum(50);
  auto r = b.Convert();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(std::holds_alternative<IntHistogram>(*r));
  const IntHistogram& h = std::get<IntHistogram>(*r);
  EXPECT_TRUE(h.Validate().ok()) << h.Validate().ToString();
  FloatHistogram f = h.ToFloat();
  EXPECT_EQ(f.TestExpression(),
            "{{schema:-53 count:60 sum:50 custom_values:[0.1 0.2 1] buckets:[25 10 20 5]}}");
  // The same quantile as the classic buckets give (histograms.test expects 0.048 at q=0.2).
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.2, f), 0.048);
  std::vector<ClassicBucket> classic = {{0.1, 25}, {0.2, 35}, {1, 55}, {kInf, 60}};
  EXPECT_DOUBLE_EQ(BucketQuantile(0.2, classic).value, 0.048);
}

TEST(ClassicHistogramBuilderTest, FractionalCountsMakeAFloatNhcbAndInfIsAdded) {
  ClassicHistogramBuilder b;
  ASSERT_TRUE(b.SetBucketCount(1, 0.5).ok());
  ASSERT_TRUE(b.SetBucketCount(2, 0.5).ok());
  ASSERT_TRUE(b.SetCount(1.5).ok());
  auto r = b.Convert();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const FloatHistogram& f = std::get<FloatHistogram>(*r);
  EXPECT_EQ(f.TestExpression(), "{{schema:-53 count:1.5 custom_values:[1 2] buckets:[0.5 0 1]}}");
}

// More worked examples from histograms.test (values at 50m).
TEST(ClassicHistogramBuilderTest, HistogramsTestExamples) {
  // load_with_nhcb testhistogram{start="negative"}: le -.2:10 -0.1:20 0.3:20 +Inf:30.
  ClassicHistogramBuilder b;
  for (auto [le, c] : {std::pair{-0.2, 10.0}, {-0.1, 20.0}, {0.3, 20.0}, {kInf, 30.0}}) {
    ASSERT_TRUE(b.SetBucketCount(le, c).ok());
  }
  auto r = b.Convert();
  ASSERT_TRUE(r.ok());
  FloatHistogram neg = std::get<IntHistogram>(*r).ToFloat();
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.5, neg), -0.15);
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.2, neg), -0.2);  // first bucket: its upper bound
  // nonmonotonic_bucket: the counts dip and are raised (PromQL adds an info annotation).
  std::vector<ClassicBucket> nm = {{0.1, 20}, {1, 10},    {10, 50},
                                   {100, 40}, {1000, 90}, {kInf, 80}};
  std::vector<ClassicBucket> copy = nm;
  BucketQuantileResult q = BucketQuantile(0.01, copy);
  EXPECT_DOUBLE_EQ(q.value, 0.0045);
  EXPECT_TRUE(q.forced_monotonic);
  copy = nm;
  EXPECT_DOUBLE_EQ(BucketQuantile(0.5, copy).value, 8.5);
  copy = nm;
  EXPECT_DOUBLE_EQ(BucketQuantile(0.99, copy).value, 979.75);
}

TEST(ClassicHistogramBuilderTest, Errors) {
  ClassicHistogramBuilder b;
  ASSERT_TRUE(b.SetBucketCount(1, 5).ok());
  EXPECT_NE(b.SetBucketCount(2, 3).message().find("count is not cumulative: 3 < 5"),
            std::string::npos);
  EXPECT_FALSE(b.Convert().ok());  // sticky
  ClassicHistogramBuilder c;
  EXPECT_NE(c.Convert().status().message().find("count must be provided"), std::string::npos);
  ASSERT_TRUE(c.SetBucketCount(kInf, 4).ok());
  ASSERT_TRUE(c.SetCount(5).ok());
  EXPECT_NE(c.Convert().status().message().find("count mismatch"), std::string::npos);
  ClassicHistogramBuilder d;
  EXPECT_FALSE(d.SetBucketCount(NAN, 1).ok());
  ClassicHistogramBuilder e;
  EXPECT_FALSE(e.SetCount(-1).ok());
}

}  // namespace
}  // namespace argus
