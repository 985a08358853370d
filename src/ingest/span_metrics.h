// Span metrics, as Tempo's metrics-generator "span-metrics" processor makes them (Tempo docs,
// metrics-generator/span_metrics): for every span, by service, span name, kind and status,
//   traces_spanmetrics_calls_total          counter of spans
//   traces_spanmetrics_latency_{bucket,sum,count}   histogram of span durations (seconds),
//                                           Tempo's default buckets 2ms .. 4.1s
//   traces_spanmetrics_size_total           counter of span bytes (protobuf encoding)
// with the labels `service`, `span_name`, `span_kind` (e.g. "SPAN_KIND_SERVER") and
// `status_code` (e.g. "STATUS_CODE_ERROR"), and an exemplar with the trace ID of the latest span
// on the latency `_bucket` series its duration fell into. Values are cumulative since the start
// of the process; every Observe appends the current values of the series it touched, through
// tsdb::Appender, at `now_ms`, and Collect (every 15 s, as Tempo's generator collects its
// registry) appends every live series, so a quiet service's rate() is 0 rather than absent; a
// series without spans for 15 minutes is dropped (Tempo's stale_duration).
//
// Example:
//   SpanMetrics m([&] { return db->NewAppender(); });
//   RETURN_IF_ERROR(m.Observe(traces, NowMs()));
//   RETURN_IF_ERROR(m.Collect(NowMs()));   // periodically
//
// Thread-safety: thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "tsdb/storage.h"
#include "util/status.h"

namespace argus::ingest {

// Tempo's default span-metrics histogram buckets (seconds).
const std::vector<double>& DefaultSpanMetricsBuckets();

class SpanMetrics {
 public:
  using AppenderFactory = std::function<std::unique_ptr<tsdb::Appender>()>;
  explicit SpanMetrics(AppenderFactory appender, std::vector<double> buckets = DefaultSpanMetricsBuckets());

  // Counts the spans of `traces` (not owned; each trace's accepted spans) and writes the
  // touched series.
  // Errors: the appender's (the counts stay; the next Observe writes them again).
  Status Observe(const std::vector<const opentelemetry::proto::trace::v1::TracesData*>& traces,
                 int64_t now_ms);

  // Drops the series that saw no span for `stale_ms`, then appends the current values of all
  // others at `now_ms` (no exemplars: those go out once, with the Observe that made them).
  // Errors: the appender's.
  Status Collect(int64_t now_ms, int64_t stale_ms = kStaleMs);

  static constexpr int64_t kStaleMs = 15 * 60 * 1000;

 private:
  using Key = std::tuple<std::string, std::string, int, int>;  // service, name, kind, status
  struct Series {
    double calls = 0, size_bytes = 0, sum_s = 0;
    std::vector<double> buckets;  // cumulative counts per upper bound
    std::string exemplar_trace;   // hex
    double exemplar_s = 0;
    bool exemplar_pending = false;  // observed since the last write
    int64_t updated_ms = 0;         // the last Observe that counted a span
  };

  Status WriteLocked(const std::vector<Key>& keys, int64_t now_ms);

  AppenderFactory appender_;
  const std::vector<double> bounds_;
  std::mutex mu_;
  std::map<Key, Series> series_;  // GUARDED_BY(mu_)
};

}  // namespace argus::ingest
