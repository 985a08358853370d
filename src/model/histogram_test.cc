#include "model/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace argus {
namespace {

FloatHistogram Exp(int32_t schema, std::vector<Span> ps, std::vector<double> pb,
                   std::vector<Span> ns = {}, std::vector<double> nb = {}) {
  FloatHistogram h;
  h.schema = schema;
  h.positive_spans = std::move(ps);
  h.positive_buckets = std::move(pb);
  h.negative_spans = std::move(ns);
  h.negative_buckets = std::move(nb);
  for (double b : h.positive_buckets) h.count += b;
  for (double b : h.negative_buckets) h.count += b;
  return h;
}

TEST(HistogramBoundsTest, ExponentialSchemas) {
  // Schema 0: base 2, bucket i covers (2^(i-1), 2^i].
  EXPECT_EQ(ExponentialBucketBound(0, 0), 1.0);
  EXPECT_EQ(ExponentialBucketBound(1, 0), 2.0);
  EXPECT_EQ(ExponentialBucketBound(-1, 0), 0.5);
  // Schema 1: base sqrt(2).
  EXPECT_DOUBLE_EQ(ExponentialBucketBound(1, 1), std::sqrt(2.0));
  EXPECT_EQ(ExponentialBucketBound(2, 1), 2.0);
  // Schema 3: base 2^(1/8).
  EXPECT_DOUBLE_EQ(ExponentialBucketBound(3, 3), std::pow(2.0, 3.0 / 8));
  // Schema -1: base 4; schema -4: base 2^16.
  EXPECT_EQ(ExponentialBucketBound(1, -1), 4.0);
  EXPECT_EQ(ExponentialBucketBound(-1, -1), 0.25);
  EXPECT_EQ(ExponentialBucketBound(1, -4), 65536.0);
  // The last finite bucket ends at DBL_MAX, the next one at +Inf.
  EXPECT_EQ(ExponentialBucketBound(1024, 0), std::numeric_limits<double>::max());
  EXPECT_TRUE(std::isinf(ExponentialBucketBound(1025, 0)));
  EXPECT_EQ(ExponentialBucketBound(64, -4), std::numeric_limits<double>::max());
}

TEST(HistogramBoundsTest, CustomBounds) {
  std::vector<double> cv{1, 5, 10};
  EXPECT_TRUE(std::isinf(CustomBucketBound(-1, cv)) && CustomBucketBound(-1, cv) < 0);
  EXPECT_EQ(CustomBucketBound(0, cv), 1);
  EXPECT_EQ(CustomBucketBound(2, cv), 10);
  EXPECT_TRUE(std::isinf(CustomBucketBound(3, cv)));
}

TEST(HistogramTest, FormatGoG) {
  EXPECT_EQ(FormatGoG(1), "1");
  EXPECT_EQ(FormatGoG(0.5), "0.5");
  EXPECT_EQ(FormatGoG(123456), "123456");
  EXPECT_EQ(FormatGoG(1e6), "1e+06");
  EXPECT_EQ(FormatGoG(1234567), "1.234567e+06");
  EXPECT_EQ(FormatGoG(0.0001), "0.0001");
  EXPECT_EQ(FormatGoG(0.00001), "1e-05");
  EXPECT_EQ(FormatGoG(-2.5), "-2.5");
  EXPECT_EQ(FormatGoG(std::nan("")), "NaN");
  EXPECT_EQ(FormatGoG(-INFINITY), "-Inf");
}

TEST(HistogramTest, ToFloatUndoesDeltas) {
  IntHistogram h;
  h.schema = 1;
  h.count = 9;
  h.sum = 18.4;
  h.zero_count = 1;
  h.zero_threshold = 0.001;
  h.positive_spans = {{0, 2}, {1, 2}};
  h.positive_buckets = {1, 1, -1, 0};  // absolute 1 2 1 1
  h.negative_spans = {{0, 1}};
  h.negative_buckets = {3};
  ASSERT_TRUE(h.Validate().ok()) << h.Validate().ToString();
  FloatHistogram f = h.ToFloat();
  EXPECT_EQ(f.positive_buckets, (std::vector<double>{1, 2, 1, 1}));
  EXPECT_EQ(f.negative_buckets, (std::vector<double>{3}));
  EXPECT_EQ(f.count, 9);
  EXPECT_EQ(f.zero_count, 1);
  // Bounds are 2^(i/2) (our exp2 is correctly rounded; Go's table can differ in the last bit).
  std::string r2 = FormatGoG(std::exp2(0.5)), h2 = FormatGoG(std::exp2(-0.5));
  EXPECT_EQ(h.String(), "{count:9, sum:18.4, [-1,-" + h2 + "):3, [-0.001,0.001]:1, (" + h2 +
                            ",1]:1, (1," + r2 + "]:2, (2," + FormatGoG(2 * std::exp2(0.5)) +
                            "]:1, (" + FormatGoG(2 * std::exp2(0.5)) + ",4]:1}");
}

TEST(HistogramTest, ValidateErrors) {
  IntHistogram h;
  h.count = 3;
  h.positive_spans = {{0, 2}};
  h.positive_buckets = {1, 1};
  EXPECT_TRUE(h.Validate().ok());
  h.count = 4;
  EXPECT_NE(h.Validate().message().find("observation count should equal"), std::string::npos);
  h.count = 3;
  h.positive_buckets = {1, 1, 1};
  EXPECT_NE(h.Validate().message().find("positive side: spans need 2 buckets, have 3 buckets"),
            std::string::npos);
  h.positive_buckets = {2, -3};
  h.count = 1;
  EXPECT_NE(h.Validate().message().find("observation count is negative"), std::string::npos);
  h.positive_buckets = {1, 1};
  h.count = 3;
  h.positive_spans = {{0, 1}, {-2, 1}};
  EXPECT_NE(h.Validate().message().find("offset is negative"), std::string::npos);
  h.positive_spans = {{0, 2}};
  h.schema = 9;
  EXPECT_NE(h.Validate().message().find("invalid schema"), std::string::npos);
  // NaN sum: the count may exceed the bucket total (NaN observations).
  h.schema = 0;
  h.sum = std::nan("");
  h.count = 5;
  EXPECT_TRUE(h.Validate().ok());

  IntHistogram c;
  c.schema = kCustomBucketsSchema;
  c.custom_values = {1, 2};
  c.positive_spans = {{0, 3}};
  c.positive_buckets = {1, 0, 0};
  c.count = 3;
  EXPECT_TRUE(c.Validate().ok()) << c.Validate().ToString();
  c.custom_values = {2, 1};
  EXPECT_NE(c.Validate().message().find("strictly increasing"), std::string::npos);
  c.custom_values = {1};
  EXPECT_NE(c.Validate().message().find("custom bounds are too few"), std::string::npos);
  c.custom_values = {1, 2};
  c.zero_count = 1;
  EXPECT_NE(c.Validate().message().find("zero count"), std::string::npos);
}

TEST(FloatHistogramTest, IteratorsGiveBoundsAndZeroClipping) {
  FloatHistogram h = Exp(0, {{-1, 3}}, {1, 2, 3}, {{0, 1}}, {4});
  h.zero_threshold = 0.7;
  h.zero_count = 5;
  std::vector<FloatBucket> pos = h.PositiveBuckets();
  ASSERT_EQ(pos.size(), 3u);
  EXPECT_EQ(pos[0].String(), "(0.25,0.5]:1");
  EXPECT_EQ(pos[2].String(), "(1,2]:3");
  std::vector<FloatBucket> all = h.AllBuckets();
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0].String(), "[-1,-0.7):4");  // clipped to the zero threshold
  EXPECT_EQ(all[1].String(), "[-0.7,0.7]:5");
  EXPECT_EQ(all[2].String(), "(0.7,0.5]:1");  // Prometheus clips only Lower here
  std::vector<FloatBucket> rev = h.AllBucketsReverse();
  EXPECT_EQ(rev.front().String(), "(1,2]:3");
  EXPECT_EQ(rev.back().String(), "[-1,-0.7):4");
}

