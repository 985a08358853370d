#include "util/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace argus {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::Snapshot(std::vector<uint64_t>* cumulative, double* sum, uint64_t* count) const {
  cumulative->clear();
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    acc += counts_[i].load(std::memory_order_relaxed);
    cumulative->push_back(acc);
  }
  *sum = sum_.load(std::memory_order_relaxed);
  *count = acc;
}

struct MetricsRegistry::Entry {
  std::string name;
  std::string help;
  std::string type;
  MetricLabels labels;
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
  std::function<double()> fn;
};

MetricsRegistry::Entry* MetricsRegistry::Find(const std::string& name, const MetricLabels& labels) {
  for (auto& e : entries_) {
    if (e->name == name && e->labels == labels) return e.get();
  }
  return nullptr;
}

Counter* MetricsRegistry::NewCounter(const std::string& name, const std::string& help,
                                     const MetricLabels& labels) {
  std::lock_guard<std::mutex> l(mu_);
  if (Entry* e = Find(name, labels); e && e->counter) return e->counter.get();
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->help = help;
  e->type = "counter";
  e->labels = labels;
  e->counter = std::make_unique<Counter>();
  Counter* c = e->counter.get();
  entries_.push_back(std::move(e));
  return c;
}

Gauge* MetricsRegistry::NewGauge(const std::string& name, const std::string& help,
                                 const MetricLabels& labels) {
  std::lock_guard<std::mutex> l(mu_);
  if (Entry* e = Find(name, labels); e && e->gauge) return e->gauge.get();
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->help = help;
  e->type = "gauge";
  e->labels = labels;
  e->gauge = std::make_unique<Gauge>();
  Gauge* g = e->gauge.get();
  entries_.push_back(std::move(e));
  return g;
}

Histogram* MetricsRegistry::NewHistogram(const std::string& name, const std::string& help,
                                         std::vector<double> upper_bounds, const MetricLabels& labels) {
  std::lock_guard<std::mutex> l(mu_);
  if (Entry* e = Find(name, labels); e && e->histogram) return e->histogram.get();
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->help = help;
  e->type = "histogram";
  e->labels = labels;
  e->histogram = std::make_unique<Histogram>(std::move(upper_bounds));
  Histogram* h = e->histogram.get();
  entries_.push_back(std::move(e));
  return h;
}

void MetricsRegistry::NewGaugeFunc(const std::string& name, const std::string& help,
                                   std::function<double()> fn, const MetricLabels& labels) {
  std::lock_guard<std::mutex> l(mu_);
  if (Entry* e = Find(name, labels); e && e->fn) {
    e->fn = std::move(fn);
    return;
  }
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->help = help;
  e->type = "gauge";
  e->labels = labels;
  e->fn = std::move(fn);
  entries_.push_back(std::move(e));
}

namespace {
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

std::string LabelString(const MetricLabels& ls, const std::string& extra_name = "",
                        const std::string& extra_value = "") {
  std::string out;
  bool any = false;
  auto add = [&](const std::string& n, const std::string& v) {
    out.append(any ? "," : "{");
    any = true;
    out.append(n).append("=\"");
    for (char c : v) {
      if (c == '\\' || c == '"') out.push_back('\\');
      if (c == '\n') {
        out.append("\\n");
        continue;
      }
      out.push_back(c);
    }
    out.push_back('"');
  };
  for (const auto& [n, v] : ls) add(n, v);
  if (!extra_name.empty()) add(extra_name, extra_value);
  if (any) out.push_back('}');
  return out;
}
}  // namespace

std::string MetricsRegistry::Render() const {
  std::lock_guard<std::mutex> l(mu_);
  std::map<std::string, std::vector<const Entry*>> families;
  for (const auto& e : entries_) families[e->name].push_back(e.get());
  std::string out;
  for (const auto& [name, es] : families) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, es[0]->help, name, es[0]->type);
    for (const Entry* e : es) {
      if (e->counter) {
        out += name + LabelString(e->labels) + " " + FormatValue(e->counter->Value()) + "\n";
      } else if (e->gauge) {
        out += name + LabelString(e->labels) + " " + FormatValue(e->gauge->Value()) + "\n";
      } else if (e->fn) {
        out += name + LabelString(e->labels) + " " + FormatValue(e->fn()) + "\n";
      } else if (e->histogram) {
        std::vector<uint64_t> cum;
        double sum;
        uint64_t count;
        e->histogram->Snapshot(&cum, &sum, &count);
        const auto& b = e->histogram->bounds();
        for (size_t i = 0; i < b.size(); ++i) {
          out += name + "_bucket" + LabelString(e->labels, "le", FormatValue(b[i])) + " " +
                 std::to_string(cum[i]) + "\n";
        }
        out += name + "_bucket" + LabelString(e->labels, "le", "+Inf") + " " +
               std::to_string(cum.back()) + "\n";
        out += name + "_sum" + LabelString(e->labels) + " " + FormatValue(sum) + "\n";
        out += name + "_count" + LabelString(e->labels) + " " + std::to_string(count) + "\n";
      }
    }
  }
  return out;
}

MetricsRegistry& DefaultRegistry() {
  static MetricsRegistry* r = new MetricsRegistry();  // never destroyed: used until exit
  return *r;
}

std::vector<double> DefaultSecondsBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

}  // namespace argus
