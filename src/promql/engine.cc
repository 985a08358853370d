#include "promql/engine.h"

#include <re2/re2.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <span>
#include <unordered_map>

#include "model/histogram_stats.h"
#include "promql/functions.h"
#include "promql/lexer.h"
#include "promql/parser.h"

namespace argus::promql {

std::string GoLabelsString(const Labels& ls) {
  std::string o = "{";
  bool first = true;
  for (const auto& l : ls) {
    if (!first) o += ", ";
    first = false;
    o += l.name + "=\"";
    for (char c : l.value) {
      if (c == '"' || c == '\\') o.push_back('\\');
      if (c == '\n') {
        o += "\\n";
        continue;
      }
      o.push_back(c);
    }
    o += "\"";
  }
  return o + "}";
}

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kSameLabelset = "vector cannot contain metrics with the same labelset";

// A value during evaluation: vectors and scalars are matrices of step-aligned points (a scalar
// is one series without labels with a point at every step); range vectors hold raw points.
struct Val {
  ValueType type = ValueType::kNone;
  Matrix m;
  std::string str;
};

struct Context {
  tsdb::Queryable* db = nullptr;
  std::string_view query;
  EngineOptions opts;
  int64_t query_start = 0, query_end = 0, query_step = 0;
  bool range_query = false;
  std::set<std::string> warnings, infos;
  int64_t current_samples = 0;
  int64_t total_samples = 0;
  int64_t peak_samples = 0;
  Clock::time_point deadline;
  const std::atomic<bool>* cancel = nullptr;

  void Warn(const std::string& msg, int pos) {
    warnings.insert("PromQL warning: " + msg + " (" + PositionString(query, pos) + ")");
  }
  void Info(const std::string& msg, int pos) {
    infos.insert("PromQL info: " + msg + " (" + PositionString(query, pos) + ")");
  }
  // Called in inner loops (every step of every series): the clock is read on every 64th
  // call only, which keeps the timeout precise to well under a millisecond of work.
  Status CheckTime() {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
      return Status::Canceled("query was canceled");
    }
    if (++time_checks % 64 != 1) return Status::OK();
    if (Clock::now() > deadline) {
      return Status::DeadlineExceeded("query timed out in query execution");
    }
    return Status::OK();
  }
  uint64_t time_checks = 0;
  // Counts the samples one evaluation step holds in memory (a node's output or a window);
  // more than max_samples at once fails the query as upstream does.
  Status AddSamples(int64_t n) {
    total_samples += n;
    peak_samples = std::max(peak_samples, n);
    if (n > opts.max_samples) {
      return Status::ResourceExhausted(std::string(kTooManySamples));
    }
    return Status::OK();
  }
};

// Go's %q: escapes invalid UTF-8 bytes as \xNN.
std::string GoQuote(const std::string& s) {
  std::string o = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
      if (n > 0 && i + n <= s.size() && IsValidUtf8(s.substr(i, n))) {
        o.append(s, i, n);
        i += n - 1;
        continue;
      }
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      o += b;
      continue;
    }
    if (c == '"' || c == '\\') o.push_back('\\');
    o.push_back(static_cast<char>(c));
  }
  return o + "\"";
}

// Prometheus' labels.Labels.Hash(): XXH64 of "name\xffvalue\xff" for each label in order.
// limit_ratio picks series by it, so the same hash selects the same series as upstream.
uint64_t PrometheusLabelsHash(const Labels& ls) {
  std::string b;
  for (const auto& l : ls) {
    b += l.name;
    b.push_back('\xff');
    b += l.value;
    b.push_back('\xff');
  }
  return XXH64(b.data(), b.size(), 0);
}

// Removes __name__ and, with it, the type-and-unit labels (__type__, __unit__; PROM-39).
Labels StripName(const Labels& ls) {
  if (!ls.Has("__type__") && !ls.Has("__unit__")) return ls.WithoutMetricName();
  return ls.Filter({std::string(kMetricNameLabel), "__type__", "__unit__"}, false);
}

// Whether two of the label sets are equal: by hash, comparing the sets only when hashes meet
// (no copies; this runs on every function's output).
template <typename Elems>
bool HasDuplicateLabels(const Elems& elems) {
  if (elems.size() < 2) return false;
  std::unordered_multimap<uint64_t, const Labels*> seen;
  seen.reserve(elems.size());
  for (const auto& el : elems) {
    uint64_t h = el.metric.Hash();
    auto [lo, hi] = seen.equal_range(h);
    for (auto it = lo; it != hi; ++it) {
      if (*it->second == el.metric) return true;
    }
    seen.emplace(h, &el.metric);
  }
  return false;
}

bool ContainsSameLabelset(const Matrix& m) { return HasDuplicateLabels(m); }

bool VectorContainsSameLabelset(const Vector& v) { return HasDuplicateLabels(v); }

const Expr& Unparen(const Expr& e) {
  const Expr* p = &e;
  while (p->kind == ExprKind::kParen) p = p->child.get();
  return *p;
}

// Natural order: runs of digits compare numerically.
int NaturalCompare(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t si = i, sj = j;
      while (i < a.size() && std::isdigit(static_cast<unsigned char>(a[i]))) ++i;
      while (j < b.size() && std::isdigit(static_cast<unsigned char>(b[j]))) ++j;
      std::string na = a.substr(si, i - si), nb = b.substr(sj, j - sj);
      while (na.size() > 1 && na[0] == '0') na.erase(0, 1);
      while (nb.size() > 1 && nb[0] == '0') nb.erase(0, 1);
      if (na.size() != nb.size()) return na.size() < nb.size() ? -1 : 1;
      if (na != nb) return na < nb ? -1 : 1;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j] ? -1 : 1;
    ++i;
    ++j;
  }
  if (i < a.size()) return 1;
  if (j < b.size()) return -1;
  return 0;
}

// Go's regexp.Expand for label_replace templates: $1, ${1}, $name, ${name}, $$.
std::string ExpandTemplate(const std::string& tmpl, const re2::RE2& re,
                           const std::vector<re2::StringPiece>& groups) {
  std::string out;
  const auto& names = re.NamedCapturingGroups();
  for (size_t i = 0; i < tmpl.size(); ++i) {
    char c = tmpl[i];
    if (c != '$' || i + 1 >= tmpl.size()) {
      out.push_back(c);
      continue;
    }
    if (tmpl[i + 1] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    std::string name;
    size_t j = i + 1;
    if (tmpl[j] == '{') {
      size_t close = tmpl.find('}', j);
      if (close == std::string::npos) {
        out.push_back(c);
        continue;
      }
      name = tmpl.substr(j + 1, close - j - 1);
      bool ok = !name.empty();
      for (char n : name) {
        if (!(std::isalnum(static_cast<unsigned char>(n)) || n == '_')) ok = false;
      }
      if (!ok) {
        out.push_back(c);
        continue;
      }
      i = close;
    } else {
      while (j < tmpl.size() && (std::isalnum(static_cast<unsigned char>(tmpl[j])) || tmpl[j] == '_')) {
        ++j;
      }
      name = tmpl.substr(i + 1, j - i - 1);
      if (name.empty()) {
        out.push_back(c);
        continue;
      }
      i = j - 1;
    }
    bool all_digits = std::all_of(name.begin(), name.end(),
                                  [](char d) { return std::isdigit(static_cast<unsigned char>(d)); });
    int idx = -1;
    if (all_digits) {
      idx = name.size() > 9 ? -1 : std::atoi(name.c_str());
    } else {
      auto it = names.find(name);
      if (it != names.end()) idx = it->second;
    }
    if (idx >= 0 && static_cast<size_t>(idx) < groups.size() && groups[idx].data() != nullptr) {
      out.append(groups[idx].data(), groups[idx].size());
    }
  }
  return out;
}

// Series that share a label set collide if they have points at the same step.
Status MergeSameLabelsets(Matrix* mp) {
Matrix& m = *mp;
  std::map<Labels, size_t> seen;
  Matrix merged;
  for (auto& s : m) {
    auto it = seen.find(s.metric);
    if (it == seen.end()) {
      seen.emplace(s.metric, merged.size());
      merged.push_back(std::move(s));
      continue;
    }
    Series& t = merged[it->second];
    std::vector<Point> pts;
    size_t i = 0, j = 0;
    while (i < t.points.size() || j < s.points.size()) {
      if (j == s.points.size() || (i < t.points.size() && t.points[i].t_ms < s.points[j].t_ms)) {
        pts.push_back(t.points[i++]);
      } else if (i == t.points.size() || s.points[j].t_ms < t.points[i].t_ms) {
        pts.push_back(s.points[j++]);
      } else {
        return Status::InvalidArgument(kSameLabelset);
      }
    }
    t.points = std::move(pts);
  }
  m = std::move(merged);
  return Status::OK();
}


// Signature of a series for vector matching.
std::string MatchSignature(const Labels& ls, const VectorMatching& vm) {
  std::string sig;
  if (vm.on) {
    std::vector<std::string> names = vm.labels;
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      sig += n;
      sig.push_back('\xff');
      sig += std::string(ls.Get(n));
      sig.push_back('\xfe');
    }
  } else {
    for (const auto& l : ls) {
      if (l.name == kMetricNameLabel) continue;
      if (std::find(vm.labels.begin(), vm.labels.end(), l.name) != vm.labels.end()) continue;
      sig += l.name;
      sig.push_back('\xff');
      sig += l.value;
      sig.push_back('\xfe');
    }
  }
  return sig;
}

Labels MatchLabels(const Labels& ls, const VectorMatching& vm) {
  if (vm.on) return ls.Filter(vm.labels, true);
  std::vector<std::string> drop = vm.labels;
  drop.push_back(std::string(kMetricNameLabel));
  return ls.Filter(drop, false);
}

double ScalarBinop(BinaryOp op, double l, double r) {
  switch (op) {
    case BinaryOp::kAdd: return l + r;
    case BinaryOp::kSub: return l - r;
    case BinaryOp::kMul: return l * r;
    case BinaryOp::kDiv: return l / r;
    case BinaryOp::kPow: return std::pow(l, r);
    case BinaryOp::kMod: return std::fmod(l, r);
    case BinaryOp::kAtan2: return std::atan2(l, r);
    case BinaryOp::kEql: return l == r ? 1 : 0;
    case BinaryOp::kNeq: return l != r ? 1 : 0;
    case BinaryOp::kGtr: return l > r ? 1 : 0;
    case BinaryOp::kLss: return l < r ? 1 : 0;
    case BinaryOp::kGte: return l >= r ? 1 : 0;
    case BinaryOp::kLte: return l <= r ? 1 : 0;
    default: return 0;
  }
}

// vectorElemBinop: the value and whether a comparison keeps the element.
double ElemBinop(BinaryOp op, double l, double r, bool* keep) {
  *keep = true;
  switch (op) {
    case BinaryOp::kEql: *keep = l == r; return l;
    case BinaryOp::kNeq: *keep = l != r; return l;
    case BinaryOp::kGtr: *keep = l > r; return l;
    case BinaryOp::kLss: *keep = l < r; return l;
    case BinaryOp::kGte: *keep = l >= r; return l;
    case BinaryOp::kLte: *keep = l <= r; return l;
    default: return ScalarBinop(op, l, r);
  }
}

bool ShouldDropMetricName(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kMod:
    case BinaryOp::kPow:
    case BinaryOp::kAtan2: return true;
    default: return false;
  }
}

// Functions whose output keeps the input's metric name.
bool KeepsMetricName(const std::string& f) {
  return f == "last_over_time" || f == "first_over_time" || f == "sort" || f == "sort_desc" ||
         f == "sort_by_label" || f == "sort_by_label_desc" || f == "label_replace" ||
         f == "label_join" || f == "info";
}

class Evaluator {
 public:
  Evaluator(Context* ctx, int64_t start, int64_t end, int64_t interval)
      : ctx_(ctx), start_(start), end_(end), interval_(interval) {}

  Result<Val> Eval(const Expr& e) {
    RETURN_IF_ERROR(ctx_->CheckTime());
    switch (e.kind) {
      case ExprKind::kNumber: {
        Val v;
        v.type = ValueType::kScalar;
        v.m.push_back(ConstSeries(e.number));
        return v;
      }
      case ExprKind::kString: {
        Val v;
        v.type = ValueType::kString;
        v.str = e.str;
        return v;
      }
      case ExprKind::kParen: return Eval(*e.child);
      case ExprKind::kUnary: {
        ASSIGN_OR_RETURN(Val v, Eval(*e.child));
        if (e.un_minus) {
          for (auto& s : v.m) {
            for (auto& p : s.points) {
              p.f = -p.f;
              if (p.h) {
                auto h = std::make_shared<FloatHistogram>(*p.h);
                h->Mul(-1);
                p.h = std::move(h);
              }
            }
            if (v.type == ValueType::kVector) DropName(&s.metric, &s.drop_name);
          }
          if (v.type == ValueType::kVector && !ctx_->opts.delayed_name_removal) {
            RETURN_IF_ERROR(MergeSameLabelsets(&v.m));
          }
        }
        return v;
      }
      case ExprKind::kVectorSelector: {
        Val v;
        v.type = ValueType::kVector;
        ASSIGN_OR_RETURN(v.m, VectorSelector(e, false));
        return v;
      }
      case ExprKind::kMatrixSelector:
      case ExprKind::kSubquery: {
        // Only at the top of an instant query (start == end): the raw points of the window.
        ASSIGN_OR_RETURN(Matrix raw, RangeSource(e));
        Val v;
        v.type = ValueType::kMatrix;
        RangeWindow w = Window(e);
        int64_t ref = RefTime(w, start_);
        const Expr* vs = e.kind == ExprKind::kMatrixSelector ? e.child.get() : nullptr;
        bool extended = vs != nullptr && (vs->anchored || vs->smoothed);
        int64_t lb = extended ? ctx_->opts.lookback_delta_ms : 0;
        int64_t ahead = vs != nullptr && vs->smoothed ? lb : 0;
        for (auto& s : raw) {
          Series out;
          out.metric = s.metric;
          out.drop_name = s.drop_name;
          for (const auto& p : s.points) {
            if (p.t_ms > ref - w.range_ms - lb && p.t_ms <= ref + ahead) out.points.push_back(p);
          }
          if (extended && !out.points.empty()) {
            if (std::any_of(out.points.begin(), out.points.end(),
                            [](const Point& p) { return p.h != nullptr; })) {
              return Status::InvalidArgument(std::string(vs->anchored ? "anchored" : "smoothed") +
                                             " modifier is not supported with histograms");
            }
            out.points = ExtendFloats(out.points, ref - w.range_ms, ref, vs->smoothed);
          }
          if (!out.points.empty()) v.m.push_back(std::move(out));
        }
        return v;
      }
      case ExprKind::kCall: {
        // Under histogram_count/sum/avg, selectors read histograms like upstream's
        // HistogramStatsIterator (see StatsOnlyHints); a function needing the buckets ends it.
        bool saved = stats_only_;
        if (e.func == "histogram_count" || e.func == "histogram_sum" || e.func == "histogram_avg") {
          stats_only_ = true;
        } else if (e.func.rfind("histogram_", 0) == 0) {
          stats_only_ = false;
        }
        Result<Val> r = Call(e);
        stats_only_ = saved;
        return r;
      }
      case ExprKind::kAggregate: return Aggregate(e);
      case ExprKind::kBinary: {
        bool saved = stats_only_;
        stats_only_ = false;  // upstream starts over at each operand of a binary operator
        Result<Val> r = Binary(e);
        stats_only_ = saved;
        return r;
      }
    }
    return Status::Internal("unknown expression kind");
  }

