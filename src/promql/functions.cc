#include "promql/functions.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace argus::promql {

double KahanSumInc(double inc, double sum, double* c) {
  double t = sum + inc;
  if (std::isinf(t)) {
    *c = 0;
  } else if (std::fabs(sum) >= std::fabs(inc)) {
    *c += (sum - t) + inc;
  } else {
    *c += (inc - t) + sum;
  }
  return t;
}

namespace {

// How Prometheus' extrapolatedRate stretches the raw difference over the range.
struct Extrapolation {
  bool ok = false;        // false: no result (one point and no usable start time)
  bool from_st = false;   // the first point's start time replaced the left extrapolation:
                          // the caller adds the first point's value to the difference
  double factor = 1;
};

// `result` is the raw difference (a histogram's count difference) before the start-time
// adjustment, `first_value` the first point's value (a histogram's count) for the zero clamp.
Extrapolation Extrapolate(std::span<const Point> pts, int64_t range_start_ms,
                          int64_t range_end_ms, bool is_counter, bool is_rate, double result,
                          double first_value) {
  Extrapolation x;
  size_t n1 = pts.size() - 1;
  int64_t first_t = pts[0].t_ms, last_t = pts[n1].t_ms;
  double duration_to_start = static_cast<double>(first_t - range_start_ms) / 1000;
  double duration_to_end = static_cast<double>(range_end_ms - last_t) / 1000;
  double sampled = static_cast<double>(last_t - first_t) / 1000;
  double avg_between = n1 > 0 ? sampled / static_cast<double>(n1) : 0;
  double threshold = avg_between * 1.1;
  int64_t st0 = pts[0].st_ms;
  if (is_counter && st0 != 0 && st0 > range_start_ms && st0 < first_t) {
    // A zero-valued point at the start time (inside the left-open range) instead of
    // extrapolating to the left. With one point there is no average spacing, so no
    // extrapolation to the right either.
    duration_to_start = 0;
    sampled = static_cast<double>(last_t - st0) / 1000;
    x.from_st = true;
  } else if (n1 == 0) {
    return x;
  } else {
    if (duration_to_start >= threshold) duration_to_start = avg_between / 2;
    if (is_counter && result > 0 && first_value >= 0) {
      double duration_to_zero = sampled * (first_value / result);
      if (duration_to_zero < duration_to_start) duration_to_start = duration_to_zero;
    }
  }
  if (duration_to_end >= threshold) duration_to_end = avg_between / 2;
  x.factor = sampled != 0 ? (sampled + duration_to_start + duration_to_end) / sampled : 1;
  if (is_rate) x.factor /= static_cast<double>(range_end_ms - range_start_ms) / 1000;
  x.ok = true;
  return x;
}

std::string Quoted(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

std::string MixedSchemasWarning(const std::string& metric) {
  return "vector contains a mix of histograms with exponential and custom buckets schemas for "
         "metric name " + Quoted(metric);
}
std::string NotCounterWarning(const std::string& metric) {
  return "this native histogram metric is not a counter: " + Quoted(metric);
}
std::string NotGaugeWarning(const std::string& metric) {
  return "this native histogram metric is not a gauge: " + Quoted(metric);
}
constexpr const char* kReconciledSub = "mismatched custom buckets were reconciled during subtraction";
constexpr const char* kReconciledAgg = "mismatched custom buckets were reconciled during aggregation";

void AddOnce(std::vector<std::string>* v, const std::string& s) {
  if (std::find(v->begin(), v->end(), s) == v->end()) v->push_back(s);
}

}  // namespace

HistogramRangeResult HistogramExtrapolatedRate(std::span<const Point> pts, int64_t range_start_ms,
                                               int64_t range_end_ms, bool is_counter, bool is_rate,
                                               const std::string& metric) {
  HistogramRangeResult res;
  if (pts.empty()) return res;
  const FloatHistogram& first = *pts.front().h;
  if (pts.size() == 1) {
    // Only a start time inside the range gives a result: the one histogram is the increase.
    if (!is_counter) return res;
    Extrapolation x = Extrapolate(pts, range_start_ms, range_end_ms, is_counter, is_rate, 0,
                                  first.count);
    if (!x.ok) return res;
    FloatHistogram h = first;
    h.Mul(x.factor);
    res.h = std::make_shared<const FloatHistogram>(std::move(h));
    return res;
  }
  const FloatHistogram& last = *pts.back().h;
  if (is_counter && (first.counter_reset_hint == CounterResetHint::kGauge ||
                     last.counter_reset_hint == CounterResetHint::kGauge)) {
    AddOnce(&res.warnings, NotCounterWarning(metric));
  }
  // A counter reset between the 1st and 2nd sample makes the 1st irrelevant (but for its
  // count, which the extrapolation uses): it is replaced by an empty histogram in the 2nd
  // one's layout, so that a different bucket layout of the 1st does not matter (upstream's
  // histogramRate does the same).
  FloatHistogram empty_start;
  const FloatHistogram* start = &first;
  if (is_counter && (IsStartTimestampReset(pts[0].st_ms, pts[0].t_ms, pts[1].st_ms, pts[1].t_ms) ||
                     pts[1].h->DetectReset(first))) {
    empty_start.schema = pts[1].h->schema;
    empty_start.custom_values = pts[1].h->custom_values;
    start = &empty_start;
  }
  bool custom = start->UsesCustomBuckets();
  if (last.UsesCustomBuckets() != custom) {
    res.warnings = {MixedSchemasWarning(metric)};
    return res;
  }
  int32_t min_schema = std::min(start->schema, last.schema);
  for (size_t i = 1; i + 1 < pts.size(); ++i) {
    const FloatHistogram& cur = *pts[i].h;
    if (!is_counter) continue;
    if (cur.counter_reset_hint == CounterResetHint::kGauge) {
      AddOnce(&res.warnings, NotCounterWarning(metric));
    }
    min_schema = std::min(min_schema, cur.schema);
    if (cur.UsesCustomBuckets() != custom) {
      res.warnings = {MixedSchemasWarning(metric)};
      return res;
    }
  }
  FloatHistogram h = last;
  if (!custom && h.schema > min_schema) {
    auto r = last.CopyToSchema(min_schema);
    if (!r.ok()) return res;
    h = *r;
  }
  auto sub = h.Sub(*start);
  if (!sub.ok()) {
    res.warnings = {MixedSchemasWarning(metric)};
    return res;
  }
  if (sub->nhcb_bounds_reconciled) AddOnce(&res.infos, kReconciledSub);
  if (is_counter) {
    const FloatHistogram* prev = start;
    bool overlap = false;
    for (size_t i = 1; i < pts.size(); ++i) {
      const FloatHistogram& cur = *pts[i].h;
      if (!overlap && StartTimeOverlaps(pts[i - 1].st_ms, pts[i - 1].t_ms, pts[i].st_ms)) {
        AddOnce(&res.warnings, StartTimeOverlapWarning(metric));
        overlap = true;
      }
      if (IsStartTimestampReset(pts[i - 1].st_ms, pts[i - 1].t_ms, pts[i].st_ms, pts[i].t_ms) ||
          cur.DetectReset(*prev)) {
        auto add = h.Add(*prev);
        if (!add.ok()) {
          res.warnings = {MixedSchemasWarning(metric)};
          return res;
        }
        if (add->nhcb_bounds_reconciled) AddOnce(&res.infos, kReconciledSub);
      }
      prev = &cur;
    }
  } else if (first.counter_reset_hint != CounterResetHint::kGauge ||
             last.counter_reset_hint != CounterResetHint::kGauge) {
    AddOnce(&res.warnings, NotGaugeWarning(metric));
  }
  h.counter_reset_hint = CounterResetHint::kGauge;
  h.Compact(0);
  Extrapolation x = Extrapolate(pts, range_start_ms, range_end_ms, is_counter, is_rate, h.count,
                                first.count);
  if (!x.ok) return res;
  if (x.from_st) {
    auto add = h.Add(first);
    if (!add.ok()) {
      res.warnings = {MixedSchemasWarning(metric)};
      return res;
    }
    if (add->nhcb_bounds_reconciled) AddOnce(&res.infos, kReconciledSub);
    h.Compact(0);
  }
  h.Mul(x.factor);
  res.h = std::make_shared<const FloatHistogram>(std::move(h));
  return res;
}

HistogramRangeResult HistogramInstantValue(std::span<const Point> pts, bool is_rate,
                                           const std::string& metric) {
  HistogramRangeResult res;
  if (pts.size() < 2) return res;
  const Point& lastp = pts[pts.size() - 1];
  const Point& prevp = pts[pts.size() - 2];
  const FloatHistogram& last = *lastp.h;
  const FloatHistogram& prev = *prevp.h;
  bool last_gauge = last.counter_reset_hint == CounterResetHint::kGauge;
  bool prev_gauge = prev.counter_reset_hint == CounterResetHint::kGauge;
  if (is_rate && (last_gauge || prev_gauge)) AddOnce(&res.warnings, NotCounterWarning(metric));
  if (!is_rate && (!last_gauge || !prev_gauge)) AddOnce(&res.warnings, NotGaugeWarning(metric));
  FloatHistogram h = last;
  bool st_reset = IsStartTimestampReset(prevp.st_ms, prevp.t_ms, lastp.st_ms, lastp.t_ms);
  if (!is_rate || (!st_reset && !last.DetectReset(prev))) {
    auto sub = h.Sub(prev);
    if (!sub.ok()) {
      res.warnings = {MixedSchemasWarning(metric)};
      return res;
    }
    if (sub->nhcb_bounds_reconciled) AddOnce(&res.infos, kReconciledSub);
  }
  h.counter_reset_hint = CounterResetHint::kGauge;
  h.Compact(0);
  int64_t interval = lastp.t_ms - prevp.t_ms;
  if (interval == 0) return res;
  if (is_rate) h.Div(static_cast<double>(interval) / 1000);
  res.h = std::make_shared<const FloatHistogram>(std::move(h));
  return res;
}

bool HasInfiniteCounts(const FloatHistogram& h) {
  auto inf = [](double v) { return std::isinf(v); };
  return inf(h.count) || inf(h.zero_count) ||
         std::any_of(h.positive_buckets.begin(), h.positive_buckets.end(), inf) ||
         std::any_of(h.negative_buckets.begin(), h.negative_buckets.end(), inf);
}

Result<FloatHistogram> HistogramMeanOfParts(const std::vector<const FloatHistogram*>& hs) {
  double n = static_cast<double>(hs.size());
  FloatHistogram mean = *hs[0];
  mean.Div(n);
  for (size_t i = 1; i < hs.size(); ++i) {
    FloatHistogram part = *hs[i];
    part.Div(n);
    auto add = mean.Add(part);
    if (!add.ok()) return add.status();
  }
  return mean;
}

HistogramRangeResult HistogramSumOverTime(std::span<const Point> pts, bool avg,
                                          const std::string& metric) {
  HistogramRangeResult res;
  if (pts.empty()) return res;
  FloatHistogram h = *pts[0].h;
  // The sum of observations is Kahan-summed, as upstream does (1e100 + 1 - 1e100 = 1).
  double sum = h.sum, c = 0;
  for (size_t i = 1; i < pts.size(); ++i) {
    auto add = h.Add(*pts[i].h);
    if (!add.ok()) {
      res.warnings = {MixedSchemasWarning(metric)};
      return res;
    }
    if (add->nhcb_bounds_reconciled) AddOnce(&res.infos, kReconciledAgg);
    sum = KahanSumInc(pts[i].h->sum, sum, &c);
  }
  // Any reset hint beside a not_reset one is a conflict, even where Add does not see it (a
  // gauge added first makes the running sum a gauge).
  auto has_hint = [&](CounterResetHint hint) {
    return std::any_of(pts.begin(), pts.end(),
                       [&](const Point& p) { return p.h->counter_reset_hint == hint; });
  };
  if (has_hint(CounterResetHint::kCounterReset) && has_hint(CounterResetHint::kNotCounterReset)) {
    AddOnce(&res.warnings, "conflicting counter resets during histogram aggregation");
  }
  h.sum = std::isinf(sum) ? sum : sum + c;
  if (avg) {
    double observations_sum = h.sum;
    h.Div(static_cast<double>(pts.size()));
    if (HasInfiniteCounts(h)) {
      std::vector<const FloatHistogram*> hs;
      for (const Point& p : pts) hs.push_back(p.h.get());
      auto mean = HistogramMeanOfParts(hs);
      if (mean.ok()) {
        h = *mean;
        h.sum = observations_sum / static_cast<double>(pts.size());
      }
    }
  }
  h.Compact(0);
  res.h = std::make_shared<const FloatHistogram>(std::move(h));
  return res;
}

bool IsStartTimestampReset(int64_t prev_st_ms, int64_t prev_t_ms, int64_t cur_st_ms,
                           int64_t cur_t_ms) {
  if (cur_st_ms == 0 || cur_st_ms >= cur_t_ms) return false;
  if (cur_st_ms < prev_t_ms) return false;
  if (cur_st_ms > prev_t_ms) return true;
  // The start time is the previous sample's time: a delta (reset) when the previous sample
  // had a valid start of its own, else a cumulative series with unknown start (no reset).
  if (prev_st_ms > prev_t_ms) return false;
  return prev_st_ms != 0 && prev_st_ms != prev_t_ms;
}

bool StartTimeOverlaps(int64_t prev_st_ms, int64_t prev_t_ms, int64_t cur_st_ms) {
  return cur_st_ms != 0 && cur_st_ms < prev_t_ms && cur_st_ms != prev_st_ms;
}

std::string StartTimeOverlapWarning(const std::string& metric) {
  return "sample has start time that overlaps with previous sample timestamp for metric " +
         Quoted(metric);
}

std::optional<double> ExtrapolatedRate(std::span<const Point> pts, int64_t range_start_ms,
                                       int64_t range_end_ms, bool is_counter, bool is_rate,
                                       bool* st_overlap) {
  if (pts.empty()) return std::nullopt;
  size_t n1 = pts.size() - 1;
  double result = pts[n1].f - pts[0].f;
  if (is_counter) {
    bool overlap = false;
    for (size_t i = 1; i < pts.size(); ++i) {
      const Point& prev = pts[i - 1];
      const Point& cur = pts[i];
      if (!overlap && StartTimeOverlaps(prev.st_ms, prev.t_ms, cur.st_ms)) overlap = true;
      if (cur.f < prev.f || IsStartTimestampReset(prev.st_ms, prev.t_ms, cur.st_ms, cur.t_ms)) {
        result += prev.f;
      }
    }
    if (overlap && st_overlap != nullptr) *st_overlap = true;
  }
  Extrapolation x = Extrapolate(pts, range_start_ms, range_end_ms, is_counter, is_rate, result,
                                pts[0].f);
  if (!x.ok) return std::nullopt;
  if (x.from_st) result += pts[0].f;
  return result * x.factor;
}

std::optional<double> InstantValue(std::span<const Point> pts, bool is_rate) {
  if (pts.size() < 2) return std::nullopt;
  const Point& last = pts[pts.size() - 1];
  const Point& prev = pts[pts.size() - 2];
  bool reset = last.f < prev.f ||
               IsStartTimestampReset(prev.st_ms, prev.t_ms, last.st_ms, last.t_ms);
  double v = (is_rate && reset) ? last.f : last.f - prev.f;
  int64_t interval = last.t_ms - prev.t_ms;
  if (interval == 0) return std::nullopt;
  if (is_rate) v /= static_cast<double>(interval) / 1000;
  return v;
}

double CountResets(std::span<const Point> pts) {
  double n = 0;
  for (size_t i = 1; i < pts.size(); ++i) {
    const Point& prev = pts[i - 1];
    const Point& cur = pts[i];
    bool st_reset = IsStartTimestampReset(prev.st_ms, prev.t_ms, cur.st_ms, cur.t_ms);
    if ((prev.h == nullptr) != (cur.h == nullptr)) {
      n++;
    } else if (cur.h) {
      n += (st_reset || cur.h->DetectReset(*prev.h)) ? 1 : 0;
    } else {
      n += (cur.f < prev.f || st_reset) ? 1 : 0;
    }
  }
  return n;
}

void LinearRegression(std::span<const Point> pts, int64_t intercept_ms, double* slope,
                      double* intercept) {
  double n = 0, sum_x = 0, c_x = 0, sum_y = 0, c_y = 0, sum_xy = 0, c_xy = 0, sum_x2 = 0,
         c_x2 = 0;
  double init_y = pts[0].f;
  bool const_y = true;
  for (size_t i = 0; i < pts.size(); ++i) {
    if (const_y && i > 0 && pts[i].f != init_y) const_y = false;
    n += 1;
    double x = static_cast<double>(pts[i].t_ms - intercept_ms) / 1e3;
    sum_x = KahanSumInc(x, sum_x, &c_x);
    sum_y = KahanSumInc(pts[i].f, sum_y, &c_y);
    sum_xy = KahanSumInc(x * pts[i].f, sum_xy, &c_xy);
    sum_x2 = KahanSumInc(x * x, sum_x2, &c_x2);
  }
  if (const_y) {
    if (std::isinf(init_y)) {
      *slope = std::nan("");
      *intercept = std::nan("");
    } else {
      *slope = 0;
      *intercept = init_y;
    }
    return;
  }
  sum_x += c_x;
  sum_y += c_y;
  sum_xy += c_xy;
  sum_x2 += c_x2;
  double cov_xy = sum_xy - sum_x * sum_y / n;
  double var_x = sum_x2 - sum_x * sum_x / n;
  *slope = cov_xy / var_x;
  *intercept = sum_y / n - *slope * sum_x / n;
}

double Quantile(double q, std::vector<double> values) {
  if (values.empty() || std::isnan(q)) return std::nan("");
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  std::sort(values.begin(), values.end(), [](double a, double b) {
    if (std::isnan(a)) return !std::isnan(b);
    if (std::isnan(b)) return false;
    return a < b;
  });
  double n = static_cast<double>(values.size());
  double rank = q * (n - 1);
  double lower = std::max(0.0, std::floor(rank));
  double upper = std::min(n - 1, lower + 1);
  double weight = rank - std::floor(rank);
  return values[static_cast<size_t>(lower)] * (1 - weight) +
         values[static_cast<size_t>(upper)] * weight;
}

double AvgOverTime(std::span<const Point> pts) {
  double sum = 0, mean = 0, count = 0, c = 0;
  bool incremental = false;
  for (size_t i = 0; i < pts.size(); ++i) {
    double f = pts[i].f;
    count = static_cast<double>(i + 1);
    if (!incremental) {
      double nc = c;
      double ns = KahanSumInc(f, sum, &nc);
      if (!std::isinf(ns)) {
        sum = ns;
        c = nc;
        continue;
      }
      incremental = true;
      mean = count > 1 ? sum / (count - 1) : 0;
      c = count > 1 ? c / (count - 1) : 0;
    }
    if (std::isinf(mean)) {
      if (std::isinf(f) && (mean > 0) == (f > 0)) continue;
      if (!std::isinf(f) && !std::isnan(f)) continue;
    }
    double q = (count - 1) / count;
    double nc = q * c;
    mean = KahanSumInc(f / count, q * mean, &nc);
    c = nc;
  }
  if (incremental) return mean + c;
  return sum / count + c / count;
}

double StdvarOverTime(std::span<const Point> pts) {
  double count = 0, mean = 0, c_mean = 0, aux = 0, c_aux = 0;
  for (const auto& p : pts) {
    count++;
    double delta = p.f - (mean + c_mean);
    mean = KahanSumInc(delta / count, mean, &c_mean);
    aux = KahanSumInc(delta * (p.f - (mean + c_mean)), aux, &c_aux);
  }
  return (aux + c_aux) / count;
}

namespace {

bool AlmostEqual(double a, double b, double epsilon) {
  if (a == b) return true;
  double abs_sum = std::fabs(a) + std::fabs(b);
  double diff = std::fabs(a - b);
  constexpr double kMinNormal = 2.2250738585072014e-308;
  if (a == 0 || b == 0 || abs_sum < kMinNormal) return diff < epsilon * kMinNormal;
  return diff / std::min(abs_sum, std::numeric_limits<double>::max()) < epsilon;
}

void SortAndCoalesce(std::vector<Bucket>* b) {
  std::stable_sort(b->begin(), b->end(),
                   [](const Bucket& x, const Bucket& y) { return x.upper_bound < y.upper_bound; });
  std::vector<Bucket> out;
  for (const auto& x : *b) {
    if (!out.empty() && out.back().upper_bound == x.upper_bound) {
      out.back().count += x.count;
    } else {
      out.push_back(x);
    }
  }
  *b = std::move(out);
}

void EnsureMonotonic(std::vector<Bucket>* b, bool* forced, bool* fixed) {
  double prev = (*b)[0].count;
  for (size_t i = 1; i < b->size(); ++i) {
    double curr = (*b)[i].count;
    if (curr == prev) continue;
    if (AlmostEqual(prev, curr, 1e-12)) {
      (*b)[i].count = prev;
      *fixed = true;
      continue;
    }
    if (curr < prev) {
      (*b)[i].count = prev;
      *forced = true;
      continue;
    }
    prev = curr;
  }
}

}  // namespace

double BucketQuantile(double q, std::vector<Bucket> buckets, bool* forced_monotonic,
                      bool* fixed_precision) {
  *forced_monotonic = false;
  *fixed_precision = false;
  if (std::isnan(q)) return std::nan("");
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  if (buckets.empty()) return std::nan("");
  SortAndCoalesce(&buckets);
  if (!std::isinf(buckets.back().upper_bound) || buckets.back().upper_bound < 0) {
    return std::nan("");
  }
  EnsureMonotonic(&buckets, forced_monotonic, fixed_precision);
  if (buckets.size() < 2) return std::nan("");
  double observations = buckets.back().count;
  if (observations == 0) return std::nan("");
  double rank = q * observations;
  size_t b = 0;
  while (b < buckets.size() - 1 && !(buckets[b].count >= rank)) ++b;
  if (b == buckets.size() - 1) return buckets[buckets.size() - 2].upper_bound;
  if (b == 0 && buckets[0].upper_bound <= 0) return buckets[0].upper_bound;
  double start = 0, end = buckets[b].upper_bound, count = buckets[b].count;
  if (b > 0) {
    start = buckets[b - 1].upper_bound;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return start + (end - start) * (rank / count);
}

double BucketFraction(double lower, double upper, std::vector<Bucket> buckets) {
  if (buckets.empty()) return std::nan("");
  SortAndCoalesce(&buckets);
  if (!std::isinf(buckets.back().upper_bound) || buckets.back().upper_bound < 0) {
    return std::nan("");
  }
  bool forced = false, fixed = false;
  EnsureMonotonic(&buckets, &forced, &fixed);
  double total = buckets.back().count;
  if (total == 0 || std::isnan(lower) || std::isnan(upper)) return std::nan("");
  if (lower >= upper) return 0;
  // Interpolates linearly within the bucket containing v (like BucketQuantile's inverse).
  auto rank = [&](double v) {
    if (std::isinf(v) && v < 0) return 0.0;
    double prev_ub = 0, prev_count = 0;
    for (size_t i = 0; i < buckets.size(); ++i) {
      double ub = buckets[i].upper_bound, c = buckets[i].count;
      if (v <= ub) {
        if (std::isinf(ub)) return prev_count;
        double lo = (i == 0 && ub > 0) ? 0 : prev_ub;
        // Inside (-Inf, ub <= 0] nothing can be interpolated: the cut counts as at ub, so
        // the bucket is in no fraction that starts inside it (upstream's rule).
        if (i == 0 && ub <= 0) return c;
        if (v <= lo) return prev_count;
        return prev_count + (c - prev_count) * (v - lo) / (ub - lo);
      }
      prev_ub = ub;
      prev_count = c;
    }
    return total;
  };
  double u = std::isinf(upper) && upper > 0 ? total : rank(upper);
  return (u - rank(lower)) / total;
}

std::string FormatFloatGo(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[512];
  int prec = 1;
  for (; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  // buf holds the shortest round-tripping mantissa/exponent; print it without exponent.
  std::string s = buf;
  size_t epos = s.find('e');
  int exp = std::atoi(s.c_str() + epos + 1);
  std::string mant = s.substr(0, epos);
  bool neg = mant[0] == '-';
  if (neg) mant = mant.substr(1);
  std::string digits;
  for (char c : mant) {
    if (c != '.') digits.push_back(c);
  }
  // value = 0.d1d2d3... * 10^(exp+1)
  int point = exp + 1;
  std::string out;
  if (point <= 0) {
    out = "0." + std::string(static_cast<size_t>(-point), '0') + digits;
  } else if (static_cast<size_t>(point) >= digits.size()) {
    out = digits + std::string(static_cast<size_t>(point) - digits.size(), '0');
  } else {
    out = digits.substr(0, static_cast<size_t>(point)) + "." + digits.substr(static_cast<size_t>(point));
  }
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  if (out.empty()) out = "0";
  return (neg ? "-" : "") + out;
}

}  // namespace argus::promql

namespace argus::promql {

namespace {

// Go's sort.Search: the smallest i in [0, n) with pred(i), or n.
template <typename Pred>
int SortSearch(int n, Pred pred) {
  int i = 0, j = n;
  while (i < j) {
    int h = static_cast<int>(static_cast<unsigned>(i + j) >> 1);
    if (!pred(h)) {
      i = h + 1;
    } else {
      j = h;
    }
  }
  return i;
}

// The boundary indices of an extended window (upstream's firstSampleIndex/lastSampleIndex):
// `first` is the last point at or before range_start (or 0), `last` the last point (anchored)
// or the first at or after range_end (smoothed). False when nothing lies in the range.
bool ExtendedBounds(std::span<const Point> f, int64_t range_start, int64_t range_end,
                    bool smoothed, int* first, int* last) {
  if (f.empty()) return false;
  int l = static_cast<int>(f.size()) - 1;
  int fi = std::max(0, SortSearch(l, [&](int i) { return f[static_cast<size_t>(i)].t_ms > range_start; }) - 1);
  if (smoothed) l = SortSearch(l, [&](int i) { return f[static_cast<size_t>(i)].t_ms >= range_end; });
  if (f[static_cast<size_t>(l)].t_ms <= range_start) return false;
  if (smoothed && f[static_cast<size_t>(fi)].t_ms > range_end) return false;
  *first = fi;
  *last = l;
  return true;
}

double PickOrInterpolateLeft(std::span<const Point> f, int first, int64_t range_start,
                             bool smoothed, bool is_counter) {
  const Point& p = f[static_cast<size_t>(first)];
  if (smoothed && p.t_ms < range_start) {
    return Interpolate(p, f[static_cast<size_t>(first) + 1], range_start, is_counter);
  }
  return p.f;
}

double PickOrInterpolateRight(std::span<const Point> f, int last, int64_t range_end,
                              bool smoothed, bool is_counter) {
  const Point& p = f[static_cast<size_t>(last)];
  if (smoothed && last > 0 && p.t_ms > range_end) {
    return Interpolate(f[static_cast<size_t>(last) - 1], p, range_end, is_counter);
  }
  return p.f;
}

}  // namespace

double Interpolate(const Point& p1, const Point& p2, int64_t t_ms, bool is_counter) {
  double y1 = p1.f, y2 = p2.f;
  if (is_counter && y2 < y1) y1 = 0;
  return y1 + (y2 - y1) * static_cast<double>(t_ms - p1.t_ms) /
                  static_cast<double>(p2.t_ms - p1.t_ms);
}

std::optional<double> ExtendedRate(std::span<const Point> f, int64_t range_start,
                                   int64_t range_end, double range_s, bool smoothed,
                                   bool is_counter, bool is_rate) {
  int first, last;
  if (!ExtendedBounds(f, range_start, range_end, smoothed, &first, &last)) return std::nullopt;
  double left = PickOrInterpolateLeft(f, first, range_start, smoothed, is_counter);
  double right = PickOrInterpolateRight(f, last, range_end, smoothed, is_counter);
  double result = right - left;
  if (is_counter) {
    // Only the samples strictly inside the range: the boundary values already account for
    // resets at the edges.
    if (f[static_cast<size_t>(first)].t_ms <= range_start) ++first;
    if (f[static_cast<size_t>(last)].t_ms >= range_end) --last;
    double prev = left;
    for (int i = first; i <= last; ++i) {
      double cur = f[static_cast<size_t>(i)].f;
      if (cur < prev) result += prev;
      prev = cur;
    }
    if (right < prev) result += prev;
  }
  if (is_rate) result /= range_s;
  return result;
}

std::vector<Point> ExtendFloats(std::span<const Point> f, int64_t mint, int64_t maxt,
                                bool smoothed) {
  std::vector<Point> out;
  if (f.empty()) return out;
  int last = static_cast<int>(f.size()) - 1;
  int first = std::max(0, SortSearch(last, [&](int i) { return f[static_cast<size_t>(i)].t_ms > mint; }) - 1);
  if (smoothed) last = SortSearch(last, [&](int i) { return f[static_cast<size_t>(i)].t_ms >= maxt; });
  if (f[static_cast<size_t>(last)].t_ms <= mint) return out;
  double left = PickOrInterpolateLeft(f, first, mint, smoothed, false);
  double right = PickOrInterpolateRight(f, last, maxt, smoothed, false);
  if (f[static_cast<size_t>(first)].t_ms <= mint) ++first;
  if (f[static_cast<size_t>(last)].t_ms >= maxt) --last;
  out.push_back({mint, left, nullptr});
  for (int i = first; i <= last; ++i) out.push_back(f[static_cast<size_t>(i)]);
  out.push_back({maxt, right, nullptr});
  return out;
}

std::shared_ptr<const FloatHistogram> InterpolateHistogram(const Point& p1, const Point& p2,
                                                           int64_t t, bool is_counter,
                                                           bool* mixed, bool* reconciled) {
  if (t == p1.t_ms) return p1.h;
  if (t == p2.t_ms) return p2.h;
  if (p1.h->UsesCustomBuckets() != p2.h->UsesCustomBuckets()) {
    *mixed = true;  // no line between exponential and custom buckets
    return nullptr;
  }
  double fraction = static_cast<double>(t - p1.t_ms) / static_cast<double>(p2.t_ms - p1.t_ms);
  auto result = std::make_shared<FloatHistogram>(*p2.h);
  if (is_counter && p2.h->DetectReset(*p1.h)) {
    result->Mul(fraction);  // the counter restarted from zero
    return result;
  }
  auto sub = result->Sub(*p1.h);
  if (!sub.ok()) {
    *mixed = true;
    return nullptr;
  }
  if (sub->nhcb_bounds_reconciled) *reconciled = true;
  result->Mul(fraction);
  auto add = result->Add(*p1.h);
  if (!add.ok()) {
    *mixed = true;
    return nullptr;
  }
  if (add->nhcb_bounds_reconciled) *reconciled = true;
  return result;
}

HistogramRangeResult HistogramExtendedRate(std::span<const Point> h, int64_t range_start,
                                           int64_t range_end, double range_s, bool smoothed,
                                           bool is_counter, bool is_rate,
                                           const std::string& metric) {
  HistogramRangeResult res;
  int first, last;
  if (!ExtendedBounds(h, range_start, range_end, smoothed, &first, &last)) return res;
  // validateHistogramRange: one kind of bucket layout; gauges warned about in counters.
  bool custom = h[static_cast<size_t>(first)].h->UsesCustomBuckets();
  for (int i = first; i <= last; ++i) {
    const FloatHistogram& cur = *h[static_cast<size_t>(i)].h;
    if (cur.UsesCustomBuckets() != custom) {
      AddOnce(&res.warnings, MixedSchemasWarning(metric));
      return res;
    }
    if (is_counter && cur.counter_reset_hint == CounterResetHint::kGauge) {
      AddOnce(&res.warnings, NotCounterWarning(metric));
    }
  }
  bool mixed = false, reconciled = false;
  std::shared_ptr<const FloatHistogram> left = h[static_cast<size_t>(first)].h;
  if (smoothed && h[static_cast<size_t>(first)].t_ms < range_start) {
    left = InterpolateHistogram(h[static_cast<size_t>(first)], h[static_cast<size_t>(first) + 1],
                                range_start, is_counter, &mixed, &reconciled);
  }
  std::shared_ptr<const FloatHistogram> right = h[static_cast<size_t>(last)].h;
  if (!mixed && smoothed && last > 0 && h[static_cast<size_t>(last)].t_ms > range_end) {
    right = InterpolateHistogram(h[static_cast<size_t>(last) - 1], h[static_cast<size_t>(last)],
                                 range_end, is_counter, &mixed, &reconciled);
  }
  auto note_reconciled = [&](bool sub) {
    AddOnce(&res.infos, sub ? kReconciledSub
                            : "mismatched custom buckets were reconciled during addition");
  };
  if (reconciled) note_reconciled(true);
  if (mixed) {
    AddOnce(&res.warnings, MixedSchemasWarning(metric));
    return res;
  }
  if (!is_counter && (left->counter_reset_hint != CounterResetHint::kGauge ||
                      right->counter_reset_hint != CounterResetHint::kGauge)) {
    AddOnce(&res.warnings, NotGaugeWarning(metric));
  }
  FloatHistogram result = *right;
  auto sub = result.Sub(*left);
  if (!sub.ok()) {
    AddOnce(&res.warnings, MixedSchemasWarning(metric));
    return res;
  }
  if (sub->nhcb_bounds_reconciled) note_reconciled(true);
  if (is_counter) {
    // correctForCounterResetsHistogram: resets strictly between the boundary samples.
    int lo = first + 1;
    const FloatHistogram* prev = left.get();
    if (smoothed && h[static_cast<size_t>(first)].t_ms < range_start &&
        h[static_cast<size_t>(first) + 1].h->DetectReset(*h[static_cast<size_t>(first)].h)) {
      // The left interpolation already spans this reset.
      prev = h[static_cast<size_t>(first) + 1].h.get();
      ++lo;
    }
    int hi = last - 1;
    if (lo <= hi + 1) {
      std::optional<FloatHistogram> correction;
      auto add_correction = [&](const FloatHistogram& c) {
        if (!correction) {
          correction = c;
          return true;
        }
        auto r = correction->Add(c);
        if (!r.ok()) return false;
        if (r->nhcb_bounds_reconciled) note_reconciled(false);
        return true;
      };
      bool ok = true;
      for (int i = lo; i <= hi && ok; ++i) {
        const FloatHistogram& cur = *h[static_cast<size_t>(i)].h;
        if (cur.DetectReset(*prev)) ok = add_correction(*prev);
        prev = &cur;
      }
      if (ok && right->DetectReset(*prev)) ok = add_correction(*prev);
      if (!ok) {
        AddOnce(&res.warnings, MixedSchemasWarning(metric));
        return res;
      }
      if (correction) {
        auto r = result.Add(*correction);
        if (!r.ok()) {
          AddOnce(&res.warnings, MixedSchemasWarning(metric));
          return res;
        }
        if (r->nhcb_bounds_reconciled) note_reconciled(false);
      }
    }
  }
  if (is_rate) result.Div(range_s);
  result.counter_reset_hint = CounterResetHint::kGauge;
  result.Compact(0);
  res.h = std::make_shared<const FloatHistogram>(std::move(result));
  return res;
}

}  // namespace argus::promql
