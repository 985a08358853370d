#include "model/classic_histogram_builder.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace argus {
namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

Status ClassicHistogramBuilder::SetBucketCount(double le, double count) {
  if (!err_.ok()) return err_;
  if (std::isnan(le)) return err_ = Status::InvalidArgument("bucket boundary must not be NaN");
  if (count < 0) {
    return err_ = Status::InvalidArgument("bucket count must be non-negative: le=" +
                                          FormatGoG(le) + ", count=" + FormatGoG(count));
  }
  auto it = std::lower_bound(buckets_.begin(), buckets_.end(), le,
                             [](const Bucket& b, double v) { return b.le < v; });
  if (it != buckets_.end() && it->le == le) return Status::OK();  // duplicate sample
  if (it != buckets_.begin() && count < std::prev(it)->count) {
    return err_ = Status::InvalidArgument("count is not cumulative: " + FormatGoG(count) + " < " +
                                          FormatGoG(std::prev(it)->count));
  }
  if (it != buckets_.end() && count > it->count) {
    return err_ = Status::InvalidArgument("count is not cumulative: " + FormatGoG(count) + " > " +
                                          FormatGoG(it->count));
  }
  buckets_.insert(it, Bucket{le, count});
  return Status::OK();
}

Status ClassicHistogramBuilder::SetCount(double count) {
  if (!err_.ok()) return err_;
  if (count < 0) {
    return err_ = Status::InvalidArgument("count must be non-negative: count=" + FormatGoG(count));
  }
  count_ = count;
  has_count_ = true;
  return Status::OK();
}

Result<std::variant<IntHistogram, FloatHistogram>> ClassicHistogramBuilder::Convert() const {
  if (!err_.ok()) return err_;
  std::vector<Bucket> buckets = buckets_;
  double count = count_;
  if (!has_count_) {
    if (buckets.empty()) {
      return Status::InvalidArgument("count must be provided when no buckets are present");
    }
    count = buckets.back().count;
  }
  if (buckets.empty() || buckets.back().le != kInf) buckets.push_back(Bucket{kInf, count});
  auto mismatch = [&](const std::string& c) {
    return Status::InvalidArgument("count mismatch: count=" + c + " != le=" +
                                   FormatGoG(buckets.back().le) +
                                   " count=" + FormatGoG(buckets.back().count));
  };
  bool integral = count == std::round(count);
  for (const Bucket& b : buckets) integral = integral && b.count == std::round(b.count);
  std::vector<double> custom_values;
  for (const Bucket& b : buckets) {
    if (b.le != kInf) custom_values.push_back(b.le);
  }
  const Span span{0, static_cast<uint32_t>(buckets.size())};
  if (integral) {
    IntHistogram h;
    h.schema = kCustomBucketsSchema;
    h.count = static_cast<uint64_t>(count);
    h.sum = sum_;
    h.positive_spans = {span};
    h.custom_values = std::move(custom_values);
    int64_t prev_count = 0, prev_delta = 0;
    for (const Bucket& b : buckets) {
      int64_t delta = static_cast<int64_t>(b.count) - prev_count;
      h.positive_buckets.push_back(delta - prev_delta);
      prev_count = static_cast<int64_t>(b.count);
      prev_delta = delta;
    }
    if (h.count != static_cast<uint64_t>(buckets.back().count)) {
      return mismatch(std::to_string(h.count));
    }
    h.Compact(2);
    return std::variant<IntHistogram, FloatHistogram>(std::move(h));
  }
  FloatHistogram f;
  f.schema = kCustomBucketsSchema;
  f.count = count;
  f.sum = sum_;
  f.positive_spans = {span};
  f.custom_values = std::move(custom_values);
  double prev = 0;
  for (const Bucket& b : buckets) {
    f.positive_buckets.push_back(b.count - prev);
    prev = b.count;
  }
  if (count != buckets.back().count) return mismatch(FormatGoG(count));
  f.Compact(0);
  return std::variant<IntHistogram, FloatHistogram>(std::move(f));
}

}  // namespace argus
