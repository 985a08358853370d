// OTLP metrics -> Prometheus series, the way Prometheus 3's OTLP receiver translates them by
// default (translation strategy UnderscoreEscapingWithSuffixes; Prometheus
// storage/remote/otlptranslator and github.com/prometheus/otlptranslator; Prometheus guide
// "Using Prometheus as your OpenTelemetry backend"; OTel spec "Prometheus and OpenMetrics
// Compatibility"). The full rule set, with examples, is docs/format/otlp-metrics-translation.md.
//
// In short:
//   gauge                  -> <name>                        (type gauge)
//   sum, monotonic         -> <name>_total                  (counter; exemplars kept)
//   sum, not monotonic     -> <name>                        (gauge)
//   histogram              -> <name>_bucket{le=...}, <name>_sum, <name>_count (histogram)
//   summary                -> <name>{quantile=...}, <name>_sum, <name>_count  (summary)
//   exponential histogram  -> <name>, one native histogram per point (histogram); scale
//                             becomes the schema (scales above 8 are merged down to 8),
//                             zero count and threshold kept (1e-128 if unset), stale points
//                             marked as Prometheus does (sum = StaleNaN)
// <name> is the metric name with invalid characters turned into `_` and the unit appended
// ("s" -> _seconds, "By" -> _bytes, "1" on a gauge -> _ratio, "By/s" -> _bytes_per_second).
// Delta temporality sums and histograms are accumulated into cumulative values (Prometheus
// rejects them unless its delta feature flag is set). Point attributes become labels (names
// sanitised: "http.method" -> http_method, "1x" -> key_1x); resource attributes give
// job = service.namespace/service.name and instance = service.instance.id, and the others
// become labels of a `target_info` gauge (value 1). Timestamps go from ns to ms. Points flagged
// NO_RECORDED_VALUE become stale markers.
//
// Example:
//   DeltaAccumulator deltas;                       // one per process (or tenant)
//   std::unique_ptr<tsdb::Appender> app = db.NewAppender();
//   OtlpResult result;
//   RETURN_IF_ERROR(ApplyOtlpMetrics(request, &deltas, app.get(), &result));
//   // answer 200 with partial_success{rejected_data_points=result.rejected_points,
//   //                                  error_message=result.error_message} when either is set
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/histogram.h"
#include "model/labels.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "tsdb/storage.h"
#include "util/status.h"

namespace argus::ingest {

// What the request could not store; becomes ExportMetricsPartialSuccess. `rejected_points`
// counts OTLP data points (a histogram point is one point however many series it makes);
// `error_message` describes the first problem, and may be set with zero rejected points for a
// warning (e.g. a metric without data points).
struct OtlpResult {
  int64_t rejected_points = 0;
  std::string error_message;
};

// The kinds of OTLP metric, as the naming rules distinguish them.
enum class OtlpMetricKind {
  kGauge,
  kMonotonicCounter,     // sum with is_monotonic
  kNonMonotonicCounter,  // sum without
  kHistogram,
  kExponentialHistogram,
  kSummary,
};

// Prometheus metric name for an OTLP metric (UnderscoreEscapingWithSuffixes), e.g.
// ("http.server.duration", "ms", kHistogram) -> "http_server_duration_milliseconds",
// ("requests", "{request}", kMonotonicCounter) -> "requests_total",
// ("cpu.utilization", "1", kGauge) -> "cpu_utilization_ratio". Returns "" if nothing of the
// name survives (the caller rejects the metric).
std::string OtlpMetricName(std::string_view name, std::string_view unit, OtlpMetricKind kind);

// Prometheus label name for an OTLP attribute key: characters other than [a-zA-Z0-9_] become
// `_`, a leading digit gets "key_" and a single leading `_` gets "key" ("__x" is kept).
// Returns "" for an empty key.
std::string OtlpLabelName(std::string_view key);

// The Prometheus unit word for a UCUM unit: "s" -> "seconds", "By/s" -> "bytes_per_second",
// "1" -> "", "{packet}" -> "". Used for the metadata `unit`.
std::string OtlpUnitName(std::string_view unit);

// Running totals that turn delta-temporality sums and histograms into cumulative series.
//
// Keyed by the translated series (labels including __name__). The first delta of a series
// starts its total at that delta. A point not newer than the series' last accumulated point is
// refused (OutOfOrder) so that a retried request does not count twice. State of a series not
// updated for `idle_timeout_ms` of wall-clock time is dropped (its next delta starts again from
// zero, which PromQL's rate() sees as a counter reset).
//
// Thread-safe: one instance is shared by all concurrent OTLP requests.
class DeltaAccumulator {
 public:
  struct Options {
    size_t max_series = 1 << 20;               // beyond this, new delta series are refused
    int64_t idle_timeout_ms = 60 * 60 * 1000;  // 1 h
  };

