#include "model/histogram.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>

namespace argus {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// A bucket by absolute index. Sides are handled as sorted lists of these: simpler than
// Prometheus' in-place span surgery, with the same resulting layouts.
template <typename T>
struct IdxCount {
  int32_t idx;
  T count;
};

template <typename T>
std::vector<IdxCount<T>> Expand(const std::vector<Span>& spans, const std::vector<T>& buckets) {
  std::vector<IdxCount<T>> out;
  out.reserve(buckets.size());
  int64_t idx = 0;
  size_t k = 0;
  for (const Span& s : spans) {
    idx += s.offset;
    for (uint32_t j = 0; j < s.length && k < buckets.size(); ++j) {
      out.push_back({static_cast<int32_t>(idx), buckets[k++]});
      ++idx;
    }
  }
  return out;
}

// Spans over the given buckets (sorted by index, unique), joining buckets whose gap (number of
// absent indices between them) is at most max_gap by filling it with explicit zeros; with
// drop_empty, zero buckets are left out first.
template <typename T>
void BuildSpans(const std::vector<IdxCount<T>>& in, int64_t max_gap, bool drop_empty,
                std::vector<Span>* spans, std::vector<T>* buckets) {
  spans->clear();
  buckets->clear();
  int64_t last = 0;
  bool any = false;
  for (const IdxCount<T>& e : in) {
    if (drop_empty && e.count == T{}) continue;
    if (!any) {
      spans->push_back({e.idx, 1});
      buckets->push_back(e.count);
      any = true;
    } else {
      int64_t gap = static_cast<int64_t>(e.idx) - last - 1;
      if (gap <= max_gap) {
        for (int64_t g = 0; g < gap; ++g) buckets->push_back(T{});
        spans->back().length += static_cast<uint32_t>(gap + 1);
      } else {
        spans->push_back({static_cast<int32_t>(gap), 1});
      }
      buckets->push_back(e.count);
    }
    last = e.idx;
  }
}

template <typename T>
std::vector<IdxCount<T>> Reduce(const std::vector<IdxCount<T>>& in, int32_t from, int32_t to) {
  std::vector<IdxCount<T>> out;
  for (const IdxCount<T>& e : in) {
    int32_t t = ((e.idx - 1) >> (from - to)) + 1;
    if (!out.empty() && out.back().idx == t) {
      out.back().count += e.count;
    } else {
      out.push_back({t, e.count});
    }
  }
  return out;
}

// a (+ or -) b over the union of both layouts.
std::vector<IdxCount<double>> Merge(const std::vector<IdxCount<double>>& a,
                                    const std::vector<IdxCount<double>>& b, bool negate) {
  std::vector<IdxCount<double>> out;
  out.reserve(a.size() + b.size());
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].idx < b[j].idx)) {
      out.push_back(a[i++]);
    } else if (i == a.size() || b[j].idx < a[i].idx) {
      out.push_back({b[j].idx, negate ? -b[j].count : b[j].count});
      ++j;
    } else {
      out.push_back({a[i].idx, negate ? a[i].count - b[j].count : a[i].count + b[j].count});
      ++i;
      ++j;
    }
  }
  return out;
}

std::vector<int32_t> Positions(const std::vector<Span>& spans) {
  std::vector<int32_t> out;
  int64_t idx = 0;
  for (const Span& s : spans) {
    idx += s.offset;
    for (uint32_t j = 0; j < s.length; ++j) out.push_back(static_cast<int32_t>(idx++));
  }
  return out;
}

template <typename T>
bool BucketsBitwiseEqual(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if constexpr (std::is_same_v<T, double>) {
      if (std::bit_cast<uint64_t>(a[i]) != std::bit_cast<uint64_t>(b[i])) return false;
    } else {
      if (a[i] != b[i]) return false;
    }
  }
  return true;
}

std::vector<double> DeltasToAbsolute(const std::vector<int64_t>& d) {
  std::vector<double> out(d.size());
  int64_t cur = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    cur += d[i];
    out[i] = static_cast<double>(cur);
  }
  return out;
}

std::vector<int64_t> DeltasToAbsoluteInt(const std::vector<int64_t>& d) {
  std::vector<int64_t> out(d.size());
  int64_t cur = 0;
  for (size_t i = 0; i < d.size(); ++i) out[i] = cur += d[i];
  return out;
}

std::vector<int64_t> AbsoluteToDeltas(const std::vector<int64_t>& a) {
  std::vector<int64_t> out(a.size());
  int64_t prev = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    out[i] = a[i] - prev;
    prev = a[i];
  }
  return out;
}

