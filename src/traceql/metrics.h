// TraceQL metrics evaluation (Tempo docs, traceql/metrics-queries): the functions `rate`,
// `count_over_time`, `min/max/avg/sum_over_time`, `quantile_over_time`,
// `histogram_over_time` and `compare`, grouped `by (...)`, followed by value filters
// (`> 10`) and `topk`/`bottomk`, and arithmetic between metrics queries. Traces are fed one
// at a time (Observe); Finish turns what was counted into time series over the request's
// step intervals.
//
// Semantics (as Tempo's engine, pkg/traceql/engine_metrics.go, ast_metrics.go):
//   - a span counts in the interval holding its start time; intervals start at `start`
//     rounded down to a multiple of `step` (range queries) or at `start` exactly (instant);
//   - rate = spans in the interval / step in seconds; count_over_time = spans; the
//     *_over_time functions take the numeric value of their attribute, durations in seconds;
//   - series without by() carry the label __name__ = the function's name; with by() one
//     label per attribute (spans without it carry a nil value);
//   - quantile_over_time and histogram_over_time bucket values by powers of two (durations
//     by nanoseconds, reported in seconds) and, like Tempo, interpolate quantiles
//     exponentially inside the bucket (Log2Quantile); the series get the label `p`
//     (quantile) or `__bucket` (upper bound);
//   - compare({filter}, n[, start_ns, end_ns]) counts, per attribute value, the spans that the
//     filter selects (inside the optional window) against the rest: series labeled with the
//     attribute and __meta_type = selection | baseline, plus selection_total / baseline_total
//     per attribute (nil value), the n most frequent values per attribute and type;
//   - a value filter keeps the samples that satisfy it; topk/bottomk keep, at every interval,
//     the k highest/lowest series; series left with no value are dropped;
//   - a binary operation pairs series with equal labels (ignoring __name__); a number applies
//     to every series.
// Samples without a value are NaN in `values`; counts are 0 where nothing was seen.
//
// Example:
//   ASSIGN_OR_RETURN(auto q, ParseAndValidate("{ status = error } | rate() by (resource.service.name)"));
//   MetricsRange r{.start_ns = s, .end_ns = e, .step_ns = 60'000'000'000};
//   ASSIGN_OR_RETURN(auto ev, MetricsEvaluator::Create(*q, r));
//   for (each trace t) RETURN_IF_ERROR(ev->Observe(*t));
//   MetricsResult res = ev->Finish();
//
// Thread-safety: a MetricsEvaluator is used by one thread at a time; the query must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "traceql/ast.h"
#include "traceql/engine.h"
#include "util/status.h"

namespace argus::traceql {

// The time range of a metrics query, nanoseconds since the epoch. REQUIRES: start_ns <
// end_ns; step_ns > 0 (range queries). `instant` makes one interval [start_ns, end_ns).
struct MetricsRange {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  int64_t step_ns = 0;
  bool instant = false;
  // At most this many exemplars per query (Tempo's default 100); 0 = none.
  size_t max_exemplars = 100;
};

// A series label: TraceQL's attribute name and its typed value (kNone: nil).
struct MetricsLabel {
  std::string key;
  OutputValue value;
};

struct MetricsExemplar {
  std::vector<MetricsLabel> labels;  // trace:id
  double value = 0;
  int64_t ts_ms = 0;                 // the span's start time
};

struct MetricsSeries {
  std::vector<MetricsLabel> labels;  // sorted by key
  std::vector<double> values;        // one per interval; NaN = no value
  std::vector<MetricsExemplar> exemplars;
  // Prometheus text of the labels, e.g. `{resource.service.name="cart"}`.
  std::string PromLabels() const;
};

struct MetricsResult {
  int64_t first_interval_ns = 0;  // start of interval 0
  int64_t step_ns = 0;            // interval length (end - start for instant queries)
  size_t intervals = 0;
  std::vector<MetricsSeries> series;  // sorted by PromLabels()
  uint64_t inspected_spans = 0;
  uint64_t inspected_traces = 0;

  int64_t IntervalStartMs(size_t i) const {
    return (first_interval_ns + static_cast<int64_t>(i) * step_ns) / 1'000'000;
  }
};

class MetricsEvaluator {
 public:
  // `q` must be a validated metrics query (RootKind::kMetrics) and outlive the evaluator.
  // Errors: InvalidArgument for a query that is not a metrics query or a bad range.
  static Result<std::unique_ptr<MetricsEvaluator>> Create(const RootExpr& q, const MetricsRange& range);
  ~MetricsEvaluator();

  // Counts the matching spans of `trace`. A trace may be observed in parts (the spans of one
  // part are counted once); structural operators then see each part alone.
  // Errors: none today; kept for evaluation errors.
  Status Observe(const TraceView& trace);

  // The series, with filters, topk/bottomk and arithmetic applied. Call once.
  MetricsResult Finish();

  // The single query of the expression if it has exactly one (the store can skip traces
  // that its first filter cannot match), else null.
  const Pipeline* SinglePipeline() const;

  struct Leaf;  // one `pipeline | function` of the expression (metrics.cc)

 private:
  MetricsEvaluator() = default;
  const RootExpr* q_ = nullptr;
  MetricsRange range_;
  int64_t first_ns_ = 0;
  size_t intervals_ = 0;
  std::map<const MetricsExpr*, std::unique_ptr<Leaf>> leaves_;
  uint64_t spans_ = 0, traces_ = 0;
};

// Tempo's default step for a range: about 240 points (1 h at 15 s), rounded down to 5 s (or
// to 1 s below 5 s), at least 1 s. Nanoseconds.
int64_t DefaultMetricsStepNs(int64_t start_ns, int64_t end_ns);

// Tempo's Log2Quantile: the quantile `p` of values counted in power-of-two buckets
// (`buckets`: upper bound -> count). With want = max(1, ceil(p * total)) samples: the upper
// bound of the bucket where the running count reaches `want` exactly, else 2^(lo + (hi - lo)
// * f) inside the bucket that overshoots, with hi = log2(its bound), lo = log2(the previous
// bound) (hi - 1 for the first) and f the fraction of the bucket needed.
// Example: {1: 1, 2: 1, 4: 2}, p = 0.5 -> 2; p = 0.75 -> 2^(1 + 0.5) = 2.83.
// NaN for p outside [0, 1] or no buckets.
double Log2Quantile(double p, const std::map<double, double>& buckets);

}  // namespace argus::traceql
