#include "traceql/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace argus::traceql {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// More intervals than this is a mistake in the request (Prometheus uses 11000 too).
constexpr int64_t kMaxIntervals = 11000;

std::string ValueText(const OutputValue& v) {
  switch (v.type) {
    case OutputValue::Type::kString: return v.s;
    case OutputValue::Type::kInt: return std::to_string(v.i);
    case OutputValue::Type::kDouble: return fmt::format("{}", v.d);
    case OutputValue::Type::kBool: return v.b ? "true" : "false";
    case OutputValue::Type::kNone: return "nil";
  }
  return "";
}

// A key that tells label sets apart (type included, so 1 and "1" differ).
std::string LabelsKey(const std::vector<MetricsLabel>& ls, bool skip_name) {
  std::string k;
  for (const MetricsLabel& l : ls) {
    if (skip_name && l.key == "__name__") continue;
    k += l.key;
    k += '\x01';
    k += static_cast<char>('0' + static_cast<int>(l.value.type));
    k += ValueText(l.value);
    k += '\x02';
  }
  return k;
}

OutputValue Str(std::string s) {
  OutputValue v;
  v.type = OutputValue::Type::kString;
  v.s = std::move(s);
  return v;
}

OutputValue Dbl(double d) {
  OutputValue v;
  v.type = OutputValue::Type::kDouble;
  v.d = d;
  return v;
}

void SortLabels(std::vector<MetricsLabel>* ls) {
  std::stable_sort(ls->begin(), ls->end(),
                   [](const MetricsLabel& a, const MetricsLabel& b) { return a.key < b.key; });
}

bool IsDurationAttr(const Attribute& a) {
  return a.intrinsic == Intrinsic::kDuration || a.intrinsic == Intrinsic::kTraceDuration ||
         a.intrinsic == Intrinsic::kEventTimeSinceStart;
}

// The numeric value of `a` on span i (durations in seconds), false if missing or not numeric.
bool NumericValue(const TraceView& t, int i, const Attribute& a, double* out, double* bucket) {
  OutputValue v = AttributeValue(t, i, a);
  if (v.type == OutputValue::Type::kInt) {
    *out = static_cast<double>(v.i);
  } else if (v.type == OutputValue::Type::kDouble) {
    *out = v.d;
  } else {
    return false;
  }
  if (std::isnan(*out)) return false;
  // Power-of-two bucket upper bound; durations are bucketed by nanoseconds.
  double x = *out;
  *bucket = x <= 0 ? 0 : x <= 1 && IsDurationAttr(a) ? 1 : std::exp2(std::ceil(std::log2(x)));
  if (IsDurationAttr(a)) {
    *out /= 1e9;
    *bucket /= 1e9;
  }
  return true;
}

bool HasValue(const MetricsSeries& s) {
  return std::any_of(s.values.begin(), s.values.end(), [](double v) { return !std::isnan(v); });
}

void ApplyFilter(const MetricsFilter& f, std::vector<MetricsSeries>* series) {
  for (MetricsSeries& s : *series) {
    for (double& v : s.values) {
      if (!std::isnan(v) && !CompareNumbers(f.op, v, f.value)) v = kNaN;
    }
  }
  std::erase_if(*series, [](const MetricsSeries& s) { return !HasValue(s); });
}

void ApplySecond(const SecondStage& st, size_t intervals, std::vector<MetricsSeries>* series) {
  if (st.filter) {
    ApplyFilter(*st.filter, series);
    return;
  }
  std::vector<std::vector<bool>> keep(series->size(), std::vector<bool>(intervals, false));
  for (size_t i = 0; i < intervals; ++i) {
    std::vector<size_t> idx;
    for (size_t k = 0; k < series->size(); ++k) {
      if (!std::isnan((*series)[k].values[i])) idx.push_back(k);
    }
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      double x = (*series)[a].values[i], y = (*series)[b].values[i];
      return st.kind == SecondStage::Kind::kTopK ? x > y : x < y;
    });
    for (size_t n = 0; n < idx.size() && n < static_cast<size_t>(st.k); ++n) keep[idx[n]][i] = true;
  }
  for (size_t k = 0; k < series->size(); ++k) {
    for (size_t i = 0; i < intervals; ++i) {
      if (!keep[k][i]) (*series)[k].values[i] = kNaN;
    }
  }
  std::erase_if(*series, [](const MetricsSeries& s) { return !HasValue(s); });
}