 private:
  struct RangeWindow {
    int64_t range_ms = 0;
    int64_t offset_ms = 0;
    AtKind at = AtKind::kNone;
    int64_t at_ms = 0;
  };

  int64_t NumSteps() const { return (end_ - start_) / interval_ + 1; }

  Series ConstSeries(double v) const {
    Series s;
    s.points.reserve(static_cast<size_t>(NumSteps()));
    for (int64_t ts = start_; ts <= end_; ts += interval_) s.points.push_back({ts, v});
    return s;
  }

  void DropName(Labels* ls, bool* flag) const {
    if (ctx_->opts.delayed_name_removal) {
      *flag = true;
    } else {
      *ls = StripName(*ls);
    }
  }

  int64_t ResolveMs(int64_t fixed, const std::unique_ptr<DurationExpr>& expr, int64_t range_ms) const {
    if (!expr) return fixed;
    double step_s = static_cast<double>(ctx_->query_step) / 1000.0;
    double range_s = static_cast<double>(ctx_->query_end - ctx_->query_start) / 1000.0;
    (void)range_ms;
    double ms = expr->Eval(step_s, range_s) * 1000;
    if (std::isnan(ms)) return 0;
    constexpr double kLimit = 9.2e15;  // keeps time arithmetic far from int64 overflow
    return static_cast<int64_t>(std::llround(std::clamp(ms, -kLimit, kLimit)));
  }

  int64_t AtTime(AtKind at, int64_t at_ms) const {
    switch (at) {
      case AtKind::kStart: return ctx_->query_start;
      case AtKind::kEnd: return ctx_->query_end;
      default: return at_ms;
    }
  }

  int64_t RefTime(const RangeWindow& w, int64_t ts) const {
    return (w.at != AtKind::kNone ? AtTime(w.at, w.at_ms) : ts) - w.offset_ms;
  }

  // The window of a matrix selector or subquery.
  RangeWindow Window(const Expr& e) const {
    RangeWindow w;
    const Expr& mods = e.kind == ExprKind::kMatrixSelector ? *e.child : e;
    w.range_ms = ResolveMs(e.range_ms, e.range_expr, 0);
    w.offset_ms = ResolveMs(mods.offset_ms, mods.offset_expr, 0);
    w.at = mods.at;
    w.at_ms = mods.at_ms;
    return w;
  }

  Result<std::vector<tsdb::Series>> Select(const std::vector<Matcher>& ms, int64_t mint,
                                           int64_t maxt) {
    ASSIGN_OR_RETURN(auto q, ctx_->db->NewQuerier(mint, maxt));
    tsdb::SelectHints hints{mint, maxt, false};
    return q->Select(ms, hints);
  }

  // The float and histogram samples of `s` as one time-ordered list of points. A stale
  // histogram (sum is the StaleNaN) becomes a float StaleNaN point; when both kinds share a
  // timestamp the histogram wins (a store holds one value per time).
  // Start timestamps are copied only with EngineOptions::use_start_timestamps.
  std::vector<Point> MergedPoints(const tsdb::Series& s) const {
    std::vector<Point> out;
    out.reserve(s.samples.size() + s.histograms.size());
    bool with_st = ctx_->opts.use_start_timestamps;
    size_t i = 0, j = 0, k = 0;  // k: the next entry of s.sample_st
    while (i < s.samples.size() || j < s.histograms.size()) {
      if (j == s.histograms.size() ||
          (i < s.samples.size() && s.samples[i].t_ms < s.histograms[j].t_ms)) {
        int64_t st = 0;
        if (with_st) {
          while (k < s.sample_st.size() && s.sample_st[k].t_ms < s.samples[i].t_ms) ++k;
          if (k < s.sample_st.size() && s.sample_st[k].t_ms == s.samples[i].t_ms) {
            st = s.sample_st[k].st_ms;
          }
        }
        out.push_back({s.samples[i].t_ms, s.samples[i].v, nullptr, st});
        ++i;
        continue;
      }
      const tsdb::HistogramSample& hs = s.histograms[j++];
      if (i < s.samples.size() && s.samples[i].t_ms == hs.t_ms) ++i;
      int64_t st = with_st ? hs.st_ms : 0;
      if (IsStaleNaN(hs.sum())) {
        out.push_back({hs.t_ms, StaleNaN(), nullptr, st});
      } else {
        out.push_back({hs.t_ms, 0, std::make_shared<const FloatHistogram>(hs.ToFloat()), st});
      }
    }
    return out;
  }

  // Upstream reads the histograms under histogram_count/sum/avg through its
  // HistogramStatsIterator, which sets each unknown counter reset hint from the sample read
  // before it (reset or not_reset; the first stays unknown). Aggregations over those then see
  // (and warn about) conflicting hints; we do the same on the selected points.
  static void StatsOnlyHints(std::vector<Point>* pts) {
    const FloatHistogram* prev = nullptr;
    for (Point& p : *pts) {
      if (!p.h) {
        prev = nullptr;
        continue;
      }
      const FloatHistogram* cur = p.h.get();
      if (cur->counter_reset_hint == CounterResetHint::kUnknown && prev != nullptr) {
        auto h = std::make_shared<FloatHistogram>(*cur);
        h->counter_reset_hint = cur->DetectReset(*prev) ? CounterResetHint::kCounterReset
                                                        : CounterResetHint::kNotCounterReset;
        p.h = std::move(h);  // may free *cur: only p.h is read from here on
      }
      prev = p.h.get();
    }
  }

  // Instant vector selector: the newest sample in (ref - lookback, ref] at each step.
  // With `raw_times` the point value is the sample's own timestamp in seconds (timestamp()).
  // With `info_series` (info()'s data source), a histogram sample is an error, as upstream.
  Result<Matrix> VectorSelector(const Expr& e, bool raw_times, bool info_series = false) {
    if (e.smoothed && !raw_times) return SmoothedSelector(e);
    int64_t offset = ResolveMs(e.offset_ms, e.offset_expr, 0);
    RangeWindow w;
    w.offset_ms = offset;
    w.at = e.at;
    w.at_ms = e.at_ms;
    int64_t first_ref = RefTime(w, start_), last_ref = RefTime(w, end_);
    int64_t lookback = ctx_->opts.lookback_delta_ms;
    ASSIGN_OR_RETURN(auto series, Select(e.matchers, first_ref - lookback + 1, last_ref));
    Matrix out;
    int64_t total = 0;
    for (auto& s : series) {
      Series o;
      o.metric = std::move(s.labels);
      size_t idx = 0;
      std::vector<Point> smp = MergedPoints(s);
      if (stats_only_) StatsOnlyHints(&smp);
      for (int64_t ts = start_; ts <= end_; ts += interval_) {
        int64_t ref = RefTime(w, ts);
        // Advance to the last sample with t <= ref.
        while (idx < smp.size() && smp[idx].t_ms <= ref) ++idx;
        if (idx == 0) continue;
        const Point& last = smp[idx - 1];
        if (last.t_ms <= ref - lookback) continue;
        if (!last.h && IsStaleNaN(last.f)) continue;
        if (info_series && last.h) {
          return Status::InvalidArgument("this should be an info metric, with float samples: " +
                                         GoLabelsString(o.metric));
        }
        if (raw_times) {
          o.points.push_back({ts, static_cast<double>(last.t_ms) / 1000.0, nullptr});
        } else {
          o.points.push_back({ts, last.f, last.h, last.st_ms});
        }
        // An @ selector is the same at every step; idx stays valid since ref is constant.
      }
      if (!o.points.empty()) {
        total += static_cast<int64_t>(o.points.size());
        out.push_back(std::move(o));
      }
    }
    RETURN_IF_ERROR(ctx_->AddSamples(total));
    return out;
  }

  // A `smoothed` instant selector (Prometheus' smoothSeries): at each step the value at the
  // reference time, interpolated linearly between the samples around it within one lookback
  // delta on either side (floats as gauges, non-gauge histograms as counters); the last sample's value when there is none after it yet, nothing
  // when there is none before it. Floats and histograms mixed in that window give a warning
  // and no value.
  Result<Matrix> SmoothedSelector(const Expr& e) {
    RangeWindow w;
    w.offset_ms = ResolveMs(e.offset_ms, e.offset_expr, 0);
    w.at = e.at;
    w.at_ms = e.at_ms;
    int64_t lb = ctx_->opts.lookback_delta_ms;
    int64_t first_ref = RefTime(w, start_), last_ref = RefTime(w, end_);
    ASSIGN_OR_RETURN(auto series, Select(e.matchers, first_ref - lb + 1, last_ref + lb));
    Matrix out;
    int64_t total = 0;
    for (auto& s : series) {
      std::vector<Point> pts = MergedPoints(s);
      std::erase_if(pts, [](const Point& p) { return !p.h && IsStaleNaN(p.f); });
      std::string metric(s.labels.MetricName());
      Series o;
      o.metric = std::move(s.labels);
      size_t lo = 0, hi = 0;
      for (int64_t ts = start_; ts <= end_; ts += interval_) {
        int64_t ref = RefTime(w, ts);
        while (lo < pts.size() && pts[lo].t_ms <= ref - lb) ++lo;
        if (hi < lo) hi = lo;
        while (hi < pts.size() && pts[hi].t_ms <= ref + lb) ++hi;
        if (hi <= lo) continue;
        size_t nh = 0;
        for (size_t i = lo; i < hi; ++i) nh += pts[i].h ? 1 : 0;
        if (nh > 0 && nh < hi - lo) {
          ctx_->Warn("encountered a mix of histograms and floats for metric name " + GoQuote(metric),
                     e.pos);
          continue;
        }
        size_t i = lo;
        while (i < hi && pts[i].t_ms < ref) ++i;
        if (i < hi && pts[i].t_ms == ref) {
          o.points.push_back({ts, pts[i].f, pts[i].h});
        } else if (i > lo && i < hi) {
          const Point& prev = pts[i - 1];
          const Point& next = pts[i];
          if (!prev.h) {
            o.points.push_back({ts, Interpolate(prev, next, ref, false), nullptr});
            continue;
          }
          // A histogram that is not a gauge is a counter: a reset interpolates from zero.
          bool counter = next.h->counter_reset_hint != CounterResetHint::kGauge;
          bool mixed = false, reconciled = false;
          auto h = InterpolateHistogram(prev, next, ref, counter, &mixed, &reconciled);
          if (reconciled) {
            ctx_->Info("mismatched custom buckets were reconciled during subtraction", e.pos);
          }
          if (mixed) {
            ctx_->Warn("vector contains a mix of histograms with exponential and custom buckets "
                       "schemas for metric name " + GoQuote(metric), e.pos);
            continue;
          }
          o.points.push_back({ts, 0, std::move(h)});
        } else if (i > lo) {
          o.points.push_back({ts, pts[i - 1].f, pts[i - 1].h});
        }
      }
      if (!o.points.empty()) {
        total += static_cast<int64_t>(o.points.size());
        out.push_back(std::move(o));
      }
    }
    RETURN_IF_ERROR(ctx_->AddSamples(total));
    return out;
  }

