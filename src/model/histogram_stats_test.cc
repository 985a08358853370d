#include "model/histogram_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <regex>

#include "model/histogram_notation.h"

namespace argus {
namespace {

constexpr double kEpsilon = 1e-6;  // Prometheus' promqltest defaultEpsilon
constexpr double kInf = std::numeric_limits<double>::infinity();

FloatHistogram Lit(std::string_view s) {
  Result<FloatHistogram> h = ParseHistogramLiteral(s);
  EXPECT_TRUE(h.ok()) << s;
  return h.ok() ? *h : FloatHistogram{};
}

TEST(HistogramStatsTest, QuantileWorkedExamples) {
  // histogram_quantile_1 of native_histograms.test: exponential interpolation inside buckets,
  // linear inside the zero bucket.
  FloatHistogram h =
      Lit("{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}");
  EXPECT_EQ(HistogramQuantile(1, h), 16);
  EXPECT_NEAR(HistogramQuantile(0.99, h), 15.67072476139083, 1e-9);
  EXPECT_NEAR(HistogramQuantile(0.5, h), 1.5874010519681994, 1e-12);  // 2^(2/3)
  EXPECT_NEAR(HistogramQuantile(0.1, h), 0.0006, 1e-15);
  EXPECT_EQ(HistogramQuantile(0, h), 0);
  EXPECT_EQ(HistogramQuantile(-1, h), -kInf);
  EXPECT_EQ(HistogramQuantile(1.001, h), kInf);
  EXPECT_TRUE(std::isnan(HistogramQuantile(NAN, h)));
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.5, Lit("{{}}"))));
  // Only negative buckets: 0 is the natural upper bound.
  FloatHistogram n =
      Lit("{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}");
  EXPECT_EQ(HistogramQuantile(1, n), 0);
  EXPECT_EQ(HistogramQuantile(0, n), -16);
}

TEST(HistogramStatsTest, QuantileCustomBuckets) {
  // NHCB: linear interpolation, from 0 in the first bucket; the +Inf bucket returns its lower
  // bound.
  FloatHistogram h = Lit("{{schema:-53 count:10 sum:20 custom_values:[1 2 4] buckets:[2 4 2 2]}}");
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.1, h), 0.5);
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.4, h), 1.5);
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.7, h), 3);
  EXPECT_DOUBLE_EQ(HistogramQuantile(0.95, h), 4);
}

TEST(HistogramStatsTest, FractionWorkedExamples) {
  FloatHistogram h =
      Lit("{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}");
  EXPECT_EQ(HistogramFraction(0, kInf, h), 1);
  EXPECT_EQ(HistogramFraction(-kInf, 0, h), 0);
  EXPECT_NEAR(HistogramFraction(0, 0.001, h), 0.16666666666666666, 1e-15);
  EXPECT_NEAR(HistogramFraction(1, 2, h), 0.25, 1e-15);
  EXPECT_NEAR(HistogramFraction(0, 1.5, h), 0.4795739585136224, 1e-12);
  EXPECT_NEAR(HistogramQuantile(HistogramFraction(0, 6, h), h), 6, 1e-9);  // inverse
  EXPECT_EQ(HistogramFraction(42, 3.1415, h), 0);
  EXPECT_TRUE(std::isnan(HistogramFraction(NAN, 1, h)));
}

TEST(HistogramStatsTest, StdDevAndVar) {
  // Two observations at the geometric means of (1,2] and (4,8]: sqrt2 and sqrt32.
  FloatHistogram h = Lit("{{schema:0 count:2 sum:7.0710678118654755 offset:1 buckets:[1 0 1]}}");
  double mean = h.sum / 2;
  double a = std::sqrt(2.0) - mean, b = std::sqrt(32.0) - mean;
  EXPECT_NEAR(HistogramStdVar(h), (a * a + b * b) / 2, 1e-12);
  EXPECT_NEAR(HistogramStdDev(h), std::sqrt((a * a + b * b) / 2), 1e-12);
  EXPECT_DOUBLE_EQ(HistogramAvg(h), mean);
}