// Bucket iteration for one side (Prometheus' baseBucketIterator.at).
std::vector<FloatBucket> SideBuckets(const std::vector<Span>& spans,
                                     const std::vector<double>& counts, int32_t schema,
                                     bool positive, const std::vector<double>& custom_values) {
  std::vector<FloatBucket> out;
  for (const IdxCount<double>& e : Expand(spans, counts)) {
    FloatBucket b;
    b.count = e.count;
    b.index = e.idx;
    auto bound = [&](int32_t i) {
      return IsCustomBucketsSchema(schema) ? CustomBucketBound(i, custom_values)
                                           : ExponentialBucketBound(i, schema);
    };
    if (positive) {
      b.upper = bound(e.idx);
      b.lower = bound(e.idx - 1);
    } else {
      b.lower = -bound(e.idx);
      b.upper = -bound(e.idx - 1);
    }
    if (IsCustomBucketsSchema(schema)) {
      b.lower_inclusive = e.idx == 0;
      b.upper_inclusive = true;
    } else {
      b.lower_inclusive = b.lower < 0;
      b.upper_inclusive = b.upper > 0;
    }
    out.push_back(b);
  }
  return out;
}

Status CheckSpans(const std::vector<Span>& spans, size_t num_buckets) {
  uint64_t need = 0;
  for (size_t n = 0; n < spans.size(); ++n) {
    if (n > 0 && spans[n].offset < 0) {
      return Status::InvalidArgument("span number " + std::to_string(n + 1) + " with offset " +
                                     std::to_string(spans[n].offset) +
                                     ": histogram has a span whose offset is negative");
    }
    need += spans[n].length;
  }
  if (need != num_buckets) {
    return Status::InvalidArgument(
        "spans need " + std::to_string(need) + " buckets, have " + std::to_string(num_buckets) +
        " buckets: histogram spans specify different number of buckets than provided");
  }
  return Status::OK();
}

Status CheckCustomBounds(const std::vector<double>& bounds, const std::vector<Span>& spans,
                         size_t num_buckets) {
  double prev = -kInf;
  for (double b : bounds) {
    if (!(b > prev)) {
      return Status::InvalidArgument("previous bound is " + FormatGoG(prev) + " and current is " +
                                     FormatGoG(b) +
                                     ": histogram custom bounds must be in strictly increasing order");
    }
    prev = b;
  }
  if (prev == kInf) {
    return Status::InvalidArgument(
        "last +Inf bound must not be explicitly defined: histogram custom bounds must be finite");
  }
  uint64_t need = 0;
  int64_t total = 0;
  for (size_t n = 0; n < spans.size(); ++n) {
    if (spans[n].offset < 0) {
      return Status::InvalidArgument("span number " + std::to_string(n + 1) + " with offset " +
                                     std::to_string(spans[n].offset) +
                                     ": histogram has a span whose offset is negative");
    }
    need += spans[n].length;
    total += static_cast<int64_t>(spans[n].length) + spans[n].offset;
  }
  if (need != num_buckets) {
    return Status::InvalidArgument(
        "spans need " + std::to_string(need) + " buckets, have " + std::to_string(num_buckets) +
        " buckets: histogram spans specify different number of buckets than provided");
  }
  if (static_cast<int64_t>(bounds.size()) + 1 < total) {
    return Status::InvalidArgument(
        "only " + std::to_string(bounds.size()) +
        " custom bounds defined which is insufficient to cover total span length of " +
        std::to_string(total) + ": histogram custom bounds are too few");
  }
  return Status::OK();
}

Status Prefixed(std::string_view prefix, Status st) {
  if (st.ok()) return st;
  return Status::InvalidArgument(std::string(prefix) + st.message());
}

Status InvalidSchema(int32_t s) {
  return Status::InvalidArgument("histogram has an invalid schema " + std::to_string(s) +
                                 ", which must be between -4 and 8 for exponential buckets, "
                                 "or -53 for custom buckets");
}

// Both sides mapped onto the intersection of two NHCB bound lists (Prometheus'
// addCustomBucketsWithMismatches): every source bucket goes to the first intersected bound
// >= its own upper bound, or to the +Inf bucket.
std::vector<double> MapToBounds(const std::vector<Span>& spans, const std::vector<double>& counts,
                                const std::vector<double>& bounds,
                                const std::vector<double>& target) {
  std::vector<double> out(target.size() + 1, 0.0);
  size_t t = 0;
  for (const IdxCount<double>& e : Expand(spans, counts)) {
    size_t dst = target.size();
    if (e.idx >= 0 && static_cast<size_t>(e.idx) < bounds.size()) {
      double b = bounds[e.idx];
      while (t < target.size() && target[t] < b) ++t;
      if (t < target.size()) dst = t;
    }
    out[dst] += e.count;
  }
  return out;
}

