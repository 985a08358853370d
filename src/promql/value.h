// The values a PromQL evaluation produces (Prometheus promql/value.go): points, instant
// vectors, range-vector matrices, scalars and strings, plus the annotations (warnings and
// infos) a query collects.
//
// Native histograms: a Point (and an InstantSample) holds either a float `f` or, when `h` is
// set, a native histogram (model/histogram.h; `f` is then unused). Histograms are shared and
// immutable: an operation that changes one makes a new copy. Functions and operators test
// `IsHistogram()` and treat float and histogram points as Prometheus does.
//
// Example:
//   Vector v = result.vector;                 // instant query
//   for (const auto& s : v) printf("%s %g\n", s.metric.ToString().c_str(), s.f);
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/histogram.h"
#include "model/labels.h"
#include "promql/ast.h"

namespace argus::promql {

// One value of a series at a time (milliseconds since the epoch). `st_ms` is the stored
// sample's start timestamp (ms, 0 = unknown); only points read straight from a selector
// carry one (with EngineOptions::use_start_timestamps), every computed point has 0.
struct Point {
  int64_t t_ms = 0;
  double f = 0;
  std::shared_ptr<const FloatHistogram> h;  // set for a histogram point
  int64_t st_ms = 0;
  bool IsHistogram() const { return h != nullptr; }
};

// One element of an instant vector. `drop_name` marks a sample whose __name__ must be removed
// when the query ends (Prometheus 3's delayed name removal).
struct InstantSample {
  Labels metric;
  int64_t t_ms = 0;
  double f = 0;
  bool drop_name = false;
  std::shared_ptr<const FloatHistogram> h;  // set for a histogram sample
  bool IsHistogram() const { return h != nullptr; }
};
using Vector = std::vector<InstantSample>;

// A series of points (a range vector element, or one output series of a range query).
struct Series {
  Labels metric;
  std::vector<Point> points;
  bool drop_name = false;
};
using Matrix = std::vector<Series>;

// The result of a query: `type` says which member holds it.
struct QueryResult {
  ValueType type = ValueType::kNone;
  Vector vector;     // kVector
  Matrix matrix;     // kMatrix (range queries, and instant queries of range vectors)
  double scalar = 0; // kScalar
  std::string str;   // kString
  int64_t t_ms = 0;  // evaluation time of scalar/string results
  std::vector<std::string> warnings;  // "PromQL warning: ... (1:6)"
  std::vector<std::string> infos;     // "PromQL info: ... (1:6)"
  int64_t total_samples = 0;          // samples loaded (query stats)
  int64_t peak_samples = 0;
};

// Go's labels.Labels.String(): {a="b", c="d"} (also for __name__).
std::string GoLabelsString(const Labels& ls);

}  // namespace argus::promql