TEST(HistogramStatsTest, BucketQuantileClassic) {
  std::vector<ClassicBucket> bs = {{kInf, 100}, {0.1, 10}, {0.5, 50}, {1, 90}};
  BucketQuantileResult r = BucketQuantile(0.5, bs);
  EXPECT_DOUBLE_EQ(r.value, 0.5);
  EXPECT_FALSE(r.forced_monotonic);
  bs = {{0.1, 10}, {0.5, 50}, {1, 90}, {kInf, 100}};
  EXPECT_DOUBLE_EQ(BucketQuantile(0.05, bs).value, 0.05);   // from 0 in the first bucket
  EXPECT_DOUBLE_EQ(BucketQuantile(0.95, bs).value, 1);      // +Inf bucket: second-highest bound
  bs = {{0.1, 10}, {0.5, 5}, {kInf, 20}};                   // 0.5 counts fewer than 0.1
  r = BucketQuantile(0.5, bs);
  EXPECT_TRUE(r.forced_monotonic);
  EXPECT_DOUBLE_EQ(r.value, 0.1);
  bs = {{1, 1}, {kInf, 1 + 1e-14}};
  EXPECT_TRUE(BucketQuantile(0.5, bs).fixed_precision);
  bs = {{1, 10}};
  EXPECT_TRUE(std::isnan(BucketQuantile(0.5, bs).value));  // no +Inf bucket
  bs = {{1, 0}, {kInf, 0}};
  EXPECT_TRUE(std::isnan(BucketQuantile(0.5, bs).value));
  bs = {{-1, 5}, {kInf, 10}};
  EXPECT_DOUBLE_EQ(BucketQuantile(0.2, bs).value, -1);      // first bound <= 0 is returned
  EXPECT_EQ(BucketQuantile(2, bs).value, kInf);
}

TEST(HistogramStatsTest, ParseBucketBound) {
  EXPECT_EQ(ParseBucketBound("0.5"), 0.5);
  EXPECT_EQ(ParseBucketBound("+Inf"), kInf);
  EXPECT_EQ(ParseBucketBound("1e3"), 1000);
  EXPECT_FALSE(ParseBucketBound("").has_value());
  EXPECT_FALSE(ParseBucketBound("abc").has_value());
  EXPECT_TRUE(AlmostEqual(1, 1 + 1e-9, 1e-6));
  EXPECT_FALSE(AlmostEqual(1, 1.1, 1e-6));
  EXPECT_TRUE(AlmostEqual(NAN, NAN, 1e-6));
}

int64_t ParseDurationMs(const std::string& s) {
  if (s == "0") return 0;
  std::smatch m;
  static const std::regex re(R"((\d+)(ms|s|m|h|d))");
  if (!std::regex_match(s, m, re)) return -1;
  int64_t n = std::stoll(m[1]);
  std::string u = m[2];
  if (u == "ms") return n;
  if (u == "s") return n * 1000;
  if (u == "m") return n * 60000;
  if (u == "h") return n * 3600000;
  return n * 86400000;
}

double ParseArg(const std::string& s) {
  std::optional<double> v = ParseBucketBound(s);
  return v ? *v : NAN;
}