double Arith(Op op, double a, double b) {
  switch (op) {
    case Op::kAdd: return a + b;
    case Op::kSub: return a - b;
    case Op::kMul: return a * b;
    case Op::kDiv: return a / b;
    case Op::kMod: return std::fmod(a, b);
    case Op::kPow: return std::pow(a, b);
    default: return kNaN;
  }
}

std::string Hex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

}  // namespace

std::string MetricsSeries::PromLabels() const {
  std::string out = "{";
  for (size_t k = 0; k < labels.size(); ++k) {
    if (k) out += ", ";
    out += labels[k].key + "=";
    std::string v = ValueText(labels[k].value);
    if (labels[k].value.type == OutputValue::Type::kString) {
      out += '"';
      for (char c : v) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
    } else {
      out += v;
    }
  }
  return out + "}";
}

int64_t DefaultMetricsStepNs(int64_t start_ns, int64_t end_ns) {
  constexpr int64_t kSecond = 1'000'000'000;
  int64_t baseline = (end_ns - start_ns) / 240;
  int64_t interval = baseline / (5 * kSecond) * (5 * kSecond);
  if (interval < 5 * kSecond) interval = baseline / kSecond * kSecond;
  return std::max(interval, kSecond);
}

double Log2Quantile(double p, const std::map<double, double>& buckets) {
  if (std::isnan(p) || p < 0 || p > 1 || buckets.empty()) return kNaN;
  double total_count = 0;
  for (const auto& [ub, c] : buckets) total_count += c;
  if (total_count == 0) return 0;
  // Rounded up, which treats small counts (< 100) better; at least one sample.
  double want = std::max(1.0, std::ceil(p * total_count));
  double seen = 0, prev_ub = 0;
  bool has_prev = false;
  for (const auto& [ub, c] : buckets) {
    if (seen + c > want) {
      // Inside this bucket: exponential interpolation from the previous bound (or ub/2).
      double interp = (want - seen) / c;
      double hi = std::log2(ub), lo = has_prev ? std::log2(prev_ub) : hi - 1;
      if (ub <= 0) return 0;
      if (has_prev && prev_ub <= 0) lo = hi - 1;
      return std::exp2(lo + (hi - lo) * interp);
    }
    seen += c;
    if (seen == want) return ub;
    prev_ub = ub;
    has_prev = true;
  }
  return prev_ub;
}

struct MetricsEvaluator::Leaf {
  const MetricsExpr* expr = nullptr;

  struct Group {
    std::vector<MetricsLabel> labels;
    std::vector<double> count, sum, min, max;
    std::map<double, std::vector<double>> buckets;  // upper bound -> count per interval
  };
  std::map<std::string, Group> groups;

  struct Candidate {
    std::string group;
    size_t interval = 0;
    double value = 0, bucket = 0;
    std::string trace_hex;
    int64_t ts_ms = 0;
  };
  std::vector<Candidate> exemplars;
  std::set<std::pair<std::string, size_t>> exemplar_slots;

  // compare(): per attribute key, per value, counts per interval for selection and baseline.
  struct CompareValue {
    OutputValue value;
    std::vector<double> selection, baseline;
    double selection_sum = 0, baseline_sum = 0;
  };
  struct CompareKey {
    std::map<std::string, CompareValue> values;
    std::vector<double> selection_total, baseline_total;
  };
  std::map<std::string, CompareKey> compare;
};

MetricsEvaluator::~MetricsEvaluator() = default;