std::vector<double> IntersectBounds(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> out;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] == b[j]) {
      out.push_back(a[i]);
      ++i;
      ++j;
    } else if (a[i] < b[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  return out;
}

// Prometheus' adjustCounterReset; true on a CounterReset/NotCounterReset collision.
bool AdjustCounterReset(FloatHistogram* h, const FloatHistogram& o) {
  using H = CounterResetHint;
  if (o.counter_reset_hint == h->counter_reset_hint) return false;
  if (h->counter_reset_hint == H::kGauge) return false;
  if (o.counter_reset_hint == H::kGauge) {
    h->counter_reset_hint = H::kGauge;
    return false;
  }
  if (h->counter_reset_hint == H::kUnknown) return false;
  if (o.counter_reset_hint == H::kUnknown) {
    h->counter_reset_hint = H::kUnknown;
    return false;
  }
  h->counter_reset_hint = H::kUnknown;
  return true;
}

// What h's zero count would be with the larger threshold, and the threshold actually needed
// (moved up to a bucket boundary when it falls inside a populated bucket).
std::pair<double, double> ZeroCountForLargerThreshold(const FloatHistogram& h, double larger) {
  if (larger == h.zero_threshold) return {h.zero_count, larger};
  for (;;) {
    double count = h.zero_count;
    for (const FloatBucket& b : h.PositiveBuckets()) {
      if (b.lower >= larger) break;
      count += b.count;
      if (b.upper > larger) {
        if (b.count != 0) larger = b.upper;
        break;
      }
    }
    bool redo = false;
    for (const FloatBucket& b : h.NegativeBuckets()) {
      if (b.upper <= -larger) break;
      count += b.count;
      if (b.lower < -larger) {
        if (b.count != 0) {
          larger = -b.lower;
          redo = true;
        }
        break;
      }
    }
    if (!redo) return {count, larger};
  }
}

void TrimBucketsInZeroBucket(FloatHistogram* h) {
  size_t i = 0;
  for (const FloatBucket& b : h->PositiveBuckets()) {
    if (b.lower >= h->zero_threshold) break;
    h->positive_buckets[i++] = 0;
  }
  i = 0;
  for (const FloatBucket& b : h->NegativeBuckets()) {
    if (b.upper <= -h->zero_threshold) break;
    h->negative_buckets[i++] = 0;
  }
  h->Compact(0);
}

// Widens the zero buckets until both share one threshold that cuts no populated bucket;
// changes h, returns the zero count o would have.
double ReconcileZeroBuckets(FloatHistogram* h, const FloatHistogram& o) {
  double o_count = o.zero_count;
  double o_thr = o.zero_threshold;
  while (o_thr != h->zero_threshold) {
    if (h->zero_threshold > o_thr) {
      std::tie(o_count, o_thr) = ZeroCountForLargerThreshold(o, h->zero_threshold);
    }
    if (o_thr > h->zero_threshold) {
      std::tie(h->zero_count, h->zero_threshold) = ZeroCountForLargerThreshold(*h, o_thr);
      TrimBucketsInZeroBucket(h);
    }
  }
  return o_count;
}

// Buckets of one side in target_schema, skipping leading buckets with upper bound <= start
// (Prometheus' floatBucketIterator with absoluteStartValue, exponential schemas only).
std::vector<IdxCount<double>> SideInSchema(const std::vector<Span>& spans,
                                           const std::vector<double>& buckets, int32_t schema,
                                           int32_t target, double start) {
  std::vector<IdxCount<double>> e = Expand(spans, buckets);
  if (target != schema) e = Reduce(e, schema, target);
  if (start != 0 && IsExponentialSchema(target)) {
    size_t k = 0;
    while (k < e.size() && ExponentialBucketBound(e[k].idx, target) <= start) ++k;
    e.erase(e.begin(), e.begin() + k);
  }
  return e;
}

// Prometheus' detectReset over two stripped bucket lists.
bool DetectResetSide(const std::vector<IdxCount<double>>& curr,
                     const std::vector<IdxCount<double>>& prev) {
  size_t c = 0;
  for (const IdxCount<double>& p : prev) {
    while (c < curr.size() && curr[c].idx < p.idx) ++c;
    if (c == curr.size() || curr[c].idx > p.idx) {
      if (p.count != 0) return true;
    } else if (curr[c].count < p.count) {
      return true;
    }
  }
  return false;
}

Result<AddResult> AddOrSub(FloatHistogram* h, const FloatHistogram& o, bool negate) {
  if (h->UsesCustomBuckets() != o.UsesCustomBuckets()) {
    return Status::InvalidArgument(
        "cannot apply this operation on histograms with a mix of exponential and custom bucket "
        "schemas");
  }
  AddResult res;
  res.counter_reset_collision = AdjustCounterReset(h, o);
  double sign = negate ? -1 : 1;
  if (!h->UsesCustomBuckets()) {
    double o_zero = ReconcileZeroBuckets(h, o);
    h->zero_count += sign * o_zero;
  }
  h->count += sign * o.count;
  h->sum += sign * o.sum;

  if (h->UsesCustomBuckets()) {
    if (CustomBucketBoundsMatch(h->custom_values, o.custom_values)) {
      auto merged = Merge(Expand(h->positive_spans, h->positive_buckets),
                          Expand(o.positive_spans, o.positive_buckets), negate);
      BuildSpans(merged, 0, false, &h->positive_spans, &h->positive_buckets);
    } else {
      res.nhcb_bounds_reconciled = true;
      std::vector<double> target = IntersectBounds(h->custom_values, o.custom_values);
      std::vector<double> a =
          MapToBounds(h->positive_spans, h->positive_buckets, h->custom_values, target);
      std::vector<double> b =
          MapToBounds(o.positive_spans, o.positive_buckets, o.custom_values, target);
      std::vector<IdxCount<double>> merged;
      for (size_t i = 0; i < a.size(); ++i) {
        merged.push_back({static_cast<int32_t>(i), a[i] + sign * b[i]});
      }
      BuildSpans(merged, 0, true, &h->positive_spans, &h->positive_buckets);
      h->custom_values = std::move(target);
    }
    return res;
  }

  auto hp = Expand(h->positive_spans, h->positive_buckets);
  auto hn = Expand(h->negative_spans, h->negative_buckets);
  int32_t target = std::min(h->schema, o.schema);
  if (target < h->schema) {
    hp = Reduce(hp, h->schema, target);
    hn = Reduce(hn, h->schema, target);
    h->schema = target;
  }
  auto op = SideInSchema(o.positive_spans, o.positive_buckets, o.schema, target, h->zero_threshold);
  auto on = SideInSchema(o.negative_spans, o.negative_buckets, o.schema, target, h->zero_threshold);
  BuildSpans(Merge(hp, op, negate), 0, false, &h->positive_spans, &h->positive_buckets);
  BuildSpans(Merge(hn, on, negate), 0, false, &h->negative_spans, &h->negative_buckets);
  return res;
}

template <typename T>
void AppendBucketStrings(const std::vector<FloatBucket>& bs, std::string* out, bool reverse,
                         bool as_int) {
  std::vector<const FloatBucket*> v;
  for (const FloatBucket& b : bs) {
    if (b.count != 0) v.push_back(&b);
  }
  if (reverse) std::reverse(v.begin(), v.end());
  for (const FloatBucket* b : v) {
    *out += ", ";
    if (as_int) {
      Bucket<uint64_t> ib{b->lower, b->upper, b->lower_inclusive, b->upper_inclusive,
                          static_cast<uint64_t>(b->count), b->index};
      *out += ib.String();
    } else {
      *out += b->String();
    }
  }
}

std::string HistogramString(const FloatHistogram& h, bool as_int) {
  std::string out = "{count:";
  out += as_int ? std::to_string(static_cast<uint64_t>(h.count)) : FormatGoG(h.count);
  out += ", sum:" + FormatGoG(h.sum);
  AppendBucketStrings<double>(h.NegativeBuckets(), &out, true, as_int);
  if (h.zero_count != 0 && !h.UsesCustomBuckets()) {
    FloatBucket z = h.ZeroBucket();
    if (as_int) {
      Bucket<uint64_t> ib{z.lower, z.upper, true, true, static_cast<uint64_t>(z.count), 0};
      out += ", " + ib.String();
    } else {
      out += ", " + z.String();
    }
  }
  AppendBucketStrings<double>(h.PositiveBuckets(), &out, false, as_int);
  out += "}";
  return out;
}

}  // namespace

