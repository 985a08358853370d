#include "model/histogram_stats.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace argus {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Kahan-Neumaier increment (Prometheus' kahansum.Inc).
void KahanInc(double inc, double* sum, double* c) {
  double t = *sum + inc;
  if (std::isinf(t)) {
    *c = 0;
  } else if (std::fabs(*sum) >= std::fabs(inc)) {
    *c += (*sum - t) + inc;
  } else {
    *c += (inc - t) + *sum;
  }
  *sum = t;
}

}  // namespace

bool AlmostEqual(double a, double b, double epsilon) {
  constexpr double kMinNormal = std::numeric_limits<double>::min();
  if (std::isnan(a) && std::isnan(b)) return true;
  if (a == b) return true;
  double abs_sum = std::fabs(a) + std::fabs(b);
  double diff = std::fabs(a - b);
  if (a == 0 || b == 0 || abs_sum < kMinNormal) return diff < epsilon * kMinNormal;
  return diff / std::min(abs_sum, std::numeric_limits<double>::max()) < epsilon;
}

double HistogramQuantile(double q, const FloatHistogram& h) {
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  if (h.count == 0 || std::isnan(q)) return std::nan("");

  bool forward = std::isnan(h.sum) || q < 0.5;
  std::vector<FloatBucket> buckets = forward ? h.AllBuckets() : h.AllBucketsReverse();
  double rank = forward ? q * h.count : (1 - q) * h.count;
  FloatBucket bucket;
  double count = 0;
  for (const FloatBucket& b : buckets) {
    bucket = b;
    if (b.count == 0) continue;
    count += b.count;
    if (count >= rank) break;
  }
  if (!h.UsesCustomBuckets() && bucket.lower < 0 && bucket.upper > 0) {
    if (h.negative_buckets.empty() && !h.positive_buckets.empty()) {
      bucket.lower = 0;
    } else if (h.positive_buckets.empty() && !h.negative_buckets.empty()) {
      bucket.upper = 0;
    }
  } else if (h.UsesCustomBuckets()) {
    if (bucket.lower == -kInf) {
      if (bucket.upper <= 0) return bucket.upper;
      bucket.lower = 0;
    } else if (bucket.upper == kInf) {
      return bucket.lower;
    }
  }
  if (count > h.count) count = h.count;
  // The rank falls among the NaN observations (they are in no bucket): the quantile is NaN.
  if (count < rank) return std::isnan(h.sum) ? std::nan("") : bucket.upper;

  if (forward) {
    rank -= count - bucket.count;
  } else {
    rank = count - rank;
  }
  double fraction = rank / bucket.count;
  if (h.UsesCustomBuckets() || (bucket.lower <= 0 && bucket.upper >= 0)) {
    return bucket.lower + (bucket.upper - bucket.lower) * fraction;
  }
  double log_lower = std::log2(std::fabs(bucket.lower));
  double log_upper = std::log2(std::fabs(bucket.upper));
  if (bucket.lower > 0) return std::exp2(log_lower + (log_upper - log_lower) * fraction);
  return -std::exp2(log_upper + (log_lower - log_upper) * (1 - fraction));
}

double HistogramFraction(double lower, double upper, const FloatHistogram& h) {
  if (h.count == 0 || std::isnan(lower) || std::isnan(upper)) return std::nan("");
  if (lower >= upper) return 0;
  double rank = 0, lower_rank = 0, upper_rank = 0;
  bool lower_set = false, upper_set = false;
  for (FloatBucket b : h.AllBuckets()) {
    bool zero_bucket = false;
    if (b.lower <= 0 && b.upper >= 0) {
      zero_bucket = true;
      if (h.negative_buckets.empty() && !h.positive_buckets.empty()) {
        b.lower = 0;
      } else if (h.positive_buckets.empty() && !h.negative_buckets.empty()) {
        b.upper = 0;
      }
    }
    auto linear = [&](double v) { return rank + b.count * (v - b.lower) / (b.upper - b.lower); };
    auto exponential = [&](double v) {
      double log_lower = std::log2(std::fabs(b.lower));
      double log_upper = std::log2(std::fabs(b.upper));
      double log_v = std::log2(std::fabs(v));
      double fraction = v > 0 ? (log_v - log_lower) / (log_upper - log_lower)
                              : 1 - ((log_v - log_upper) / (log_lower - log_upper));
      return rank + b.count * fraction;
    };
    bool linear_here = h.UsesCustomBuckets() || zero_bucket;
    if (b.lower == -kInf) {
      // (-Inf, u <= 0]: nothing to interpolate, a cut inside counts as at u (so the bucket is
      // in no fraction that starts inside it), as for classic buckets.
      if (!lower_set && b.upper > lower) {
        lower_rank = lower == -kInf ? rank : rank + b.count;
        lower_set = true;
      }
      if (!upper_set && b.upper > upper) {
        upper_rank = rank + b.count;
        upper_set = true;
      }
      if (lower_set && upper_set) break;
      rank += b.count;
      continue;
    }
    if (!lower_set && b.lower >= lower) {
      lower_rank = rank;
      lower_set = true;
    }
    if (!upper_set && b.lower >= upper) {
      upper_rank = rank;
      upper_set = true;
    }
    if (lower_set && upper_set) break;
    if (!lower_set && b.lower < lower && b.upper > lower) {
      lower_rank = linear_here ? linear(lower) : exponential(lower);
      lower_set = true;
    }
    if (!upper_set && b.lower < upper && b.upper > upper) {
      upper_rank = linear_here ? linear(upper) : exponential(upper);
      upper_set = true;
    }
    if (lower_set && upper_set) break;
    rank += b.count;
  }
  // Past the last bucket: all bucketed observations. NaN observations (the sum is NaN) are in
  // no bucket and so in no fraction.
  double end_rank = std::isnan(h.sum) ? std::min(rank, h.count) : h.count;
  if (!lower_set) lower_rank = end_rank;
  if (!upper_set) upper_rank = end_rank;
  lower_rank = std::min(lower_rank, h.count);
  upper_rank = std::min(upper_rank, h.count);
  return (upper_rank - lower_rank) / h.count;
}