Result<std::unique_ptr<MetricsEvaluator>> MetricsEvaluator::Create(const RootExpr& q,
                                                                    const MetricsRange& range) {
  if (q.kind != RootKind::kMetrics || !q.metrics) {
    return Status::InvalidArgument("not a metrics query: use a metrics function such as {} | rate()");
  }
  if (range.end_ns <= range.start_ns) {
    return Status::InvalidArgument(fmt::format("invalid range: start {} must be before end {}",
                                               range.start_ns, range.end_ns));
  }
  std::unique_ptr<MetricsEvaluator> ev(new MetricsEvaluator());
  ev->q_ = &q;
  ev->range_ = range;
  if (range.instant) {
    ev->first_ns_ = range.start_ns;
    ev->range_.step_ns = range.end_ns - range.start_ns;
    ev->intervals_ = 1;
  } else {
    if (range.step_ns <= 0) return Status::InvalidArgument("invalid step: must be > 0");
    int64_t first = range.start_ns / range.step_ns * range.step_ns;
    int64_t last = (range.end_ns + range.step_ns - 1) / range.step_ns * range.step_ns;
    int64_t n = std::max<int64_t>(1, (last - first) / range.step_ns);
    if (n > kMaxIntervals) {
      return Status::InvalidArgument(fmt::format(
          "invalid step: {} intervals exceed the maximum of {}; use a larger step", n, kMaxIntervals));
    }
    ev->first_ns_ = first;
    ev->intervals_ = static_cast<size_t>(n);
  }
  std::vector<const MetricsExpr*> todo{q.metrics.get()};
  while (!todo.empty()) {
    const MetricsExpr* m = todo.back();
    todo.pop_back();
    if (m->kind == MetricsExpr::Kind::kQuery) {
      auto leaf = std::make_unique<Leaf>();
      leaf->expr = m;
      ev->leaves_.emplace(m, std::move(leaf));
    } else if (m->kind == MetricsExpr::Kind::kBinary) {
      todo.push_back(m->lhs.get());
      todo.push_back(m->rhs.get());
    }
  }
  return ev;
}

const Pipeline* MetricsEvaluator::SinglePipeline() const {
  return leaves_.size() == 1 ? &leaves_.begin()->first->pipeline : nullptr;
}