TEST(FloatHistogramTest, AddSameSchemaUnionsLayouts) {
  FloatHistogram a = Exp(0, {{0, 2}}, {1, 2});
  FloatHistogram b = Exp(0, {{1, 1}, {2, 1}}, {3, 4});
  a.sum = 1;
  b.sum = 2;
  ASSERT_TRUE(a.Add(b).ok());
  EXPECT_EQ(a.count, 10);
  EXPECT_EQ(a.sum, 3);
  EXPECT_EQ(a.positive_buckets, (std::vector<double>{1, 5, 4}));
  EXPECT_EQ(a.positive_spans, (std::vector<Span>{{0, 2}, {2, 1}}));
  EXPECT_EQ(a.TestExpression(), "{{count:10 sum:3 buckets:[1 5 0 0 4]}}");
}

TEST(FloatHistogramTest, AddReducesToLowerResolution) {
  // Schema 1 buckets 1..4 = (0.707,1]... merged pairwise into schema 0 buckets.
  FloatHistogram hi = Exp(1, {{1, 4}}, {1, 2, 3, 4});  // idx 1,2 -> 1; idx 3,4 -> 2
  FloatHistogram lo = Exp(0, {{1, 1}}, {10});
  ASSERT_TRUE(hi.Add(lo).ok());
  EXPECT_EQ(hi.schema, 0);
  EXPECT_EQ(hi.positive_spans, (std::vector<Span>{{1, 2}}));
  EXPECT_EQ(hi.positive_buckets, (std::vector<double>{13, 7}));

  Result<FloatHistogram> c = Exp(2, {{0, 4}}, {1, 1, 1, 1}).CopyToSchema(0);
  ASSERT_TRUE(c.ok());
  // Schema 2 indices 0..3 -> schema 0 indices 0,1,1,1.
  EXPECT_EQ(c->positive_spans, (std::vector<Span>{{0, 2}}));
  EXPECT_EQ(c->positive_buckets, (std::vector<double>{1, 3}));
  EXPECT_FALSE(Exp(0, {}, {}).CopyToSchema(1).ok());
}