  // The raw points a matrix selector or subquery provides over the whole evaluation range.
  Result<Matrix> RangeSource(const Expr& e) {
    RangeWindow w = Window(e);
    int64_t first_ref = RefTime(w, start_), last_ref = RefTime(w, end_);
    if (e.kind == ExprKind::kMatrixSelector) {
      // Anchored and smoothed selectors also read one lookback delta before the range (the
      // anchor sample) and, smoothed, one after it (the sample to interpolate towards).
      const Expr& vs = *e.child;
      int64_t behind = vs.anchored || vs.smoothed ? ctx_->opts.lookback_delta_ms : 0;
      int64_t ahead = vs.smoothed ? ctx_->opts.lookback_delta_ms : 0;
      int64_t lo = first_ref - w.range_ms - behind, hi = last_ref + ahead;
      ASSIGN_OR_RETURN(auto series, Select(vs.matchers, lo + 1, hi));
      Matrix out;
      int64_t total = 0;
      for (auto& s : series) {
        Series o;
        o.metric = std::move(s.labels);
        std::vector<Point> merged = MergedPoints(s);
        if (stats_only_) StatsOnlyHints(&merged);
        for (auto& p : merged) {
          if (!p.h && IsStaleNaN(p.f)) continue;
          if (p.t_ms <= lo || p.t_ms > hi) continue;
          o.points.push_back(std::move(p));
        }
        total += static_cast<int64_t>(o.points.size());
        if (!o.points.empty()) out.push_back(std::move(o));
      }
      RETURN_IF_ERROR(ctx_->AddSamples(total));
      return out;
    }
    // Subquery: evaluate the inner expression on its own aligned grid.
    int64_t step = e.has_step ? ResolveMs(e.step_ms, e.step_expr, 0) : ctx_->opts.default_eval_interval_ms;
    if (step <= 0) return Status::InvalidArgument("subquery step must be greater than 0");
    int64_t lo = first_ref - w.range_ms;
    int64_t sub_start = step * (lo / step);
    if (sub_start <= lo) sub_start += step;
    int64_t sub_end = last_ref;
    Matrix out;
    if (sub_start > sub_end) return out;
    Evaluator sub(ctx_, sub_start, sub_end, step);
    ASSIGN_OR_RETURN(Val v, sub.Eval(*e.child));
    if (v.type == ValueType::kScalar) {
      // Not reachable after type checking (subqueries take instant vectors).
      return Status::InvalidArgument("subquery is only allowed on instant vector");
    }
    // A (not-)reset hint speaks about the sample stored before, which the subquery's grid may
    // have skipped: the functions over the subquery detect resets from the counts instead.
    // Start timestamps do not pass a subquery (upstream: they speak of the stored samples,
    // not of the grid's points).
    for (Series& s : v.m) {
      for (Point& p : s.points) {
        p.st_ms = 0;
        if (p.h && (p.h->counter_reset_hint == CounterResetHint::kCounterReset ||
                    p.h->counter_reset_hint == CounterResetHint::kNotCounterReset)) {
          auto h = std::make_shared<FloatHistogram>(*p.h);
          h->counter_reset_hint = CounterResetHint::kUnknown;
          p.h = std::move(h);
        }
      }
    }
    return std::move(v.m);
  }

  // Collects, for step ts, the elements of a step-aligned matrix; `cursor` keeps positions.
  // Histogram points are left out unless `keep_histograms`. With `src`, the samples carry no
  // labels (copying them at every step is most of an aggregation's cost) and src[k] is the
  // index in `m` of out[k]'s series.
  static void VectorAt(const Matrix& m, std::vector<size_t>* cursor, int64_t ts, Vector* out,
                       bool keep_histograms, std::vector<size_t>* src = nullptr) {
    out->clear();
    if (src != nullptr) src->clear();
    if (cursor->size() != m.size()) cursor->assign(m.size(), 0);
    for (size_t i = 0; i < m.size(); ++i) {
      const auto& pts = m[i].points;
      size_t& c = (*cursor)[i];
      while (c < pts.size() && pts[c].t_ms < ts) ++c;
      if (c < pts.size() && pts[c].t_ms == ts) {
        if (pts[c].h && !keep_histograms) continue;
        if (src != nullptr) {
          out->push_back(InstantSample{Labels(), ts, pts[c].f, m[i].drop_name, pts[c].h});
          src->push_back(i);
          continue;
        }
        InstantSample smp{m[i].metric, ts, pts[c].f, m[i].drop_name, pts[c].h};
        out->push_back(std::move(smp));
      }
    }
  }

  using StepFn = std::function<Status(const std::vector<Vector>& args, int64_t ts, Vector* out)>;