namespace {

// What a trim keeps of one bucket: the count, where its observations sit (for the new sum),
// and whether anything was removed or moved.
struct TrimmedBucket {
  double count = 0;
  double value = 0;
  bool changed = false;
};

// The geometric mean of [a, b] (both of one sign), negative for negative bounds.
double SignedGeometricMean(double a, double b) {
  double v = std::sqrt(a * b);
  return a < 0 ? -v : v;
}

// The share of an exponential bucket [lower, upper] (bounds of one sign) below x, for
// lower < x < upper: the same interpolation as HistogramFraction.
double ExponentialShareBelow(double lower, double upper, double x) {
  double log_lower = std::log2(std::fabs(lower));
  double log_upper = std::log2(std::fabs(upper));
  double log_x = std::log2(std::fabs(x));
  return x > 0 ? (log_x - log_lower) / (log_upper - log_lower)
               : 1 - (log_x - log_upper) / (log_lower - log_upper);
}

// Trims a bucket with finite bounds, interpolating linearly or exponentially.
TrimmedBucket TrimFiniteBucket(double lower, double upper, double count, double cut,
                               TrimSide side, bool linear) {
  auto value = [&](double a, double b) { return linear ? (a + b) / 2 : SignedGeometricMean(a, b); };
  bool below = side == TrimSide::kKeepBelow;
  if (below ? upper <= cut : lower >= cut) return {count, value(lower, upper), false};
  if (below ? lower >= cut : upper <= cut) return {0, 0, count != 0};
  double share_below =
      linear ? (cut - lower) / (upper - lower) : ExponentialShareBelow(lower, upper, cut);
  if (below) return {count * share_below, value(lower, cut), count != 0};
  return {count * (1 - share_below), value(cut, upper), count != 0};
}

// Trims a custom bucket, which may have an infinite bound (see HistogramTrim).
TrimmedBucket TrimCustomBucket(double lower, double upper, double count, double cut,
                               TrimSide side) {
  bool below = side == TrimSide::kKeepBelow;
  if (upper == kInf) {
    if (below || lower == -kInf || cut == kInf) return {0, 0, count != 0};
    return {count, std::max(cut, lower), count != 0 && cut > lower};
  }
  if (lower == -kInf) {
    if (upper > 0 && (below || cut >= 0)) return TrimFiniteBucket(0, upper, count, cut, side, true);
    if (!below) return {0, 0, count != 0};
    return {count, std::min(cut, upper), count != 0 && cut < upper};
  }
  return TrimFiniteBucket(lower, upper, count, cut, side, true);
}

}  // namespace

FloatHistogram HistogramTrim(const FloatHistogram& h, double cut, TrimSide side) {
  bool below = side == TrimSide::kKeepBelow;
  if (std::isnan(cut) || (below && cut == kInf) || (!below && cut == -kInf)) return h;
  FloatHistogram out = h;
  bool changed = false;
  double count = 0, sum = 0, c = 0;
  auto keep = [&](const TrimmedBucket& t, double* slot) {
    *slot = t.count;
    changed = changed || t.changed;
    count += t.count;
    if (t.count != 0) KahanInc(t.count * t.value, &sum, &c);
  };
  std::vector<FloatBucket> positive = h.PositiveBuckets();
  for (size_t i = 0; i < positive.size(); ++i) {
    const FloatBucket& b = positive[i];
    if (h.UsesCustomBuckets()) {
      keep(TrimCustomBucket(b.lower, b.upper, b.count, cut, side), &out.positive_buckets[i]);
      continue;
    }
    double lower = b.lower > 0 && b.lower < h.zero_threshold ? h.zero_threshold : b.lower;
    keep(TrimFiniteBucket(lower, b.upper, b.count, cut, side, false), &out.positive_buckets[i]);
  }
  std::vector<FloatBucket> negative = h.NegativeBuckets();
  for (size_t i = 0; i < negative.size(); ++i) {
    const FloatBucket& b = negative[i];
    double upper = b.upper < 0 && b.upper > -h.zero_threshold ? -h.zero_threshold : b.upper;
    keep(TrimFiniteBucket(b.lower, upper, b.count, cut, side, false), &out.negative_buckets[i]);
  }
  if (!h.UsesCustomBuckets()) {
    // The zero bucket, taken as [0, threshold] or [-threshold, 0] when only one side has
    // buckets, as HistogramFraction does.
    double lower = -h.zero_threshold, upper = h.zero_threshold;
    if (h.negative_buckets.empty() && !h.positive_buckets.empty()) {
      lower = 0;
    } else if (h.positive_buckets.empty() && !h.negative_buckets.empty()) {
      upper = 0;
    }
    keep(TrimFiniteBucket(lower, upper, h.zero_count, cut, side, true), &out.zero_count);
  }
  if (!changed) return h;
  out.count = count;
  out.sum = sum + c;
  out.Compact(0);
  return out;
}

