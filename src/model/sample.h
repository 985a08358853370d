// Samples, exemplars and metric metadata: the values a series carries.
//
// Timestamps are int64 milliseconds since the Unix epoch (Prometheus' unit). Values are IEEE-754
// doubles. A stale marker is the special NaN with bit pattern 0x7ff0000000000002, as in
// Prometheus (docs: querying/basics "Staleness"); compare with IsStaleNaN, never with ==.
//
// Example:
//   Sample s{.t_ms = 1700000000000, .v = 42.0};
//   if (IsStaleNaN(s.v)) { ... }
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/labels.h"
#include "util/coding.h"

namespace argus {

struct Sample {
  int64_t t_ms = 0;
  double v = 0;
  friend bool operator==(const Sample&, const Sample&) = default;
};

inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ull;
inline double StaleNaN() { return BitsDouble(kStaleNaNBits); }
inline bool IsStaleNaN(double v) { return DoubleBits(v) == kStaleNaNBits; }

// An exemplar: a sample of one event (typically carrying `trace_id`) attached to a series
// (OpenMetrics spec, "Exemplars"; Prometheus remote_write 1.0 `Exemplar`).
struct Exemplar {
  Labels labels;
  double value = 0;
  int64_t t_ms = 0;
};

// Prometheus metric types, as in remote_write `MetricMetadata.MetricType` and /api/v1/metadata.
enum class MetricType { kUnknown, kCounter, kGauge, kHistogram, kGaugeHistogram, kSummary, kInfo,
                        kStateSet };

// "counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown".
std::string_view MetricTypeName(MetricType t);
MetricType ParseMetricType(std::string_view s);

// Metadata about a metric family (not a series): its type, help text and unit.
struct MetricMetadata {
  std::string metric_family;
  MetricType type = MetricType::kUnknown;
  std::string help;
  std::string unit;
};

}  // namespace argus
