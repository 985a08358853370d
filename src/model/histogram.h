// Native histograms: the sparse, exponentially bucketed histograms of Prometheus 3
// (model/histogram: Histogram, FloatHistogram), including the custom-bucket schema -53 ("NHCB").
// Prometheus' integer `Histogram` is called `IntHistogram` here: `argus::Histogram` is the
// self-metrics histogram of util/metrics.h.
//
// A histogram has a schema, a zero bucket (threshold and count), a count and a sum of
// observations, and two sparse bucket lists (positive and negative) described by spans:
// the first span's offset is the absolute index of its first bucket, later offsets are the gap
// after the previous span. For exponential schemas -4..8 the positive bucket with index i
// covers (base^(i-1), base^i] with base = 2^(2^-schema); negative buckets mirror it. For schema
// -53 bucket i covers (custom_values[i-1], custom_values[i]] (the first from -Inf, the one past
// the last bound up to +Inf); there is no zero bucket and no negative side.
//
// `IntHistogram` carries integer counts with buckets delta-encoded as on the wire (remote_write,
// chunks); `FloatHistogram` carries absolute float counts and is what PromQL computes on.
// Operations follow Prometheus 3's behaviour (float_histogram.go, generic.go): Add/Sub reduce to
// the lower resolution and widen the zero bucket as needed; NHCB with different bounds are
// reconciled to the intersection of their bounds and report it (PromQL turns that into an info
// annotation); mixing NHCB and exponential is an error.
//
// Example:
//   FloatHistogram a = ParseOrDie(...), b = ...;
//   ASSIGN_OR_RETURN(AddResult r, a.Add(b));      // a += b
//   if (r.nhcb_bounds_reconciled) warn("mismatched custom buckets were reconciled");
//   a.Compact(0);
//   for (const FloatBucket& bk : a.AllBuckets()) use(bk.lower, bk.upper, bk.count);
//   std::string s = a.TestExpression();          // "{{schema:0 count:4 sum:5 buckets:[1 2 1]}}"
//
// Thread-safety: plain values; const methods may be called concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace argus {

// Prometheus' histogram.CounterResetHint.
enum class CounterResetHint : uint8_t {
  kUnknown = 0,        // may or may not be a reset: detect it from the counts
  kCounterReset = 1,   // a reset happened right before this histogram
  kNotCounterReset = 2,
  kGauge = 3,          // a gauge histogram: resets do not apply
};

// "unknown", "reset", "not_reset", "gauge" (the promqltest notation words).
std::string_view CounterResetHintName(CounterResetHint h);

inline constexpr int32_t kCustomBucketsSchema = -53;
inline constexpr int32_t kExponentialSchemaMin = -4;
inline constexpr int32_t kExponentialSchemaMax = 8;

inline bool IsCustomBucketsSchema(int32_t s) { return s == kCustomBucketsSchema; }
inline bool IsExponentialSchema(int32_t s) {
  return s >= kExponentialSchemaMin && s <= kExponentialSchemaMax;
}
inline bool IsValidSchema(int32_t s) { return IsCustomBucketsSchema(s) || IsExponentialSchema(s); }

// A run of consecutive buckets. The first span's offset is an absolute bucket index; the
// offset of each later span is the number of absent buckets since the previous span ended.
struct Span {
  int32_t offset = 0;
  uint32_t length = 0;
  friend bool operator==(const Span&, const Span&) = default;
};

// One bucket as iterators return it: bounds, inclusiveness, count and its index in the schema.
template <typename T>
struct Bucket {
  double lower = 0;
  double upper = 0;
  bool lower_inclusive = false;
  bool upper_inclusive = true;
  T count = 0;
  int32_t index = 0;
  // Prometheus' Bucket.String(): "(0.5,1]:2", "[-1,-0.5):3", "[-0.001,0.001]:1".
  std::string String() const;
};
using FloatBucket = Bucket<double>;

// The upper bound of bucket `index` in an exponential `schema` (Prometheus getBoundExponential:
// 2^(index * 2^-schema), with the last finite bucket ending at DBL_MAX and the next at +Inf).
double ExponentialBucketBound(int32_t index, int32_t schema);
// The upper bound of bucket `index` for custom bounds: -Inf for index -1, +Inf for
// index >= custom_values.size().
double CustomBucketBound(int32_t index, const std::vector<double>& custom_values);

// Formats v like Go's fmt "%g" (strconv.FormatFloat(v, 'g', -1, 64)): "1", "0.5", "1e+06",
// "1.5e-05", "NaN", "+Inf", "-Inf".
std::string FormatGoG(double v);

// What Add/Sub report besides the result (Prometheus returns these as booleans and PromQL
// turns them into annotations).
struct AddResult {
  bool counter_reset_collision = false;  // one side said CounterReset, the other NotCounterReset
  bool nhcb_bounds_reconciled = false;   // NHCB bounds differed; the result uses the intersection
};

class FloatHistogram;

// A histogram with integer counts, buckets delta-encoded (each bucket holds the difference to
// the previous bucket of its side; the first holds its absolute count), as in remote_write and
// in Prometheus' chunks.
class IntHistogram {
 public:
  CounterResetHint counter_reset_hint = CounterResetHint::kUnknown;
  int32_t schema = 0;
  double zero_threshold = 0;
  uint64_t zero_count = 0;
  uint64_t count = 0;
  double sum = 0;
  std::vector<Span> positive_spans, negative_spans;
  std::vector<int64_t> positive_buckets, negative_buckets;  // deltas
  std::vector<double> custom_values;                        // schema -53 only

