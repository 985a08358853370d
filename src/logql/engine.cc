#include "logql/engine.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <unordered_map>

#include "logql/convert.h"

namespace argus::logql {

std::string_view ResultTypeName(QueryResult::Type t) {
  switch (t) {
    case QueryResult::Type::kStreams: return "streams";
    case QueryResult::Type::kVector: return "vector";
    case QueryResult::Type::kMatrix: return "matrix";
    case QueryResult::Type::kScalar: return "scalar";
  }
  return "";
}

namespace {

// A series over all steps: value and presence per step.
struct StepSeries {
  LabelSet labels;
  std::vector<double> v;
  std::vector<uint8_t> has;
};

struct StepMatrix {
  bool scalar = false;
  std::vector<double> scalar_v;  // when scalar
  std::vector<StepSeries> series;
};

std::string Key(const LabelSet& ls) {
  std::string k;
  for (const Label& l : ls) {
    k += l.name;
    k.push_back('\xff');
    k += l.value;
    k.push_back('\xfe');
  }
  return k;
}

LabelSet GroupLabels(const LabelSet& ls, const std::optional<Grouping>& g) {
  if (!g) return {};
  LabelSet out;
  for (const Label& l : ls) {
    bool listed = std::find(g->labels.begin(), g->labels.end(), l.name) != g->labels.end();
    if (listed != g->without) out.push_back(l);
  }
  return out;
}

Status PipelineError(const LabelSet& ls) {
  std::string err;
  for (const Label& l : ls) {
    if (l.name == kErrorLabel) err = l.value;
  }
  return Status::InvalidArgument(
      "pipeline error: '" + err + "' for series: '" + LabelSetString(ls) +
      "'.\nUse a label filter to intentionally skip this error. (e.g | __error__!=\"" + err +
      "\").\nTo skip all potential errors you can match empty errors.(e.g __error__=\"\")\nThe label "
      "filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )\n");
}

bool HasErrorLabel(const LabelSet& ls) {
  for (const Label& l : ls) {
    if (l.name == kErrorLabel) return true;
  }
  return false;
}

// Runs the pipeline on one entry. Returns false if a stage drops it.
bool RunStages(const std::vector<StagePtr>& stages, int64_t ts, std::string& line, LineLabels& lbs) {
  for (const StagePtr& s : stages) {
    if (!s->Process(ts, line, lbs)) return false;
  }
  return true;
}

// The literals of the pipeline's leading `|= "..."` filters, for the store to skip blocks.
logstore::SelectHints HintsFor(const LogSelector& sel) {
  logstore::SelectHints h;
  for (const StagePtr& s : sel.stages) {
    if (!s->IsLineFilter()) break;
    if (const std::string* lit = s->RequiredLiteral()) h.line_contains.push_back(*lit);
  }
  return h;
}

// Calls `fn` for every entry of the cursors in one time order without holding more than one
// batch per stream: a k-way merge on a heap. Forward: ascending time, equal timestamps by
// stream (Open's order) and then arrival. Backward: the exact reverse. `fn` returns false to
// stop reading (a log query that has its `limit`).
using EntryFn = std::function<Result<bool>(const Labels& stream, const LogEntry& e)>;
Status MergeCursors(std::vector<logstore::StreamCursor>& cs, bool fwd, const EntryFn& fn) {
  struct Pos {
    std::span<const LogEntry> batch;
    size_t i = 0;
  };
  std::vector<Pos> ps(cs.size());
  auto refill = [&](size_t s) -> Result<bool> {
    ASSIGN_OR_RETURN(std::span<const LogEntry> b, cs[s].cursor->Next());
    if (b.empty()) {
      cs[s].cursor.reset();  // done: free its buffers now
      return false;
    }
    ps[s].batch = b;
    ps[s].i = fwd ? 0 : b.size() - 1;
    return true;
  };
  auto cur = [&](size_t s) -> const LogEntry& { return ps[s].batch[ps[s].i]; };
  auto later = [&](size_t a, size_t b) {  // a comes after b: the heap's top is the next entry
    int64_t ta = cur(a).ts_ns, tb = cur(b).ts_ns;
    if (fwd) return ta != tb ? ta > tb : a > b;
    return ta != tb ? ta < tb : a < b;
  };
  std::vector<size_t> heap;
  for (size_t s = 0; s < cs.size(); ++s) {
    ASSIGN_OR_RETURN(bool ok, refill(s));
    if (ok) heap.push_back(s);
  }
  std::make_heap(heap.begin(), heap.end(), later);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    size_t s = heap.back();
    ASSIGN_OR_RETURN(bool more, fn(cs[s].labels, cur(s)));
    if (!more) return Status::OK();
    bool has = false;
    if (fwd ? ++ps[s].i < ps[s].batch.size() : ps[s].i-- > 0) {
      has = true;
    } else {
      ASSIGN_OR_RETURN(has, refill(s));
    }
    if (has) {
      std::push_heap(heap.begin(), heap.end(), later);
    } else {
      heap.pop_back();
    }
  }
  return Status::OK();
}

// What a range aggregation keeps per series and step while entries stream through it, in time
// order; Aggregate turns it into the step's value.
struct Acc {
  uint64_t n = 0;
  double sum = 0;
  double r = 0;                 // min/max
  double mean = 0, m2 = 0;      // stddev/stdvar (Welford)
  double first = 0, last = 0;   // first/last_over_time, rate_counter
  double correction = 0;        // rate_counter: counter resets
  int64_t first_ts = 0, last_ts = 0;
};

class Evaluator {
 public:
  Evaluator(const LogReader& r, const QueryParams& p, QueryStats* stats) : r_(r), p_(p), stats_(stats) {
    n_ = p.instant() ? 1 : static_cast<size_t>((p.end_ns - p.start_ns) / p.step_ns) + 1;
  }
  size_t steps() const { return n_; }
  int64_t StepTs(size_t i) const { return p_.instant() ? p_.end_ns : p_.start_ns + static_cast<int64_t>(i) * p_.step_ns; }