double HistogramStdVar(const FloatHistogram& h) {
  double mean = h.sum / h.count;
  double variance = 0, c = 0;
  for (const FloatBucket& b : h.AllBuckets()) {
    if (b.count == 0) continue;
    double val;
    if (h.UsesCustomBuckets()) {
      val = (b.upper + b.lower) / 2.0;
    } else if (b.lower <= 0 && b.upper >= 0) {
      val = 0;
    } else {
      val = std::sqrt(b.upper * b.lower);
      if (b.upper < 0) val = -val;
    }
    double delta = val - mean;
    KahanInc(b.count * delta * delta, &variance, &c);
  }
  variance += c;
  return variance / h.count;
}

double HistogramStdDev(const FloatHistogram& h) { return std::sqrt(HistogramStdVar(h)); }

BucketQuantileResult BucketQuantile(double q, std::vector<ClassicBucket>& buckets) {
  constexpr double kSmallDeltaTolerance = 1e-12;
  BucketQuantileResult r;
  if (std::isnan(q)) {
    r.value = std::nan("");
    return r;
  }
  if (q < 0) {
    r.value = -kInf;
    return r;
  }
  if (q > 1) {
    r.value = kInf;
    return r;
  }
  r.value = std::nan("");
  if (buckets.empty()) return r;
  std::stable_sort(buckets.begin(), buckets.end(),
                   [](const ClassicBucket& a, const ClassicBucket& b) {
                     return a.upper_bound < b.upper_bound;
                   });
  if (!std::isinf(buckets.back().upper_bound) || buckets.back().upper_bound < 0) return r;
  // Merge buckets with the same upper bound.
  size_t n = 0;
  for (size_t i = 1; i < buckets.size(); ++i) {
    if (buckets[i].upper_bound == buckets[n].upper_bound) {
      buckets[n].count += buckets[i].count;
    } else {
      buckets[++n] = buckets[i];
    }
  }
  buckets.resize(n + 1);
  // ensureMonotonicAndIgnoreSmallDeltas.
  bool forced = false, fixed = false;
  double prev = buckets[0].count;
  for (size_t i = 1; i < buckets.size(); ++i) {
    double curr = buckets[i].count;
    if (curr == prev) continue;
    if (AlmostEqual(prev, curr, kSmallDeltaTolerance)) {
      buckets[i].count = prev;
      fixed = true;
      continue;
    }
    if (curr < prev) {
      buckets[i].count = prev;
      forced = true;
      continue;
    }
    prev = curr;
  }
  if (buckets.size() < 2) return r;
  double observations = buckets.back().count;
  if (observations == 0) return r;
  r.forced_monotonic = forced;
  r.fixed_precision = fixed;
  double rank = q * observations;
  // sort.Search over all but the +Inf bucket: first index with count >= rank.
  size_t b = std::partition_point(buckets.begin(), buckets.end() - 1,
                                  [&](const ClassicBucket& x) { return x.count < rank; }) -
             buckets.begin();
  if (b == buckets.size() - 1) {
    r.value = buckets[buckets.size() - 2].upper_bound;
    return r;
  }
  if (b == 0 && buckets[0].upper_bound <= 0) {
    r.value = buckets[0].upper_bound;
    return r;
  }
  double start = 0, end = buckets[b].upper_bound, count = buckets[b].count;
  if (b > 0) {
    start = buckets[b - 1].upper_bound;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  r.value = start + (end - start) * (rank / count);
  return r;
}

std::optional<double> ParseBucketBound(std::string_view le) {
  std::string t(le);
  std::string lower;
  for (char c : t) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "inf" || lower == "+inf" || lower == "infinity" || lower == "+infinity") return kInf;
  if (lower == "-inf" || lower == "-infinity") return -kInf;
  if (lower == "nan") return std::nan("");
  if (t.empty() || lower.find("n") != std::string::npos) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size()) return std::nullopt;
  return v;
}

}  // namespace argus