// Runs the histogram_* function cases of the upstream corpus that need no PromQL engine: an
// instant query `f(numbers..., name)` over a bare series name that was loaded with histograms,
// expecting one `{} value` line. The PromQL runner covers the rest of the file.
TEST(HistogramStatsTest, ConformanceCorpusFunctionCases) {
  std::ifstream in("../shared/conformance/promql/native_histograms.test");
  if (!in) {
    in.open(std::string(ARGUS_SOURCE_DIR) + "/../shared/conformance/promql/native_histograms.test");
  }
  if (!in) GTEST_SKIP() << "../shared/conformance/promql is absent";
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) {
    size_t a = l.find_first_not_of(" \t");
    lines.push_back(a == std::string::npos ? "" : l.substr(a));
  }
  static const std::regex load_re(R"(^load\s+(\S+)$)");
  static const std::regex series_re(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(.*)$)");
  static const std::regex eval_re(
      R"(^eval\s+instant\s+at\s+(\S+)\s+(histogram_\w+)\(\s*(?:([^,()]+),\s*)?(?:([^,()]+),\s*)?([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\)$)");
  static const std::regex expect_re(R"(^\{\}\s+(\S+)$)");
  struct Loaded {
    int64_t step_ms;
    std::vector<std::optional<FloatHistogram>> values;
  };
  std::map<std::string, Loaded> series;
  int checked = 0, failed = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (lines[i] == "clear") series.clear();
    if (std::regex_match(lines[i], m, load_re)) {
      int64_t step = ParseDurationMs(m[1]);
      for (++i; i < lines.size() && !lines[i].empty() && lines[i][0] != '#'; ++i) {
        std::smatch s;
        if (!std::regex_match(lines[i], s, series_re)) continue;
        Loaded l{step, {}};
        std::string vals = s[2];
        bool ok = true;
        for (std::string_view item : SplitSeriesItems(vals)) {
          if (IsHistogramItem(item)) {
            Result<std::vector<FloatHistogram>> hs = ExpandHistogramItem(item);
            ASSERT_TRUE(hs.ok()) << lines[i];
            for (FloatHistogram& h : *hs) l.values.push_back(std::move(h));
          } else if (item == "_") {
            l.values.push_back(std::nullopt);
          } else {
            ok = false;  // floats, stale markers, _xK: leave to the PromQL runner
          }
        }
        if (ok) series[s[1]] = std::move(l);
      }
      continue;
    }
    if (!std::regex_match(lines[i], m, eval_re)) continue;
    if (i + 1 >= lines.size()) continue;
    size_t body = i + 1;
    while (body < lines.size() && lines[body].rfind("expect ", 0) == 0) ++body;
    std::smatch e;
    if (body >= lines.size() || !std::regex_match(lines[body], e, expect_re)) continue;
    if (body + 1 < lines.size() && !lines[body + 1].empty()) continue;  // several results
    auto it = series.find(m[5]);
    if (it == series.end()) continue;
    int64_t t = ParseDurationMs(m[1]);
    int64_t idx = t / it->second.step_ms;
    if (idx >= static_cast<int64_t>(it->second.values.size()) ||
        t - idx * it->second.step_ms >= 300000 || !it->second.values[idx]) {
      continue;
    }
    const FloatHistogram& h = *it->second.values[idx];
    std::string fn = m[2];
    double got;
    if (fn == "histogram_quantile" && m[3].matched && !m[4].matched) {
      got = HistogramQuantile(ParseArg(m[3]), h);
    } else if (fn == "histogram_fraction" && m[4].matched) {
      got = HistogramFraction(ParseArg(m[3]), ParseArg(m[4]), h);
    } else if (fn == "histogram_count" && !m[3].matched) {
      got = HistogramCount(h);
    } else if (fn == "histogram_sum" && !m[3].matched) {
      got = HistogramSum(h);
    } else if (fn == "histogram_avg" && !m[3].matched) {
      got = HistogramAvg(h);
    } else if (fn == "histogram_stddev" && !m[3].matched) {
      got = HistogramStdDev(h);
    } else if (fn == "histogram_stdvar" && !m[3].matched) {
      got = HistogramStdVar(h);
    } else {
      continue;
    }
    double want = ParseArg(e[1]);
    ++checked;
    if (!AlmostEqual(want, got, kEpsilon)) {
      ++failed;
      ADD_FAILURE() << "line " << i + 1 << ": " << lines[i] << "\n  want " << want << " got "
                    << got << " for " << h.TestExpression();
    }
  }
  EXPECT_GE(checked, 80);
  EXPECT_EQ(failed, 0);
  std::printf("checked %d histogram function cases of native_histograms.test\n", checked);
}

TEST(HistogramStatsTest, TrimExponentialBuckets) {
  // (0.5,1]:2 (1,2]:4 (2,4]:8 and the zero bucket [-0.001,0.001]:1, [-1,-0.5):1.
  FloatHistogram h =
      Lit("{{schema:0 sum:50 count:16 z_bucket:1 z_bucket_w:0.001 buckets:[2 4 8] n_buckets:[1]}}");
  // On a bucket boundary nothing is interpolated; the sum is re-estimated from geometric means.
  FloatHistogram below = HistogramTrim(h, 2, TrimSide::kKeepBelow);
  EXPECT_EQ(below.count, 8);
  EXPECT_NEAR(below.sum, 2 * std::sqrt(0.5) + 4 * std::sqrt(2) - std::sqrt(0.5), 1e-12);
  EXPECT_EQ(below.zero_count, 1);
  // Inside (1,2], exponential interpolation: sqrt(2) splits the bucket in halves.
  FloatHistogram above = HistogramTrim(h, std::sqrt(2), TrimSide::kKeepAbove);
  EXPECT_NEAR(above.count, 10, 1e-12);
  EXPECT_NEAR(above.sum, 2 * std::sqrt(std::sqrt(2) * 2) + 8 * std::sqrt(8), 1e-12);
  EXPECT_EQ(above.zero_count, 0);
  EXPECT_TRUE(above.negative_buckets.empty());
  // The counts agree with histogram_fraction.
  for (double cut : {-0.7, -0.0005, 0.0, 0.3, 1.5, 3.0}) {
    EXPECT_NEAR(HistogramTrim(h, cut, TrimSide::kKeepBelow).count,
                HistogramFraction(-kInf, cut, h) * h.count, 1e-9) << cut;
    EXPECT_NEAR(HistogramTrim(h, cut, TrimSide::kKeepAbove).count,
                HistogramFraction(cut, kInf, h) * h.count, 1e-9) << cut;
  }
}