TEST(FloatHistogramTest, AddWidensZeroBucket) {
  // a has threshold 0.5 (covers bucket -1 = (0.25,0.5]); b has threshold 0 and buckets there.
  FloatHistogram a = Exp(0, {{0, 1}}, {1});
  a.zero_threshold = 0.5;
  a.zero_count = 2;
  a.count += 2;
  FloatHistogram b = Exp(0, {{-1, 2}}, {3, 4});  // (0.25,0.5]:3, (0.5,1]:4
  ASSERT_TRUE(a.Add(b).ok());
  EXPECT_EQ(a.zero_threshold, 0.5);
  EXPECT_EQ(a.zero_count, 5);
  EXPECT_EQ(a.positive_spans, (std::vector<Span>{{0, 1}}));
  EXPECT_EQ(a.positive_buckets, (std::vector<double>{5}));
  EXPECT_EQ(a.count, 10);

  // The other way round: the receiver's threshold grows, its inner buckets move into it.
  FloatHistogram c = Exp(0, {{-1, 2}}, {3, 4});
  FloatHistogram d = Exp(0, {{0, 1}}, {1});
  d.zero_threshold = 0.5;
  d.zero_count = 2;
  ASSERT_TRUE(c.Add(d).ok());
  EXPECT_EQ(c.zero_threshold, 0.5);
  EXPECT_EQ(c.zero_count, 5);
  EXPECT_EQ(c.positive_buckets, (std::vector<double>{5}));
}

TEST(FloatHistogramTest, ZeroThresholdInsidePopulatedBucketMovesUp) {
  FloatHistogram a = Exp(0, {{1, 1}}, {1});  // (1,2]
  a.zero_threshold = 1.5;
  FloatHistogram b = Exp(0, {{1, 1}}, {2});
  // Widening b to 1.5 cuts its populated bucket (1,2]: the threshold moves to 2 for both.
  ASSERT_TRUE(b.Add(a).ok());
  EXPECT_EQ(b.zero_threshold, 2);
  EXPECT_EQ(b.zero_count, 3);
  EXPECT_TRUE(b.positive_buckets.empty());
}