Status MetricsEvaluator::Observe(const TraceView& trace) {
  ++traces_;
  spans_ += trace.spans().size();
  const size_t n = intervals_;
  for (auto& [expr, leaf] : leaves_) {
    const MetricsFirstStage& f = expr->first;
    std::vector<Spanset> sets = EvaluatePipeline(expr->pipeline, trace);
    std::vector<int> spans;
    for (const Spanset& s : sets) spans.insert(spans.end(), s.spans.begin(), s.spans.end());
    std::sort(spans.begin(), spans.end());
    spans.erase(std::unique(spans.begin(), spans.end()), spans.end());
    for (int i : spans) {
      const auto& sp = *trace.spans()[i].span;
      int64_t ts = static_cast<int64_t>(sp.start_time_unix_nano());
      if (ts < range_.start_ns || ts >= range_.end_ns) continue;
      size_t iv = static_cast<size_t>((ts - first_ns_) / range_.step_ns);
      if (iv >= n) continue;

      if (f.fn == MetricsFn::kCompare) {
        bool selected = SpanMatches(trace, i, *f.compare_filter);
        if (f.compare_start_ns || f.compare_end_ns) {
          selected = selected && ts >= f.compare_start_ns && (f.compare_end_ns == 0 || ts < f.compare_end_ns);
        }
        auto count = [&](const std::string& key, OutputValue v) {
          Leaf::CompareKey& ck = leaf->compare[key];
          if (ck.selection_total.empty()) {
            ck.selection_total.assign(n, 0);
            ck.baseline_total.assign(n, 0);
          }
          Leaf::CompareValue& cv = ck.values[std::string(1, static_cast<char>('0' + static_cast<int>(v.type))) + ValueText(v)];
          if (cv.selection.empty()) {
            cv.value = std::move(v);
            cv.selection.assign(n, 0);
            cv.baseline.assign(n, 0);
          }
          (selected ? cv.selection : cv.baseline)[iv] += 1;
          (selected ? cv.selection_sum : cv.baseline_sum) += 1;
          (selected ? ck.selection_total : ck.baseline_total)[iv] += 1;
        };
        auto attrs = [&](const std::string& prefix, const auto& kvs) {
          for (const auto& kv : kvs) {
            OutputValue v;
            switch (kv.value().value_case()) {
              case opentelemetry::proto::common::v1::AnyValue::kStringValue: v = Str(kv.value().string_value()); break;
              case opentelemetry::proto::common::v1::AnyValue::kIntValue:
                v.type = OutputValue::Type::kInt;
                v.i = kv.value().int_value();
                break;
              case opentelemetry::proto::common::v1::AnyValue::kDoubleValue: v = Dbl(kv.value().double_value()); break;
              case opentelemetry::proto::common::v1::AnyValue::kBoolValue:
                v.type = OutputValue::Type::kBool;
                v.b = kv.value().bool_value();
                break;
              default: continue;
            }
            count(prefix + kv.key(), std::move(v));
          }
        };
        attrs("span.", sp.attributes());
        if (trace.spans()[i].resource) attrs("resource.", trace.spans()[i].resource->attributes());
        for (Intrinsic in : {Intrinsic::kName, Intrinsic::kStatus, Intrinsic::kKind}) {
          Attribute a;
          a.intrinsic = in;
          count(IntrinsicName(in), AttributeValue(trace, i, a));
        }
        continue;
      }

      std::vector<MetricsLabel> labels;
      if (f.by.empty()) {
        labels.push_back({"__name__", Str(MetricsFnName(f.fn))});
      } else {
        for (const Attribute& a : f.by) labels.push_back({a.ToString(), AttributeValue(trace, i, a)});
        SortLabels(&labels);
      }
      double value = 1, bucket = 0;
      bool needs_value = f.fn != MetricsFn::kRate && f.fn != MetricsFn::kCountOverTime;
      if (needs_value && (!f.attr || !NumericValue(trace, i, *f.attr, &value, &bucket))) continue;
      std::string key = LabelsKey(labels, false);
      Leaf::Group& g = leaf->groups[key];
      if (g.count.empty()) {
        g.labels = std::move(labels);
        g.count.assign(n, 0);
        g.sum.assign(n, 0);
        g.min.assign(n, kNaN);
        g.max.assign(n, kNaN);
      }
      g.count[iv] += 1;
      g.sum[iv] += value;
      g.min[iv] = std::isnan(g.min[iv]) ? value : std::min(g.min[iv], value);
      g.max[iv] = std::isnan(g.max[iv]) ? value : std::max(g.max[iv], value);
      if (f.fn == MetricsFn::kQuantileOverTime || f.fn == MetricsFn::kHistogramOverTime) {
        auto& b = g.buckets[bucket];
        if (b.empty()) b.assign(n, 0);
        b[iv] += 1;
      }
      if (leaf->exemplars.size() < range_.max_exemplars && leaf->exemplar_slots.emplace(key, iv).second) {
        leaf->exemplars.push_back({key, iv, value, bucket, Hex(sp.trace_id()),
                                   ts / 1'000'000});
      }
    }
  }
  return Status::OK();
}

namespace {

MetricsExemplar MakeExemplar(const std::string& trace_hex, double value, int64_t ts_ms) {
  MetricsExemplar e;
  e.labels.push_back({"trace:id", Str(trace_hex)});
  e.value = value;
  e.ts_ms = ts_ms;
  return e;
}

}  // namespace