TEST(HistogramStatsTest, TrimLeavesUntouchedHistogramsAlone) {
  FloatHistogram h = Lit("{{schema:0 sum:50 count:16 buckets:[2 4 8 2]}}");
  for (double cut : {kInf, 8.0, std::nan("")}) {
    EXPECT_TRUE(HistogramTrim(h, cut, TrimSide::kKeepBelow).Equals(h)) << cut;
  }
  for (double cut : {-kInf, 0.5, std::nan("")}) {
    EXPECT_TRUE(HistogramTrim(h, cut, TrimSide::kKeepAbove).Equals(h)) << cut;
  }
  FloatHistogram none = HistogramTrim(h, 0.5, TrimSide::kKeepBelow);
  EXPECT_EQ(none.count, 0);
  EXPECT_EQ(none.sum, 0);
  EXPECT_TRUE(none.positive_buckets.empty());
}

TEST(HistogramStatsTest, TrimCustomBuckets) {
  // (-Inf,5]:1 (5,10]:6 (10,15]:4 (15,+Inf]:2.
  FloatHistogram h =
      Lit("{{schema:-53 sum:150 count:13 custom_values:[5 10 15] buckets:[1 6 4 2]}}");
  // Linear inside (10,15]; the first bucket counts as [0,5]; the +Inf bucket is dropped.
  FloatHistogram below = HistogramTrim(h, 12, TrimSide::kKeepBelow);
  EXPECT_NEAR(below.count, 1 + 6 + 1.6, 1e-12);
  EXPECT_NEAR(below.sum, 2.5 + 6 * 7.5 + 1.6 * 11, 1e-12);
  // Above the last bound the +Inf bucket stays whole, its observations at the cut.
  FloatHistogram above = HistogramTrim(h, 20, TrimSide::kKeepAbove);
  EXPECT_EQ(above.count, 2);
  EXPECT_EQ(above.sum, 40);
  // Below a negative cut the first bucket ((-Inf,5] with 5 > 0) holds nothing.
  EXPECT_EQ(HistogramTrim(h, -1, TrimSide::kKeepBelow).count, 0);
  // A first bucket with a bound <= 0 stays whole below the cut, at min(cut, bound).
  FloatHistogram neg = Lit("{{schema:-53 sum:-10 count:3 custom_values:[-2] buckets:[3]}}");
  FloatHistogram t = HistogramTrim(neg, -4, TrimSide::kKeepBelow);
  EXPECT_EQ(t.count, 3);
  EXPECT_EQ(t.sum, -12);
  EXPECT_EQ(HistogramTrim(neg, -4, TrimSide::kKeepAbove).count, 0);
}

TEST(HistogramStatsTest, NaNObservationsAreInNoBucket) {
  // 15 observations, 3 of them NaN: only 12 sit in (0.5,1].
  FloatHistogram h = Lit("{{schema:0 count:15 sum:NaN buckets:[12]}}");
  EXPECT_EQ(HistogramQuantile(0.8, h), 1);
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.81, h)));
  EXPECT_NEAR(HistogramFraction(-kInf, kInf, h), 0.8, 1e-12);
  FloatHistogram all_nan = Lit("{{schema:0 count:3 sum:NaN}}");
  EXPECT_TRUE(std::isnan(HistogramQuantile(0.4, all_nan)));
  EXPECT_EQ(HistogramFraction(-kInf, kInf, all_nan), 0);
}

}  // namespace
}  // namespace argus