  // Prometheus' rangeEval: evaluates `f` at every step over the step-aligned inputs and
  // gathers the outputs into series. Histogram samples reach `f` only with `keep_histograms`
  // (callers that do not handle them drop them, as Prometheus' float-only paths do).
  // With `src0`, the first argument's samples reach `f` without labels and *src0 holds their
  // series' indices in args[0]->m (VectorAt).
  Result<Matrix> RangeEval(const std::vector<const Val*>& args, const StepFn& f,
                           bool keep_histograms = false, std::vector<size_t>* src0 = nullptr) {
    std::vector<std::vector<size_t>> cursors(args.size());
    std::vector<Vector> vecs(args.size());
    std::unordered_map<uint64_t, size_t> index;
    std::vector<int64_t> last_ts;
    Matrix out;
    Vector res;
    bool instant = start_ == end_;
    for (int64_t ts = start_; ts <= end_; ts += interval_) {
      RETURN_IF_ERROR(ctx_->CheckTime());
      for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == nullptr) continue;
        VectorAt(args[i]->m, &cursors[i], ts, &vecs[i], keep_histograms, i == 0 ? src0 : nullptr);
      }
      res.clear();
      RETURN_IF_ERROR(f(vecs, ts, &res));
      if (instant) {
        if (!ctx_->opts.delayed_name_removal && VectorContainsSameLabelset(res)) {
          return Status::InvalidArgument(kSameLabelset);
        }
        for (auto& s : res) {
          Series o;
          o.metric = std::move(s.metric);
          o.drop_name = s.drop_name;
          o.points.push_back({ts, s.f, s.h});
          out.push_back(std::move(o));
        }
        RETURN_IF_ERROR(ctx_->AddSamples(static_cast<int64_t>(out.size())));
        return out;
      }
      for (auto& s : res) {
        uint64_t h = s.metric.Hash();
        auto it = index.find(h);
        if (it == index.end()) {
          index.emplace(h, out.size());
          Series o;
          o.metric = std::move(s.metric);
          o.drop_name = s.drop_name;
          o.points.push_back({ts, s.f, s.h});
          out.push_back(std::move(o));
          last_ts.push_back(ts);
        } else {
          if (last_ts[it->second] == ts) return Status::InvalidArgument(kSameLabelset);
          last_ts[it->second] = ts;
          out[it->second].points.push_back({ts, s.f, s.h});
        }
      }
      RETURN_IF_ERROR(ctx_->AddSamples(static_cast<int64_t>(res.size())));
    }
    return out;
  }

  // ---- binary operators ----

  Result<Val> Binary(const Expr& e) {
    ASSIGN_OR_RETURN(Val lhs, Eval(*e.lhs));
    ASSIGN_OR_RETURN(Val rhs, Eval(*e.rhs));
    Val v;
    bool ls = lhs.type == ValueType::kScalar, rs = rhs.type == ValueType::kScalar;
    v.type = ls && rs ? ValueType::kScalar : ValueType::kVector;
    bool delayed = ctx_->opts.delayed_name_removal;
    if (ls && rs) {
      ASSIGN_OR_RETURN(v.m, RangeEval({&lhs, &rhs}, [&](const std::vector<Vector>& a, int64_t ts,
                                                          Vector* out) {
        out->push_back({Labels(), ts, ScalarBinop(e.bin_op, a[0][0].f, a[1][0].f), false});
        return Status::OK();
      }));
      return v;
    }
    if (ls || rs) {
      bool swap = ls;  // scalar on the left
      ASSIGN_OR_RETURN(v.m, RangeEval({&lhs, &rhs}, [&](const std::vector<Vector>& a, int64_t ts,
                                                          Vector* out) {
        const Vector& vec = swap ? a[1] : a[0];
        double sc = swap ? a[0][0].f : a[1][0].f;
        for (const auto& s : vec) {
          double l = s.f, r = sc;
          if (swap) std::swap(l, r);
          bool keep, invalid = false;
          double val;
          std::shared_ptr<const FloatHistogram> hv;
          if (s.h || IsTrimOp(e.bin_op)) {
            std::shared_ptr<const FloatHistogram> none;
            keep = HistElemBinop(&invalid, e, l, swap ? none : s.h, r, swap ? s.h : none, s.metric,
                                 &val, &hv);
          } else {
            val = ElemBinop(e.bin_op, l, r, &keep);
            if (IsComparison(e.bin_op) && swap) val = r;
          }
          if (e.return_bool && !invalid) {
            val = keep ? 1 : 0;
            keep = true;
            hv = nullptr;
          }
          if (!keep) continue;
          InstantSample o{s.metric, ts, val, s.drop_name, std::move(hv)};
          if (ShouldDropMetricName(e.bin_op) || e.return_bool) {
            if (delayed) {
              o.drop_name = true;
            } else {
              o.metric = StripName(o.metric);
            }
          }
          out->push_back(std::move(o));
        }
        return Status::OK();
      }, true));
      return v;
    }
    // vector op vector
    ASSIGN_OR_RETURN(v.m, RangeEval({&lhs, &rhs}, [&](const std::vector<Vector>& a, int64_t ts,
                                                        Vector* out) {
      return VectorBinop(e, a[0], a[1], ts, out);
    }, true));
    return v;
  }

  // Prometheus' vectorElemBinop for a pair of which at least one side is a histogram (or the
  // operator is a trim): hist +- hist, hist * float, float * hist, hist / float, hist ==/!=
  // hist (filtering on equality), and hist </ float, hist >/ float (HistogramTrim); other
  // pairs are dropped with an info. Returns whether to keep the result;
  // `*invalid` is set when the pair has no result at all (not even for `bool`).
  bool HistElemBinop(bool* invalid, const Expr& e, double fl, const std::shared_ptr<const FloatHistogram>& hl,
                     double fr, const std::shared_ptr<const FloatHistogram>& hr,
                     const Labels& metric, double* val,
                     std::shared_ptr<const FloatHistogram>* hout) {
    BinaryOp op = e.bin_op;
    std::string opn(BinaryOpString(op));
    *invalid = true;
    auto incompatible = [&](const char* a, const char* b) {
      ctx_->Info("incompatible sample types encountered for binary operator " + GoQuote(opn) +
                     ": " + a + " " + opn + " " + b,
                 e.pos);
      return false;
    };
    *val = 0;
    if (IsTrimOp(op)) {
      if (!hl || hr) return incompatible(hl ? "histogram" : "float", hr ? "histogram" : "float");
      TrimSide side = op == BinaryOp::kTrimUpper ? TrimSide::kKeepBelow : TrimSide::kKeepAbove;
      *hout = std::make_shared<const FloatHistogram>(HistogramTrim(*hl, fr, side));
      *invalid = false;
      return true;
    }
    if (!hl) {
      if (op != BinaryOp::kMul) return incompatible("float", "histogram");
      auto h = std::make_shared<FloatHistogram>(*hr);
      h->Mul(fl).Compact(0);
      *hout = std::move(h);
      *invalid = false;
      return true;
    }
    if (!hr) {
      if (op != BinaryOp::kMul && op != BinaryOp::kDiv) return incompatible("histogram", "float");
      auto h = std::make_shared<FloatHistogram>(*hl);
      if (op == BinaryOp::kMul) {
        h->Mul(fr);
      } else {
        h->Div(fr);
      }
      h->Compact(0);
      *hout = std::move(h);
      *invalid = false;
      return true;
    }
    if (op == BinaryOp::kEql || op == BinaryOp::kNeq) {
      *invalid = false;
      *hout = hl;
      return hl->Equals(*hr) == (op == BinaryOp::kEql);
    }
    if (op != BinaryOp::kAdd && op != BinaryOp::kSub) return incompatible("histogram", "histogram");
    auto h = std::make_shared<FloatHistogram>(*hl);
    auto r = op == BinaryOp::kAdd ? h->Add(*hr) : h->Sub(*hr);
    if (!r.ok()) {
      ctx_->Warn("vector contains a mix of histograms with exponential and custom buckets "
                 "schemas for metric name " + GoQuote(std::string(metric.MetricName())),
                 e.pos);
      return false;
    }
    if (r->nhcb_bounds_reconciled) {
      ctx_->Info(std::string("mismatched custom buckets were reconciled during ") +
                     (op == BinaryOp::kAdd ? "addition" : "subtraction"),
                 e.pos);
    }
    if (op == BinaryOp::kSub) h->counter_reset_hint = CounterResetHint::kGauge;
    h->Compact(0);
    *hout = std::move(h);
    *invalid = false;
    return true;
  }

  Status VectorBinop(const Expr& e, const Vector& lhs_in, const Vector& rhs_in, int64_t ts,
                     Vector* out) {
    const VectorMatching& vm = e.matching;
    bool delayed = ctx_->opts.delayed_name_removal;
    if (e.bin_op == BinaryOp::kAnd) {
      std::set<std::string> rsigs;
      for (const auto& s : rhs_in) rsigs.insert(MatchSignature(s.metric, vm));
      for (const auto& s : lhs_in) {
        if (rsigs.count(MatchSignature(s.metric, vm))) out->push_back(s);
      }
      return Status::OK();
    }
    if (e.bin_op == BinaryOp::kUnless) {
      std::set<std::string> rsigs;
      for (const auto& s : rhs_in) rsigs.insert(MatchSignature(s.metric, vm));
      for (const auto& s : lhs_in) {
        if (!rsigs.count(MatchSignature(s.metric, vm))) out->push_back(s);
      }
      return Status::OK();
    }
    if (e.bin_op == BinaryOp::kOr) {
      std::set<std::string> lsigs;
      for (const auto& s : lhs_in) {
        lsigs.insert(MatchSignature(s.metric, vm));
        out->push_back(s);
      }
      for (const auto& s : rhs_in) {
        if (!lsigs.count(MatchSignature(s.metric, vm))) out->push_back(s);
      }
      return Status::OK();
    }
    bool fills = vm.fill_left.has_value() || vm.fill_right.has_value();
    if (!fills && (lhs_in.empty() || rhs_in.empty())) return Status::OK();
    const Vector* lhs = &lhs_in;
    const Vector* rhs = &rhs_in;
    if (vm.card == Cardinality::kOneToMany) std::swap(lhs, rhs);
    std::unordered_map<std::string, const InstantSample*> right;
    for (const auto& rs : *rhs) {
      std::string sig = MatchSignature(rs.metric, vm);
      auto it = right.find(sig);
      if (it != right.end()) {
        std::string side = vm.card == Cardinality::kOneToMany ? "left" : "right";
        return Status::InvalidArgument(
            "found duplicate series for the match group " + GoLabelsString(MatchLabels(rs.metric, vm)) +
            " on the " + side + " hand-side of the operation: [" + GoLabelsString(it->second->metric) +
            ", " + GoLabelsString(rs.metric) +
            "];many-to-many matching not allowed: matching labels must be unique on one side");
      }
      right.emplace(std::move(sig), &rs);
    }
    std::unordered_map<std::string, std::set<Labels>> matched;
    std::set<std::string> left_sigs;
    InstantSample filled;
    for (const auto& ls : *lhs) {
      std::string sig = MatchSignature(ls.metric, vm);
      if (fills) left_sigs.insert(sig);
      auto it = right.find(sig);
      if (it == right.end() && !vm.fill_right) continue;
      if (it == right.end()) filled = InstantSample{Labels(), ts, *vm.fill_right, false};
      const InstantSample& rs = it == right.end() ? filled : *it->second;
      double fl = ls.f, fr = rs.f;
      std::shared_ptr<const FloatHistogram> hl = ls.h, hr = rs.h, hv;
      if (vm.card == Cardinality::kOneToMany) {
        std::swap(fl, fr);
        std::swap(hl, hr);
      }
      bool keep, invalid = false;
      double val;
      if (hl || hr || IsTrimOp(e.bin_op)) {
        keep = HistElemBinop(&invalid, e, fl, hl, fr, hr, ls.metric, &val, &hv);
      } else {
        val = ElemBinop(e.bin_op, fl, fr, &keep);
      }
      if (e.return_bool && !invalid) {
        hv = nullptr;
        val = keep ? 1 : 0;
        keep = true;
      }
      // resultMetric
      LabelsBuilder lb(ls.metric);
      bool drop = ShouldDropMetricName(e.bin_op) || e.return_bool;
      if (drop && !delayed) {
        lb.Del(kMetricNameLabel);
        lb.Del("__type__");
        lb.Del("__unit__");
      }
      if (vm.card == Cardinality::kOneToOne) {
        if (vm.on) {
          for (const auto& l : ls.metric) {
            if (std::find(vm.labels.begin(), vm.labels.end(), l.name) == vm.labels.end()) {
              lb.Del(l.name);
            }
          }
        } else {
          for (const auto& n : vm.labels) lb.Del(n);
        }
      }
      for (const auto& n : vm.include) {
        std::string_view v = rs.metric.Get(n);
        if (!v.empty()) {
          lb.Set(n, v);
        } else {
          lb.Del(n);
        }
      }
      Labels metric = lb.Build();
      auto mit = matched.find(sig);
      if (vm.card == Cardinality::kOneToOne) {
        if (mit != matched.end()) {
          return Status::InvalidArgument(
              "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
        }
        matched[sig];
      } else {
        auto& set = matched[sig];
        if (!set.insert(metric).second) {
          return Status::InvalidArgument(
              "multiple matches for labels: grouping labels must ensure unique matches");
        }
      }
      if (!keep) continue;
      bool dn = delayed && (drop || (vm.card == Cardinality::kOneToMany ? rs.drop_name : ls.drop_name));
      out->push_back({std::move(metric), ts, val, dn, std::move(hv)});
    }
    if (vm.fill_left) {
      // "one"-side samples without any match get the fill value for the missing side; the
      // result carries the match group's labels.
      for (const auto& rs : *rhs) {
        std::string sig = MatchSignature(rs.metric, vm);
        if (left_sigs.count(sig)) continue;
        // Fill values are floats: no histogram arithmetic (nor a trim) here.
        if (rs.h || IsTrimOp(e.bin_op)) continue;
        double fl = *vm.fill_left, fr = rs.f;
        if (vm.card == Cardinality::kOneToMany) std::swap(fl, fr);
        bool keep;
        double val = ElemBinop(e.bin_op, fl, fr, &keep);
        if (IsComparison(e.bin_op) && !e.return_bool) val = fl;
        if (e.return_bool) {
          val = keep ? 1 : 0;
          keep = true;
        }
        if (!keep) continue;
        out->push_back({MatchLabels(rs.metric, vm), ts, val, false});
      }
    }
    return Status::OK();
  }

  // ---- aggregations ----

  Result<Val> Aggregate(const Expr& e) {
    Val param;
    bool has_param = e.param != nullptr;
    std::string count_label;
    if (has_param) {
      ASSIGN_OR_RETURN(param, Eval(*e.param));
      if (e.agg_op == AggregateOp::kCountValues) {
        count_label = param.str;
        if (!IsValidUtf8(count_label) || count_label.empty()) {
          return Status::InvalidArgument("invalid label name " + GoQuote(count_label));
        }
      }
    }
    ASSIGN_OR_RETURN(Val child, Eval(*e.child));
    Val v;
    v.type = ValueType::kVector;
    const Val* pp = (has_param && param.type == ValueType::kScalar) ? &param : nullptr;
    // The aggregations whose output is one sample per group get each input series' group
    // once, not at every step (Prometheus' rangeEvalAgg does the same); the others output
    // input samples and need their labels.
    std::optional<SeriesGroups> grouping;
    std::vector<size_t> src;
    if (OutputsGroups(e.agg_op)) {
      grouping.emplace();
      grouping->input = &child.m;
      std::unordered_map<uint64_t, uint32_t> ids;
      grouping->of_series.reserve(child.m.size());
      for (const Series& s : child.m) {
        Labels gl = GroupLabels(e, s.metric);
        auto [it, fresh] = ids.emplace(gl.Hash(), static_cast<uint32_t>(grouping->labels.size()));
        if (fresh) grouping->labels.push_back(std::move(gl));
        grouping->of_series.push_back(it->second);
      }
    }
    const SeriesGroups* sg = grouping ? &*grouping : nullptr;
    if (sg != nullptr) {
      ASSIGN_OR_RETURN(std::optional<Matrix> by_series, AggregateSeriesMajor(e, child.m, *sg));
      if (by_series.has_value()) {
        v.m = std::move(*by_series);
        return v;
      }
    }
    ASSIGN_OR_RETURN(v.m, RangeEval({&child, pp}, [&](const std::vector<Vector>& a, int64_t ts,
                                                        Vector* out) {
      double p = pp != nullptr && !a[1].empty() ? a[1][0].f : 0;
      return AggregateStep(e, a[0], p, count_label, ts, out, sg, sg ? &src : nullptr);
    }, true, sg ? &src : nullptr));
    return v;
  }

  // An aggregation's input series grouped once: of_series[i] is the index in `labels` of the
  // group of (*input)[i].
  struct SeriesGroups {
    const Matrix* input = nullptr;
    std::vector<uint32_t> of_series;
    std::vector<Labels> labels;
  };

  // The float aggregations of a range query, series by series: every (group, step) cell
  // takes its samples in input-series order, as the step-wise path (AggregateStep) does, so
  // the results are the same bits; but each series' points are read once and in order,
  // instead of visiting every series at every step. The output series come in the order the
  // step-wise path creates them. Returns nullopt where it does not apply (other operators,
  // instant queries, histogram samples, by (__name__), more than kMaxCells cells).
  Result<std::optional<Matrix>> AggregateSeriesMajor(const Expr& e, const Matrix& in,
                                                     const SeriesGroups& sg) {
    static constexpr int64_t kMaxCells = int64_t{1} << 21;
    const AggregateOp op = e.agg_op;
    switch (op) {
      case AggregateOp::kSum: case AggregateOp::kAvg: case AggregateOp::kCount:
      case AggregateOp::kMin: case AggregateOp::kMax: case AggregateOp::kGroup:
      case AggregateOp::kStddev: case AggregateOp::kStdvar: break;
      default: return std::optional<Matrix>();
    }
    if (start_ == end_ || interval_ <= 0) return std::optional<Matrix>();
    if (!e.without && std::find(e.grouping.begin(), e.grouping.end(),
                                std::string(kMetricNameLabel)) != e.grouping.end()) {
      return std::optional<Matrix>();
    }
    const int64_t steps = NumSteps();
    const int64_t groups = static_cast<int64_t>(sg.labels.size());
    if (groups * steps > kMaxCells) return std::optional<Matrix>();
    for (const Series& s : in) {
      for (const Point& p : s.points) {
        if (p.h || p.t_ms < start_ || p.t_ms > end_ || (p.t_ms - start_) % interval_ != 0) {
          return std::optional<Matrix>();
        }
      }
    }
    std::vector<FloatAcc> cells(static_cast<size_t>(groups * steps));
    std::vector<uint8_t> present(cells.size(), 0);
    // Per group, the (step, input series) of its first sample: the step-wise path creates the
    // group's output series at that step, after the groups first seen earlier in that step.
    std::vector<std::pair<int64_t, size_t>> first(static_cast<size_t>(groups),
                                                  {steps, in.size()});
    for (size_t i = 0; i < in.size(); ++i) {
      if (i % 1024 == 0) RETURN_IF_ERROR(ctx_->CheckTime());
      const uint32_t g = sg.of_series[i];
      for (const Point& p : in[i].points) {
        const int64_t k = (p.t_ms - start_) / interval_;
        const size_t cell = static_cast<size_t>(g * steps + k);
        AccumulateFloat(op, p.f, present[cell] == 0, &cells[cell]);
        present[cell] = 1;
        first[g] = std::min(first[g], std::pair<int64_t, size_t>{k, i});
      }
    }
    std::vector<uint32_t> order;
    for (uint32_t g = 0; g < static_cast<uint32_t>(groups); ++g) {
      if (first[g].first < steps) order.push_back(g);
    }
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return first[a] < first[b]; });
    Matrix out;
    out.reserve(order.size());
    std::vector<int64_t> per_step(static_cast<size_t>(steps), 0);
    for (uint32_t g : order) {
      Series o;
      o.metric = sg.labels[g];
      for (int64_t k = 0; k < steps; ++k) {
        const size_t cell = static_cast<size_t>(g * steps + k);
        if (!present[cell]) continue;
        o.points.push_back({start_ + k * interval_, FinishFloat(op, cells[cell]), nullptr});
        per_step[static_cast<size_t>(k)]++;
      }
      out.push_back(std::move(o));
    }
    // Counted per step, as the step-wise path counts each step's output.
    for (int64_t n : per_step) RETURN_IF_ERROR(ctx_->AddSamples(n));
    return std::optional<Matrix>(std::move(out));
  }

  static bool OutputsGroups(AggregateOp op) {
    return op != AggregateOp::kTopk && op != AggregateOp::kBottomk && op != AggregateOp::kLimitk &&
           op != AggregateOp::kLimitRatio && op != AggregateOp::kCountValues;
  }

  Labels GroupLabels(const Expr& e, const Labels& ls) const {
    if (e.without) {
      std::vector<std::string> drop = e.grouping;
      drop.push_back(std::string(kMetricNameLabel));
      return ls.Filter(drop, false);
    }
    return ls.Filter(e.grouping, true);
  }

  // The aggregations that take native histograms (the others never see them).
  static bool AggregatesHistograms(AggregateOp op) {
    return op == AggregateOp::kSum || op == AggregateOp::kAvg || op == AggregateOp::kCount ||
           op == AggregateOp::kGroup || op == AggregateOp::kLimitk ||
           op == AggregateOp::kLimitRatio || op == AggregateOp::kCountValues;
  }

  // The running state of a float aggregation (sum, avg, count, min, max, group, stddev,
  // stdvar) of one group at one step; `c` is the Kahan compensation.
  struct FloatAcc {
    double value = 0, mean = 0, c = 0, count = 0;
    bool incremental = false;  // avg switched to the incremental mean (the sum overflowed)
  };

  // Adds `f` to `g`; `fresh` for the group's first sample (upstream's aggregation()).
  static void AccumulateFloat(AggregateOp op, double f, bool fresh, FloatAcc* acc) {
    FloatAcc& g = *acc;
    if (fresh) {
      g.value = f;
      g.mean = f;
      g.count = 1;
      if (op == AggregateOp::kStddev || op == AggregateOp::kStdvar) {
        g.value = (std::isnan(f) || std::isinf(f)) ? std::nan("") : 0;
      } else if (op == AggregateOp::kGroup) {
        g.value = 1;
      }
      return;
    }
    switch (op) {
      case AggregateOp::kSum: g.value = KahanSumInc(f, g.value, &g.c); break;
      case AggregateOp::kAvg: {
        g.count++;
        if (g.incremental) {
          if (std::isinf(g.mean)) {
            if (std::isinf(f) && (g.mean > 0) == (f > 0)) break;
            if (!std::isinf(f) && !std::isnan(f)) break;
          }
          double cur = g.mean + g.c;
          g.mean = KahanSumInc(f / g.count - cur / g.count, g.mean, &g.c);
          break;
        }
        double nc = g.c;
        double nv = KahanSumInc(f, g.value, &nc);
        if (!std::isinf(nv)) {
          g.value = nv;
          g.c = nc;
          break;
        }
        g.incremental = true;
        g.mean = g.value / (g.count - 1);
        g.c /= (g.count - 1);
        double q = (g.count - 1) / g.count;
        double qc = q * g.c;
        g.mean = KahanSumInc(f / g.count, q * g.mean, &qc);
        g.c = qc;
        break;
      }
      case AggregateOp::kCount: g.count++; break;
      case AggregateOp::kMax:
        if (g.value < f || std::isnan(g.value)) g.value = f;
        break;
      case AggregateOp::kMin:
        if (g.value > f || std::isnan(g.value)) g.value = f;
        break;
      case AggregateOp::kStddev:
      case AggregateOp::kStdvar: {
        g.count++;
        double delta = f - g.mean;
        g.mean += delta / g.count;
        g.value += delta * (f - g.mean);
        break;
      }
      default: break;  // group: stays 1
    }
  }

  // The value of `g` once every sample is in.
  static double FinishFloat(AggregateOp op, const FloatAcc& g) {
    switch (op) {
      case AggregateOp::kSum: return g.value + g.c;
      case AggregateOp::kAvg: return g.incremental ? g.mean + g.c : g.value / g.count + g.c / g.count;
      case AggregateOp::kCount: return g.count;
      case AggregateOp::kStdvar: return g.value / g.count;
      case AggregateOp::kStddev: return std::sqrt(g.value / g.count);
      default: return g.value;
    }
  }

  // One step of an aggregation over `in_all`. With `sg` (OutputsGroups ops only), the samples
  // carry no labels: (*src_all)[k] is the input series of in_all[k], and sg its group.
  Status AggregateStep(const Expr& e, const Vector& in_all, double param,
                       const std::string& count_label, int64_t ts, Vector* out,
                       const SeriesGroups* sg = nullptr, const std::vector<size_t>* src_all = nullptr) {
    AggregateOp op = e.agg_op;
    // The aggregations that cannot use histograms ignore them, with an info.
    Vector filtered;
    std::vector<size_t> src_filtered;
    bool ignore = !AggregatesHistograms(op) &&
                  std::any_of(in_all.begin(), in_all.end(),
                              [](const InstantSample& s) { return s.h != nullptr; });
    if (ignore) {
      for (size_t k = 0; k < in_all.size(); ++k) {
        if (in_all[k].h) continue;
        filtered.push_back(in_all[k]);
        if (sg != nullptr) src_filtered.push_back((*src_all)[k]);
      }
      ctx_->Info("ignored histogram in " + std::string(AggregateOpString(op)) + " aggregation",
                 e.child->pos);
    }
    const Vector& in = ignore ? filtered : in_all;
    const std::vector<size_t>* src = ignore ? &src_filtered : src_all;
    // The labels of in[k]'s series.
    auto metric_of = [&](size_t k) -> const Labels& {
      return sg != nullptr ? (*sg->input)[(*src)[k]].metric : in[k].metric;
    };
    struct Group : FloatAcc {
      Labels labels;
      bool drop_name = false;  // by (__name__) over samples whose name is to be dropped
      std::vector<size_t> members;  // indices into `in` (topk/bottomk/limitk/quantile)
      std::vector<double> values;
      // sum/avg over native histograms: the running sum, how many, and what went wrong.
      std::shared_ptr<FloatHistogram> hist;
      double hist_count = 0;
      bool has_float = false, hist_failed = false;
    };
    std::vector<Group> groups;
    // The group of in[k], created at its first sample of this step: keyed by the grouping's
    // id with `sg`, else by the hash of the group labels.
    std::unordered_map<uint64_t, size_t> index;
    auto group_of = [&](size_t k, bool* fresh) -> Group& {
      if (sg != nullptr) {
        uint32_t id = sg->of_series[(*src)[k]];
        auto [it, created] = index.emplace(id, groups.size());
        *fresh = created;
        if (created) {
          groups.push_back(Group{});
          groups.back().labels = sg->labels[id];
        }
        return groups[it->second];
      }
      Labels gl = GroupLabels(e, in[k].metric);
      uint64_t h = gl.Hash();
      auto it = index.find(h);
      *fresh = it == index.end();
      if (*fresh) {
        index.emplace(h, groups.size());
        groups.push_back(Group{});
        groups.back().labels = std::move(gl);
        return groups.back();
      }
      return groups[it->second];
    };

    if (op == AggregateOp::kTopk || op == AggregateOp::kBottomk || op == AggregateOp::kLimitk) {
      if (std::isnan(param)) return Status::InvalidArgument("Parameter value is NaN");
      int64_t k;
      if (param >= 9.2e18) {
        k = std::numeric_limits<int64_t>::max();
      } else if (param <= -9.2e18) {
        k = std::numeric_limits<int64_t>::min();
      } else {
        k = static_cast<int64_t>(param);
      }
      if (k < 1) return Status::OK();
      for (size_t i = 0; i < in.size(); ++i) {
        bool fresh;
        group_of(i, &fresh).members.push_back(i);
      }
      for (auto& g : groups) {
        std::vector<size_t> sel = g.members;
        if (op != AggregateOp::kLimitk) {
          bool top = op == AggregateOp::kTopk;
          std::stable_sort(sel.begin(), sel.end(), [&](size_t x, size_t y) {
            double a = in[x].f, b = in[y].f;
            if (std::isnan(a)) return false;
            if (std::isnan(b)) return true;
            return top ? a > b : a < b;
          });
        }
        if (static_cast<int64_t>(sel.size()) > k) sel.resize(static_cast<size_t>(k));
        for (size_t i : sel) out->push_back(in[i]);
      }
      return Status::OK();
    }
    if (op == AggregateOp::kLimitRatio) {
      if (std::isnan(param)) return Status::InvalidArgument("Ratio value is NaN");
      double ratio = param;
      if (ratio < -1 || ratio > 1) {
        double capped = ratio < -1 ? -1 : 1;
        ctx_->Warn("ratio value should be between -1 and 1, got " + FormatFloatGo(ratio) +
                       ", capping to " + FormatFloatGo(capped),
                   e.param->pos);
        ratio = capped;
      }
      for (const auto& s : in) {
        double r = static_cast<double>(PrometheusLabelsHash(s.metric)) / 18446744073709551615.0;
        bool keep = ratio >= 0 ? r < ratio : r >= 1 + ratio;
        if (keep) out->push_back(s);
      }
      return Status::OK();
    }
    if (op == AggregateOp::kCountValues) {
      std::map<Labels, double> counts;
      std::vector<Labels> order;
      for (const auto& s : in) {
        LabelsBuilder lb(GroupLabels(e, s.metric));
        // A histogram counts by its text form (FloatHistogram.String() upstream).
        lb.Set(count_label, s.h ? s.h->String() : FormatFloatGo(s.f));
        Labels key = lb.Build();
        auto it = counts.find(key);
        if (it == counts.end()) {
          counts.emplace(key, 1);
          order.push_back(key);
        } else {
          it->second++;
        }
      }
      for (const auto& key : order) out->push_back({key, ts, counts[key], false});
      return Status::OK();
    }
    if (op == AggregateOp::kQuantile && (std::isnan(param) || param < 0 || param > 1)) {
      ctx_->Warn("quantile value should be between 0 and 1, got " + FormatFloatGo(param),
                 e.param->pos);
    }
    bool by_name = !e.without && std::find(e.grouping.begin(), e.grouping.end(),
                                           std::string(kMetricNameLabel)) != e.grouping.end();
    bool sum_like = op == AggregateOp::kSum || op == AggregateOp::kAvg;
    for (size_t k = 0; k < in.size(); ++k) {
      const InstantSample& s = in[k];
      bool fresh;
      Group& g = group_of(k, &fresh);
      if (by_name && s.drop_name) g.drop_name = true;
      if (s.h && sum_like) {
        g.hist_count++;
        if (op == AggregateOp::kAvg) g.members.push_back(static_cast<size_t>(&s - in.data()));
        if (!g.hist) {
          g.hist = std::make_shared<FloatHistogram>(*s.h);
          g.value = s.h->sum;  // Kahan-summed sum of observations (g.c the compensation)
          g.c = 0;
        } else if (!g.hist_failed) {
          g.value = KahanSumInc(s.h->sum, g.value, &g.c);
          auto r = g.hist->Add(*s.h);
          if (!r.ok()) {
            g.hist_failed = true;
            ctx_->Warn("vector contains a mix of histograms with exponential and custom buckets "
                       "schemas for metric name " + GoQuote(std::string(metric_of(k).MetricName())),
                       e.child->pos);
          } else {
            if (r->counter_reset_collision) {
              ctx_->Warn("conflicting counter resets during histogram aggregation", e.child->pos);
            }
            if (r->nhcb_bounds_reconciled) {
              ctx_->Info("mismatched custom buckets were reconciled during aggregation", e.child->pos);
            }
          }
        }
        continue;
      }
      if (sum_like && !fresh && !g.has_float) fresh = true;  // first float after histograms
      if (sum_like) g.has_float = true;
      if (op == AggregateOp::kQuantile) {
        g.values.push_back(s.f);
        continue;
      }
      AccumulateFloat(op, s.f, fresh, &g);
    }
    for (auto& g : groups) {
      if (sum_like && g.hist) {
        if (g.has_float) {
          ctx_->Warn("encountered a mix of histograms and floats for aggregation", e.child->pos);
          continue;
        }
        if (g.hist_failed) continue;
        g.hist->sum = std::isinf(g.value) ? g.value : g.value + g.c;
        if (op == AggregateOp::kAvg) {
          g.hist->Div(g.hist_count);
          if (HasInfiniteCounts(*g.hist)) {
            // The sum overflowed: average the parts instead.
            std::vector<const FloatHistogram*> hs;
            for (size_t i : g.members) hs.push_back(in[i].h.get());
            auto mean = HistogramMeanOfParts(hs);
            if (mean.ok()) {
              double observations_mean = g.hist->sum;
              *g.hist = *mean;
              g.hist->sum = observations_mean;
            }
          }
        }
        g.hist->Compact(0);
        InstantSample o{std::move(g.labels), ts, 0, g.drop_name, std::move(g.hist)};
        out->push_back(std::move(o));
        continue;
      }
      double v = op == AggregateOp::kQuantile ? Quantile(param, g.values) : FinishFloat(op, g);
      out->push_back({std::move(g.labels), ts, v, g.drop_name});
    }
    return Status::OK();
  }

  // ---- function calls ----

  Result<Val> Call(const Expr& e) {
    const std::string& f = e.func;
    if (ctx_->range_query && (f == "sort" || f == "sort_desc" || f == "sort_by_label" ||
                              f == "sort_by_label_desc")) {
      ctx_->Warn("sort is ineffective for range queries since results are always ordered by labels",
                 e.pos);
    }
    int matrix_arg = -1;
    for (size_t i = 0; i < e.args.size(); ++i) {
      if (e.args[i]->type() == ValueType::kMatrix) matrix_arg = static_cast<int>(i);
    }
    if (matrix_arg >= 0) return RangeFunction(e, static_cast<size_t>(matrix_arg));
    Val v;
    v.type = e.type();
    if (f == "time" || f == "pi" || f == "step" || f == "range" || f == "start" || f == "end") {
      Series s = ConstSeries(0);
      for (auto& p : s.points) {
        if (f == "pi") {
          p.f = M_PI;
        } else if (f == "time") {
          p.f = static_cast<double>(p.t_ms) / 1000.0;
        } else if (f == "step") {
          p.f = static_cast<double>(ctx_->query_step) / 1000.0;
        } else if (f == "range") {
          p.f = static_cast<double>(ctx_->query_end - ctx_->query_start) / 1000.0;
        } else if (f == "start") {
          p.f = static_cast<double>(ctx_->query_start) / 1000.0;
        } else {
          p.f = static_cast<double>(ctx_->query_end) / 1000.0;
        }
      }
      v.m.push_back(std::move(s));
      return v;
    }
    if (f == "start_timestamp") {
      // The start timestamps of the selected samples, in seconds (0 where unknown). Only a
      // plain selector has them: over any other expression, or with use_start_timestamps
      // off, the result is empty (upstream).
      const Expr& arg = Unparen(*e.args[0]);
      Val in;
      in.type = ValueType::kVector;
      if (arg.kind != ExprKind::kVectorSelector || !ctx_->opts.use_start_timestamps) return in;
      ASSIGN_OR_RETURN(in.m, VectorSelector(arg, false));
      for (auto& s : in.m) {
        for (auto& p : s.points) {
          p.f = static_cast<double>(p.st_ms) / 1000.0;
          p.h = nullptr;
          p.st_ms = 0;
        }
        DropName(&s.metric, &s.drop_name);
      }
      if (!ctx_->opts.delayed_name_removal && ContainsSameLabelset(in.m)) {
        return Status::InvalidArgument(kSameLabelset);
      }
      return in;
    }
    if (f == "timestamp") {
      const Expr& arg = Unparen(*e.args[0]);
      Val in;
      in.type = ValueType::kVector;
      if (arg.kind == ExprKind::kVectorSelector) {
        ASSIGN_OR_RETURN(in.m, VectorSelector(arg, true));
      } else {
        ASSIGN_OR_RETURN(in, Eval(arg));
        for (auto& s : in.m) {
          for (auto& p : s.points) p.f = static_cast<double>(p.t_ms) / 1000.0;
        }
      }
      for (auto& s : in.m) DropName(&s.metric, &s.drop_name);
      if (!ctx_->opts.delayed_name_removal && ContainsSameLabelset(in.m)) {
        return Status::InvalidArgument(kSameLabelset);
      }
      return in;
    }
    if (f == "info") {
      // The second argument is a label selector, not evaluated as a vector.
      std::vector<Val> base(1);
      ASSIGN_OR_RETURN(base[0], Eval(*e.args[0]));
      return Info(e, base);
    }
    std::vector<Val> args(e.args.size());
    for (size_t i = 0; i < e.args.size(); ++i) {
      ASSIGN_OR_RETURN(args[i], Eval(*e.args[i]));
    }
    std::vector<const Val*> ptrs;
    for (const auto& a : args) ptrs.push_back(a.type == ValueType::kString ? nullptr : &a);
    bool is_date = f == "day_of_month" || f == "day_of_week" || f == "day_of_year" ||
                   f == "days_in_month" || f == "hour" || f == "minute" || f == "month" ||
                   f == "year";
    if (f == "label_replace") return LabelReplace(args);
    if (f == "label_join") return LabelJoin(args);
    if (f == "histogram_quantile" || f == "histogram_fraction" || f == "histogram_quantiles") {
      return HistogramFunc(e, args, ptrs);
    }
    bool delayed = ctx_->opts.delayed_name_removal;
    bool keep_name = KeepsMetricName(f);
    ASSIGN_OR_RETURN(v.m, RangeEval(ptrs, [&](const std::vector<Vector>& a, int64_t ts,
                                                Vector* out) -> Status {
      if (f == "min_of" || f == "max_of") {
        double x = a[0][0].f, y = a[1][0].f;
        double r = std::isnan(x) || std::isnan(y) ? std::nan("")
                   : f == "min_of"                  ? std::min(x, y)
                                                    : std::max(x, y);
        out->push_back({Labels(), ts, r, false});
        return Status::OK();
      }
      if (f == "vector") {
        out->push_back({Labels(), ts, a[0][0].f, false});
        return Status::OK();
      }
      if (f == "scalar") {
        out->push_back({Labels(), ts, a[0].size() == 1 ? a[0][0].f : std::nan(""), false});
        return Status::OK();
      }
      if (f == "absent") {
        if (!a[0].empty()) return Status::OK();
        out->push_back({AbsentLabels(*e.args[0]), ts, 1, false});
        return Status::OK();
      }
      if (is_date && a.empty()) {
        double t = static_cast<double>(ts) / 1000.0;
        out->push_back({Labels(), ts, DateFunc(f, t), false});
        return Status::OK();
      }
      if (f == "sort" || f == "sort_desc" || f == "sort_by_label" || f == "sort_by_label_desc") {
        *out = a[0];
        SortVector(e, args, out);
        return Status::OK();
      }
      double p1 = a.size() > 1 && !a[1].empty() ? a[1][0].f : 0;
      double p2 = a.size() > 2 && !a[2].empty() ? a[2][0].f : 0;
      if (f == "clamp" && p2 < p1) return Status::OK();
      for (const auto& s : a[0]) {
        double x = s.f, r = 0;
        if (s.h) {
          // Only the histogram_* functions take native histograms; the rest skip them.
          if (f == "histogram_count") { r = HistogramCount(*s.h);
          } else if (f == "histogram_sum") { r = HistogramSum(*s.h);
          } else if (f == "histogram_avg") { r = HistogramAvg(*s.h);
          } else if (f == "histogram_stddev") { r = HistogramStdDev(*s.h);
          } else if (f == "histogram_stdvar") { r = HistogramStdVar(*s.h);
          } else {
            continue;
          }
          InstantSample o{s.metric, ts, r, s.drop_name};
          if (delayed) {
            o.drop_name = true;
          } else {
            o.metric = StripName(o.metric);
          }
          out->push_back(std::move(o));
          continue;
        }
        if (is_date) {
          r = DateFunc(f, x);
        } else if (f == "abs") { r = std::fabs(x);
        } else if (f == "ceil") { r = std::ceil(x);
        } else if (f == "floor") { r = std::floor(x);
        } else if (f == "exp") { r = std::exp(x);
        } else if (f == "sqrt") { r = std::sqrt(x);
        } else if (f == "ln") { r = std::log(x);
        } else if (f == "log2") { r = std::log2(x);
        } else if (f == "log10") { r = std::log10(x);
        } else if (f == "sgn") { r = x > 0 ? 1 : x < 0 ? -1 : x;
        } else if (f == "acos") { r = std::acos(x);
        } else if (f == "acosh") { r = std::acosh(x);
        } else if (f == "asin") { r = std::asin(x);
        } else if (f == "asinh") { r = std::asinh(x);
        } else if (f == "atan") { r = std::atan(x);
        } else if (f == "atanh") { r = std::atanh(x);
        } else if (f == "cos") { r = std::cos(x);
        } else if (f == "cosh") { r = std::cosh(x);
        } else if (f == "sin") { r = std::sin(x);
        } else if (f == "sinh") { r = std::sinh(x);
        } else if (f == "tan") { r = std::tan(x);
        } else if (f == "tanh") { r = std::tanh(x);
        } else if (f == "deg") { r = x * 180 / M_PI;
        } else if (f == "rad") { r = x * M_PI / 180;
        } else if (f == "clamp") { r = std::max(p1, std::min(p2, x));
        } else if (f == "clamp_max") { r = std::min(p1, x);
        } else if (f == "clamp_min") { r = std::max(p1, x);
        } else if (f == "round") {
          double to = a.size() > 1 ? p1 : 1;
          double inv = 1.0 / to;
          r = std::floor(x * inv + 0.5) / inv;
        } else if (f == "histogram_count" || f == "histogram_sum" || f == "histogram_avg" ||
                   f == "histogram_stddev" || f == "histogram_stdvar") {
          continue;  // native histograms only: float samples are ignored
        } else if (f == "info") {
          r = x;
        } else {
          return Status::Unimplemented("function " + f + " is not implemented");
        }
        if (f == "clamp" || f == "clamp_max" || f == "clamp_min") {
          if (std::isnan(x)) r = x;
          if ((f == "clamp" || f == "clamp_max") && std::isnan(p1 + (f == "clamp" ? p2 : 0))) r = std::nan("");
          if (f == "clamp_min" && std::isnan(p1)) r = std::nan("");
          if (f == "clamp_max" && std::isnan(p1)) r = std::nan("");
          if (f == "clamp" && (std::isnan(p1) || std::isnan(p2))) r = std::nan("");
        }
        InstantSample o{s.metric, ts, r, s.drop_name};
        if (!keep_name) {
          if (delayed) {
            o.drop_name = true;
          } else {
            o.metric = StripName(o.metric);
          }
        }
        out->push_back(std::move(o));
      }
      return Status::OK();
    }, f.rfind("histogram_", 0) == 0 || f == "absent"));
    return v;
  }

  static double DateFunc(const std::string& f, double t) {
    if (std::isnan(t) || std::isinf(t)) return std::nan("");
    time_t tt = static_cast<time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    if (f == "day_of_month") return tm.tm_mday;
    if (f == "day_of_week") return tm.tm_wday;
    if (f == "day_of_year") return tm.tm_yday + 1;
    if (f == "hour") return tm.tm_hour;
    if (f == "minute") return tm.tm_min;
    if (f == "month") return tm.tm_mon + 1;
    if (f == "year") return tm.tm_year + 1900;
    if (f == "days_in_month") {
      static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
      int y = tm.tm_year + 1900;
      bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
      return tm.tm_mon == 1 && leap ? 29 : kDays[tm.tm_mon];
    }
    return std::nan("");
  }

  void SortVector(const Expr& e, const std::vector<Val>& args, Vector* v) const {
    const std::string& f = e.func;
    if (f == "sort") {
      std::stable_sort(v->begin(), v->end(), [](const InstantSample& a, const InstantSample& b) {
        if (std::isnan(a.f)) return false;
        if (std::isnan(b.f)) return true;
        return a.f < b.f;
      });
    } else if (f == "sort_desc") {
      std::stable_sort(v->begin(), v->end(), [](const InstantSample& a, const InstantSample& b) {
        if (std::isnan(a.f)) return false;
        if (std::isnan(b.f)) return true;
        return a.f > b.f;
      });
    } else {
      std::vector<std::string> names;
      for (size_t i = 1; i < args.size(); ++i) names.push_back(args[i].str);
      bool desc = f == "sort_by_label_desc";
      std::stable_sort(v->begin(), v->end(), [&](const InstantSample& a, const InstantSample& b) {
        for (const auto& n : names) {
          std::string x(a.metric.Get(n)), y(b.metric.Get(n));
          int c = NaturalCompare(x, y);
          if (c != 0) return desc ? c > 0 : c < 0;
        }
        return desc ? b.metric < a.metric : a.metric < b.metric;
      });
    }
  }

  static Labels AbsentLabels(const Expr& arg_in) {
    const Expr& arg = Unparen(arg_in);
    const Expr* vs = nullptr;
    if (arg.kind == ExprKind::kVectorSelector) vs = &arg;
    if (arg.kind == ExprKind::kMatrixSelector) vs = arg.child.get();
    if (arg.kind == ExprKind::kSubquery) return Labels();
    if (vs == nullptr) return Labels();
    std::map<std::string, std::string> eq;
    std::map<std::string, int> seen;
    std::set<std::string> dup;
    for (const auto& m : vs->matchers) {
      if (m.name() == kMetricNameLabel) continue;
      if (++seen[m.name()] > 1) dup.insert(m.name());
      if (m.type() == MatchType::kEqual) eq[m.name()] = m.value();
    }
    std::vector<Label> ls;
    for (const auto& [n, val] : eq) {
      if (!dup.count(n) && !val.empty()) ls.push_back({n, val});
    }
    return Labels::FromSorted(std::move(ls));
  }

  // info(v, [selector]) (Prometheus 3, experimental): adds the data labels of info series
  // (default target_info) that share the identifying labels instance and job.
  Result<Val> Info(const Expr& e, std::vector<Val>& args) {
    std::vector<Matcher> name_ms, data_ms;
    if (e.args.size() > 1) {
      const Expr& sel = Unparen(*e.args[1]);
      if (sel.kind != ExprKind::kVectorSelector) {
        return Status::InvalidArgument("expected label selectors as the second argument to \"info\" function");
      }
      for (const auto& m : sel.matchers) {
        (m.name() == kMetricNameLabel ? name_ms : data_ms).push_back(m);
      }
    }
    bool positive = false;
    for (const auto& m : name_ms) {
      if (m.type() == MatchType::kEqual || m.type() == MatchType::kRegexMatch) positive = true;
    }
    if (name_ms.empty()) {
      ASSIGN_OR_RETURN(Matcher m, Matcher::Make(MatchType::kEqual, std::string(kMetricNameLabel), "target_info"));
      name_ms.push_back(std::move(m));
      positive = true;
    }
    std::vector<Matcher> select = name_ms;
    if (!positive) {
      ASSIGN_OR_RETURN(Matcher m, Matcher::Make(MatchType::kRegexMatch, std::string(kMetricNameLabel), ".+_info"));
      select.push_back(std::move(m));
    }
    auto is_info_name = [&](const Labels& ls) { return MatchesAll(select, ls); };
    Expr vs;
    vs.kind = ExprKind::kVectorSelector;
    vs.matchers = select;
    // Info series are looked up at the time the base data comes from: the outermost @ or
    // offset of the first argument applies to them too.
    // The outermost @ fixes the time; offsets along the way add up.
    std::function<void(const Expr&)> shift = [&](const Expr& n) {
      const Expr* mods = n.kind == ExprKind::kMatrixSelector ? n.child.get() : &n;
      if (n.kind == ExprKind::kVectorSelector || n.kind == ExprKind::kMatrixSelector ||
          n.kind == ExprKind::kSubquery) {
        if (vs.at == AtKind::kNone && mods->at != AtKind::kNone) {
          vs.at = mods->at;
          vs.at_ms = mods->at_ms;
        }
        if (mods->has_offset) {
          vs.has_offset = true;
          vs.offset_ms += ResolveMs(mods->offset_ms, mods->offset_expr, 0);
        }
        if (n.kind != ExprKind::kSubquery) return;
      }
      for (const auto* c : {n.lhs.get(), n.rhs.get(), n.child.get()}) {
        if (c) {
          shift(*c);
          return;
        }
      }
      if (!n.args.empty()) {
        for (const auto& a : n.args) {
          if (a->type() == ValueType::kVector || a->type() == ValueType::kMatrix) {
            shift(*a);
            return;
          }
        }
      }
    };
    shift(*e.args[0]);
    Val infos;
    infos.type = ValueType::kVector;
    ASSIGN_OR_RETURN(infos.m, VectorSelector(vs, true, true));  // values: the samples' times
    bool empty_ok = std::all_of(data_ms.begin(), data_ms.end(), [](const Matcher& m) { return m.MatchesEmpty(); });
    Val v;
    v.type = ValueType::kVector;
    ASSIGN_OR_RETURN(v.m, RangeEval({&args[0], &infos}, [&](const std::vector<Vector>& a, int64_t ts,
                                                              Vector* out) -> Status {
      (void)ts;
      for (const auto& s : a[0]) {
        if (!s.metric.MetricName().empty() && is_info_name(s.metric)) {
          out->push_back(s);
          continue;
        }
        LabelsBuilder lb(s.metric);
        bool found = false;
        // Per info metric name, the series with the newest sample wins (info churn).
        std::map<std::string, const InstantSample*> newest;
        for (const auto& info : a[1]) {
          if (info.metric.Get("instance") != s.metric.Get("instance") ||
              info.metric.Get("job") != s.metric.Get("job")) {
            continue;
          }
          if (!MatchesAll(data_ms, info.metric)) continue;
          auto& slot = newest[std::string(info.metric.MetricName())];
          if (slot == nullptr || info.f > slot->f) slot = &info;
        }
        std::map<std::string, std::string> added;
        for (const auto& [name, infop] : newest) {
          const InstantSample& info = *infop;
          found = true;
          for (const auto& l : info.metric) {
            if (l.name == kMetricNameLabel || l.name == "instance" || l.name == "job") continue;
            if (!data_ms.empty() &&
                std::none_of(data_ms.begin(), data_ms.end(), [&](const Matcher& m) { return m.name() == l.name; })) {
              continue;
            }
            if (s.metric.Has(l.name)) continue;
            auto it = added.find(l.name);
            if (it != added.end() && it->second != l.value) {
              return Status::InvalidArgument("conflicting label: \"" + l.name + "\" has values \"" +
                                             it->second + "\" and \"" + l.value +
                                             "\" in info metrics for " + GoLabelsString(s.metric));
            }
            added[l.name] = l.value;
            lb.Set(l.name, l.value);
          }
        }
        if (!found && !empty_ok) continue;
        out->push_back({lb.Build(), s.t_ms, s.f, s.drop_name});
      }
      return Status::OK();
    }));
    return v;
  }

  Result<Val> LabelReplace(std::vector<Val>& args) {
    const std::string &dst = args[1].str, &repl = args[2].str, &src = args[3].str,
                      &regex = args[4].str;
    re2::RE2 re("^(?s:" + regex + ")$", re2::RE2::Quiet);
    if (!re.ok()) {
      return Status::InvalidArgument("invalid regular expression in label_replace(): " + regex);
    }
    if (!IsValidUtf8(dst) || dst.empty()) {
      return Status::InvalidArgument("invalid destination label name in label_replace(): " + dst);
    }
    Val v;
    v.type = ValueType::kVector;
    int ngroups = re.NumberOfCapturingGroups() + 1;
    std::vector<re2::StringPiece> groups(static_cast<size_t>(ngroups));
    for (auto& s : args[0].m) {
      std::string val(s.metric.Get(src));
      if (re.Match(val, 0, val.size(), re2::RE2::UNANCHORED, groups.data(), ngroups)) {
        std::string res = ExpandTemplate(repl, re, groups);
        LabelsBuilder lb(s.metric);
        lb.Set(dst, res);
        s.metric = lb.Build();
        if (dst == kMetricNameLabel) s.drop_name = false;
      }
      v.m.push_back(std::move(s));
    }
    RETURN_IF_ERROR(CheckStepCollisions(v.m));
    return v;
  }

  Result<Val> LabelJoin(std::vector<Val>& args) {
    const std::string &dst = args[1].str, &sep = args[2].str;
    if (!IsValidUtf8(dst) || dst.empty()) {
      return Status::InvalidArgument("invalid destination label name in label_join(): " + dst);
    }
    Val v;
    v.type = ValueType::kVector;
    for (auto& s : args[0].m) {
      std::string joined;
      for (size_t i = 3; i < args.size(); ++i) {
        if (i > 3) joined += sep;
        joined += std::string(s.metric.Get(args[i].str));
      }
      LabelsBuilder lb(s.metric);
      lb.Set(dst, joined);
      s.metric = lb.Build();
      if (dst == kMetricNameLabel) s.drop_name = false;
      v.m.push_back(std::move(s));
    }
    RETURN_IF_ERROR(CheckStepCollisions(v.m));
    return v;
  }

  Status CheckStepCollisions(Matrix& m) { return MergeSameLabelsets(&m); }

  // The value of histogram_quantiles' quantile label: Go's %g, with ".0" added to whole
  // numbers ("0.0", "0.25", "1.0", "NaN"), as upstream writes it.
  static std::string QuantileLabelValue(double q) {
    std::string v = FormatFloatGo(q);
    if (v.find_first_not_of("-0123456789") == std::string::npos) v += ".0";
    return v;
  }

  // histogram_quantile(q, v), histogram_quantiles(v, "label", q...) and
  // histogram_fraction(lower, upper, v) over classic (le-labelled) buckets.
  Result<Val> HistogramFunc(const Expr& e, const std::vector<Val>& args,
                            std::vector<const Val*>& ptrs) {
    bool multi = e.func == "histogram_quantiles";
    bool quantile = e.func == "histogram_quantile" || multi;
    size_t vec_arg = multi ? 0 : quantile ? 1 : 2;
    std::string qlabel = multi ? args[1].str : "";
    std::set<size_t> warned_args;
    Val v;
    v.type = ValueType::kVector;
    ASSIGN_OR_RETURN(v.m, RangeEval(ptrs, [&](const std::vector<Vector>& a, int64_t ts,
                                                Vector* out) -> Status {
      std::vector<std::pair<size_t, double>> qs;  // (argument index, quantile)
      if (multi) {
        for (size_t i = 2; i < a.size(); ++i) qs.push_back({i, a[i][0].f});
      } else if (quantile) {
        qs.push_back({0, a[0][0].f});
      }
      double q = a[0].empty() ? 0 : a[0][0].f;
      double upper = quantile ? 0 : a[1][0].f;
      for (const auto& [idx, qv] : qs) {
        if ((std::isnan(qv) || qv < 0 || qv > 1) && warned_args.insert(idx).second) {
          ctx_->Warn("quantile value should be between 0 and 1, got " + FormatFloatGo(qv),
                     e.args[idx]->pos);
        }
      }
      struct G {
        Labels labels;
        std::vector<Bucket> buckets;
        std::string name;
      };
      std::vector<G> groups;
      std::map<Labels, size_t> idx;
      std::set<Labels> native;  // labels (without __name__) of native histogram samples
      // The native results, each with its labels without __name__: dropped below if classic
      // buckets share those labels.
      std::vector<std::pair<Labels, InstantSample>> native_out;
      for (const auto& s : a[vec_arg]) {
        if (!s.h) continue;
        Labels key = s.metric.Filter({std::string(kMetricNameLabel)}, false);
        native.insert(key);
        // NaN observations count but sit in no bucket (the sum is NaN): say what that does.
        bool nan_observations = std::isnan(s.h->sum) && s.h->count > 0;
        std::string for_metric =
            " for metric name " + GoQuote(std::string(s.metric.MetricName()));
        for (const auto& [qi, qv] : qs) {
          (void)qi;
          LabelsBuilder lb(key);
          if (multi) lb.Set(qlabel, QuantileLabelValue(qv));
          double r = HistogramQuantile(qv, *s.h);
          if (nan_observations) {
            ctx_->Info(std::string("input to histogram_quantile has NaN observations, result is ") +
                           (std::isnan(r) ? "NaN" : "skewed higher") + for_metric,
                       e.args[vec_arg]->pos);
          }
          native_out.push_back({key, {lb.Build(), ts, r, false}});
        }
        if (!quantile) {
          if (nan_observations) {
            ctx_->Info("input to histogram_fraction has NaN observations, which are excluded "
                       "from all fractions" + for_metric,
                       e.args[vec_arg]->pos);
          }
          native_out.push_back({key, {key, ts, HistogramFraction(q, upper, *s.h), false}});
        }
      }
      for (const auto& s : a[vec_arg]) {
        if (s.h) continue;
        std::string le(s.metric.Get("le"));
        double ub;
        if (!ParseNumber(le, &ub)) {
          ctx_->Warn("bucket label \"le\" is missing or has a malformed value of \"" + le +
                         "\" for metric name \"" + std::string(s.metric.MetricName()) + "\"",
                     e.args[vec_arg]->pos);
          continue;
        }
        // Buckets group by all labels but le (so by metric name too); the result drops the
        // name, so two histograms differing only in name collide as upstream's do.
        Labels group_key = s.metric.Filter({"le"}, false);
        auto it = idx.find(group_key);
        if (it == idx.end()) {
          it = idx.emplace(group_key, groups.size()).first;
          groups.push_back(G{s.metric.Filter({"le", std::string(kMetricNameLabel)}, false), {},
                             std::string(s.metric.MetricName())});
        }
        groups[it->second].buckets.push_back({ub, s.f});
      }
      std::set<Labels> mixed;
      for (const auto& g : groups) {
        if (native.count(g.labels)) mixed.insert(g.labels);
      }
      for (auto& [key, sample] : native_out) {
        if (!mixed.count(key)) out->push_back(std::move(sample));
      }
      for (auto& g : groups) {
        if (mixed.count(g.labels)) {
          ctx_->Warn("vector contains a mix of classic and native histograms for metric name \"" +
                         g.name + "\"",
                     e.args[vec_arg]->pos);
          continue;
        }
        if (!quantile) {
          out->push_back({g.labels, ts, BucketFraction(q, upper, g.buckets), false});
          continue;
        }
        for (const auto& [idx, qv] : qs) {
          bool forced, fixed;
          double r = BucketQuantile(qv, g.buckets, &forced, &fixed);
          if (forced) {
            ctx_->Info("input to histogram_quantile needed to be fixed for monotonicity (see "
                       "https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) "
                       "for metric name \"" + g.name + "\"",
                       e.args[vec_arg]->pos);
          }
          Labels out_labels = g.labels;
          if (multi) {
            LabelsBuilder lb(g.labels);
            lb.Set(qlabel, QuantileLabelValue(qv));
            out_labels = lb.Build();
          }
          out->push_back({std::move(out_labels), ts, r, false});
        }
      }
      return Status::OK();
    }, true));
    return v;
  }

  // Functions over a range vector: the window (ref - range, ref] of each series at each step.
  Result<Val> RangeFunction(const Expr& e, size_t matrix_arg) {
    // A string_view: `f == "rate"` compares lengths first (these tests run at every step).
    const std::string_view f = e.func;
    std::vector<Val> others(e.args.size());
    for (size_t i = 0; i < e.args.size(); ++i) {
      if (i == matrix_arg) continue;
      ASSIGN_OR_RETURN(others[i], Eval(*e.args[i]));
    }
    const Expr& marg = Unparen(*e.args[matrix_arg]);
    // Anchored and smoothed ranges (Prometheus 3, experimental) work only with the functions
    // whose result they define (upstream's AnchoredSafeFunctions / SmoothedSafeFunctions).
    const Expr* vsel = marg.kind == ExprKind::kMatrixSelector ? marg.child.get() : nullptr;
    bool anchored = vsel != nullptr && vsel->anchored;
    bool smoothed = vsel != nullptr && vsel->smoothed;
    bool rate_like = f == "rate" || f == "increase" || f == "delta";
    if (anchored && !rate_like && f != "resets" && f != "changes") {
      return Status::InvalidArgument(
          "anchored modifier can only be used with: changes, delta, increase, rate, resets - not with " + e.func);
    }
    if (smoothed && !rate_like) {
      return Status::InvalidArgument(
          "smoothed modifier can only be used with: delta, increase, rate - not with " + e.func);
    }
    int64_t behind = anchored || smoothed ? ctx_->opts.lookback_delta_ms : 0;
    int64_t ahead = smoothed ? ctx_->opts.lookback_delta_ms : 0;
    ASSIGN_OR_RETURN(Matrix src, RangeSource(marg));
    RangeWindow w = Window(marg);
    Val v;
    v.type = ValueType::kVector;
    bool delayed = ctx_->opts.delayed_name_removal;
    bool keep_name = KeepsMetricName(e.func);
    int64_t steps = NumSteps();
    auto scalar_at = [&](size_t arg, int64_t step) {
      const auto& pts = others[arg].m[0].points;
      return pts[static_cast<size_t>(step)].f;
    };
    if (f == "double_exponential_smoothing") {
      for (int64_t st = 0; st < steps; ++st) {
        double sf = scalar_at(1, st), tf = scalar_at(2, st);
        if (!(sf > 0 && sf < 1)) {
          return Status::InvalidArgument("invalid smoothing factor. Expected: 0 < sf < 1, got: " +
                                         FormatFloatGo(sf));
        }
        if (!(tf > 0 && tf < 1)) {
          return Status::InvalidArgument("invalid trend factor. Expected: 0 < tf < 1, got: " +
                                         FormatFloatGo(tf));
        }
      }
    }
    if (f == "quantile_over_time") {
      std::set<double> warned;
      for (int64_t st = 0; st < steps; ++st) {
        double q = scalar_at(0, st);
        if ((std::isnan(q) || q < 0 || q > 1) && !src.empty()) {
          ctx_->Warn("quantile value should be between 0 and 1, got " + FormatFloatGo(q),
                     e.args[0]->pos);
          break;
        }
      }
    }
    if (f == "absent_over_time") {
      Series out;
      out.metric = AbsentLabels(marg);
      std::vector<size_t> lo(src.size(), 0);
      int64_t step = 0;
      for (int64_t ts = start_; ts <= end_; ts += interval_, ++step) {
        int64_t ref = RefTime(w, ts);
        bool any = false;
        for (size_t i = 0; i < src.size() && !any; ++i) {
          for (const auto& p : src[i].points) {
            if (p.t_ms > ref - w.range_ms && p.t_ms <= ref) {
              any = true;
              break;
            }
          }
        }
        if (!any) out.points.push_back({ts, 1});
      }
      if (!out.points.empty()) v.m.push_back(std::move(out));
      return v;
    }
    // The window is a view into the series' points; only dropping histogram samples copies
    // them (into `floats`). Most series have no histogram sample: `has_h` skips counting them.
    std::vector<Point> floats;
    for (auto& s : src) {
      const bool has_h = std::any_of(s.points.begin(), s.points.end(),
                                     [](const Point& p) { return p.h != nullptr; });
      auto count_h = [&](std::span<const Point> pts) -> size_t {
        if (!has_h) return 0;
        return static_cast<size_t>(std::count_if(pts.begin(), pts.end(),
                                                 [](const Point& p) { return p.h != nullptr; }));
      };
      Series out;
      out.metric = s.metric;
      out.drop_name = s.drop_name;
      if (!keep_name) DropName(&out.metric, &out.drop_name);
      size_t lo = 0, hi = 0;
      int64_t step = 0;
      bool float_seen = false;  // a float window was evaluated (the not-a-counter info)
      for (int64_t ts = start_; ts <= end_; ts += interval_, ++step) {
        RETURN_IF_ERROR(ctx_->CheckTime());
        int64_t ref = RefTime(w, ts);
        int64_t mint = ref - w.range_ms;
        if (w.at != AtKind::kNone) {
          lo = 0;
          hi = 0;
        }
        while (lo < s.points.size() && s.points[lo].t_ms <= mint - behind) ++lo;
        if (hi < lo) hi = lo;
        while (hi < s.points.size() && s.points[hi].t_ms <= ref + ahead) ++hi;
        if (hi <= lo) continue;
        std::span<const Point> window(s.points.data() + lo, hi - lo);
        if (anchored || smoothed) {
          if (f == "resets" || f == "changes") {
            // Counted from the anchor: the last sample at or before the range start.
            if (window.back().t_ms <= mint) continue;
            auto anchor = std::find_if(window.rbegin(), window.rend(),
                                       [&](const Point& p) { return p.t_ms <= mint; });
            if (anchor != window.rend()) {
              window = window.subspan(static_cast<size_t>(anchor.base() - 1 - window.begin()));
            }
          } else {
            size_t nh = count_h(window);
            std::string metric(s.metric.MetricName());
            int pos = e.args[matrix_arg]->pos;
            double range_s = static_cast<double>(w.range_ms) / 1000;
            if (nh > 0 && nh < window.size()) {
              ctx_->Warn("encountered a mix of histograms and floats for metric name " +
                             GoQuote(metric), pos);
              continue;
            }
            if (nh > 0) {
              HistogramRangeResult hr = HistogramExtendedRate(
                  window, mint, ref, range_s, smoothed, f != "delta", f == "rate", metric);
              for (const auto& m : hr.warnings) ctx_->Warn(m, pos);
              for (const auto& m : hr.infos) ctx_->Info(m, pos);
              if (hr.h) out.points.push_back({ts, 0, hr.h});
              continue;
            }
            float_seen = true;
            std::optional<double> r = ExtendedRate(window, mint, ref, range_s, smoothed,
                                                   f != "delta", f == "rate");
            if (r.has_value()) out.points.push_back({ts, *r});
            continue;
          }
        }
        if (f == "last_over_time" || f == "first_over_time") {
          const Point& p = f == "last_over_time" ? window.back() : window.front();
          if (p.h) {
            out.points.push_back({ts, 0, p.h});
            continue;
          }
        }
        if ((f == "irate" || f == "idelta") && window.size() > 2) {
          window = window.last(2);  // only the last two count
        }
        if (f == "resets" && window.size() > 0) {
          float_seen = true;
          out.points.push_back({ts, CountResets(window), nullptr});
          continue;
        }
        if (f == "changes" && window.size() > 0) {
          // Histograms compare with Equals; a change of sample type counts as a change.
          double n = 0;
          for (size_t i = 1; i < window.size(); ++i) {
            const Point& prev = window[i - 1];
            const Point& cur = window[i];
            if ((prev.h == nullptr) != (cur.h == nullptr)) {
              n++;
            } else if (cur.h) {
              n += !cur.h->Equals(*prev.h) ? 1 : 0;
            } else {
              n += (cur.f != prev.f && !(std::isnan(cur.f) && std::isnan(prev.f))) ? 1 : 0;
            }
          }
          float_seen = true;
          out.points.push_back({ts, n, nullptr});
          continue;
        }
        size_t nh = count_h(window);
        bool hist_fn = f == "rate" || f == "increase" || f == "delta" || f == "irate" ||
                       f == "idelta" || f == "sum_over_time" || f == "avg_over_time";
        if (nh > 0 && hist_fn) {
          std::string metric(s.metric.MetricName());
          int pos = e.args[matrix_arg]->pos;
          if (nh < window.size()) {
            ctx_->Warn("encountered a mix of histograms and floats for metric name " +
                           GoQuote(metric), pos);
            continue;
          }
          HistogramRangeResult hr;
          if (f == "rate" || f == "increase" || f == "delta") {
            hr = HistogramExtrapolatedRate(window, mint, ref, f != "delta", f == "rate", metric);
          } else if (f == "irate" || f == "idelta") {
            hr = HistogramInstantValue(window, f == "irate", metric);
          } else {
            hr = HistogramSumOverTime(window, f == "avg_over_time", metric);
          }
          for (const auto& m : hr.warnings) ctx_->Warn(m, pos);
          for (const auto& m : hr.infos) ctx_->Info(m, pos);
          if (hr.h) out.points.push_back({ts, 0, hr.h});
          continue;
        }
        bool any_type = f == "count_over_time" || f == "present_over_time" ||
                        f == "ts_of_last_over_time" || f == "ts_of_first_over_time";
        if (!any_type) {
          // Float-only kernels ignore histogram samples: silently in a range of histograms
          // only, with an info when the range mixes both (upstream's HistogramIgnoredInfo).
          bool mixed = nh > 0 && nh < window.size();
          if (mixed && f != "last_over_time" && f != "first_over_time") {
            ctx_->Info("ignored histograms in a range containing both floats and histograms for "
                       "metric name " + GoQuote(std::string(s.metric.MetricName())),
                       e.args[matrix_arg]->pos);
          }
          if (nh > 0) {
            floats.clear();
            std::copy_if(window.begin(), window.end(), std::back_inserter(floats),
                         [](const Point& p) { return p.h == nullptr; });
            window = floats;
          }
          if (window.empty()) continue;
        }
        float_seen = true;
        if (f == "rate" || f == "increase") {
          bool overlap = false;
          std::optional<double> r = ExtrapolatedRate(window, mint, ref, true, f == "rate", &overlap);
          if (overlap) {
            ctx_->Warn(StartTimeOverlapWarning(std::string(s.metric.MetricName())),
                       e.args[matrix_arg]->pos);
          }
          if (r.has_value()) out.points.push_back({ts, *r});
          continue;
        }
        std::optional<double> r = RangeKernel(f, window, mint, ref, ts, others, step);
        if (r.has_value()) out.points.push_back({ts, *r});
      }
      if (out.points.empty()) continue;
      if ((f == "rate" || f == "increase") && float_seen) {
        std::string name(s.metric.MetricName());
        auto ends = [&](const char* suf) {
          size_t n = std::strlen(suf);
          return name.size() >= n && name.compare(name.size() - n, n, suf) == 0;
        };
        if (!name.empty() && !ends("_total") && !ends("_sum") && !ends("_count") && !ends("_bucket")) {
          ctx_->Info("metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"" +
                         name + "\"",
                     e.args[matrix_arg]->pos);
        }
      }
      RETURN_IF_ERROR(ctx_->AddSamples(static_cast<int64_t>(out.points.size())));
      v.m.push_back(std::move(out));
    }
    if (!delayed && ContainsSameLabelset(v.m)) return Status::InvalidArgument(kSameLabelset);
    return v;
  }

  std::optional<double> RangeKernel(std::string_view f, std::span<const Point> pts,
                                    int64_t mint, int64_t maxt, int64_t ts,
                                    const std::vector<Val>& others, int64_t step) {
    auto scalar = [&](size_t arg) { return others[arg].m[0].points[static_cast<size_t>(step)].f; };
    if (f == "rate") return ExtrapolatedRate(pts, mint, maxt, true, true);
    if (f == "increase") return ExtrapolatedRate(pts, mint, maxt, true, false);
    if (f == "delta") return ExtrapolatedRate(pts, mint, maxt, false, false);
    if (f == "irate") return InstantValue(pts, true);
    if (f == "idelta") return InstantValue(pts, false);
    if (f == "count_over_time") return static_cast<double>(pts.size());
    if (f == "present_over_time") return 1.0;
    if (f == "last_over_time") return pts.back().f;
    if (f == "first_over_time") return pts.front().f;
    if (f == "ts_of_last_over_time") return static_cast<double>(pts.back().t_ms) / 1000;
    if (f == "ts_of_first_over_time") return static_cast<double>(pts.front().t_ms) / 1000;
    if (f == "sum_over_time") {
      double sum = 0, c = 0;
      for (const auto& p : pts) sum = KahanSumInc(p.f, sum, &c);
      if (std::isinf(sum)) return sum;
      return sum + c;
    }
    if (f == "avg_over_time") return AvgOverTime(pts);
    if (f == "max_over_time" || f == "ts_of_max_over_time") {
      double m = pts[0].f;
      int64_t t = pts[0].t_ms;
      for (const auto& p : pts) {
        if (p.f > m || std::isnan(m)) {
          m = p.f;
          t = p.t_ms;
        } else if (p.f == m) {
          t = p.t_ms;
        }
      }
      return f == "max_over_time" ? m : static_cast<double>(t) / 1000;
    }
    if (f == "min_over_time" || f == "ts_of_min_over_time") {
      double m = pts[0].f;
      int64_t t = pts[0].t_ms;
      for (const auto& p : pts) {
        if (p.f < m || std::isnan(m)) {
          m = p.f;
          t = p.t_ms;
        } else if (p.f == m) {
          t = p.t_ms;
        }
      }
      return f == "min_over_time" ? m : static_cast<double>(t) / 1000;
    }
    if (f == "stdvar_over_time") return StdvarOverTime(pts);
    if (f == "stddev_over_time") return std::sqrt(StdvarOverTime(pts));
    if (f == "quantile_over_time") {
      std::vector<double> vals;
      for (const auto& p : pts) vals.push_back(p.f);
      return Quantile(scalar(0), vals);
    }
    if (f == "mad_over_time") {
      std::vector<double> vals;
      for (const auto& p : pts) {
        if (std::isnan(p.f)) return std::nan("");
        vals.push_back(p.f);
      }
      double med = Quantile(0.5, vals);
      std::vector<double> dev;
      for (double x : vals) dev.push_back(std::fabs(x - med));
      return Quantile(0.5, dev);
    }
    if (f == "changes" || f == "resets") {
      double n = 0;
      double prev = pts[0].f;
      for (size_t i = 1; i < pts.size(); ++i) {
        double cur = pts[i].f;
        if (f == "changes") {
          if (cur != prev && !(std::isnan(cur) && std::isnan(prev))) n++;
        } else if (cur < prev) {
          n++;
        }
        prev = cur;
      }
      return n;
    }
    if (f == "deriv") {
      if (pts.size() < 2) return std::nullopt;
      double slope, intercept;
      LinearRegression(pts, pts[0].t_ms, &slope, &intercept);
      return slope;
    }
    if (f == "predict_linear") {
      if (pts.size() < 2) return std::nullopt;
      double slope, intercept;
      LinearRegression(pts, ts, &slope, &intercept);
      return intercept + slope * scalar(1);
    }
    if (f == "double_exponential_smoothing") {
      if (pts.size() < 2) return std::nullopt;
      double sf = scalar(1), tf = scalar(2);
      double s0 = 0, s1 = pts[0].f, b = pts[1].f - pts[0].f;
      for (size_t i = 1; i < pts.size(); ++i) {
        double x = sf * pts[i].f;
        if (i - 1 != 0) b = tf * (s1 - s0) + (1 - tf) * b;
        double y = (1 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
      }
      return s1;
    }
    return std::nullopt;
  }

  Context* ctx_;
  int64_t start_, end_, interval_;
  bool stats_only_ = false;  // evaluating under histogram_count/sum/avg (StatsOnlyHints)
};

