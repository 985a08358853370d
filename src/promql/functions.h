// The numeric kernels of PromQL's functions and aggregations (Prometheus promql/functions.go,
// quantile.go, aggregation in engine.go), separate from the evaluator's stepping so each can
// be tested on plain points: Kahan-Neumaier summation, the rate extrapolation, linear
// regression, Holt's double exponential smoothing, quantiles and classic-bucket
// histogram_quantile with upstream's monotonicity fixes.
//
// Example:
//   std::optional<double> r = ExtrapolatedRate(points, range_start_ms, range_end_ms,
//                                              /*counter=*/true, /*rate=*/true);
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "promql/value.h"

namespace argus::promql {

// Kahan-Neumaier increment: returns the new sum; `c` accumulates the compensation.
double KahanSumInc(double inc, double sum, double* c);

// ---- Start timestamps (Prometheus' `use-start-timestamps`, promql/functions.go
// isStartTimestampReset and checkStartTimeOverlap). A point's st_ms of 0 means unknown, and
// then every rule below falls back to the plain value-based one. ----

// Whether the sample (cur_st, cur_t) starts a new count after (prev_st, prev_t): its start
// time is after the previous sample, or equal to it while the previous sample had a known
// start of its own (a delta series; with an unknown previous start it is OTel's "cumulative
// with unknown start", no reset). A start time of 0, at or after its own sample (OTel's
// unknown start), or before the previous sample is no reset; a previous start time after
// its own sample is invalid and counts as unknown.
bool IsStartTimestampReset(int64_t prev_st_ms, int64_t prev_t_ms, int64_t cur_st_ms,
                           int64_t cur_t_ms);
// Whether a sample's start time reaches back before the previous sample without being the
// previous sample's own start (the intervals overlap: neither delta nor cumulative).
bool StartTimeOverlaps(int64_t prev_st_ms, int64_t prev_t_ms, int64_t cur_st_ms);
// The warning body for StartTimeOverlaps, naming `metric` as Go's %q does.
std::string StartTimeOverlapWarning(const std::string& metric);

// rate()/increase()/delta(): extrapolated difference over (range_start, range_end].
// For a counter, a start-timestamp reset counts like a value drop, and when the first
// point's start time lies inside the range (and before it) a zero-valued point at that
// start time takes the place of extrapolating to the left (so one point is enough).
// nullopt when there is no result (fewer than two points and no usable start time).
// `*st_overlap` (if given) is set when StartTimeOverlaps holds for a pair of points.
std::optional<double> ExtrapolatedRate(std::span<const Point> pts, int64_t range_start_ms,
                                       int64_t range_end_ms, bool is_counter, bool is_rate,
                                       bool* st_overlap = nullptr);
// irate()/idelta(): from the last two points (for irate a start-timestamp reset between them
// counts as a counter reset). nullopt when fewer than two points.
std::optional<double> InstantValue(std::span<const Point> pts, bool is_rate);
// resets(): value drops, start-timestamp resets and float/histogram switches between
// consecutive points (histograms compared with DetectReset).
double CountResets(std::span<const Point> pts);
// Least squares slope and intercept, x in seconds relative to intercept_ms.
void LinearRegression(std::span<const Point> pts, int64_t intercept_ms, double* slope,
                      double* intercept);
// Prometheus' quantile over values (q<0 -> -Inf, q>1 -> +Inf, NaN q -> NaN).
double Quantile(double q, std::vector<double> values);

// The mean of values with Kahan summation, switching to an incremental mean on overflow.
double AvgOverTime(std::span<const Point> pts);
// Population variance with Kahan summation.
double StdvarOverTime(std::span<const Point> pts);

// The result of a range function over native-histogram points, with the annotation bodies it
// raises (without the "PromQL warning: " prefix and position, which the evaluator adds).
struct HistogramRangeResult {
  std::shared_ptr<const FloatHistogram> h;  // null: no result at this step
  std::vector<std::string> warnings;
  std::vector<std::string> infos;
};
// rate()/increase()/delta() over histogram points (all of `pts` histograms; Prometheus'
// histogramRate plus the float extrapolation): counter resets detected with DetectReset, a
// gauge in a counter function (or a non-gauge in delta) warned about, the result a gauge.
// Start timestamps are used as in ExtrapolatedRate (the overlap warning goes to `warnings`).
// `metric` names the series in messages.
HistogramRangeResult HistogramExtrapolatedRate(std::span<const Point> pts, int64_t range_start_ms,
                                               int64_t range_end_ms, bool is_counter, bool is_rate,
                                               const std::string& metric);
// irate()/idelta() over histogram points (the last two).
HistogramRangeResult HistogramInstantValue(std::span<const Point> pts, bool is_rate,
                                           const std::string& metric);
// True if the count, the zero bucket or any bucket of h is infinite (e.g. a sum overflowed).
bool HasInfiniteCounts(const FloatHistogram& h);
// The mean of `hs` (non-empty) as the sum of each divided by their number: where dividing the
// sum would overflow (upstream switches to an incremental mean then), this stays finite. The
// sum of observations is left as added; callers that Kahan-sum it set it themselves.
// Errors: InvalidArgument if the histograms mix exponential and custom buckets.
Result<FloatHistogram> HistogramMeanOfParts(const std::vector<const FloatHistogram*>& hs);
// sum_over_time() (avg=false) or avg_over_time() (avg=true) over histogram points.
HistogramRangeResult HistogramSumOverTime(std::span<const Point> pts, bool avg,
                                          const std::string& metric);

// ---- Prometheus 3's `anchored` and `smoothed` range selectors (promql/functions.go
// extendedRate, extendedHistogramRate; engine.go extendFloats, smoothSeries). The windows these
// take are widened by the lookback delta: before range_start for both modifiers, and after
// range_end for `smoothed`. ----

// Linear interpolation of (t1, y1)..(t2, y2) at t. For a counter whose value dropped (a reset)
// y1 is taken as 0, so the value lies on the post-reset ramp.
double Interpolate(const Point& p1, const Point& p2, int64_t t_ms, bool is_counter);

// rate()/increase()/delta() over an anchored or smoothed window of float points `pts` (sorted,
// no histograms): the value at range_end minus the value at range_start, where the boundary
// value is the nearest sample at or before it (anchored) or interpolated (smoothed), plus the
// counter resets in between; divided by `range_s` for rate. nullopt when the window has no
// sample inside (range_start, range_end] (anchored) or the data lies only on one side.
std::optional<double> ExtendedRate(std::span<const Point> pts, int64_t range_start_ms,
                                   int64_t range_end_ms, double range_s, bool smoothed,
                                   bool is_counter, bool is_rate);
// The same over native-histogram points (all of `pts` histograms), with upstream's warnings.
HistogramRangeResult HistogramExtendedRate(std::span<const Point> pts, int64_t range_start_ms,
                                           int64_t range_end_ms, double range_s, bool smoothed,
                                           bool is_counter, bool is_rate,
                                           const std::string& metric);
// What an anchored or smoothed range selector returns as a value (extendFloats): the float
// points inside (mint, maxt] bracketed by a point exactly at mint and one exactly at maxt
// (picked or, smoothed, interpolated). Empty when no sample lies after mint.
std::vector<Point> ExtendFloats(std::span<const Point> pts, int64_t mint_ms, int64_t maxt_ms,
                                bool smoothed);
// Linear interpolation between two histograms at t (h1 + (h2 - h1) * fraction; for a counter
// reset, h2 * fraction). Sets *mixed when the two mix exponential and custom buckets (no result
// then) and *reconciled when custom bounds had to be reconciled.
std::shared_ptr<const FloatHistogram> InterpolateHistogram(const Point& p1, const Point& p2,
                                                           int64_t t_ms, bool is_counter,
                                                           bool* mixed, bool* reconciled);

struct Bucket {
  double upper_bound;
  double count;
};
// Classic-bucket quantile (BucketQuantile). Sets *forced_monotonic when bucket counts had to
// be fixed up (upstream's info annotation), *fixed_precision for tiny float differences.
double BucketQuantile(double q, std::vector<Bucket> buckets, bool* forced_monotonic,
                      bool* fixed_precision);
// The fraction of observations between lower and upper (classic buckets, histogram_fraction).
double BucketFraction(double lower, double upper, std::vector<Bucket> buckets);

// Go's strconv.FormatFloat(v, 'f', -1, 64) ("NaN", "+Inf", "-Inf" for the specials).
std::string FormatFloatGo(double v);

}  // namespace argus::promql