  bool UsesCustomBuckets() const { return IsCustomBucketsSchema(schema); }
  // The same histogram with float counts and absolute buckets.
  FloatHistogram ToFloat() const;
  // Checks consistency like Prometheus' Histogram.Validate: valid schema, spans matching the
  // number of buckets, no negative offsets after the first span, no negative absolute counts,
  // count equal to the bucket total (at least it when sum is NaN), NHCB rules. Returns
  // InvalidArgument with Prometheus' message otherwise.
  Status Validate() const;
  // Drops empty buckets and merges spans at most `max_empty_buckets` apart (as FloatHistogram).
  IntHistogram& Compact(int max_empty_buckets);
  // Merges buckets down to the lower resolution `target_schema` (-4..8). The current schema
  // may be above 8 (up to 52, as Prometheus accepts from remote_write and reduces to 8).
  // Errors: InvalidArgument for NHCB, or unless target_schema < schema <= 52.
  Status ReduceResolution(int32_t target_schema);
  // Exact equality of the data (layout compared after merging empty spans), Prometheus' Equals.
  bool Equals(const IntHistogram& o) const;
  // Prometheus' String(): "{count:4, sum:5, [-1,-0.5):1, (0.5,1]:2}".
  std::string String() const;
};

// A histogram with float counts and absolute buckets: what PromQL computes on.
class FloatHistogram {
 public:
  CounterResetHint counter_reset_hint = CounterResetHint::kUnknown;
  int32_t schema = 0;
  double zero_threshold = 0;
  double zero_count = 0;
  double count = 0;
  double sum = 0;
  std::vector<Span> positive_spans, negative_spans;
  std::vector<double> positive_buckets, negative_buckets;  // absolute counts
  std::vector<double> custom_values;                       // schema -53 only

  bool UsesCustomBuckets() const { return IsCustomBucketsSchema(schema); }

  // Buckets in the order Prometheus' iterators give them. Each call builds a new vector.
  //   PositiveBuckets: ascending from the zero bucket; NegativeBuckets: descending from it
  //   (so from -small to -large); AllBuckets: ascending over negative, zero (only if its count
  //   is > 0) and positive buckets, with a bucket overlapping the zero bucket clipped to the
  //   threshold; AllBucketsReverse: the same, descending.
  std::vector<FloatBucket> PositiveBuckets() const;
  std::vector<FloatBucket> NegativeBuckets() const;
  std::vector<FloatBucket> AllBuckets() const;
  std::vector<FloatBucket> AllBucketsReverse() const;
  // [-zero_threshold, zero_threshold] with zero_count. REQUIRES: !UsesCustomBuckets().
  FloatBucket ZeroBucket() const;

  // this += o. Errors: InvalidArgument "cannot apply this operation on histograms with a mix
  // of exponential and custom bucket schemas". The result may hold empty buckets: Compact it.
  Result<AddResult> Add(const FloatHistogram& o);
  // this -= o (same rules as Add; PromQL's "-" then sets the hint to gauge).
  Result<AddResult> Sub(const FloatHistogram& o);
  // Scales counts, sum and buckets; a negative factor makes the result a gauge.
  FloatHistogram& Mul(double factor);
  // Divides like Mul; division by zero drops all buckets (and yields Inf/NaN counts).
  FloatHistogram& Div(double scalar);
  // Drops empty buckets at the ends of spans, merges spans at most `max_empty_buckets` apart
  // and splits spans at longer runs of empty buckets (Prometheus' Compact).
  FloatHistogram& Compact(int max_empty_buckets);
  // A copy at the lower (or equal) resolution `target_schema`, buckets merged.
  // Errors: InvalidArgument for NHCB, a custom target, or target_schema > schema.
  Result<FloatHistogram> CopyToSchema(int32_t target_schema) const;
  // Changes this histogram to the lower resolution `target_schema` (errors as CopyToSchema).
  // The current schema may be above 8 (up to 52), as remote_write senders may send.
  Status ReduceResolution(int32_t target_schema);
  // True if this histogram, following `previous` in a counter series, implies a counter reset
  // (Prometheus' DetectReset): hint CounterReset -> true, NotCounterReset -> false; otherwise a
  // lower count, a higher schema, a lower zero threshold, a populated bucket gone or shrunk.
  bool DetectReset(const FloatHistogram& previous) const;
  // Prometheus' FloatHistogram.Validate (errors as IntHistogram::Validate, without the
  // count check).
  Status Validate() const;
  // Exact (bitwise for counts) equality, layouts compared after merging empty spans.
  bool Equals(const FloatHistogram& o) const;

  // "{count:4, sum:5, (0.5,1]:2, ...}" (Prometheus' String()).
  std::string String() const;
  // The promqltest notation, exactly as Prometheus' TestExpression():
  // "{{schema:1 count:4 sum:5 z_bucket:1 z_bucket_w:0.001 offset:1 buckets:[1 2]}}".
  std::string TestExpression() const;
};

// True if the two bound lists are the same (NaN-free, element-wise ==).
bool CustomBucketBoundsMatch(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace argus