  Result<StepMatrix> Eval(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kLiteral: {
        StepMatrix m;
        m.scalar = true;
        m.scalar_v.assign(n_, e.value);
        return m;
      }
      case ExprKind::kVector: {
        StepMatrix m;
        StepSeries s;
        s.v.assign(n_, e.value);
        s.has.assign(n_, 1);
        m.series.push_back(std::move(s));
        return m;
      }
      case ExprKind::kRangeAgg: return RangeAgg(e);
      case ExprKind::kVectorAgg: return VectorAgg(e);
      case ExprKind::kBinary: return Binary(e);
      case ExprKind::kLabelReplace: return LabelReplace(e);
      case ExprKind::kLog: return Status::InvalidArgument("log queries cannot be evaluated as metrics");
    }
    return Status::Internal("unknown expression");
  }

 private:
  // The steps whose window (StepTs(i) - offset - range, StepTs(i) - offset] holds `ts`.
  std::pair<size_t, size_t> StepsCovering(const Expr& e, int64_t ts) const {
    if (p_.instant()) {
      int64_t hi = p_.end_ns - e.offset_ns;
      return ts <= hi && ts > hi - e.range_ns ? std::pair<size_t, size_t>{0, 1} : std::pair<size_t, size_t>{0, 0};
    }
    auto ceil_div = [](int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); };
    int64_t lo = std::max<int64_t>(0, ceil_div(ts + e.offset_ns - p_.start_ns, p_.step_ns));
    int64_t hi = std::min<int64_t>(static_cast<int64_t>(n_), ceil_div(ts + e.offset_ns + e.range_ns - p_.start_ns, p_.step_ns));
    if (hi <= lo) return {0, 0};
    return {static_cast<size_t>(lo), static_cast<size_t>(hi)};
  }

  // Adds one sample to a step's accumulator: only what `op` reads.
  static void Fold(RangeOp op, Acc& a, int64_t ts, double v) {
    const bool first = a.n == 0;
    ++a.n;
    switch (op) {
      case RangeOp::kCount: case RangeOp::kAbsent: case RangeOp::kQuantile: return;
      case RangeOp::kRate: case RangeOp::kBytes: case RangeOp::kBytesRate: case RangeOp::kSum: case RangeOp::kAvg:
        a.sum += v;
        return;
      case RangeOp::kMin: case RangeOp::kMax:
        if (first || (op == RangeOp::kMin ? (v < a.r || std::isnan(a.r)) : (v > a.r || std::isnan(a.r)))) a.r = v;
        return;
      case RangeOp::kStddev: case RangeOp::kStdvar: {
        double delta = v - a.mean;
        a.mean += delta / static_cast<double>(a.n);
        a.m2 += delta * (v - a.mean);
        return;
      }
      case RangeOp::kFirst: case RangeOp::kLast: case RangeOp::kRateCounter:
        if (first) {
          a.first = v;
          a.first_ts = ts;
        } else if (op == RangeOp::kRateCounter && v < a.last) {
          a.correction += a.last;
        }
        a.last = v;
        a.last_ts = ts;
        return;
    }
  }

  // Range aggregations stream: entries come from the store batch by batch in one time order
  // (MergeCursors) and are folded into per-series, per-step accumulators, so memory is the
  // result's (series x steps), not the data's. Only quantile_over_time keeps the values of
  // each window (a quantile needs them all).
  Result<StepMatrix> RangeAgg(const Expr& e) {
    const int64_t first_lo = StepTs(0) - e.offset_ns - e.range_ns;
    const int64_t last_hi = StepTs(n_ - 1) - e.offset_ns;
    struct Group {
      LabelSet labels;
      std::vector<Acc> acc;                      // per step
      std::vector<std::vector<double>> values;   // per step, quantile_over_time only
    };
    const bool quantile = e.range_op == RangeOp::kQuantile;
    std::unordered_map<std::string, size_t> index;
    std::vector<Group> groups;
    const logstore::SelectHints hints = HintsFor(e.selector);
    ASSIGN_OR_RETURN(std::vector<logstore::StreamCursor> cursors,
                     r_.Open(e.selector.matchers, first_lo + 1, last_hi, logstore::Order::kForward, &hints));
    stats_->streams_scanned += cursors.size();
    std::string line;
    auto fold = [&](Group& g, int64_t ts, double v) {
      auto [s0, s1] = StepsCovering(e, ts);
      for (size_t i = s0; i < s1; ++i) {
        Fold(e.range_op, g.acc[i], ts, v);
        if (quantile) g.values[i].push_back(v);
      }
    };
    // Without stages or unwrap an entry's series is its stream's labels (plus its metadata):
    // its group is looked up once per stream, not built per entry.
    const bool plain = e.selector.stages.empty() && !e.unwrap;
    std::unordered_map<const Labels*, size_t> plain_group;
    auto add = [&](const Labels& stream, const LogEntry& en) -> Result<bool> {
      ++stats_->entries_scanned;
      stats_->bytes_scanned += en.line.size();
      const bool cacheable = plain && en.metadata.empty();
      if (cacheable) {
        auto pg = plain_group.find(&stream);
        if (pg != plain_group.end()) {
          bool bytes = e.range_op == RangeOp::kBytes || e.range_op == RangeOp::kBytesRate;
          fold(groups[pg->second], en.ts_ns, bytes ? static_cast<double>(en.line.size()) : 1);
          return true;
        }
      }
      LineLabels lbs(stream);
      for (const Label& m : en.metadata) lbs.AddMetadata(m.name, m.value);
      line = en.line;
      if (!RunStages(e.selector.stages, en.ts_ns, line, lbs)) return true;
      double v = 1;
      if (e.range_op == RangeOp::kBytes || e.range_op == RangeOp::kBytesRate) v = static_cast<double>(line.size());
      if (e.unwrap) {
        const Unwrap& u = *e.unwrap;
        if (!lbs.Has(u.label)) return true;
        std::string raw(lbs.Get(u.label));
        if (!lbs.HasError()) {
          Result<double> conv = 0.0;
          if (u.conversion == Unwrap::Conversion::kFloat) {
            conv = ParseGoFloat(raw);
          } else if (u.conversion == Unwrap::Conversion::kDuration) {
            auto d = ParseGoDuration(raw);
            conv = d.ok() ? Result<double>(static_cast<double>(*d) / 1e9) : Result<double>(d.status());
          } else {
            auto b = ParseHumanBytes(raw);
            conv = b.ok() ? Result<double>(static_cast<double>(*b)) : Result<double>(b.status());
          }
          if (conv.ok()) {
            v = *conv;
          } else {
            lbs.SetError("SampleExtractionErr", conv.status().message());
            v = 0;
          }
        }
        if (!RunStages(u.post_filters, en.ts_ns, line, lbs)) return true;
        lbs.Del(u.label);
      }
      LabelSet ls = lbs.ToLabelSet();
      if (HasErrorLabel(ls)) return PipelineError(ls);
      if (e.grouping) ls = GroupLabels(ls, e.grouping);
      std::string k = Key(ls);
      auto it = index.find(k);
      if (it == index.end()) {
        it = index.emplace(k, groups.size()).first;
        groups.push_back({std::move(ls), std::vector<Acc>(n_), {}});
        if (quantile) groups.back().values.resize(n_);
      }
      if (cacheable) plain_group[&stream] = it->second;
      fold(groups[it->second], en.ts_ns, v);
      return true;
    };
    // Counting needs no time order (its sums are of small integers, exact in any order): the
    // streams are read one after another, one block in flight. Everything else reads a merge
    // in time order, which first/last, rate_counter and float sums need.
    const bool order_free = e.range_op == RangeOp::kCount || e.range_op == RangeOp::kAbsent ||
                            (!e.unwrap && (e.range_op == RangeOp::kRate || e.range_op == RangeOp::kBytes ||
                                           e.range_op == RangeOp::kBytesRate));
    if (order_free) {
      for (logstore::StreamCursor& c : cursors) {
        while (true) {
          ASSIGN_OR_RETURN(std::span<const LogEntry> batch, c.cursor->Next());
          if (batch.empty()) break;
          for (const LogEntry& en : batch) RETURN_IF_ERROR(add(c.labels, en).status());
        }
        c.cursor.reset();
      }
    } else {
      RETURN_IF_ERROR(MergeCursors(cursors, true, add));
    }
    StepMatrix out;
    const double range_s = static_cast<double>(e.range_ns) / 1e9;
    if (e.range_op == RangeOp::kAbsent) {
      StepSeries s;
      for (const Matcher& m : e.selector.matchers) {
        if (m.type() == MatchType::kEqual) s.labels.push_back({m.name(), m.value()});
      }
      std::sort(s.labels.begin(), s.labels.end(), [](const Label& a, const Label& b) { return a.name < b.name; });
      s.v.assign(n_, 1);
      s.has.assign(n_, 0);
      bool any = false;
      for (size_t i = 0; i < n_; ++i) {
        bool present = std::any_of(groups.begin(), groups.end(), [&](const Group& g) { return g.acc[i].n > 0; });
        if (!present) {
          s.has[i] = 1;
          any = true;
        }
      }
      if (any) out.series.push_back(std::move(s));
      return out;
    }
    for (Group& g : groups) {
      StepSeries s;
      s.labels = std::move(g.labels);
      s.v.assign(n_, 0);
      s.has.assign(n_, 0);
      bool any = false;
      for (size_t i = 0; i < n_; ++i) {
        if (g.acc[i].n == 0) continue;
        int64_t hi = StepTs(i) - e.offset_ns, lo = hi - e.range_ns;
        s.v[i] = Aggregate(e, g.acc[i], quantile ? std::move(g.values[i]) : std::vector<double>(), lo, hi, range_s);
        s.has[i] = 1;
        any = true;
      }
      if (any) out.series.push_back(std::move(s));
    }
    return out;
  }

  static double Quantile(double q, std::vector<double> vals) {
    if (vals.empty()) return NAN;
    if (q < 0) return -INFINITY;
    if (q > 1) return INFINITY;
    // NaN first, as Go's sort.Float64s orders them (and a strict weak order for std::sort).
    std::sort(vals.begin(), vals.end(), [](double a, double b) {
      return std::isnan(a) ? !std::isnan(b) : (!std::isnan(b) && a < b);
    });
    double n = static_cast<double>(vals.size());
    double rank = q * (n - 1);
    size_t lo = static_cast<size_t>(std::max(0.0, std::floor(rank)));
    size_t hi = static_cast<size_t>(std::min(n - 1, lo + 1.0));
    double w = rank - std::floor(rank);
    return vals[lo] * (1 - w) + vals[hi] * w;
  }

  // The value of one step's window from its accumulator (`values`: the window's samples, for
  // quantile_over_time only).
  static double Aggregate(const Expr& e, const Acc& a, std::vector<double> values, int64_t lo, int64_t hi,
                          double range_s) {
    const double count = static_cast<double>(a.n);
    switch (e.range_op) {
      case RangeOp::kCount: return count;
      case RangeOp::kRate: case RangeOp::kBytesRate: case RangeOp::kBytes: case RangeOp::kSum: {
        double sum = a.sum;
        if (e.range_op == RangeOp::kRate && !e.unwrap) sum = count;
        return e.range_op == RangeOp::kRate || e.range_op == RangeOp::kBytesRate ? sum / range_s : sum;
      }
      case RangeOp::kAvg: return a.sum / count;
      case RangeOp::kMin: case RangeOp::kMax: return a.r;
      case RangeOp::kStddev: case RangeOp::kStdvar: {
        double var = a.m2 / count;
        return e.range_op == RangeOp::kStddev ? std::sqrt(var) : var;
      }
      case RangeOp::kQuantile: return Quantile(*e.param, std::move(values));
      case RangeOp::kFirst: return a.first;
      case RangeOp::kLast: return a.last;
      case RangeOp::kRateCounter: {
        if (a.n < 2) return 0;
        double first = a.first, last = a.last;
        double result = last - first + a.correction;
        double to_start = static_cast<double>(a.first_ts - lo) / 1e9;
        double to_end = static_cast<double>(hi - a.last_ts) / 1e9;
        double sampled = static_cast<double>(a.last_ts - a.first_ts) / 1e9;
        double avg = sampled / (count - 1);
        double threshold = avg * 1.1;
        if (to_start >= threshold) to_start = avg / 2;
        if (result > 0 && first >= 0) {
          double to_zero = sampled * (first / result);
          if (to_zero < to_start) to_start = to_zero;
        }
        if (to_end >= threshold) to_end = avg / 2;
        double factor = (sampled + to_start + to_end) / sampled;
        return result * factor / range_s;
      }
      case RangeOp::kAbsent: return 1;
    }
    return NAN;
  }

  Result<StepMatrix> VectorAgg(const Expr& e) {
    if (e.vector_op == VectorOp::kApproxTopk && !p_.instant()) {
      return Status::InvalidArgument("approx_topk is only supported on instant queries");
    }
    ASSIGN_OR_RETURN(StepMatrix in, Eval(*e.lhs));
    StepMatrix out;
    if (in.scalar) return Status::InvalidArgument("vector aggregation over a scalar");
    const bool selecting = e.vector_op == VectorOp::kTopk || e.vector_op == VectorOp::kBottomk ||
                           e.vector_op == VectorOp::kApproxTopk || e.vector_op == VectorOp::kSort ||
                           e.vector_op == VectorOp::kSortDesc;
    if (selecting) {
      out.series = in.series;
      for (auto& s : out.series) std::fill(s.has.begin(), s.has.end(), 0);
      for (size_t i = 0; i < n_; ++i) {
        std::map<std::string, std::vector<size_t>> groups;
        for (size_t j = 0; j < in.series.size(); ++j) {
          if (!in.series[j].has[i]) continue;
          std::string k = (e.vector_op == VectorOp::kSort || e.vector_op == VectorOp::kSortDesc)
                              ? std::string() : Key(GroupLabels(in.series[j].labels, e.grouping));
          groups[k].push_back(j);
        }
        for (auto& [k, idx] : groups) {
          bool top = e.vector_op != VectorOp::kBottomk && e.vector_op != VectorOp::kSort;
          std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
            double x = in.series[a].v[i], y = in.series[b].v[i];
            if (std::isnan(x)) return false;
            if (std::isnan(y)) return true;
            return top ? x > y : x < y;
          });
          size_t k_n = e.param ? static_cast<size_t>(*e.param) : idx.size();
          for (size_t r = 0; r < idx.size() && r < k_n; ++r) {
            out.series[idx[r]].has[i] = 1;
          }
        }
      }
      std::erase_if(out.series, [](const StepSeries& s) {
        return std::none_of(s.has.begin(), s.has.end(), [](uint8_t h) { return h != 0; });
      });
      if ((e.vector_op == VectorOp::kSort || e.vector_op == VectorOp::kSortDesc || p_.instant()) && n_ == 1) {
        bool top = e.vector_op != VectorOp::kBottomk && e.vector_op != VectorOp::kSort;
        std::stable_sort(out.series.begin(), out.series.end(), [&](const StepSeries& a, const StepSeries& b) {
          double x = a.v[0], y = b.v[0];
          if (std::isnan(x)) return false;
          if (std::isnan(y)) return true;
          return top ? x > y : x < y;
        });
      }
      return out;
    }
    std::unordered_map<std::string, size_t> index;
    // Per output series and step: the values gathered.
    std::vector<std::vector<std::vector<double>>> vals;
    for (const StepSeries& s : in.series) {
      LabelSet g = e.grouping ? GroupLabels(s.labels, e.grouping) : LabelSet{};
      std::string k = Key(g);
      auto it = index.find(k);
      if (it == index.end()) {
        it = index.emplace(k, out.series.size()).first;
        StepSeries o;
        o.labels = std::move(g);
        o.v.assign(n_, 0);
        o.has.assign(n_, 0);
        out.series.push_back(std::move(o));
        vals.emplace_back(n_);
      }
      for (size_t i = 0; i < n_; ++i) {
        if (s.has[i]) vals[it->second][i].push_back(s.v[i]);
      }
    }
    for (size_t j = 0; j < out.series.size(); ++j) {
      for (size_t i = 0; i < n_; ++i) {
        const auto& xs = vals[j][i];
        if (xs.empty()) continue;
        out.series[j].has[i] = 1;
        out.series[j].v[i] = Combine(e.vector_op, xs);
      }
    }
    std::erase_if(out.series, [](const StepSeries& s) {
      return std::none_of(s.has.begin(), s.has.end(), [](uint8_t h) { return h != 0; });
    });
    return out;
  }

  static double Combine(VectorOp op, const std::vector<double>& xs) {
    switch (op) {
      case VectorOp::kSum: {
        double s = 0;
        for (double x : xs) s += x;
        return s;
      }
      case VectorOp::kAvg: {
        double s = 0;
        for (double x : xs) s += x;
        return s / static_cast<double>(xs.size());
      }
      case VectorOp::kCount: return static_cast<double>(xs.size());
      case VectorOp::kMin: case VectorOp::kMax: {
        double r = xs[0];
        for (double x : xs) {
          if (op == VectorOp::kMin ? (x < r || std::isnan(r)) : (x > r || std::isnan(r))) r = x;
        }
        return r;
      }
      case VectorOp::kStddev: case VectorOp::kStdvar: {
        double mean = 0, m2 = 0, count = 0;
        for (double x : xs) {
          count++;
          double delta = x - mean;
          mean += delta / count;
          m2 += delta * (x - mean);
        }
        double var = m2 / count;
        return op == VectorOp::kStddev ? std::sqrt(var) : var;
      }
      default: return NAN;
    }
  }

  static double Arith(BinaryOp op, double a, double b, bool* keep) {
    *keep = true;
    switch (op) {
      case BinaryOp::kAdd: return a + b;
      case BinaryOp::kSub: return a - b;
      case BinaryOp::kMul: return a * b;
      case BinaryOp::kDiv: return b == 0 ? NAN : a / b;
      case BinaryOp::kMod: return b == 0 ? NAN : std::fmod(a, b);
      case BinaryOp::kPow: return std::pow(a, b);
      case BinaryOp::kEq: *keep = a == b; break;
      case BinaryOp::kNe: *keep = a != b; break;
      case BinaryOp::kGt: *keep = a > b; break;
      case BinaryOp::kGe: *keep = a >= b; break;
      case BinaryOp::kLt: *keep = a < b; break;
      case BinaryOp::kLe: *keep = a <= b; break;
      default: break;
    }
    return a;
  }

  Result<StepMatrix> Binary(const Expr& e) {
    ASSIGN_OR_RETURN(StepMatrix l, Eval(*e.lhs));
    ASSIGN_OR_RETURN(StepMatrix r, Eval(*e.rhs));
    const BinaryOp op = e.binary_op;
    const bool cmp = IsComparison(op);
    StepMatrix out;
    if (l.scalar && r.scalar) {
      out.scalar = true;
      out.scalar_v.resize(n_);
      for (size_t i = 0; i < n_; ++i) {
        bool keep;
        double v = Arith(op, l.scalar_v[i], r.scalar_v[i], &keep);
        out.scalar_v[i] = cmp ? (keep ? 1 : 0) : v;
      }
      return out;
    }
    if (l.scalar || r.scalar) {
      const bool swap = l.scalar;
      StepMatrix& vec = swap ? r : l;
      const std::vector<double>& sc = swap ? l.scalar_v : r.scalar_v;
      for (StepSeries& s : vec.series) {
        StepSeries o;
        o.labels = s.labels;
        o.v.assign(n_, 0);
        o.has.assign(n_, 0);
        bool any = false;
        for (size_t i = 0; i < n_; ++i) {
          if (!s.has[i]) continue;
          double a = swap ? sc[i] : s.v[i], b = swap ? s.v[i] : sc[i];
          bool keep;
          double v = Arith(op, a, b, &keep);
          if (cmp) {
            if (e.return_bool) {
              v = keep ? 1 : 0;
            } else {
              if (!keep) continue;
              v = s.v[i];
            }
          }
          o.v[i] = v;
          o.has[i] = 1;
          any = true;
        }
        if (any) out.series.push_back(std::move(o));
      }
      return out;
    }
    return VectorBinary(e, l, r);
  }

  LabelSet Signature(const LabelSet& ls, const VectorMatching& m) const {
    LabelSet out;
    for (const Label& l : ls) {
      bool listed = std::find(m.matching_labels.begin(), m.matching_labels.end(), l.name) != m.matching_labels.end();
      if (m.on ? listed : !listed) out.push_back(l);
    }
    return out;
  }

  Result<StepMatrix> VectorBinary(const Expr& e, const StepMatrix& l, const StepMatrix& r) {
    const BinaryOp op = e.binary_op;
    const VectorMatching& m = e.matching;
    std::vector<std::string> lsig, rsig;
    for (const auto& s : l.series) lsig.push_back(Key(Signature(s.labels, m)));
    for (const auto& s : r.series) rsig.push_back(Key(Signature(s.labels, m)));
    StepMatrix out;
    std::unordered_map<std::string, size_t> index;
    auto emit = [&](const LabelSet& ls, size_t i, double v) {
      std::string k = Key(ls);
      auto it = index.find(k);
      if (it == index.end()) {
        it = index.emplace(k, out.series.size()).first;
        StepSeries o;
        o.labels = ls;
        o.v.assign(n_, 0);
        o.has.assign(n_, 0);
        out.series.push_back(std::move(o));
      }
      out.series[it->second].v[i] = v;
      out.series[it->second].has[i] = 1;
    };
    if (IsSetOp(op)) {
      for (size_t i = 0; i < n_; ++i) {
        std::unordered_map<std::string, int> rs, lsigs;
        for (size_t j = 0; j < r.series.size(); ++j) if (r.series[j].has[i]) rs[rsig[j]] = 1;
        for (size_t j = 0; j < l.series.size(); ++j) {
          if (!l.series[j].has[i]) continue;
          lsigs[lsig[j]] = 1;
          bool in_r = rs.contains(lsig[j]);
          if (op == BinaryOp::kOr || (op == BinaryOp::kAnd && in_r) || (op == BinaryOp::kUnless && !in_r)) {
            emit(l.series[j].labels, i, l.series[j].v[i]);
          }
        }
        if (op == BinaryOp::kOr) {
          for (size_t j = 0; j < r.series.size(); ++j) {
            if (r.series[j].has[i] && !lsigs.contains(rsig[j])) emit(r.series[j].labels, i, r.series[j].v[i]);
          }
        }
      }
      return out;
    }
    const bool one_to_many = m.card == VectorMatching::Card::kOneToMany;
    const StepMatrix& many = one_to_many ? r : l;
    const StepMatrix& one = one_to_many ? l : r;
    const auto& many_sig = one_to_many ? rsig : lsig;
    const auto& one_sig = one_to_many ? lsig : rsig;
    const bool cmp = IsComparison(op);
    for (size_t i = 0; i < n_; ++i) {
      std::unordered_map<std::string, size_t> ones;
      for (size_t j = 0; j < one.series.size(); ++j) {
        if (!one.series[j].has[i]) continue;
        if (ones.contains(one_sig[j])) {
          return Status::InvalidArgument(std::string("found duplicate series on the ") +
                                         (one_to_many ? "left" : "right") +
                                         " hand-side of the operation; many-to-many matching not allowed: matching labels must be unique on one side");
        }
        ones[one_sig[j]] = j;
      }
      std::unordered_map<std::string, int> matched;
      std::unordered_map<std::string, int> results;
      for (size_t j = 0; j < many.series.size(); ++j) {
        if (!many.series[j].has[i]) continue;
        auto it = ones.find(many_sig[j]);
        if (it == ones.end()) continue;
        const StepSeries& ms = many.series[j];
        const StepSeries& os = one.series[it->second];
        if (m.card == VectorMatching::Card::kOneToOne) {
          if (matched.contains(many_sig[j])) {
            return Status::InvalidArgument("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
          }
          matched[many_sig[j]] = 1;
        }
        double lv = one_to_many ? os.v[i] : ms.v[i];
        double rv = one_to_many ? ms.v[i] : os.v[i];
        bool keep;
        double v = Arith(op, lv, rv, &keep);
        if (cmp) {
          if (e.return_bool) v = keep ? 1 : 0;
          else if (!keep) continue;
        }
        LabelSet res;
        if (m.card == VectorMatching::Card::kOneToOne) {
          res = Signature(ms.labels, m);
        } else {
          res = ms.labels;
          for (const std::string& inc : m.include) {
            std::erase_if(res, [&](const Label& x) { return x.name == inc; });
            for (const Label& x : os.labels) {
              if (x.name == inc) res.push_back(x);
            }
          }
          std::sort(res.begin(), res.end(), [](const Label& a, const Label& b) { return a.name < b.name; });
          std::string rk = Key(res);
          if (results.contains(rk)) {
            return Status::InvalidArgument("multiple matches for labels: grouping labels must ensure unique matches");
          }
          results[rk] = 1;
        }
        emit(res, i, v);
      }
    }
    return out;
  }

  Result<StepMatrix> LabelReplace(const Expr& e) {
    ASSIGN_OR_RETURN(StepMatrix in, Eval(*e.lhs));
    RE2::Options o;
    o.set_log_errors(false);
    RE2 re("^(?:" + e.regex + ")$", o);
    if (!re.ok()) return Status::InvalidArgument("invalid regular expression in label_replace(): " + e.regex);
    StepMatrix out;
    std::unordered_map<std::string, size_t> index;
    for (StepSeries& s : in.series) {
      std::string src;
      for (const Label& l : s.labels) if (l.name == e.src) src = l.value;
      int ngroups = re.NumberOfCapturingGroups();
      std::vector<re2::StringPiece> groups(static_cast<size_t>(ngroups) + 1);
      if (re.Match(src, 0, src.size(), RE2::UNANCHORED, groups.data(), ngroups + 1)) {
        std::string res = Expand(e.replacement, groups, re);
        std::erase_if(s.labels, [&](const Label& x) { return x.name == e.dst; });
        if (!res.empty()) s.labels.push_back({e.dst, res});
        std::sort(s.labels.begin(), s.labels.end(), [](const Label& a, const Label& b) { return a.name < b.name; });
      }
      std::string k = Key(s.labels);
      auto it = index.find(k);
      if (it == index.end()) {
        index.emplace(k, out.series.size());
        out.series.push_back(std::move(s));
      } else {
        StepSeries& d = out.series[it->second];
        for (size_t i = 0; i < n_; ++i) {
          if (s.has[i]) {
            d.has[i] = 1;
            d.v[i] = s.v[i];
          }
        }
      }
    }
    return out;
  }

  // Go's regexp.Expand: $1, ${1}, $name, ${name}, $$.
  static std::string Expand(const std::string& tmpl, const std::vector<re2::StringPiece>& groups, const RE2& re) {
    std::string out;
    for (size_t i = 0; i < tmpl.size(); ++i) {
      if (tmpl[i] != '$' || i + 1 >= tmpl.size()) {
        out.push_back(tmpl[i]);
        continue;
      }
      if (tmpl[i + 1] == '$') {
        out.push_back('$');
        ++i;
        continue;
      }
      size_t j = i + 1;
      bool brace = tmpl[j] == '{';
      if (brace) ++j;
      size_t st = j;
      while (j < tmpl.size() && (std::isalnum(static_cast<unsigned char>(tmpl[j])) || tmpl[j] == '_')) ++j;
      if (j == st || (brace && (j >= tmpl.size() || tmpl[j] != '}'))) {
        out.push_back('$');
        continue;
      }
      std::string name = tmpl.substr(st, j - st);
      i = brace ? j : j - 1;
      int idx = -1;
      if (std::all_of(name.begin(), name.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        idx = std::atoi(name.c_str());
      } else {
        auto it = re.NamedCapturingGroups().find(name);
        if (it != re.NamedCapturingGroups().end()) idx = it->second;
      }
      if (idx >= 0 && static_cast<size_t>(idx) < groups.size() && groups[static_cast<size_t>(idx)].data()) {
        out += std::string(groups[static_cast<size_t>(idx)]);
      }
    }
    return out;
  }

  const LogReader& r_;
  const QueryParams& p_;
  QueryStats* stats_;
  size_t n_ = 1;
};

// Log queries stream too: the streams' cursors are merged in `direction` order and reading
// stops once `limit` entries have passed the pipeline (no later entry can displace them).
Result<QueryResult> EvalLogs(const LogReader& reader, const Expr& e, const QueryParams& p) {
  QueryResult res;
  res.type = QueryResult::Type::kStreams;
  struct Item {
    std::string key;
    LabelSet labels;
    StreamEntry entry;
  };
  std::vector<Item> items;
  int64_t end_incl = p.end_ns - 1;
  if (p.instant()) end_incl = p.end_ns;
  int64_t start = p.instant() ? INT64_MIN / 2 : p.start_ns;
  const bool fwd = p.direction == Direction::kForward;
  const logstore::SelectHints hints = HintsFor(e.selector);
  ASSIGN_OR_RETURN(std::vector<logstore::StreamCursor> cursors,
                   reader.Open(e.selector.matchers, start, end_incl,
                               fwd ? logstore::Order::kForward : logstore::Order::kBackward, &hints));
  res.stats.streams_scanned = cursors.size();
  RETURN_IF_ERROR(MergeCursors(cursors, fwd, [&](const Labels& stream, const LogEntry& en) -> Result<bool> {
    ++res.stats.entries_scanned;
    res.stats.bytes_scanned += en.line.size();
    LineLabels lbs(stream);
    for (const Label& m : en.metadata) lbs.AddMetadata(m.name, m.value);
    std::string line = en.line;
    if (!RunStages(e.selector.stages, en.ts_ns, line, lbs)) return true;
    Item it;
    for (const auto& [l, src] : lbs.entries()) {
      if (src == LineLabels::Source::kParsed) it.entry.parsed.push_back(l);
    }
    it.labels = lbs.ToLabelSet();
    it.key = Key(it.labels);
    it.entry.ts_ns = en.ts_ns;
    it.entry.line = std::move(line);
    it.entry.metadata = en.metadata;
    items.push_back(std::move(it));
    return p.limit == 0 || items.size() < p.limit;
  }));
  std::unordered_map<std::string, size_t> index;
  for (Item& it : items) {
    auto f = index.find(it.key);
    if (f == index.end()) {
      f = index.emplace(it.key, res.streams.size()).first;
      res.streams.push_back({it.labels, {}});
    }
    res.streams[f->second].entries.push_back(std::move(it.entry));
  }
  return res;
}

}  // namespace