TEST(FloatHistogramTest, SubAndCounterResetHints) {
  FloatHistogram a = Exp(0, {{0, 2}}, {3, 3});
  FloatHistogram b = Exp(0, {{0, 2}}, {1, 3});
  a.counter_reset_hint = CounterResetHint::kCounterReset;
  b.counter_reset_hint = CounterResetHint::kNotCounterReset;
  Result<AddResult> r = a.Sub(b);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->counter_reset_collision);
  EXPECT_EQ(a.counter_reset_hint, CounterResetHint::kUnknown);
  EXPECT_EQ(a.positive_buckets, (std::vector<double>{2, 0}));
  a.Compact(0);
  EXPECT_EQ(a.positive_buckets, (std::vector<double>{2}));
  EXPECT_EQ(a.count, 2);

  FloatHistogram g = Exp(0, {}, {});
  g.counter_reset_hint = CounterResetHint::kGauge;
  FloatHistogram c = Exp(0, {}, {});
  ASSERT_FALSE(c.Add(g)->counter_reset_collision);
  EXPECT_EQ(c.counter_reset_hint, CounterResetHint::kGauge);
}

TEST(FloatHistogramTest, MixedSchemasAreAnError) {
  FloatHistogram e = Exp(0, {}, {});
  FloatHistogram c;
  c.schema = kCustomBucketsSchema;
  c.custom_values = {1};
  Result<AddResult> r = e.Add(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("mix of exponential and custom"), std::string::npos);
}

TEST(FloatHistogramTest, CustomBucketsMatchingAndReconciled) {
  FloatHistogram a;
  a.schema = kCustomBucketsSchema;
  a.custom_values = {1, 2, 5};
  a.positive_spans = {{0, 4}};
  a.positive_buckets = {1, 2, 3, 4};
  a.count = 10;
  FloatHistogram b = a;
  ASSERT_FALSE(b.Add(a)->nhcb_bounds_reconciled);
  EXPECT_EQ(b.positive_buckets, (std::vector<double>{2, 4, 6, 8}));

  FloatHistogram c;
  c.schema = kCustomBucketsSchema;
  c.custom_values = {2, 10};
  c.positive_spans = {{0, 3}};
  c.positive_buckets = {10, 20, 30};  // (-Inf,2] (2,10] (10,+Inf)
  c.count = 60;
  FloatHistogram r = a;
  Result<AddResult> res = r.Add(c);
  ASSERT_TRUE(res.ok());
  EXPECT_TRUE(res->nhcb_bounds_reconciled);
  // Intersection {2}: (-Inf,2] gets 1+2 from a and 10 from c; the rest goes to +Inf.
  EXPECT_EQ(r.custom_values, (std::vector<double>{2}));
  EXPECT_EQ(r.positive_buckets, (std::vector<double>{13, 57}));
  EXPECT_EQ(r.count, 70);
  EXPECT_EQ(r.TestExpression(), "{{schema:-53 count:70 custom_values:[2] buckets:[13 57]}}");
}

TEST(FloatHistogramTest, MulDiv) {
  FloatHistogram a = Exp(0, {{0, 2}}, {2, 4});
  a.sum = 10;
  a.Mul(0.5);
  EXPECT_EQ(a.positive_buckets, (std::vector<double>{1, 2}));
  EXPECT_EQ(a.sum, 5);
  a.Mul(-1);
  EXPECT_EQ(a.counter_reset_hint, CounterResetHint::kGauge);
  a.Div(0);
  EXPECT_TRUE(a.positive_buckets.empty());
  EXPECT_TRUE(std::isinf(a.count));
}

TEST(FloatHistogramTest, CompactMergesAndSplits) {
  FloatHistogram a = Exp(0, {{0, 3}, {1, 1}, {0, 0}, {3, 2}}, {0, 1, 0, 2, 3, 0});
  FloatHistogram b = a;
  a.Compact(0);
  EXPECT_EQ(a.positive_spans, (std::vector<Span>{{1, 1}, {2, 1}, {3, 1}}));
  EXPECT_EQ(a.positive_buckets, (std::vector<double>{1, 2, 3}));
  b.Compact(2);
  EXPECT_EQ(b.positive_spans, (std::vector<Span>{{1, 4}, {3, 1}}));
  EXPECT_EQ(b.positive_buckets, (std::vector<double>{1, 0, 0, 2, 3}));
  EXPECT_TRUE(a.Equals(a));
  EXPECT_FALSE(a.Equals(b));
  // Same buckets with a zero-length span in between are equal.
  FloatHistogram c = Exp(0, {{1, 1}, {0, 0}, {2, 1}, {3, 1}}, {1, 2, 3});
  EXPECT_TRUE(a.Equals(c));
}

