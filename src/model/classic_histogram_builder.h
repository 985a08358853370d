// Converts a classic histogram (the `_bucket{le=...}`, `_count` and `_sum` samples of one
// series at one timestamp) into a native histogram with custom buckets (NHCB, schema -53), as
// Prometheus' util/convertnhcb does. Used by the PromQL test runner's `load_with_nhcb` and by
// scrapes that convert classic histograms.
//
// Example:
//   ClassicHistogramBuilder b;
//   RETURN_IF_ERROR(b.SetBucketCount(0.1, 5));      // cumulative counts, any order
//   RETURN_IF_ERROR(b.SetBucketCount(kInf, 12));
//   RETURN_IF_ERROR(b.SetCount(12));
//   b.SetSum(3.5);
//   ASSIGN_OR_RETURN(auto h, b.Convert());          // IntHistogram if all counts are integers
//
// Thread-safety: plain value, not thread-safe.
#pragma once

#include <variant>
#include <vector>

#include "model/histogram.h"
#include "util/status.h"

namespace argus {

class ClassicHistogramBuilder {
 public:
  // Records the cumulative count of the bucket with upper bound `le`. A repeated `le` is
  // ignored. Errors (InvalidArgument, sticky: later calls and Convert return it too):
  // "bucket boundary must not be NaN", "bucket count must be non-negative: ...", "count is not
  // cumulative: ..." when the counts would decrease with le.
  Status SetBucketCount(double le, double count);
  // The `_count` sample. Errors: "count must be non-negative: ...".
  Status SetCount(double count);
  void SetSum(double sum) { sum_ = sum; }

  // The NHCB: custom_values are the finite bounds, buckets the per-bucket (non-cumulative)
  // counts with a +Inf bucket (added with the count if missing), the count from SetCount or
  // else the highest bucket. An integer IntHistogram (compacted with up to 2 empty buckets kept,
  // as upstream) when every count is an integer, else a FloatHistogram (compacted). Errors:
  // the sticky error; "count must be provided when no buckets are present"; "count mismatch:
  // ..." when the count differs from the +Inf bucket.
  Result<std::variant<IntHistogram, FloatHistogram>> Convert() const;

 private:
  struct Bucket {
    double le;
    double count;
  };
  std::vector<Bucket> buckets_;  // sorted by le
  double count_ = 0;
  double sum_ = 0;
  bool has_count_ = false;
  Status err_;
};

}  // namespace argus