// Removes __name__ from series marked drop_name (delayed name removal) and checks collisions.
Status CleanupNames(Matrix* m, bool delayed) {
  if (!delayed) return Status::OK();
  for (auto& s : *m) {
    if (s.drop_name) s.metric = StripName(s.metric);
    s.drop_name = false;
  }
  return MergeSameLabelsets(m);
}

}  // namespace

Result<QueryResult> Engine::InstantQuery(tsdb::Queryable* db, const Expr& expr,
                                         std::string_view query, int64_t t_ms,
                                         const QueryOptions& qo) {
  return Exec(db, expr, query, t_ms, t_ms, 1, true, qo);
}

Result<QueryResult> Engine::RangeQuery(tsdb::Queryable* db, const Expr& expr,
                                       std::string_view query, int64_t start_ms, int64_t end_ms,
                                       int64_t step_ms, const QueryOptions& qo) {
  if (step_ms <= 0) return Status::InvalidArgument("zero or negative query resolution step widths are not accepted. Try a positive integer");
  if (end_ms < start_ms) return Status::InvalidArgument("end timestamp must not be before start time");
  ValueType t = expr.type();
  if (t != ValueType::kScalar && t != ValueType::kVector) {
    return Status::InvalidArgument("invalid expression type \"" +
                                   std::string(DocumentedType(t)) +
                                   "\" for range query, must be Scalar or instant Vector");
  }
  return Exec(db, expr, query, start_ms, end_ms, step_ms, false, qo);
}