Result<QueryResult> Evaluate(const LogReader& reader, const Expr& expr, const QueryParams& params) {
  if (!params.instant() && params.step_ns <= 0) return Status::InvalidArgument("zero or negative query resolution step widths are not accepted. Try a positive integer");
  if (params.end_ns < params.start_ns) return Status::InvalidArgument("end timestamp must not be before start time");
  if (expr.kind == ExprKind::kLog) return EvalLogs(reader, expr, params);
  QueryResult res;
  Evaluator ev(reader, params, &res.stats);
  ASSIGN_OR_RETURN(StepMatrix m, ev.Eval(expr));
  if (m.scalar) {
    if (params.instant()) {
      res.type = QueryResult::Type::kScalar;
      res.scalar = m.scalar_v[0];
      return res;
    }
    Series s;
    for (size_t i = 0; i < ev.steps(); ++i) s.points.push_back({ev.StepTs(i), m.scalar_v[i]});
    res.type = QueryResult::Type::kMatrix;
    res.series.push_back(std::move(s));
    return res;
  }
  res.type = params.instant() ? QueryResult::Type::kVector : QueryResult::Type::kMatrix;
  for (StepSeries& s : m.series) {
    Series o;
    o.labels = std::move(s.labels);
    for (size_t i = 0; i < ev.steps(); ++i) {
      if (s.has[i]) o.points.push_back({ev.StepTs(i), s.v[i]});
    }
    if (!o.points.empty()) res.series.push_back(std::move(o));
  }
  return res;
}

}  // namespace argus::logql
