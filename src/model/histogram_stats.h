// The statistics PromQL's histogram functions compute, as pure functions: histogram_quantile
// for native histograms (HistogramQuantile) and for classic `_bucket` series (BucketQuantile),
// histogram_fraction, histogram_count/sum/avg and histogram_stddev/stdvar. No engine types:
// the PromQL engine selects the samples, calls these, and turns the reported flags into
// annotations. Semantics follow Prometheus 3's promql/quantile.go and functions.go.
//
// Native quantiles interpolate exponentially inside exponential buckets (the quantile of a
// bucket's population is where it would fall if the bucket were split into finer buckets of
// equal population), linearly inside the zero bucket and inside custom (NHCB) buckets. Zero is
// taken as the natural lower (upper) bound when a histogram has only positive (negative)
// buckets.
//
// Example:
//   double p99 = HistogramQuantile(0.99, h);             // h: FloatHistogram
//   double f = HistogramFraction(0, 0.5, h);              // share of observations in [0, 0.5]
//   std::vector<ClassicBucket> bs = {{0.1, 3}, {1, 10}, {kInf, 12}};
//   BucketQuantileResult r = BucketQuantile(0.5, bs);   // r.value; r.forced_monotonic
//
// Thread-safety: stateless functions.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "model/histogram.h"

namespace argus {

// The q-quantile of h. q < 0 -> -Inf, q > 1 -> +Inf, q NaN or an empty histogram -> NaN.
// Histograms whose sum is NaN (NaN observations) are searched from the low end, and a rank
// beyond the populated buckets (among the NaN observations) returns NaN.
double HistogramQuantile(double q, const FloatHistogram& h);

// The estimated fraction of observations in [lower, upper]. NaN for an empty histogram or a
// NaN bound; 0 if lower >= upper. NaN observations (sum NaN) count in the total but are in no
// fraction.
double HistogramFraction(double lower, double upper, const FloatHistogram& h);

// Which side of the cut a histogram trim keeps: PromQL's `h </ x` (TRIM_UPPER) keeps the
// observations below x, `h >/ x` (TRIM_LOWER) those above it.
enum class TrimSide { kKeepBelow, kKeepAbove };

// PromQL's histogram trim operators (Prometheus docs, querying/operators "Histogram trim
// operators"): a copy of h without the observations above (kKeepBelow) or below (kKeepAbove)
// `cut`. A bucket containing the cut keeps the share the interpolation of HistogramFraction
// gives it (exponential inside exponential buckets, linear inside the zero bucket and custom
// buckets), so `histogram_count(h </ x) == histogram_fraction(-Inf, x, h) * histogram_count(h)`.
// If any observation was removed (or moved, see below), count is the kept total and sum is
// estimated again from the kept populations, each at its bucket's (or kept part's) geometric
// mean (exponential buckets), midpoint (zero and custom buckets); otherwise h is returned
// unchanged. Custom buckets with an infinite bound: the (-Inf, u] bucket counts as [0, u] when
// u > 0 and the cut is not below 0; otherwise it is kept whole below the cut with its
// observations at min(cut, u), and dropped by kKeepAbove. The (l, +Inf] bucket is dropped by
// kKeepBelow unless the cut is +Inf, and kept whole by kKeepAbove (for a finite cut) with its
// observations at max(cut, l). A NaN cut returns h unchanged. The result is compacted.
FloatHistogram HistogramTrim(const FloatHistogram& h, double cut, TrimSide side);

inline double HistogramCount(const FloatHistogram& h) { return h.count; }
inline double HistogramSum(const FloatHistogram& h) { return h.sum; }
inline double HistogramAvg(const FloatHistogram& h) { return h.sum / h.count; }

// The estimated variance of the observations: each bucket's population sits at its geometric
// mean (exponential buckets), its arithmetic mean (custom buckets) or at 0 (the zero bucket);
// Kahan-Neumaier summation as upstream.
double HistogramStdVar(const FloatHistogram& h);
double HistogramStdDev(const FloatHistogram& h);

// One classic histogram bucket: the `le` upper bound and the cumulative count.
struct ClassicBucket {
  double upper_bound = 0;
  double count = 0;
};

struct BucketQuantileResult {
  double value = 0;
  bool forced_monotonic = false;  // counts decreased with le and were raised (PromQL: info)
  bool fixed_precision = false;   // tiny float-noise differences were ignored
};

// The q-quantile over classic buckets (Prometheus' BucketQuantile): sorts by upper bound,
// merges equal bounds, ignores relative differences below 1e-12, forces monotonic counts, and
// interpolates linearly (from 0 in the first bucket if its bound is > 0). NaN if there are
// fewer than 2 buckets, no +Inf bucket, or no observations; the second-highest bound if the
// rank falls into the +Inf bucket. `buckets` is sorted in place.
BucketQuantileResult BucketQuantile(double q, std::vector<ClassicBucket>& buckets);

// Parses a `le` label value as PromQL does (Go's strconv.ParseFloat: decimals, hex, Inf/NaN);
// nullopt if malformed (PromQL skips such series with an annotation).
std::optional<double> ParseBucketBound(std::string_view le);

// Prometheus' util/almost.Equal: true if a and b are within relative `epsilon` (absolute
// epsilon * DBL_MIN near zero), or both NaN, or equal. Used by tests and conformance runners.
bool AlmostEqual(double a, double b, double epsilon);

}  // namespace argus