MetricsResult MetricsEvaluator::Finish() {
  const size_t n = intervals_;
  const double step_s = static_cast<double>(range_.step_ns) / 1e9;

  // Series of one leaf, before its filter and second stages.
  auto leaf_series = [&](const Leaf& leaf) {
    const MetricsFirstStage& f = leaf.expr->first;
    std::vector<MetricsSeries> out;
    if (f.fn == MetricsFn::kCompare) {
      for (const auto& [key, ck] : leaf.compare) {
        for (bool sel : {true, false}) {
          std::vector<const Leaf::CompareValue*> vals;
          for (const auto& [vk, cv] : ck.values) {
            if ((sel ? cv.selection_sum : cv.baseline_sum) > 0) vals.push_back(&cv);
          }
          std::stable_sort(vals.begin(), vals.end(), [&](const Leaf::CompareValue* a, const Leaf::CompareValue* b) {
            return sel ? a->selection_sum > b->selection_sum : a->baseline_sum > b->baseline_sum;
          });
          if (vals.size() > static_cast<size_t>(f.compare_top_n)) vals.resize(static_cast<size_t>(f.compare_top_n));
          for (const Leaf::CompareValue* cv : vals) {
            MetricsSeries s;
            s.labels = {{key, cv->value}, {"__meta_type", Str(sel ? "selection" : "baseline")}};
            s.values = sel ? cv->selection : cv->baseline;
            out.push_back(std::move(s));
          }
          MetricsSeries t;
          t.labels = {{key, OutputValue{}}, {"__meta_type", Str(sel ? "selection_total" : "baseline_total")}};
          t.values = sel ? ck.selection_total : ck.baseline_total;
          if (HasValue(t) && std::any_of(t.values.begin(), t.values.end(), [](double v) { return v > 0; })) {
            out.push_back(std::move(t));
          }
        }
      }
      for (MetricsSeries& s : out) SortLabels(&s.labels);
      return out;
    }
    std::map<std::string, size_t> index;  // group key -> first series of the group
    for (const auto& [key, g] : leaf.groups) {
      index[key] = out.size();
      if (f.fn == MetricsFn::kQuantileOverTime) {
        for (double q : f.quantiles) {
          MetricsSeries s;
          s.labels = g.labels;
          s.labels.push_back({"p", Dbl(q)});
          SortLabels(&s.labels);
          s.values.assign(n, kNaN);
          for (size_t i = 0; i < n; ++i) {
            if (g.count[i] == 0) continue;
            std::map<double, double> b;
            for (const auto& [ub, counts] : g.buckets) {
              if (counts[i] > 0) b[ub] = counts[i];
            }
            s.values[i] = Log2Quantile(q, b);
          }
          out.push_back(std::move(s));
        }
        continue;
      }
      if (f.fn == MetricsFn::kHistogramOverTime) {
        for (const auto& [ub, counts] : g.buckets) {
          MetricsSeries s;
          s.labels = g.labels;
          s.labels.push_back({"__bucket", Dbl(ub)});
          SortLabels(&s.labels);
          s.values = counts;
          out.push_back(std::move(s));
        }
        continue;
      }
      MetricsSeries s;
      s.labels = g.labels;
      s.values.assign(n, kNaN);
      for (size_t i = 0; i < n; ++i) {
        switch (f.fn) {
          case MetricsFn::kRate: s.values[i] = g.count[i] / step_s; break;
          case MetricsFn::kCountOverTime: s.values[i] = g.count[i]; break;
          case MetricsFn::kMinOverTime: s.values[i] = g.min[i]; break;
          case MetricsFn::kMaxOverTime: s.values[i] = g.max[i]; break;
          case MetricsFn::kSumOverTime: s.values[i] = g.count[i] ? g.sum[i] : kNaN; break;
          case MetricsFn::kAvgOverTime: s.values[i] = g.count[i] ? g.sum[i] / g.count[i] : kNaN; break;
          default: break;
        }
      }
      out.push_back(std::move(s));
    }
    // Exemplars: counting functions take the series' value in the interval; the others the
    // span's own value; quantiles go to the nearest quantile series, histograms to the bucket.
    for (const Leaf::Candidate& c : leaf.exemplars) {
      auto it = index.find(c.group);
      if (it == index.end()) continue;
      size_t first = it->second;
      switch (f.fn) {
        case MetricsFn::kRate: case MetricsFn::kCountOverTime: {
          double v = out[first].values[c.interval];
          if (!std::isnan(v)) out[first].exemplars.push_back(MakeExemplar(c.trace_hex, v, c.ts_ms));
          break;
        }
        case MetricsFn::kQuantileOverTime: {
          size_t best = first;
          double best_d = INFINITY;
          for (size_t k = 0; k < f.quantiles.size(); ++k) {
            double v = out[first + k].values[c.interval];
            if (!std::isnan(v) && std::abs(v - c.value) < best_d) {
              best_d = std::abs(v - c.value);
              best = first + k;
            }
          }
          if (best_d != INFINITY) out[best].exemplars.push_back(MakeExemplar(c.trace_hex, c.value, c.ts_ms));
          break;
        }
        case MetricsFn::kHistogramOverTime: {
          const auto& g = leaf.groups.at(c.group);
          size_t k = static_cast<size_t>(std::distance(g.buckets.begin(), g.buckets.find(c.bucket)));
          if (k < g.buckets.size()) {
            MetricsSeries& s = out[first + k];
            s.exemplars.push_back(MakeExemplar(c.trace_hex, s.values[c.interval], c.ts_ms));
          }
          break;
        }
        default:
          out[first].exemplars.push_back(MakeExemplar(c.trace_hex, c.value, c.ts_ms));
          break;
      }
    }
    return out;
  };

  auto stages = [&](const MetricsExpr& m, std::vector<MetricsSeries>* s) {
    if (m.filter) ApplyFilter(*m.filter, s);
    for (const SecondStage& st : m.second) ApplySecond(st, n, s);
  };

  std::function<std::vector<MetricsSeries>(const MetricsExpr&)> eval = [&](const MetricsExpr& m) {
    std::vector<MetricsSeries> out;
    if (m.kind == MetricsExpr::Kind::kQuery) {
      out = leaf_series(*leaves_.at(&m));
    } else if (m.kind == MetricsExpr::Kind::kNumber) {
      MetricsSeries s;  // a number on its own: one unlabeled series
      s.values.assign(n, m.number);
      out.push_back(std::move(s));
    } else {
      const MetricsExpr& l = *m.lhs;
      const MetricsExpr& r = *m.rhs;
      if (r.kind == MetricsExpr::Kind::kNumber || l.kind == MetricsExpr::Kind::kNumber) {
        bool num_left = l.kind == MetricsExpr::Kind::kNumber;
        out = eval(num_left ? r : l);
        double x = num_left ? l.number : r.number;
        for (MetricsSeries& s : out) {
          s.exemplars.clear();
          for (double& v : s.values) v = num_left ? Arith(m.op, x, v) : Arith(m.op, v, x);
        }
      } else {
        std::vector<MetricsSeries> ls = eval(l), rs = eval(r);
        std::map<std::string, const MetricsSeries*> by_labels;
        for (const MetricsSeries& s : rs) by_labels[LabelsKey(s.labels, true)] = &s;
        for (MetricsSeries& s : ls) {
          auto it = by_labels.find(LabelsKey(s.labels, true));
          if (it == by_labels.end()) continue;
          s.exemplars.clear();
          for (size_t i = 0; i < n; ++i) s.values[i] = Arith(m.op, s.values[i], it->second->values[i]);
          out.push_back(std::move(s));
        }
        std::erase_if(out, [](const MetricsSeries& s) { return !HasValue(s); });
      }
    }
    stages(m, &out);
    return out;
  };

  MetricsResult res;
  res.first_interval_ns = first_ns_;
  res.step_ns = range_.step_ns;
  res.intervals = n;
  res.series = eval(*q_->metrics);
  std::stable_sort(res.series.begin(), res.series.end(), [](const MetricsSeries& a, const MetricsSeries& b) {
    return a.PromLabels() < b.PromLabels();
  });
  res.inspected_spans = spans_;
  res.inspected_traces = traces_;
  return res;
}

}  // namespace argus::traceql
