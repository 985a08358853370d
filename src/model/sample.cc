#include "model/sample.h"

namespace argus {

std::string_view MetricTypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
    case MetricType::kGaugeHistogram: return "gaugehistogram";
    case MetricType::kSummary: return "summary";
    case MetricType::kInfo: return "info";
    case MetricType::kStateSet: return "stateset";
    case MetricType::kUnknown: break;
  }
  return "unknown";
}

MetricType ParseMetricType(std::string_view s) {
  if (s == "counter") return MetricType::kCounter;
  if (s == "gauge") return MetricType::kGauge;
  if (s == "histogram") return MetricType::kHistogram;
  if (s == "gaugehistogram") return MetricType::kGaugeHistogram;
  if (s == "summary") return MetricType::kSummary;
  if (s == "info") return MetricType::kInfo;
  if (s == "stateset") return MetricType::kStateSet;
  return MetricType::kUnknown;
}

}  // namespace argus
