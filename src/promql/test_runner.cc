#include "promql/test_runner.h"

#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "model/classic_histogram_builder.h"
#include "model/histogram_notation.h"
#include "model/histogram_stats.h"
#include "promql/engine.h"
#include "promql/functions.h"
#include "promql/lexer.h"
#include "promql/memory_storage.h"
#include "promql/parser.h"

namespace argus::promql {

namespace {

std::string Trim(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return std::string(s.substr(a, b - a));
}

bool ParseTestDuration(std::string_view s, int64_t* ms) {
  std::string t = Trim(s);
  bool neg = !t.empty() && t[0] == '-';
  if (neg) t = t.substr(1);
  if (!ParseDurationMs(t, ms)) return false;
  if (neg) *ms = -*ms;
  return true;
}

// One value of a series line: a float, or a native histogram when `h` is set.
struct TestValue {
  TestValue(double v) : f(v) {}  // NOLINT: implicit, floats are the common case
  explicit TestValue(FloatHistogram hist) : h(std::make_shared<const FloatHistogram>(std::move(hist))) {}
  double f = 0;
  std::shared_ptr<const FloatHistogram> h;
};
// nullopt for `_` (no sample).
using SeriesValue = std::optional<TestValue>;

struct SeriesSpec {
  Labels labels;
  std::vector<SeriesValue> values;
  bool histogram = false;
};

// Splits `line` into its selector and the values text.
bool SplitSeriesLine(const std::string& line, std::string* sel, std::string* vals) {
  size_t i = 0;
  if (line.empty()) return false;
  if (line[0] != '{') {
    while (i < line.size() && line[i] != '{' && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
  }
  if (i < line.size() && line[i] == '{') {
    char quote = 0;
    for (; i < line.size(); ++i) {
      char c = line[i];
      if (quote) {
        if (c == '\\' && quote != '`') {
          ++i;
        } else if (c == quote) {
          quote = 0;
        }
      } else if (c == '"' || c == '\'' || c == '`') {
        quote = c;
      } else if (c == '}') {
        ++i;
        break;
      }
    }
  }
  *sel = line.substr(0, i);
  *vals = i < line.size() ? Trim(line.substr(i)) : "";
  return true;
}

Result<Labels> SelectorLabels(const std::string& sel) {
  if (Trim(sel) == "{}") return Labels();
  ASSIGN_OR_RETURN(std::vector<Matcher> ms, ParseMetricSelector(sel));
  std::vector<Label> ls;
  for (const auto& m : ms) {
    if (m.type() != MatchType::kEqual) {
      return Status::InvalidArgument("series selector may only use = matchers: " + sel);
    }
    ls.push_back({m.name(), m.value()});
  }
  return Labels::FromUnsorted(std::move(ls));
}

bool ParseValueNumber(const std::string& s, double* v) {
  if (s == "stale") {
    *v = StaleNaN();
    return true;
  }
  return ParseNumber(s, v);
}

// Expands the series notation (`1 _ 3+2x4 _x3 stale`).
Status ExpandValues(const std::string& text, std::vector<SeriesValue>* out) {
  for (std::string_view item : SplitSeriesItems(text)) {
    std::string tok(item);
    if (IsHistogramItem(item)) {
      ASSIGN_OR_RETURN(std::vector<FloatHistogram> hs, ExpandHistogramItem(item));
      for (auto& h : hs) out->push_back(TestValue(std::move(h)));
      continue;
    }
    if (tok == "_") {
      out->push_back(std::nullopt);
      continue;
    }
    size_t x = tok.rfind('x');
    bool repeat = x != std::string::npos && x + 1 < tok.size() && x > 0 &&
                  std::all_of(tok.begin() + static_cast<long>(x) + 1, tok.end(),
                              [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (!repeat) {
      double v;
      if (!ParseValueNumber(tok, &v)) return Status::InvalidArgument("bad value \"" + tok + "\"");
      out->push_back(v);
      continue;
    }
    int64_t n = std::stoll(tok.substr(x + 1));
    std::string head = tok.substr(0, x);
    if (head == "_") {
      for (int64_t k = 0; k < n; ++k) out->push_back(std::nullopt);
      continue;
    }
    size_t op = std::string::npos;
    for (size_t i = 1; i < head.size(); ++i) {
      if ((head[i] == '+' || head[i] == '-') && head[i - 1] != 'e' && head[i - 1] != 'E') {
        op = i;
        break;
      }
    }
    double a, b = 0;
    if (op == std::string::npos) {
      if (!ParseValueNumber(head, &a)) return Status::InvalidArgument("bad value \"" + tok + "\"");
    } else {
      if (!ParseValueNumber(head.substr(0, op), &a) || !ParseNumber(head.substr(op + 1), &b)) {
        return Status::InvalidArgument("bad value \"" + tok + "\"");
      }
      if (head[op] == '-') b = -b;
    }
    if (IsStaleNaN(a)) {
      for (int64_t k = 0; k <= n; ++k) out->push_back(a);
      continue;
    }
    double cur = a;
    for (int64_t k = 0; k <= n; ++k) {
      out->push_back(cur);
      cur += b;
    }
  }
  return Status::OK();
}

// Accepts a signed duration: `-30s`, `+1m`, `1ms`, `0`, `-0ms`.
bool ParseSignedDuration(const std::string& s, int64_t* ms) {
  if (!s.empty() && s[0] == '+') return ParseTestDuration(s.substr(1), ms);
  return ParseTestDuration(s, ms);
}

// A start-timestamp line (`name{labels}@st <items>`, SOURCE.md): the labels and, per position,
// the ST offset in ms from that sample's time (nullopt for `_`). Items are `_`, `_xK`, `<dur>`,
// `<dur>xK` (K+1 copies), `<dur>+<dur>xK` and `<dur>-<dur>xK` (K+1 values A, A±B, ...).
// Returns false if `line` is not a start-timestamp line; errors for a malformed one.
Result<bool> ParseStartTimestampLine(const std::string& line, Labels* labels,
                                     std::vector<std::optional<int64_t>>* offsets) {
  std::string sel, vals;
  SplitSeriesLine(line, &sel, &vals);
  constexpr std::string_view kSt = "@st";
  if (sel.size() > kSt.size() && sel.compare(sel.size() - kSt.size(), kSt.size(), kSt) == 0) {
    sel.resize(sel.size() - kSt.size());
  } else if (vals.rfind(kSt, 0) == 0 &&
             (vals.size() == kSt.size() || std::isspace(static_cast<unsigned char>(vals[kSt.size()])))) {
    vals = Trim(vals.substr(kSt.size()));
  } else {
    return false;
  }
  ASSIGN_OR_RETURN(*labels, SelectorLabels(sel));
  for (std::string_view item : SplitSeriesItems(vals)) {
    std::string tok(item);
    auto bad = [&] { return Status::InvalidArgument("bad start timestamp \"" + tok + "\""); };
    size_t x = tok.rfind('x');
    int64_t n = 0;
    std::string head = tok;
    if (x != std::string::npos && x > 0 && x + 1 < tok.size() &&
        std::all_of(tok.begin() + static_cast<long>(x) + 1, tok.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      n = std::stoll(tok.substr(x + 1));
      if (n < 0 || static_cast<uint64_t>(n) > kMaxHistogramRepetitions) return bad();
      head = tok.substr(0, x);
    } else if (x != std::string::npos) {
      return bad();
    }
    if (head == "_") {
      // `_` is one empty position, `_xK` is K of them (as for values).
      int64_t count = x == std::string::npos ? 1 : n;
      for (int64_t k = 0; k < count; ++k) offsets->push_back(std::nullopt);
      continue;
    }
    size_t op = std::string::npos;
    for (size_t i = 1; i < head.size(); ++i) {
      if (head[i] == '+' || head[i] == '-') {
        op = i;
        break;
      }
    }
    int64_t a = 0, b = 0;
    if (op == std::string::npos) {
      if (!ParseSignedDuration(head, &a)) return bad();
    } else {
      if (!ParseSignedDuration(head.substr(0, op), &a) ||
          !ParseTestDuration(head.substr(op + 1), &b)) {
        return bad();
      }
      if (head[op] == '-') b = -b;
    }
    for (int64_t k = 0; k <= n; ++k) offsets->push_back(a + k * b);
  }
  return true;
}

Result<SeriesSpec> ParseSeriesSpec(const std::string& line) {
  std::string sel, vals;
  SplitSeriesLine(line, &sel, &vals);
  SeriesSpec s;
  ASSIGN_OR_RETURN(s.labels, SelectorLabels(sel));
  s.histogram = vals.find("{{") != std::string::npos;
  RETURN_IF_ERROR(ExpandValues(vals, &s.values));
  return s;
}

bool AlmostEqual(double a, double b) {
  if (IsStaleNaN(a) || IsStaleNaN(b)) return IsStaleNaN(a) && IsStaleNaN(b);
  if (std::isnan(a) && std::isnan(b)) return true;
  if (a == b) return true;
  constexpr double kMinNormal = 2.2250738585072014e-308;
  constexpr double kEps = 1e-6;
  double abs_sum = std::fabs(a) + std::fabs(b);
  double diff = std::fabs(a - b);
  if (a == 0 || b == 0 || abs_sum < kMinNormal) return diff < kEps * kMinNormal;
  return diff / std::min(abs_sum, std::numeric_limits<double>::max()) < kEps;
}

// promqltest's native-histogram comparison: both sides compacted, schema, zero threshold,
// spans and custom bounds exact, counts, sum and buckets within AlmostEqual; the counter reset
// hint only when the expectation names one.
bool HistogramsMatch(const FloatHistogram& want_in, const FloatHistogram& got_in) {
  FloatHistogram want = want_in, got = got_in;
  want.Compact(0);
  got.Compact(0);
  if (want.counter_reset_hint != CounterResetHint::kUnknown &&
      want.counter_reset_hint != got.counter_reset_hint) {
    return false;
  }
  if (want.schema != got.schema || !AlmostEqual(want.count, got.count) ||
      !AlmostEqual(want.sum, got.sum)) {
    return false;
  }
  if (want.UsesCustomBuckets() && !CustomBucketBoundsMatch(want.custom_values, got.custom_values)) {
    return false;
  }
  if (want.zero_threshold != got.zero_threshold || !AlmostEqual(want.zero_count, got.zero_count)) {
    return false;
  }
  if (want.positive_spans != got.positive_spans || want.negative_spans != got.negative_spans) {
    return false;
  }
  auto buckets_match = [](const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!AlmostEqual(a[i], b[i])) return false;
    }
    return true;
  };
  return buckets_match(want.positive_buckets, got.positive_buckets) &&
         buckets_match(want.negative_buckets, got.negative_buckets);
}

// An expected value against a result value (float or histogram).
bool ValueMatches(const TestValue& want, double got_f, const FloatHistogram* got_h) {
  if (want.h || got_h) return want.h && got_h && HistogramsMatch(*want.h, *got_h);
  return AlmostEqual(want.f, got_f);
}

std::string TestValueString(const TestValue& v) {
  return v.h ? v.h->TestExpression() : FormatFloatGo(v.f);
}

struct Expectation {
  std::string kind;  // fail, warn, no_warn, info, no_info, ordered
  std::string mode;  // "", msg, regex
  std::string text;
};

struct EvalCmd {
  int line = 0;
  std::string query;
  bool instant = true;
  int64_t t = 0, start = 0, end = 0, step = 0;
  bool fail = false, ordered = false;
  std::string fail_mode, fail_text;
  std::vector<Expectation> annos;
  bool no_warn = false, no_info = false;
  bool range_vector = false;
  int64_t rv_start = 0, rv_end = 0, rv_step = 0;
  std::optional<std::string> expect_string;
  std::optional<double> expect_scalar;
  std::vector<SeriesSpec> series;
  bool histograms = false;  // the case needs native histograms
};

bool MatchText(const std::string& mode, const std::string& want, const std::string& got) {
  if (mode == "msg") return got == want;
  if (mode == "regex") return RE2::PartialMatch(got, want);
  return true;
}

std::string ValuesString(const std::vector<Point>& pts) {
  std::string o;
  for (const auto& p : pts) {
    if (!o.empty()) o += " ";
    o += (p.h ? p.h->TestExpression() : FormatFloatGo(p.f)) + "@" + std::to_string(p.t_ms);
  }
  return o;
}

std::string DescribeResult(const QueryResult& r) {
  std::ostringstream o;
  switch (r.type) {
    case ValueType::kScalar: o << "scalar " << FormatFloatGo(r.scalar); break;
    case ValueType::kString: o << "string \"" << r.str << "\""; break;
    case ValueType::kVector:
      o << "vector (" << r.vector.size() << ")";
      for (const auto& s : r.vector) {
        o << "\n      " << s.metric.ToString() << " "
          << (s.h ? s.h->TestExpression() : FormatFloatGo(s.f));
      }
      break;
    case ValueType::kMatrix:
      o << "matrix (" << r.matrix.size() << ")";
      for (const auto& s : r.matrix) o << "\n      " << s.metric.ToString() << " " << ValuesString(s.points);
      break;
    default: o << "none";
  }
  return o.str();
}

std::string DescribeExpected(const EvalCmd& c) {
  std::ostringstream o;
  if (c.fail) {
    o << "failure" << (c.fail_text.empty() ? "" : " (" + c.fail_mode + ": " + c.fail_text + ")");
    return o.str();
  }
  if (c.expect_string) return "string \"" + *c.expect_string + "\"";
  if (c.expect_scalar) return "scalar " + FormatFloatGo(*c.expect_scalar);
  o << c.series.size() << " series";
  for (const auto& s : c.series) {
    o << "\n      " << s.labels.ToString();
    for (const auto& v : s.values) {
      o << " " << (!v ? std::string("_") : v->h ? v->h->TestExpression() : FormatFloatGo(v->f));
    }
  }
  return o.str();
}

// Compares a result against the expectations; "" when it matches.
std::string CompareResult(const EvalCmd& c, const QueryResult& r, bool check_order) {
  if (c.expect_string) {
    if (r.type != ValueType::kString) return "expected string, got " + std::string(ValueTypeName(r.type));
    if (r.str != *c.expect_string) return "string mismatch";
    return "";
  }
  if (c.expect_scalar) {
    if (r.type != ValueType::kScalar) return "expected scalar, got " + std::string(ValueTypeName(r.type));
    if (!AlmostEqual(r.scalar, *c.expect_scalar)) return "scalar mismatch";
    return "";
  }
  std::map<Labels, const SeriesSpec*> want;
  for (const auto& s : c.series) want[s.labels] = &s;
  if (!c.instant || c.range_vector) {
    if (r.type != ValueType::kMatrix) return "expected matrix, got " + std::string(ValueTypeName(r.type));
    int64_t start = c.instant ? c.rv_start : c.start;
    int64_t step = c.instant ? c.rv_step : c.step;
    std::set<Labels> seen;
    for (size_t i = 0; i < r.matrix.size(); ++i) {
      const auto& s = r.matrix[i];
      if (i > 0 && !(r.matrix[i - 1].metric < s.metric)) return "matrix not sorted by labels";
      auto it = want.find(s.metric);
      if (it == want.end()) return "unexpected series " + s.metric.ToString();
      seen.insert(s.metric);
      std::vector<std::pair<int64_t, const TestValue*>> exp;
      for (size_t k = 0; k < it->second->values.size(); ++k) {
        if (it->second->values[k]) {
          exp.push_back({start + static_cast<int64_t>(k) * step, &*it->second->values[k]});
        }
      }
      if (exp.size() != s.points.size()) {
        return "series " + s.metric.ToString() + ": expected " + std::to_string(exp.size()) +
               " points, got " + std::to_string(s.points.size());
      }
      for (size_t k = 0; k < exp.size(); ++k) {
        if (exp[k].first != s.points[k].t_ms ||
            !ValueMatches(*exp[k].second, s.points[k].f, s.points[k].h.get())) {
          return "series " + s.metric.ToString() + ": point " + std::to_string(k) + " differs";
        }
      }
    }
    for (const auto& [ls, spec] : want) {
      if (!seen.count(ls)) {
        bool any = std::any_of(spec->values.begin(), spec->values.end(), [](const SeriesValue& v) { return v.has_value(); });
        if (any) return "missing series " + ls.ToString();
      }
    }
    return "";
  }
  if (r.type == ValueType::kScalar || r.type == ValueType::kString) {
    return "expected vector, got " + std::string(ValueTypeName(r.type));
  }
  if (r.type == ValueType::kMatrix) return "expected vector, got matrix";
  if (r.vector.size() != c.series.size()) {
    return "expected " + std::to_string(c.series.size()) + " samples, got " + std::to_string(r.vector.size());
  }
  for (size_t i = 0; i < r.vector.size(); ++i) {
    const auto& s = r.vector[i];
    auto it = want.find(s.metric);
    if (it == want.end()) return "unexpected sample " + s.metric.ToString();
    if (check_order && c.ordered && !(c.series[i].labels == s.metric)) {
      return "sample " + std::to_string(i + 1) + " out of order: " + s.metric.ToString();
    }
    if (it->second->values.size() != 1 || !it->second->values[0]) return "bad expectation";
    if (!ValueMatches(*it->second->values[0], s.f, s.h.get())) {
      return "value of " + s.metric.ToString() + ": expected " + TestValueString(*it->second->values[0]) +
             ", got " + (s.h ? s.h->TestExpression() : FormatFloatGo(s.f));
    }
  }
  return "";
}

std::string CheckAnnotations(const EvalCmd& c, const QueryResult& r) {
  for (const char* kind : {"warn", "info"}) {
    bool is_warn = std::string(kind) == "warn";
    const auto& list = is_warn ? r.warnings : r.infos;
    bool no = is_warn ? c.no_warn : c.no_info;
    if (no && !list.empty()) return std::string("unexpected ") + kind + ": " + list[0];
    std::vector<const Expectation*> exps;
    for (const auto& e : c.annos) {
      if (e.kind == kind) exps.push_back(&e);
    }
    if (exps.empty()) continue;
    if (list.empty()) return std::string("expected ") + kind + " annotations, got none";
    for (const auto& a : list) {
      bool ok = std::any_of(exps.begin(), exps.end(), [&](const Expectation* e) { return MatchText(e->mode, e->text, a); });
      if (!ok) return std::string("unexpected ") + kind + ": " + a;
    }
    for (const auto* e : exps) {
      bool ok = std::any_of(list.begin(), list.end(), [&](const std::string& a) { return MatchText(e->mode, e->text, a); });
      if (!ok) return std::string("no ") + kind + " matched \"" + e->text + "\"";
    }
  }
  return "";
}

// Sets `@ t` on every selector and subquery not below a subquery with @; reports whether the
// query uses a function that is not safe under @ (upstream's AtModifierUnsafeFunctions).
void SetAt(Expr* e, int64_t t, bool* unsafe) {
  if (e->kind == ExprKind::kCall) {
    static const std::set<std::string> kUnsafe = {"days_in_month", "day_of_month", "day_of_week",
                                                  "day_of_year", "hour", "minute", "month", "year",
                                                  "predict_linear", "time", "timestamp", "start_timestamp",
                                                  "step", "range",
                                                  "start", "end"};
    if (kUnsafe.count(e->func)) *unsafe = true;
  }
  if (e->kind == ExprKind::kVectorSelector && e->at == AtKind::kNone) {
    e->at = AtKind::kTimestamp;
    e->at_ms = t;
  }
  if (e->kind == ExprKind::kMatrixSelector && e->child->at == AtKind::kNone) {
    e->child->at = AtKind::kTimestamp;
    e->child->at_ms = t;
    return;
  }
  if (e->kind == ExprKind::kSubquery) {
    bool had = e->at != AtKind::kNone;
    if (!had) {
      e->at = AtKind::kTimestamp;
      e->at_ms = t;
    }
    // Selectors inside a subquery with @ keep their own times; still look for unsafe calls.
    bool dummy = false;
    std::function<void(Expr*)> scan = [&](Expr* n) {
      if (n->kind == ExprKind::kCall) {
        bool u = false;
        Expr probe;
        probe.kind = ExprKind::kCall;
        probe.func = n->func;
        SetAt(&probe, t, &u);
        if (u) *unsafe = true;
      }
      for (auto* c : {n->lhs.get(), n->rhs.get(), n->child.get(), n->param.get()}) {
        if (c) scan(c);
      }
      for (auto& a : n->args) scan(a.get());
    };
    (void)dummy;
    scan(e->child.get());
    return;
  }
  for (auto* c : {e->lhs.get(), e->rhs.get(), e->child.get(), e->param.get()}) {
    if (c) SetAt(c, t, unsafe);
  }
  for (auto& a : e->args) SetAt(a.get(), t, unsafe);
}

class ScriptRunner {
 public:
  ScriptRunner(const std::string& name, const PromqlTestOptions& opts, std::ostream& out)
      : name_(name), opts_(opts), out_(out) {
    EngineOptions eo;
    eo.max_samples = 10000;
    eo.delayed_name_removal = true;
    eo.use_start_timestamps = true;  // upstream's test engine turns every feature on
    eo.timeout_ms = 100000;
    engine_ = std::make_unique<Engine>(eo);
  }

  PromqlFileResult Run(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string l;
    while (std::getline(in, l)) {
      l = Trim(l);
      if (!l.empty() && l[0] == '#') l.clear();
      lines.push_back(l);
    }
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string& line = lines[i];
      if (line.empty()) continue;
      std::string first = line.substr(0, line.find_first_of(" \t"));
      std::string lower = first;
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lower == "clear") {
        storage_.Clear();
        hist_names_.clear();
        hist_series_.clear();
        continue;
      }
      size_t end = i + 1;
      while (end < lines.size() && !lines[end].empty()) ++end;
      std::vector<std::string> body(lines.begin() + static_cast<long>(i) + 1,
                                    lines.begin() + static_cast<long>(end));
      if (lower == "load" || lower == "load_with_nhcb") {
        Load(static_cast<int>(i + 1), line, body, lower == "load_with_nhcb");
      } else if (lower.rfind("eval", 0) == 0) {
        Eval(static_cast<int>(i + 1), line, body);
      } else {
        Fail(static_cast<int>(i + 1), line, "unknown command", "", false);
      }
      i = end - 1;
    }
    return res_;
  }

 private:
  void Fail(int line, const std::string& query, const std::string& why, const std::string& detail,
            bool histograms) {
    res_.failed++;
    if (histograms) res_.failed_histograms++;
    out_ << "FAIL " << name_ << ":" << line << ": " << query
         << (histograms ? "  [needs native histograms]" : "") << "\n    " << why << "\n";
    if (!detail.empty()) out_ << detail << "\n";
  }

  void Load(int line, const std::string& cmd, const std::vector<std::string>& body, bool nhcb) {
    std::string arg = Trim(cmd.substr(cmd.find_first_of(" \t") == std::string::npos ? cmd.size() : cmd.find_first_of(" \t")));
    int64_t step;
    if (!ParseTestDuration(arg, &step)) {
      Fail(line, cmd, "bad load step", "", false);
      return;
    }
    ClassicGroups classic;
    // The start timestamps of the next series line (which must be for the same labels).
    std::optional<std::pair<Labels, std::vector<std::optional<int64_t>>>> pending_st;
    for (size_t k = 0; k < body.size(); ++k) {
      const std::string& sl = body[k];
      int sline = line + 1 + static_cast<int>(k);
      {
        Labels st_labels;
        std::vector<std::optional<int64_t>> offsets;
        Result<bool> is_st = ParseStartTimestampLine(sl, &st_labels, &offsets);
        if (!is_st.ok()) {
          Fail(sline, sl, "bad start timestamp line: " + is_st.status().message(), "", false);
          continue;
        }
        if (*is_st) {
          pending_st.emplace(std::move(st_labels), std::move(offsets));
          continue;
        }
      }
      auto spec = ParseSeriesSpec(sl);
      if (!spec.ok()) {
        Fail(line + 1 + static_cast<int>(k), sl, "bad series line: " + spec.status().message(), "", false);
        continue;
      }
      if (spec->histogram) {
        hist_names_.insert(std::string(spec->labels.MetricName()));
        hist_series_.push_back(spec->labels);
      }
      if (nhcb) {
        std::string n(spec->labels.MetricName());
        for (const char* suf : {"_bucket", "_count", "_sum"}) {
          size_t sl2 = std::strlen(suf);
          if (n.size() > sl2 && n.compare(n.size() - sl2, sl2, suf) == 0) {
            hist_names_.insert(n.substr(0, n.size() - sl2));
          }
        }
      }
      const std::vector<std::optional<int64_t>>* offsets = nullptr;
      if (pending_st) {
        if (pending_st->first != spec->labels || pending_st->second.size() != spec->values.size()) {
          Fail(sline, sl, "start timestamp line does not match the series line after it", "",
               false);
          pending_st.reset();
          continue;
        }
        offsets = &pending_st->second;
      }
      std::vector<Sample> samples;
      std::vector<int64_t> sample_sts;
      std::vector<tsdb::HistogramSample> hists;
      for (size_t j = 0; j < spec->values.size(); ++j) {
        const SeriesValue& v = spec->values[j];
        if (!v) continue;
        int64_t t = static_cast<int64_t>(j) * step;
        int64_t st = offsets != nullptr && (*offsets)[j] ? t + *(*offsets)[j] : 0;
        if (v->h) {
          hists.push_back({t, *v->h, st});
        } else {
          samples.push_back({t, v->f});
          sample_sts.push_back(st);
        }
      }
      pending_st.reset();
      storage_.Add(spec->labels, samples, sample_sts);
      if (!hists.empty()) storage_.AddHistograms(spec->labels, hists);
      if (nhcb) AddClassicPart(spec->labels, samples, &classic);
    }
    if (nhcb) LoadNhcb(classic);
  }

  // load_with_nhcb: the classic parts of each histogram (labels without `le`, name without
  // the _bucket/_count/_sum suffix), gathered per timestamp.
  struct ClassicAt {
    std::vector<std::pair<double, double>> buckets;  // (le, cumulative count)
    std::optional<double> count, sum;
    bool stale = false;
  };
  struct ClassicGroup {
    bool has_buckets = false;
    std::map<int64_t, ClassicAt> at;
  };
  using ClassicGroups = std::map<Labels, ClassicGroup>;

  static void AddClassicPart(const Labels& ls, const std::vector<Sample>& samples, ClassicGroups* out) {
    std::string n(ls.MetricName());
    for (const char* suf : {"_bucket", "_count", "_sum"}) {
      size_t len = std::strlen(suf);
      if (n.size() <= len || n.compare(n.size() - len, len, suf) != 0) continue;
      bool bucket = std::strcmp(suf, "_bucket") == 0;
      std::optional<double> le;
      if (bucket) {
        le = ParseBucketBound(ls.Get("le"));
        if (!le) return;
      }
      LabelsBuilder lb(ls);
      lb.Set(kMetricNameLabel, n.substr(0, n.size() - len));
      lb.Del("le");
      ClassicGroup& g = (*out)[lb.Build()];
      if (bucket) g.has_buckets = true;
      for (const auto& smp : samples) {
        ClassicAt& c = g.at[smp.t_ms];
        if (IsStaleNaN(smp.v)) {
          c.stale = true;
          continue;
        }
        if (bucket) {
          c.buckets.push_back({*le, smp.v});
        } else if (std::strcmp(suf, "_count") == 0) {
          c.count = smp.v;
        } else {
          c.sum = smp.v;
        }
      }
      return;
    }
  }

  void LoadNhcb(const ClassicGroups& groups) {
    for (const auto& [ls, g] : groups) {
      if (!g.has_buckets) continue;
      std::vector<tsdb::HistogramSample> hs;
      for (const auto& [t, c] : g.at) {
        if (c.stale && c.buckets.empty()) {
          FloatHistogram stale;
          stale.sum = StaleNaN();
          hs.push_back({t, stale});
          continue;
        }
        ClassicHistogramBuilder b;
        for (const auto& [le, cnt] : c.buckets) (void)b.SetBucketCount(le, cnt);
        if (c.count) (void)b.SetCount(*c.count);
        if (c.sum) b.SetSum(*c.sum);
        auto h = b.Convert();
        if (!h.ok()) continue;  // as upstream: an inconsistent classic histogram is not converted
        if (std::holds_alternative<IntHistogram>(*h)) {
          hs.push_back({t, std::get<IntHistogram>(*h).ToFloat()});
        } else {
          hs.push_back({t, std::get<FloatHistogram>(*h)});
        }
      }
      if (!hs.empty()) storage_.AddHistograms(ls, hs);
    }
  }

  // Whether the case needs native histograms: its expectations contain one, or one of its
  // selectors matches a histogram series that was loaded (and skipped).
  bool UsesHistograms(const EvalCmd& c) const {
    if (c.histograms) return true;
    for (const auto& n : hist_names_) {
      if (!n.empty() && c.query.find(n) != std::string::npos) return true;
    }
    auto e = ParseExpr(c.query);
    if (!e.ok()) return false;
    bool found = false;
    std::function<void(const Expr&)> walk = [&](const Expr& n) {
      if (n.kind == ExprKind::kVectorSelector) {
        for (const auto& h : hist_series_) {
          if (MatchesAll(n.matchers, h)) found = true;
        }
      }
      for (const auto* ch : {n.lhs.get(), n.rhs.get(), n.child.get(), n.param.get()}) {
        if (ch) walk(*ch);
      }
      for (const auto& a : n.args) walk(*a);
    };
    walk(**e);
    return found;
  }

  void Eval(int line, const std::string& cmd, const std::vector<std::string>& body) {
    static const RE2 kInstant(R"(^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$)");
    static const RE2 kRange(R"(^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$)");
    static const RE2 kExpect(R"(^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$)");
    static const RE2 kRangeVector(R"(^expect\s+range\s+vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$)");
    static const RE2 kString(R"(^expect\s+string\s+(.+)$)");
    EvalCmd c;
    c.line = line;
    std::string mod, a, b, d;
    if (RE2::FullMatch(cmd, kInstant, &mod, &a, &c.query)) {
      if (!ParseTestDuration(a, &c.t)) return Fail(line, cmd, "bad eval time", "", false);
    } else if (RE2::FullMatch(cmd, kRange, &mod, &a, &b, &d, &c.query)) {
      c.instant = false;
      if (!ParseTestDuration(a, &c.start) || !ParseTestDuration(b, &c.end) ||
          !ParseTestDuration(d, &c.step)) {
        return Fail(line, cmd, "bad range", "", false);
      }
    } else {
      return Fail(line, cmd, "cannot parse eval command", "", false);
    }
    if (mod == "fail") c.fail = true;
    if (mod == "ordered") c.ordered = true;
    if (mod == "warn") c.annos.push_back({"warn", "", ""});
    if (mod == "info") c.annos.push_back({"info", "", ""});
    for (const auto& l : body) {
      std::string kind, mode, text;
      if (l.find("{{") != std::string::npos) c.histograms = true;
      if (RE2::FullMatch(l, kExpect, &kind, &mode, &text)) {
        text = Trim(text);
        if (kind == "fail") {
          c.fail = true;
          c.fail_mode = mode;
          c.fail_text = text;
        } else if (kind == "ordered") {
          c.ordered = true;
        } else if (kind == "no_warn") {
          c.no_warn = true;
        } else if (kind == "no_info") {
          c.no_info = true;
        } else {
          c.annos.push_back({kind, mode, text});
        }
        continue;
      }
      if (RE2::FullMatch(l, kRangeVector, &a, &b, &d)) {
        c.range_vector = true;
        if (!ParseTestDuration(a, &c.rv_start) || !ParseTestDuration(b, &c.rv_end) ||
            !ParseTestDuration(d, &c.rv_step)) {
          return Fail(line, cmd, "bad expect range vector", "", false);
        }
        continue;
      }
      if (RE2::FullMatch(l, kString, &a)) {
        Lexer lx(a);
        Token t = lx.Next();
        c.expect_string = t.text;
        continue;
      }
      if (l.rfind("expected_fail_message", 0) == 0) {
        c.fail = true;
        c.fail_mode = "msg";
        c.fail_text = Trim(l.substr(21));
        continue;
      }
      if (l.rfind("expected_fail_regexp", 0) == 0) {
        c.fail = true;
        c.fail_mode = "regex";
        c.fail_text = Trim(l.substr(20));
        continue;
      }
      double num;
      std::string tl = Trim(l);
      if (ParseNumber(tl, &num) && tl.find_first_of(" {") == std::string::npos) {
        c.expect_scalar = num;
        break;
      }
      auto spec = ParseSeriesSpec(l);
      if (!spec.ok()) return Fail(line, cmd, "bad expected series: " + spec.status().message(), l, false);
      c.series.push_back(std::move(*spec));
    }
    bool hist = UsesHistograms(c);
    std::string err = Run(c);
    if (err.empty()) {
      res_.passed++;
      if (opts_.verbose) out_ << "ok   " << name_ << ":" << line << ": " << c.query << "\n";
      return;
    }
    Fail(line, c.query, err, "", hist);
  }

  // Runs the eval and its extra checks; "" on success, else a description.
  std::string Run(const EvalCmd& c) {
    auto parsed = ParseExpr(c.query);
    if (!parsed.ok()) {
      if (c.fail) {
        if (!MatchText(c.fail_mode, c.fail_text, parsed.status().message())) {
          return "error \"" + parsed.status().message() + "\" does not match the expected \"" + c.fail_text + "\"";
        }
        return "";
      }
      return "parse error: " + parsed.status().message();
    }
    const Expr& expr = **parsed;
    if (!c.instant) {
      auto r = engine_->RangeQuery(&storage_, expr, c.query, c.start, c.end, c.step);
      return Check(c, r, "", true);
    }
    auto r = engine_->InstantQuery(&storage_, expr, c.query, c.t);
    std::string err = Check(c, r, "", true);
    if (!err.empty()) return err;
    bool matrix_or_string = c.range_vector || c.expect_string.has_value();
    bool uses_range = false;
    for (const char* fn : {"range()", "step()", "start()", "end()"}) {
      if (c.query.find(fn) != std::string::npos) uses_range = true;
    }
    // Range mode: the query from t-1m to t+1m must give the same sample at t.
    auto range_check = [&](const Expr& e, int64_t t, const std::string& label) -> std::string {
      if (c.fail || matrix_or_string || uses_range || c.ordered) return "";
      if (e.type() != ValueType::kScalar && e.type() != ValueType::kVector) return "";
      auto rr = engine_->RangeQuery(&storage_, e, c.query, t - 60000, t + 60000, 60000);
      if (!rr.ok()) return label + "range mode: " + rr.status().message();
      QueryResult inst;
      inst.type = e.type() == ValueType::kScalar ? ValueType::kScalar : ValueType::kVector;
      for (size_t i = 0; i < rr->matrix.size(); ++i) {
        const auto& s = rr->matrix[i];
        if (i > 0 && !(rr->matrix[i - 1].metric < s.metric)) return label + "range mode: not sorted";
        for (const auto& p : s.points) {
          if (p.t_ms == t) {
            inst.vector.push_back({s.metric, t, p.f, false, p.h});
            break;
          }
        }
      }
      if (inst.type == ValueType::kScalar) {
        if (inst.vector.empty()) return label + "range mode: no scalar";
        inst.scalar = inst.vector[0].f;
      }
      std::string cmp = CompareResult(c, inst, false);
      return cmp.empty() ? "" : label + "range mode: " + cmp + "\n    got: " + DescribeResult(inst);
    };
    err = range_check(expr, c.t, "");
    if (!err.empty()) return err;
    // @ variants.
    ExprPtr at = expr.Clone();
    bool unsafe = false;
    SetAt(at.get(), c.t, &unsafe);
    if (unsafe) return "";
    std::vector<int64_t> times = {-10 * c.t, 0, c.t / 5, c.t, 10 * c.t};
    if (c.t == 0) times = {-1000, 0, 1000};
    for (int64_t t : times) {
      std::string label = "with @ " + std::to_string(c.t) + "ms at " + std::to_string(t) + "ms: ";
      auto ar = engine_->InstantQuery(&storage_, *at, c.query, t);
      err = Check(c, ar, label, true);
      if (!err.empty()) return err;
      err = range_check(*at, t, label);
      if (!err.empty()) return err;
    }
    return "";
  }

  std::string Check(const EvalCmd& c, const Result<QueryResult>& r, const std::string& label,
                    bool order) {
    if (!r.ok()) {
      if (c.fail) {
        if (!MatchText(c.fail_mode, c.fail_text, r.status().message())) {
          return label + "error \"" + r.status().message() + "\" does not match the expected \"" + c.fail_text + "\"";
        }
        return "";
      }
      return label + "error: " + r.status().message();
    }
    if (c.fail) return label + "expected an error, got " + DescribeResult(*r);
    std::string a = CheckAnnotations(c, *r);
    if (!a.empty()) return label + a;
    std::string cmp = CompareResult(c, *r, order);
    if (!cmp.empty()) {
      return label + cmp + "\n    expected: " + DescribeExpected(c) + "\n    got: " + DescribeResult(*r);
    }
    return "";
  }

  std::string name_;
  PromqlTestOptions opts_;
  std::ostream& out_;
  MemoryStorage storage_;
  std::unique_ptr<Engine> engine_;
  std::set<std::string> hist_names_;
  std::vector<Labels> hist_series_;
  PromqlFileResult res_;
};

std::string BaseName(const std::string& p) {
  size_t s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

}  // namespace

PromqlFileResult RunPromqlTestScript(const std::string& name, const std::string& text,
                                     const PromqlTestOptions& opts, std::ostream& out) {
  ScriptRunner r(name, opts, out);
  return r.Run(text);
}

int RunPromqlTestFiles(const std::vector<std::string>& files, const PromqlTestOptions& opts,
                       std::ostream& out) {
  std::map<std::string, int> baseline;
  if (!opts.baseline_path.empty()) {
    std::ifstream b(opts.baseline_path);
    std::string f;
    int n;
    while (b >> f >> n) baseline[f] = n;
  }
  int passed = 0, failed = 0;
  bool ok = true;
  for (const auto& path : files) {
    std::ifstream in(path);
    if (!in) {
      out << path << ": cannot open\n";
      return 77;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string name = BaseName(path);
    PromqlFileResult r = RunPromqlTestScript(name, ss.str(), opts, out);
    passed += r.passed;
    failed += r.failed;
    out << name << ": " << r.passed << " passed, " << r.failed << " failed";
    if (r.failed_histograms > 0) out << " (" << r.failed_histograms << " need native histograms)";
    auto it = baseline.find(name);
    if (it != baseline.end()) {
      out << " (baseline " << it->second << ")";
      if (r.passed < it->second) ok = false;
    } else if (r.failed > 0) {
      ok = false;
    }
    out << "\n";
  }
  out << passed << " passed, " << failed << " failed\n";
  return ok ? 0 : 1;
}

int PromqlTestMain(const std::vector<std::string>& args) {
  PromqlTestOptions opts;
  std::vector<std::string> files;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--baseline" && i + 1 < args.size()) {
      opts.baseline_path = args[++i];
    } else if (args[i] == "-v" || args[i] == "--verbose") {
      opts.verbose = true;
    } else {
      files.push_back(args[i]);
    }
  }
  if (files.empty()) {
    std::cerr << "usage: argus test promql [--baseline FILE] [-v] FILE...\n";
    return 2;
  }
  return RunPromqlTestFiles(files, opts, std::cout);
}

}  // namespace argus::promql