Result<QueryResult> Engine::Exec(tsdb::Queryable* db, const Expr& expr, std::string_view query,
                                 int64_t start_ms, int64_t end_ms, int64_t step_ms, bool instant,
                                 const QueryOptions& qo) {
  {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return running_ < std::max(1, opts_.max_concurrency); });
    ++running_;
  }
  struct Release {
    Engine* e;
    ~Release() {
      std::lock_guard<std::mutex> l(e->mu_);
      --e->running_;
      e->cv_.notify_one();
    }
  } release{this};

  Context ctx;
  ctx.db = db;
  ctx.query = query;
  ctx.opts = opts_;
  ctx.query_start = start_ms;
  ctx.query_end = end_ms;
  ctx.query_step = instant ? 0 : step_ms;
  ctx.range_query = !instant && start_ms != end_ms;
  ctx.cancel = qo.cancel;
  int64_t timeout = qo.timeout_ms > 0 ? std::min(qo.timeout_ms, opts_.timeout_ms) : opts_.timeout_ms;
  if (qo.timeout_ms > 0 && opts_.timeout_ms <= 0) timeout = qo.timeout_ms;
  ctx.deadline = Clock::now() + std::chrono::milliseconds(timeout > 0 ? timeout : (1LL << 40));

  Evaluator ev(&ctx, start_ms, end_ms, step_ms);
  ASSIGN_OR_RETURN(Val v, ev.Eval(expr));
  QueryResult r;
  r.t_ms = start_ms;
  if (v.type == ValueType::kVector || v.type == ValueType::kMatrix) {
    RETURN_IF_ERROR(CleanupNames(&v.m, opts_.delayed_name_removal));
  }
  if (instant) {
    r.type = v.type;
    switch (v.type) {
      case ValueType::kScalar: r.scalar = v.m[0].points[0].f; break;
      case ValueType::kString: r.str = v.str; break;
      case ValueType::kVector:
        for (auto& s : v.m) {
          r.vector.push_back({std::move(s.metric), s.points[0].t_ms, s.points[0].f, false,
                              s.points[0].h});
        }
        break;
      case ValueType::kMatrix:
        r.matrix = std::move(v.m);
        std::sort(r.matrix.begin(), r.matrix.end(),
                  [](const Series& a, const Series& b) { return a.metric < b.metric; });
        break;
      default: break;
    }
  } else {
    r.type = ValueType::kMatrix;
    r.matrix = std::move(v.m);
    std::sort(r.matrix.begin(), r.matrix.end(),
              [](const Series& a, const Series& b) { return a.metric < b.metric; });
  }
  r.warnings.assign(ctx.warnings.begin(), ctx.warnings.end());
  r.infos.assign(ctx.infos.begin(), ctx.infos.end());
  r.total_samples = ctx.total_samples;
  r.peak_samples = ctx.peak_samples;
  return r;
}

}  // namespace argus::promql
