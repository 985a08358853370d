// Argus's own metrics, served at /metrics in the Prometheus text format 0.0.4
// (Prometheus docs, instrumenting/exposition_formats). A tiny registry: counters, gauges and
// histograms with fixed label values, registered once at startup and updated with atomics on
// hot paths.
//
// Example:
//   static Counter* samples = DefaultRegistry().NewCounter(
//       "argus_tsdb_head_samples_appended_total", "Samples appended to the head.");
//   samples->Inc(n);
//   std::string text = DefaultRegistry().Render();
//
// Thread-safety: registration, updates and Render may run concurrently. Metric objects are
// owned by the registry and live as long as it (the default registry: the whole process).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <utility>

namespace argus {

// Constant labels of one metric: (name, value) pairs sorted by name.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(double d = 1) { Add(d); }
  double Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  friend class MetricsRegistry;
  void Add(double d) {
    double cur = v_.load(std::memory_order_relaxed);
    while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
    }
  }
  std::atomic<double> v_{0};
};

class Gauge {
 public:
  void Set(double d) { v_.store(d, std::memory_order_relaxed); }
  void Add(double d) {
    double cur = v_.load(std::memory_order_relaxed);
    while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
    }
  }
  double Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// A cumulative histogram with fixed upper bounds (seconds, bytes, ... as the name says).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double v);
  // Cumulative counts per bound, then +Inf; sum; count. Consistent enough for monitoring.
  void Snapshot(std::vector<uint64_t>* cumulative, double* sum, uint64_t* count) const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // one per bound, plus +Inf
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

class MetricsRegistry {
 public:
  // Each New* returns a metric owned by the registry. Calling twice with the same name and
  // labels returns the same object. `labels` are (name, value) pairs, sorted by name.
  Counter* NewCounter(const std::string& name, const std::string& help, const MetricLabels& labels = {});
  Gauge* NewGauge(const std::string& name, const std::string& help, const MetricLabels& labels = {});
  Histogram* NewHistogram(const std::string& name, const std::string& help,
                          std::vector<double> upper_bounds, const MetricLabels& labels = {});
  // A gauge whose value is computed by `fn` at render time (e.g. series count, WAL size).
  // `fn` must be thread-safe and cheap.
  void NewGaugeFunc(const std::string& name, const std::string& help, std::function<double()> fn,
                    const MetricLabels& labels = {});

  // The whole registry in text format 0.0.4, families sorted by name.
  std::string Render() const;

 private:
  struct Entry;
  Entry* Find(const std::string& name, const MetricLabels& labels);
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;  // GUARDED_BY(mu_)
};

// The process-wide registry that /metrics serves.
MetricsRegistry& DefaultRegistry();

// Default latency buckets in seconds (Prometheus client's DefBuckets).
std::vector<double> DefaultSecondsBuckets();

}  // namespace argus