TEST(FloatHistogramTest, DetectReset) {
  FloatHistogram prev = Exp(0, {{0, 2}}, {1, 2});
  FloatHistogram cur = Exp(0, {{0, 2}}, {2, 2});
  EXPECT_FALSE(cur.DetectReset(prev));
  FloatHistogram shrunk = Exp(0, {{0, 2}}, {0, 4});  // same count, a bucket shrank
  EXPECT_TRUE(shrunk.DetectReset(prev));
  FloatHistogram missing = Exp(0, {{1, 1}}, {5});    // populated bucket 0 is gone
  EXPECT_TRUE(missing.DetectReset(prev));
  FloatHistogram finer = Exp(1, {{0, 1}}, {10});
  EXPECT_TRUE(finer.DetectReset(prev));             // higher resolution only after a reset
  // Lower resolution: previous is merged into the current schema first.
  FloatHistogram prev2 = Exp(1, {{1, 2}}, {1, 1});  // -> schema 0 bucket 1: 2
  FloatHistogram coarse = Exp(0, {{1, 1}}, {2});
  EXPECT_FALSE(coarse.DetectReset(prev2));
  coarse.counter_reset_hint = CounterResetHint::kCounterReset;
  EXPECT_TRUE(coarse.DetectReset(prev2));
  shrunk.counter_reset_hint = CounterResetHint::kNotCounterReset;
  EXPECT_FALSE(shrunk.DetectReset(prev));
  // Zero threshold grows: previous buckets under it count toward the zero bucket.
  FloatHistogram z = Exp(0, {{1, 1}}, {2});
  z.zero_threshold = 1;
  z.zero_count = 1;
  z.count = 3;
  EXPECT_FALSE(z.DetectReset(prev));
  z.zero_count = 0;
  EXPECT_TRUE(z.DetectReset(prev));
}

TEST(FloatHistogramTest, StringAndTestExpression) {
  FloatHistogram h = Exp(0, {{1, 3}}, {1, 2, 1}, {{0, 2}}, {1, 2});
  h.sum = 5;
  h.zero_count = 1;
  h.zero_threshold = 0.001;
  h.count += 1;
  h.counter_reset_hint = CounterResetHint::kGauge;
  EXPECT_EQ(h.TestExpression(),
            "{{count:8 sum:5 z_bucket:1 z_bucket_w:0.001 counter_reset_hint:gauge offset:1 "
            "buckets:[1 2 1] n_buckets:[1 2]}}");
  EXPECT_EQ(h.String(),
            "{count:8, sum:5, [-2,-1):2, [-1,-0.5):1, [-0.001,0.001]:1, (1,2]:1, (2,4]:2, "
            "(4,8]:1}");
  FloatHistogram gaps = Exp(2, {{-2, 1}, {2, 1}}, {1, 2});
  EXPECT_EQ(gaps.TestExpression(), "{{schema:2 count:3 offset:-2 buckets:[1 0 0 2]}}");
}

TEST(HistogramTest, CompactKeepsDeltasConsistent) {
  IntHistogram h;
  h.positive_spans = {{0, 4}};
  h.positive_buckets = {0, 2, -2, 3};  // absolute 0 2 0 3
  h.count = 5;
  h.Compact(0);
  EXPECT_EQ(h.positive_spans, (std::vector<Span>{{1, 1}, {1, 1}}));
  EXPECT_EQ(h.positive_buckets, (std::vector<int64_t>{2, 1}));
  EXPECT_TRUE(h.Validate().ok());
}

TEST(HistogramTest, ReduceResolutionFromAboveEight) {
  IntHistogram h;
  h.schema = 10;
  h.positive_spans = {{1, 4}};
  h.positive_buckets = {1, 0, 0, 0};  // absolute 1 1 1 1 at indices 1..4
  h.count = 4;
  ASSERT_TRUE(h.ReduceResolution(8).ok());
  EXPECT_EQ(h.schema, 8);
  // Indices 1..4 at schema 10 map to ((i-1)>>2)+1: 1,1,1,1.
  EXPECT_EQ(h.positive_spans, (std::vector<Span>{{1, 1}}));
  EXPECT_EQ(h.positive_buckets, (std::vector<int64_t>{4}));
  EXPECT_TRUE(h.Validate().ok());
  EXPECT_FALSE(h.ReduceResolution(8).ok());
}

}  // namespace
}  // namespace argus