std::string_view CounterResetHintName(CounterResetHint h) {
  switch (h) {
    case CounterResetHint::kCounterReset: return "reset";
    case CounterResetHint::kNotCounterReset: return "not_reset";
    case CounterResetHint::kGauge: return "gauge";
    case CounterResetHint::kUnknown: break;
  }
  return "unknown";
}

std::string FormatGoG(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  int exp = std::atoi(sci.c_str() + sci.find('e') + 1);
  // Go uses %e when the exponent is < -4 or >= 6 (the precision it assumes for the
  // shortest form).
  if (exp < -4 || exp >= 6) return sci;
  r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

template <typename T>
std::string Bucket<T>::String() const {
  std::string s(lower_inclusive ? "[" : "(");
  s += FormatGoG(lower) + "," + FormatGoG(upper);
  s += upper_inclusive ? "]" : ")";
  s += ":";
  if constexpr (std::is_same_v<T, double>) {
    s += FormatGoG(count);
  } else {
    s += std::to_string(count);
  }
  return s;
}
template struct Bucket<double>;
template struct Bucket<uint64_t>;

double ExponentialBucketBound(int32_t index, int32_t schema) {
  if (schema < 0) {
    int64_t exp = static_cast<int64_t>(index) << -schema;
    if (exp == 1024) return std::numeric_limits<double>::max();
    return std::ldexp(1.0, static_cast<int>(std::clamp<int64_t>(exp, -2000, 2000)));
  }
  int32_t frac_idx = index & ((1 << schema) - 1);
  double frac = std::exp2(static_cast<double>(frac_idx) / static_cast<double>(1 << schema)) / 2;
  int64_t exp = (static_cast<int64_t>(index) >> schema) + 1;
  if (frac == 0.5 && exp == 1025) return std::numeric_limits<double>::max();
  return std::ldexp(frac, static_cast<int>(std::clamp<int64_t>(exp, -2000, 2000)));
}

double CustomBucketBound(int32_t index, const std::vector<double>& custom_values) {
  if (index < 0) return -kInf;
  if (static_cast<size_t>(index) >= custom_values.size()) return kInf;
  return custom_values[index];
}

bool CustomBucketBoundsMatch(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// ---- IntHistogram ----

FloatHistogram IntHistogram::ToFloat() const {
  FloatHistogram f;
  f.counter_reset_hint = counter_reset_hint;
  f.schema = schema;
  f.count = static_cast<double>(count);
  f.sum = sum;
  f.positive_spans = positive_spans;
  f.positive_buckets = DeltasToAbsolute(positive_buckets);
  if (UsesCustomBuckets()) {
    f.custom_values = custom_values;
  } else {
    f.zero_threshold = zero_threshold;
    f.zero_count = static_cast<double>(zero_count);
    f.negative_spans = negative_spans;
    f.negative_buckets = DeltasToAbsolute(negative_buckets);
  }
  return f;
}

Status IntHistogram::Validate() const {
  int64_t n_count = 0, p_count = 0;
  auto check_buckets = [](const std::vector<int64_t>& deltas, int64_t* total) -> Status {
    int64_t cur = 0;
    for (size_t i = 0; i < deltas.size(); ++i) {
      cur += deltas[i];
      if (cur < 0) {
        return Status::InvalidArgument("bucket number " + std::to_string(i + 1) +
                                       " has observation count of " + std::to_string(cur) +
                                       ": histogram has a bucket whose observation count is "
                                       "negative");
      }
      *total += cur;
    }
    return Status::OK();
  };
  if (UsesCustomBuckets()) {
    RETURN_IF_ERROR(Prefixed("custom buckets: ",
                             CheckCustomBounds(custom_values, positive_spans,
                                               positive_buckets.size())));
    if (zero_count != 0) return Status::InvalidArgument("custom buckets: must have zero count of 0");
    if (zero_threshold != 0) {
      return Status::InvalidArgument("custom buckets: must have zero threshold of 0");
    }
    if (!negative_spans.empty()) {
      return Status::InvalidArgument("custom buckets: must not have negative spans");
    }
    if (!negative_buckets.empty()) {
      return Status::InvalidArgument("custom buckets: must not have negative buckets");
    }
  } else if (IsExponentialSchema(schema)) {
    RETURN_IF_ERROR(Prefixed("positive side: ", CheckSpans(positive_spans, positive_buckets.size())));
    RETURN_IF_ERROR(Prefixed("negative side: ", CheckSpans(negative_spans, negative_buckets.size())));
    RETURN_IF_ERROR(Prefixed("negative side: ", check_buckets(negative_buckets, &n_count)));
    if (!custom_values.empty()) {
      return Status::InvalidArgument(
          "histogram with exponential schema must not have custom bounds");
    }
  } else {
    return InvalidSchema(schema);
  }
  RETURN_IF_ERROR(Prefixed("positive side: ", check_buckets(positive_buckets, &p_count)));
  uint64_t in_buckets = static_cast<uint64_t>(n_count) + static_cast<uint64_t>(p_count) +
                        zero_count;
  if (std::isnan(sum)) {
    if (in_buckets > count) {
      return Status::InvalidArgument(
          std::to_string(in_buckets) + " observations found in buckets, but the Count field is " +
          std::to_string(count) +
          ": histogram's observation count should be at least the number of observations found "
          "in the buckets");
    }
  } else if (in_buckets != count) {
    return Status::InvalidArgument(
        std::to_string(in_buckets) + " observations found in buckets, but the Count field is " +
        std::to_string(count) +
        ": histogram's observation count should equal the number of observations found in the "
        "buckets (in absence of NaN)");
  }
  return Status::OK();
}

IntHistogram& IntHistogram::Compact(int max_empty_buckets) {
  auto side = [&](std::vector<Span>* spans, std::vector<int64_t>* deltas) {
    auto e = Expand(*spans, DeltasToAbsoluteInt(*deltas));
    std::vector<int64_t> abs;
    BuildSpans(e, max_empty_buckets, true, spans, &abs);
    *deltas = AbsoluteToDeltas(abs);
  };
  side(&positive_spans, &positive_buckets);
  side(&negative_spans, &negative_buckets);
  return *this;
}

Status IntHistogram::ReduceResolution(int32_t target_schema) {
  if (UsesCustomBuckets() || !IsExponentialSchema(target_schema) || target_schema >= schema ||
      schema > 52) {
    return Status::InvalidArgument("cannot reduce resolution from schema " +
                                   std::to_string(schema) + " to " + std::to_string(target_schema));
  }
  auto side = [&](std::vector<Span>* spans, std::vector<int64_t>* deltas) {
    auto e = Reduce(Expand(*spans, DeltasToAbsoluteInt(*deltas)), schema, target_schema);
    std::vector<int64_t> abs;
    BuildSpans(e, 0, false, spans, &abs);
    *deltas = AbsoluteToDeltas(abs);
  };
  side(&positive_spans, &positive_buckets);
  side(&negative_spans, &negative_buckets);
  schema = target_schema;
  return Status::OK();
}

bool IntHistogram::Equals(const IntHistogram& o) const {
  if (schema != o.schema || count != o.count ||
      std::bit_cast<uint64_t>(sum) != std::bit_cast<uint64_t>(o.sum)) {
    return false;
  }
  if (UsesCustomBuckets() && !CustomBucketBoundsMatch(custom_values, o.custom_values)) return false;
  if (zero_threshold != o.zero_threshold || zero_count != o.zero_count) return false;
  return Positions(positive_spans) == Positions(o.positive_spans) &&
         Positions(negative_spans) == Positions(o.negative_spans) &&
         BucketsBitwiseEqual(positive_buckets, o.positive_buckets) &&
         BucketsBitwiseEqual(negative_buckets, o.negative_buckets);
}

std::string IntHistogram::String() const { return HistogramString(ToFloat(), true); }

// ---- FloatHistogram ----

std::vector<FloatBucket> FloatHistogram::PositiveBuckets() const {
  return SideBuckets(positive_spans, positive_buckets, schema, true, custom_values);
}

std::vector<FloatBucket> FloatHistogram::NegativeBuckets() const {
  return SideBuckets(negative_spans, negative_buckets, schema, false, {});
}

FloatBucket FloatHistogram::ZeroBucket() const {
  FloatBucket b;
  b.lower = -zero_threshold;
  b.upper = zero_threshold;
  b.lower_inclusive = true;
  b.upper_inclusive = true;
  b.count = zero_count;
  return b;
}

std::vector<FloatBucket> FloatHistogram::AllBuckets() const {
  std::vector<FloatBucket> out = NegativeBuckets();
  std::reverse(out.begin(), out.end());
  for (FloatBucket& b : out) {
    if (b.upper < 0 && b.upper > -zero_threshold) b.upper = -zero_threshold;
  }
  if (zero_count > 0 && !UsesCustomBuckets()) out.push_back(ZeroBucket());
  for (FloatBucket b : PositiveBuckets()) {
    if (b.lower > 0 && b.lower < zero_threshold) b.lower = zero_threshold;
    out.push_back(b);
  }
  return out;
}

std::vector<FloatBucket> FloatHistogram::AllBucketsReverse() const {
  std::vector<FloatBucket> out = PositiveBuckets();
  std::reverse(out.begin(), out.end());
  for (FloatBucket& b : out) {
    if (b.lower > 0 && b.lower < zero_threshold) b.lower = zero_threshold;
  }
  if (zero_count > 0 && !UsesCustomBuckets()) out.push_back(ZeroBucket());
  for (FloatBucket b : NegativeBuckets()) {
    if (b.upper < 0 && b.upper > -zero_threshold) b.upper = -zero_threshold;
    out.push_back(b);
  }
  return out;
}

Result<AddResult> FloatHistogram::Add(const FloatHistogram& o) { return AddOrSub(this, o, false); }
Result<AddResult> FloatHistogram::Sub(const FloatHistogram& o) { return AddOrSub(this, o, true); }

FloatHistogram& FloatHistogram::Mul(double factor) {
  zero_count *= factor;
  count *= factor;
  sum *= factor;
  for (double& b : positive_buckets) b *= factor;
  for (double& b : negative_buckets) b *= factor;
  if (factor < 0) counter_reset_hint = CounterResetHint::kGauge;
  return *this;
}

FloatHistogram& FloatHistogram::Div(double scalar) {
  zero_count /= scalar;
  count /= scalar;
  sum /= scalar;
  if (scalar == 0) {
    positive_buckets.clear();
    negative_buckets.clear();
    positive_spans.clear();
    negative_spans.clear();
    return *this;
  }
  for (double& b : positive_buckets) b /= scalar;
  for (double& b : negative_buckets) b /= scalar;
  if (scalar < 0) counter_reset_hint = CounterResetHint::kGauge;
  return *this;
}

FloatHistogram& FloatHistogram::Compact(int max_empty_buckets) {
  auto p = Expand(positive_spans, positive_buckets);
  BuildSpans(p, max_empty_buckets, true, &positive_spans, &positive_buckets);
  auto n = Expand(negative_spans, negative_buckets);
  BuildSpans(n, max_empty_buckets, true, &negative_spans, &negative_buckets);
  return *this;
}

Result<FloatHistogram> FloatHistogram::CopyToSchema(int32_t target_schema) const {
  if (target_schema == schema) return *this;
  FloatHistogram c = *this;
  RETURN_IF_ERROR(c.ReduceResolution(target_schema));
  // Prometheus' CopyToSchema starts from a fresh histogram: the hint is not carried over.
  c.counter_reset_hint = CounterResetHint::kUnknown;
  return c;
}

Status FloatHistogram::ReduceResolution(int32_t target_schema) {
  if (UsesCustomBuckets()) {
    return Status::InvalidArgument("cannot reduce resolution when there are custom buckets");
  }
  if (IsCustomBucketsSchema(target_schema)) {
    return Status::InvalidArgument("cannot reduce resolution to custom buckets schema");
  }
  if (target_schema >= schema || !IsExponentialSchema(target_schema)) {
    return Status::InvalidArgument("cannot reduce resolution from schema " +
                                   std::to_string(schema) + " to " + std::to_string(target_schema));
  }
  auto p = Reduce(Expand(positive_spans, positive_buckets), schema, target_schema);
  auto n = Reduce(Expand(negative_spans, negative_buckets), schema, target_schema);
  BuildSpans(p, 0, false, &positive_spans, &positive_buckets);
  BuildSpans(n, 0, false, &negative_spans, &negative_buckets);
  schema = target_schema;
  return Status::OK();
}

bool FloatHistogram::DetectReset(const FloatHistogram& previous) const {
  if (counter_reset_hint == CounterResetHint::kCounterReset) return true;
  if (counter_reset_hint == CounterResetHint::kNotCounterReset) return false;
  if (count < previous.count) return true;
  if (UsesCustomBuckets()) {
    if (!previous.UsesCustomBuckets()) return true;
    if (!CustomBucketBoundsMatch(custom_values, previous.custom_values)) {
      std::vector<double> target = IntersectBounds(custom_values, previous.custom_values);
      std::vector<double> c = MapToBounds(positive_spans, positive_buckets, custom_values, target);
      std::vector<double> p =
          MapToBounds(previous.positive_spans, previous.positive_buckets, previous.custom_values,
                      target);
      for (size_t i = 0; i < c.size(); ++i) {
        if (c[i] < p[i]) return true;
      }
      return false;
    }
  }
  if (schema > previous.schema) return true;
  if (zero_threshold < previous.zero_threshold) return true;
  auto [prev_zero, new_thr] = ZeroCountForLargerThreshold(previous, zero_threshold);
  if (new_thr != zero_threshold) return true;
  if (zero_count < prev_zero) return true;
  if (DetectResetSide(SideInSchema(positive_spans, positive_buckets, schema, schema, zero_threshold),
                      SideInSchema(previous.positive_spans, previous.positive_buckets,
                                   previous.schema, schema, zero_threshold))) {
    return true;
  }
  return DetectResetSide(
      SideInSchema(negative_spans, negative_buckets, schema, schema, zero_threshold),
      SideInSchema(previous.negative_spans, previous.negative_buckets, previous.schema, schema,
                   zero_threshold));
}

Status FloatHistogram::Validate() const {
  auto check_buckets = [](const std::vector<double>& bs) -> Status {
    for (size_t i = 0; i < bs.size(); ++i) {
      if (bs[i] < 0) {
        return Status::InvalidArgument("bucket number " + std::to_string(i + 1) +
                                       " has observation count of " + FormatGoG(bs[i]) +
                                       ": histogram has a bucket whose observation count is "
                                       "negative");
      }
    }
    return Status::OK();
  };
  if (UsesCustomBuckets()) {
    RETURN_IF_ERROR(Prefixed("custom buckets: ",
                             CheckCustomBounds(custom_values, positive_spans,
                                               positive_buckets.size())));
    if (zero_count != 0) return Status::InvalidArgument("custom buckets: must have zero count of 0");
    if (zero_threshold != 0) {
      return Status::InvalidArgument("custom buckets: must have zero threshold of 0");
    }
    if (!negative_spans.empty()) {
      return Status::InvalidArgument("custom buckets: must not have negative spans");
    }
    if (!negative_buckets.empty()) {
      return Status::InvalidArgument("custom buckets: must not have negative buckets");
    }
  } else if (IsExponentialSchema(schema)) {
    RETURN_IF_ERROR(Prefixed("positive side: ", CheckSpans(positive_spans, positive_buckets.size())));
    RETURN_IF_ERROR(Prefixed("negative side: ", CheckSpans(negative_spans, negative_buckets.size())));
    RETURN_IF_ERROR(Prefixed("negative side: ", check_buckets(negative_buckets)));
    if (zero_count < 0) {
      return Status::InvalidArgument("zero bucket has observation count of " +
                                     FormatGoG(zero_count) +
                                     ": histogram has a bucket whose observation count is negative");
    }
    if (!custom_values.empty()) {
      return Status::InvalidArgument(
          "histogram with exponential schema must not have custom bounds");
    }
  } else {
    return InvalidSchema(schema);
  }
  if (count < 0) {
    return Status::InvalidArgument("observation count is  " + FormatGoG(count) +
                                   ": histogram has an observation count that is negative");
  }
  return Prefixed("positive side: ", check_buckets(positive_buckets));
}

bool FloatHistogram::Equals(const FloatHistogram& o) const {
  auto bits = [](double v) { return std::bit_cast<uint64_t>(v); };
  if (schema != o.schema || bits(count) != bits(o.count) || bits(sum) != bits(o.sum)) return false;
  if (UsesCustomBuckets() && !CustomBucketBoundsMatch(custom_values, o.custom_values)) return false;
  if (zero_threshold != o.zero_threshold || bits(zero_count) != bits(o.zero_count)) return false;
  return Positions(positive_spans) == Positions(o.positive_spans) &&
         Positions(negative_spans) == Positions(o.negative_spans) &&
         BucketsBitwiseEqual(positive_buckets, o.positive_buckets) &&
         BucketsBitwiseEqual(negative_buckets, o.negative_buckets);
}

std::string FloatHistogram::String() const { return HistogramString(*this, false); }

std::string FloatHistogram::TestExpression() const {
  FloatHistogram m = *this;
  m.Compact(std::numeric_limits<int>::max());
  std::vector<std::string> res;
  if (m.schema != 0) res.push_back("schema:" + std::to_string(m.schema));
  if (m.count != 0) res.push_back("count:" + FormatGoG(m.count));
  if (m.sum != 0) res.push_back("sum:" + FormatGoG(m.sum));
  if (m.zero_count != 0) res.push_back("z_bucket:" + FormatGoG(m.zero_count));
  if (m.zero_threshold != 0) res.push_back("z_bucket_w:" + FormatGoG(m.zero_threshold));
  if (m.UsesCustomBuckets()) {
    std::string cv = "custom_values:[";
    for (size_t i = 0; i < m.custom_values.size(); ++i) {
      if (i) cv += " ";
      cv += FormatGoG(m.custom_values[i]);
    }
    res.push_back(cv + "]");
  }
  if (m.counter_reset_hint != CounterResetHint::kUnknown) {
    res.push_back("counter_reset_hint:" + std::string(CounterResetHintName(m.counter_reset_hint)));
  }
  auto add = [&](const char* bkey, const char* okey, const std::vector<double>& bs,
                 const std::vector<Span>& spans) {
    if (!spans.empty() && spans[0].offset != 0) {
      res.push_back(std::string(okey) + ":" + std::to_string(spans[0].offset));
    }
    if (bs.empty()) return;
    std::string s = std::string(bkey) + ":[";
    for (size_t i = 0; i < bs.size(); ++i) {
      if (i) s += " ";
      s += FormatGoG(bs[i]);
    }
    res.push_back(s + "]");
  };
  add("buckets", "offset", m.positive_buckets, m.positive_spans);
  add("n_buckets", "n_offset", m.negative_buckets, m.negative_spans);
  std::string out = "{{";
  for (size_t i = 0; i < res.size(); ++i) {
    if (i) out += " ";
    out += res[i];
  }
  return out + "}}";
}

}  // namespace argus