  // The cumulative view of one delta histogram series after an update.
  struct HistogramTotal {
    std::vector<double> bounds;         // explicit bounds of the buckets
    std::vector<double> bucket_counts;  // per bucket (not cumulative), bounds.size() + 1 long
    double count = 0;
    double sum = 0;
  };

  // Records one update so that it can be reverted if the batch is not committed.
  struct Undo {
    Labels key;
    int64_t t_ms = 0;  // the point time the update set
    std::optional<HistogramTotal> previous_histogram;
    std::optional<double> previous_sum;
    std::optional<FloatHistogram> previous_native;
    int64_t previous_t_ms = 0;
    bool existed = false;
  };

  DeltaAccumulator() : DeltaAccumulator(Options{}) {}
  explicit DeltaAccumulator(Options opts) : opts_(opts) {}

  // Adds `delta` (at t_ms) to the total of `key`; returns the new total.
  // Errors: OutOfOrder if t_ms <= the last accumulated time of `key`; ResourceExhausted if
  // `key` is new and max_series series are tracked. On success `*undo` describes the change.
  Result<double> AddSum(const Labels& key, int64_t t_ms, double delta, Undo* undo);

  // Adds a delta histogram (bucket_counts per bucket, bounds.size() + 1 of them). If the
  // bounds differ from the accumulated ones, the total restarts from this point. Errors as
  // AddSum.
  Result<HistogramTotal> AddHistogram(const Labels& key, int64_t t_ms, const HistogramTotal& delta,
                                      Undo* undo);

  // Adds a delta native histogram (from an OTLP exponential histogram) to the total of `key`
  // and returns the new total (counter reset hint unknown). Schemas are reconciled by Add
  // (the total keeps the lower resolution); the total restarts from `delta` when the kinds
  // cannot be added. Errors as AddSum.
  Result<FloatHistogram> AddNativeHistogram(const Labels& key, int64_t t_ms,
                                            const FloatHistogram& delta, Undo* undo);

  // Reverts an update, unless the series was updated again since.
  void Revert(const Undo& undo);

  // Drops the series not updated since now_ms - idle_timeout_ms (wall clock, ms). Returns how
  // many were dropped.
  size_t ExpireIdle(int64_t now_ms);
  // Runs ExpireIdle(now_ms) if the last sweep is a minute old or more (ApplyOtlpMetrics calls
  // this on every request).
  void MaybeExpireIdle(int64_t now_ms);

  size_t NumSeries() const;

 private:
  struct State {
    int64_t last_t_ms = 0;
    int64_t touched_ms = 0;  // wall clock of the last update
    bool is_histogram = false;
    double sum_total = 0;
    HistogramTotal histogram;
    std::optional<FloatHistogram> native;  // the running total of a native histogram series
  };
  struct LabelsHash {
    size_t operator()(const Labels& l) const { return static_cast<size_t>(l.Hash()); }
  };

  // REQUIRES: mu_ held. Finds or creates the state of `key`, filling `undo`.
  Result<State*> Prepare(const Labels& key, int64_t t_ms, bool is_histogram, Undo* undo);
  size_t ExpireIdleLocked(int64_t now_ms);

  const Options opts_;
  mutable std::mutex mu_;
  std::unordered_map<Labels, State, LabelsHash> series_;  // GUARDED_BY(mu_)
  int64_t last_expiry_ms_ = 0;                            // GUARDED_BY(mu_)
};

// The native histogram Prometheus 3 makes of an OTLP exponential histogram point (see the
// table above); not validated (the Appender validates). Errors: InvalidArgument for a scale
// below -4.
Result<IntHistogram> ExponentialToNative(
    const opentelemetry::proto::metrics::v1::ExponentialHistogramDataPoint& p);

// Translates `req` and appends the result through `app`, then calls app->Commit().
//
// Problems with single metrics or points (invalid exponential histograms, unspecified
// temporality, an empty name, samples the Appender refuses such as out-of-order ones) skip
// those points, count them in result->rejected_points and keep the first message in
// result->error_message; the rest is committed and the call returns OK (OTLP partial success).
// Returns an error only when the storage cannot take the batch: Unavailable, ResourceExhausted,
// IOError, Internal, ... from the Appender (the batch is rolled back) or from Commit (returned
// as is). In both cases the delta totals updated by this request are reverted.
// `deltas` may be null: delta metrics are then rejected like Prometheus does by default.
// REQUIRES: `app` is a fresh Appender; it is committed or rolled back on return.
// `result` may be null.
Status ApplyOtlpMetrics(
    const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& req,
    DeltaAccumulator* deltas, tsdb::Appender* app, OtlpResult* result);

}  // namespace argus::ingest
