#include "traceql/engine.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <unordered_map>

namespace argus::traceql {

namespace otlp = opentelemetry::proto;

namespace {

// A value during evaluation; strings view into the trace or the query.
struct Value {
  StaticType type = StaticType::kNil;  // kNil: missing
  int64_t i = 0;                       // int, duration (ns), status, kind
  double f = 0;
  bool b = false;
  std::string_view s;
  std::string owned;  // for computed strings (hex IDs)

  bool IsNumeric() const {
    return type == StaticType::kInt || type == StaticType::kFloat || type == StaticType::kDuration;
  }
  double Num() const { return type == StaticType::kFloat ? f : static_cast<double>(i); }
  std::string_view Str() const { return owned.empty() ? s : std::string_view(owned); }
};

Value Bool(bool b) {
  Value v;
  v.type = StaticType::kBool;
  v.b = b;
  return v;
}

Value FromStatic(const Static& st) {
  Value v;
  v.type = st.type;
  v.i = st.i;
  v.f = st.f;
  v.b = st.b;
  v.s = st.s;
  return v;
}

Value FromAny(const otlp::common::v1::AnyValue& a) {
  Value v;
  switch (a.value_case()) {
    case otlp::common::v1::AnyValue::kStringValue:
      v.type = StaticType::kString;
      v.s = a.string_value();
      break;
    case otlp::common::v1::AnyValue::kIntValue:
      v.type = StaticType::kInt;
      v.i = a.int_value();
      break;
    case otlp::common::v1::AnyValue::kDoubleValue:
      v.type = StaticType::kFloat;
      v.f = a.double_value();
      break;
    case otlp::common::v1::AnyValue::kBoolValue:
      v.type = StaticType::kBool;
      v.b = a.bool_value();
      break;
    default:
      break;
  }
  return v;
}

const otlp::common::v1::AnyValue* Find(
    const google::protobuf::RepeatedPtrField<otlp::common::v1::KeyValue>& attrs,
    std::string_view key) {
  for (const auto& kv : attrs) {
    if (kv.key() == key) return &kv.value();
  }
  return nullptr;
}

std::string Hex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

Value HexValue(const std::string& bytes) {
  Value v;
  v.type = StaticType::kString;
  v.owned = Hex(bytes);
  if (v.owned.empty()) v.type = StaticType::kNil;
  return v;
}

const RE2* Regex(std::string_view pattern) {
  thread_local std::unordered_map<std::string, std::unique_ptr<RE2>> cache;
  auto it = cache.find(std::string(pattern));
  if (it != cache.end()) return it->second.get();
  if (cache.size() > 256) cache.clear();
  auto re = std::make_unique<RE2>(pattern, RE2::Quiet);
  const RE2* p = re.get();
  cache.emplace(std::string(pattern), std::move(re));
  return p;
}

class Evaluator {
 public:
  explicit Evaluator(const TraceView& t) : t_(t) {}

  Value Attr(int i, const Attribute& a) const {
    const SpanRef& r = t_.spans()[i];
    const otlp::trace::v1::Span& s = *r.span;
    Value v;
    if (a.IsIntrinsic()) {
      switch (a.intrinsic) {
        case Intrinsic::kDuration:
          v.type = StaticType::kDuration;
          v.i = static_cast<int64_t>(s.end_time_unix_nano() - s.start_time_unix_nano());
          return v;
        case Intrinsic::kChildCount:
          v.type = StaticType::kInt;
          v.i = static_cast<int64_t>(r.children.size());
          return v;
        case Intrinsic::kName:
          v.type = StaticType::kString;
          v.s = s.name();
          return v;
        case Intrinsic::kStatus:
          v.type = StaticType::kStatus;
          v.i = s.status().code();
          return v;
        case Intrinsic::kStatusMessage:
          v.type = StaticType::kString;
          v.s = s.status().message();
          return v;
        case Intrinsic::kKind:
          v.type = StaticType::kKind;
          v.i = s.kind();
          return v;
        case Intrinsic::kTraceRootName:
          if (t_.root() < 0) return v;
          v.type = StaticType::kString;
          v.s = t_.root_name();
          return v;
        case Intrinsic::kTraceRootService:
          if (t_.root() < 0) return v;
          v.type = StaticType::kString;
          v.s = t_.root_service();
          return v;
        case Intrinsic::kTraceDuration:
          v.type = StaticType::kDuration;
          v.i = static_cast<int64_t>(t_.end_unix_nano() - t_.start_unix_nano());
          return v;
        case Intrinsic::kTraceID: return HexValue(s.trace_id());
        case Intrinsic::kSpanID: return HexValue(s.span_id());
        case Intrinsic::kParentID: return HexValue(s.parent_span_id());
        case Intrinsic::kNestedSetLeft:
          v.type = StaticType::kInt;
          v.i = r.nested_left;
          return v;
        case Intrinsic::kNestedSetRight:
          v.type = StaticType::kInt;
          v.i = r.nested_right;
          return v;
        case Intrinsic::kNestedSetParent:
          v.type = StaticType::kInt;
          v.i = r.parent >= 0 ? t_.spans()[r.parent].nested_left : -1;
          return v;
        case Intrinsic::kEventName:
          if (s.events_size() == 0) return v;
          v.type = StaticType::kString;
          v.s = s.events(0).name();
          return v;
        case Intrinsic::kEventTimeSinceStart:
          if (s.events_size() == 0) return v;
          v.type = StaticType::kDuration;
          v.i = static_cast<int64_t>(s.events(0).time_unix_nano() - s.start_time_unix_nano());
          return v;
        case Intrinsic::kLinkTraceID:
          return s.links_size() ? HexValue(s.links(0).trace_id()) : v;
        case Intrinsic::kLinkSpanID:
          return s.links_size() ? HexValue(s.links(0).span_id()) : v;
        case Intrinsic::kInstrumentationName:
          if (!r.scope) return v;
          v.type = StaticType::kString;
          v.s = r.scope->name();
          return v;
        case Intrinsic::kInstrumentationVersion:
          if (!r.scope) return v;
          v.type = StaticType::kString;
          v.s = r.scope->version();
          return v;
        case Intrinsic::kParent: case Intrinsic::kNone:
          return v;
      }
      return v;
    }
    const otlp::common::v1::AnyValue* found = nullptr;
    switch (a.scope) {
      case AttributeScope::kNone:
        found = Find(s.attributes(), a.name);
        if (!found && r.resource) found = Find(r.resource->attributes(), a.name);
        break;
      case AttributeScope::kSpan:
        found = Find(s.attributes(), a.name);
        break;
      case AttributeScope::kResource:
        if (r.resource) found = Find(r.resource->attributes(), a.name);
        break;
      case AttributeScope::kEvent:
        for (const auto& e : s.events()) {
          if ((found = Find(e.attributes(), a.name))) break;
        }
        break;
      case AttributeScope::kLink:
        for (const auto& l : s.links()) {
          if ((found = Find(l.attributes(), a.name))) break;
        }
        break;
      case AttributeScope::kInstrumentation:
        if (r.scope) found = Find(r.scope->attributes(), a.name);
        break;
    }
    return found ? FromAny(*found) : v;
  }

  Value Eval(int i, const FieldExpr& e) const {
    switch (e.kind) {
      case FieldExpr::Kind::kStatic: return FromStatic(e.value);
      case FieldExpr::Kind::kAttribute: return Attr(i, e.attr);
      case FieldExpr::Kind::kUnary: {
        Value x = Eval(i, *e.lhs);
        if (e.op == Op::kExists) return Bool(x.type != StaticType::kNil);
        if (e.op == Op::kNot) return x.type == StaticType::kBool ? Bool(!x.b) : Value{};
        if (x.type == StaticType::kFloat) {
          x.f = -x.f;
        } else if (x.IsNumeric()) {
          x.i = -x.i;
        } else {
          return Value{};
        }
        return x;
      }
      case FieldExpr::Kind::kBinary:
        return Binary(i, e);
    }
    return Value{};
  }

  bool Truthy(int i, const FieldExpr& e) const {
    Value v = Eval(i, e);
    return v.type == StaticType::kBool && v.b;
  }

 private:
  Value Binary(int i, const FieldExpr& e) const {
    if (e.op == Op::kAnd) return Bool(Truthy(i, *e.lhs) && Truthy(i, *e.rhs));
    if (e.op == Op::kOr) return Bool(Truthy(i, *e.lhs) || Truthy(i, *e.rhs));
    Value l = Eval(i, *e.lhs), r = Eval(i, *e.rhs);
    bool lnil = l.type == StaticType::kNil, rnil = r.type == StaticType::kNil;
    if (e.op == Op::kNeq && (lnil || rnil)) {
      // `x != nil` tests existence; `nil != nil` is false.
      if (lnil && rnil) return Bool(false);
      bool static_nil = (lnil && e.lhs->kind == FieldExpr::Kind::kStatic) ||
                        (rnil && e.rhs->kind == FieldExpr::Kind::kStatic);
      return Bool(static_nil);
    }
    if (lnil || rnil) return IsComparison(e.op) ? Bool(false) : Value{};
    switch (e.op) {
      case Op::kAdd: case Op::kSub: case Op::kMul: case Op::kDiv: case Op::kMod: case Op::kPow:
        return Arith(e.op, l, r);
      case Op::kRegex: case Op::kNotRegex: {
        if (l.type != StaticType::kString || r.type != StaticType::kString) return Bool(false);
        const RE2* re = Regex(r.Str());
        bool m = re->ok() && RE2::FullMatch(l.Str(), *re);
        return Bool(e.op == Op::kRegex ? m : !m);
      }
      default:
        return Bool(Compare(e.op, l, r));
    }
  }

  static Value Arith(Op op, const Value& l, const Value& r) {
    if (!l.IsNumeric() || !r.IsNumeric()) return Value{};
    Value v;
    bool ints = l.type != StaticType::kFloat && r.type != StaticType::kFloat;
    v.type = l.type == StaticType::kDuration || r.type == StaticType::kDuration ? StaticType::kDuration
             : ints ? StaticType::kInt : StaticType::kFloat;
    if (ints && (op == Op::kAdd || op == Op::kSub || op == Op::kMul || op == Op::kMod)) {
      switch (op) {
        case Op::kAdd: v.i = l.i + r.i; break;
        case Op::kSub: v.i = l.i - r.i; break;
        case Op::kMul: v.i = l.i * r.i; break;
        default:
          if (r.i == 0) return Value{};
          v.i = l.i % r.i;
      }
      return v;
    }
    double a = l.Num(), b = r.Num(), x = 0;
    switch (op) {
      case Op::kAdd: x = a + b; break;
      case Op::kSub: x = a - b; break;
      case Op::kMul: x = a * b; break;
      case Op::kDiv: x = a / b; break;
      case Op::kMod: x = std::fmod(a, b); break;
      default: x = std::pow(a, b); break;
    }
    if (v.type == StaticType::kFloat) {
      v.f = x;
    } else if (std::isfinite(x)) {
      v.i = static_cast<int64_t>(x);
      if (v.type == StaticType::kInt && x != std::floor(x)) {
        v.type = StaticType::kFloat;
        v.f = x;
      }
    } else {
      v.type = StaticType::kFloat;
      v.f = x;
    }
    return v;
  }

  static bool Compare(Op op, const Value& l, const Value& r) {
    int c = 0;
    if (l.IsNumeric() && r.IsNumeric()) {
      if (l.type != StaticType::kFloat && r.type != StaticType::kFloat) {
        c = l.i < r.i ? -1 : l.i > r.i ? 1 : 0;
      } else {
        double a = l.Num(), b = r.Num();
        if (std::isnan(a) || std::isnan(b)) return op == Op::kNeq;
        c = a < b ? -1 : a > b ? 1 : 0;
      }
    } else if (l.type == StaticType::kString && r.type == StaticType::kString) {
      int k = l.Str().compare(r.Str());
      c = k < 0 ? -1 : k > 0 ? 1 : 0;
    } else if (l.type == r.type && (l.type == StaticType::kBool)) {
      if (op != Op::kEq && op != Op::kNeq) return false;
      c = l.b == r.b ? 0 : 1;
    } else if (l.type == r.type && (l.type == StaticType::kStatus || l.type == StaticType::kKind)) {
      if (op != Op::kEq && op != Op::kNeq) return false;
      c = l.i == r.i ? 0 : 1;
    } else {
      return op == Op::kNeq;  // different types are never equal
    }
    switch (op) {
      case Op::kEq: return c == 0;
      case Op::kNeq: return c != 0;
      case Op::kLt: return c < 0;
      case Op::kLte: return c <= 0;
      case Op::kGt: return c > 0;
      case Op::kGte: return c >= 0;
      default: return false;
    }
  }

  const TraceView& t_;
};

// --- Spanset operators -------------------------------------------------------------------

bool IsAncestor(const TraceView& t, int a, int b) {  // a is an ancestor of b
  for (int p = t.spans()[b].parent; p >= 0; p = t.spans()[p].parent) {
    if (p == a) return true;
  }
  return false;
}

std::vector<int> Union(const std::vector<int>& a, const std::vector<int>& b) {
  std::vector<int> out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// The spans of `rhs` in relation `rel` with some span of `lhs` (or with none, if `negate`),
// and for the union forms also the spans of `lhs` that take part.
std::vector<int> Structural(const TraceView& t, SpansetOp op, const std::vector<int>& lhs,
                            const std::vector<int>& rhs) {
  enum class Rel { kChild, kParent, kDesc, kAnce, kSibling };
  Rel rel;
  bool negate = false, both = false;
  switch (op) {
    case SpansetOp::kChild: rel = Rel::kChild; break;
    case SpansetOp::kParent: rel = Rel::kParent; break;
    case SpansetOp::kDescendant: rel = Rel::kDesc; break;
    case SpansetOp::kAncestor: rel = Rel::kAnce; break;
    case SpansetOp::kSibling: rel = Rel::kSibling; break;
    case SpansetOp::kNotChild: rel = Rel::kChild; negate = true; break;
    case SpansetOp::kNotParent: rel = Rel::kParent; negate = true; break;
    case SpansetOp::kNotDescendant: rel = Rel::kDesc; negate = true; break;
    case SpansetOp::kNotAncestor: rel = Rel::kAnce; negate = true; break;
    case SpansetOp::kNotSibling: rel = Rel::kSibling; negate = true; break;
    case SpansetOp::kUnionChild: rel = Rel::kChild; both = true; break;
    case SpansetOp::kUnionParent: rel = Rel::kParent; both = true; break;
    case SpansetOp::kUnionDescendant: rel = Rel::kDesc; both = true; break;
    case SpansetOp::kUnionAncestor: rel = Rel::kAnce; both = true; break;
    default: rel = Rel::kSibling; both = true; break;
  }
  // Does (l, r) satisfy "r is <rel> of l"?
  auto holds = [&](int l, int r) {
    const auto& s = t.spans();
    switch (rel) {
      case Rel::kChild: return s[r].parent == l;
      case Rel::kParent: return s[l].parent == r;
      case Rel::kDesc: return IsAncestor(t, l, r);
      case Rel::kAnce: return IsAncestor(t, r, l);
      case Rel::kSibling: return l != r && s[l].parent >= 0 && s[l].parent == s[r].parent;
    }
    return false;
  };
  std::vector<int> out_r, out_l;
  std::vector<bool> l_used(t.spans().size(), false);
  for (int r : rhs) {
    bool any = false;
    for (int l : lhs) {
      if (holds(l, r)) {
        any = true;
        if (!both) break;
        l_used[l] = true;
      }
    }
    if (any != negate) out_r.push_back(r);
  }
  if (!both) return out_r;
  for (int l : lhs) {
    if (l_used[l]) out_l.push_back(l);
  }
  return Union(out_l, out_r);
}

class SearchEval {
 public:
  explicit SearchEval(const TraceView& t) : t_(t), ev_(t) {}

  std::vector<Spanset> Pipeline(const traceql::Pipeline& p, std::vector<Spanset> in) const {
    for (const PipelineStage& st : p.stages) {
      std::vector<Spanset> out;
      switch (st.kind) {
        case PipelineStage::Kind::kSpanset:
          for (const Spanset& ss : in) {
            Spanset r = ss;
            r.spans = Spans(*st.spanset, ss);
            if (!r.spans.empty()) out.push_back(std::move(r));
          }
          break;
        case PipelineStage::Kind::kScalarFilter:
          for (Spanset& ss : in) {
            double l = 0, r = 0;
            if (!Scalar(st.scalar->lhs, ss, &l) || !Scalar(st.scalar->rhs, ss, &r)) continue;
            if (CompareNumbers(st.scalar->op, l, r)) {
              ss.has_scalar = true;
              ss.scalar = st.scalar->lhs.kind == ScalarExpr::Kind::kStatic ? r : l;
              out.push_back(std::move(ss));
            }
          }
          break;
        case PipelineStage::Kind::kGroupBy:
          for (const Spanset& ss : in) {
            std::map<std::string, Spanset> groups;
            for (int i : ss.spans) {
              std::string key;
              if (!GroupKey(i, *st.group_by, &key)) continue;
              Spanset& g = groups[key];
              g.spans.push_back(i);
              g.group_key = st.group_by->ToString();
              g.group_value = key;
            }
            for (auto& [k, g] : groups) out.push_back(std::move(g));
          }
          break;
        case PipelineStage::Kind::kCoalesce: {
          Spanset all;
          for (const Spanset& ss : in) all.spans = Union(all.spans, ss.spans);
          if (!all.spans.empty()) out.push_back(std::move(all));
          break;
        }
        case PipelineStage::Kind::kSelect:
        case PipelineStage::Kind::kAggregate:
          out = std::move(in);
          break;
      }
      in = std::move(out);
      if (in.empty()) break;
    }
    return in;
  }

  // A root spanset pipeline expression: pipelines combined by spanset operators.
  std::vector<Spanset> Expr(const SpansetExpr& e, const std::vector<Spanset>& in) const {
    if (e.kind == SpansetExpr::Kind::kPipeline) return Pipeline(*e.pipeline, in);
    if (e.kind == SpansetExpr::Kind::kFilter) {
      std::vector<Spanset> out;
      for (const Spanset& ss : in) {
        Spanset r = ss;
        r.spans = Spans(e, ss);
        if (!r.spans.empty()) out.push_back(std::move(r));
      }
      return out;
    }
    std::vector<Spanset> l = Expr(*e.lhs, in), r = Expr(*e.rhs, in);
    Spanset ls = Merge(l), rs = Merge(r);
    std::vector<int> spans = Combine(e.op, ls.spans, rs.spans);
    if (spans.empty()) return {};
    Spanset out;
    out.spans = std::move(spans);
    return {out};
  }

 private:
  static Spanset Merge(const std::vector<Spanset>& v) {
    Spanset m;
    for (const Spanset& s : v) m.spans = Union(m.spans, s.spans);
    return m;
  }

  std::vector<int> Combine(SpansetOp op, const std::vector<int>& l, const std::vector<int>& r) const {
    if (op == SpansetOp::kAnd) return l.empty() || r.empty() ? std::vector<int>{} : Union(l, r);
    if (op == SpansetOp::kUnion) return Union(l, r);
    return Structural(t_, op, l, r);
  }

  std::vector<int> Spans(const SpansetExpr& e, const Spanset& in) const {
    if (e.kind == SpansetExpr::Kind::kFilter) {
      std::vector<int> out;
      for (int i : in.spans) {
        if (ev_.Truthy(i, *e.filter)) out.push_back(i);
      }
      return out;
    }
    if (e.kind == SpansetExpr::Kind::kPipeline) {
      return Merge(Pipeline(*e.pipeline, {in})).spans;
    }
    return Combine(e.op, Spans(*e.lhs, in), Spans(*e.rhs, in));
  }

  bool GroupKey(int i, const FieldExpr& e, std::string* key) const {
    Value v = ev_.Eval(i, e);
    switch (v.type) {
      case StaticType::kNil: return false;
      case StaticType::kString: *key = std::string(v.Str()); return true;
      case StaticType::kFloat: *key = fmt::format("{}", v.f); return true;
      case StaticType::kBool: *key = v.b ? "true" : "false"; return true;
      case StaticType::kStatus: *key = v.i == 1 ? "ok" : v.i == 2 ? "error" : "unset"; return true;
      default: *key = std::to_string(v.i); return true;
    }
  }

  bool Scalar(const ScalarExpr& e, const Spanset& ss, double* out) const {
    switch (e.kind) {
      case ScalarExpr::Kind::kStatic:
        *out = e.value.AsDouble();
        return true;
      case ScalarExpr::Kind::kAggregate:
        return Aggregate(e.aggregate, ss, out);
      case ScalarExpr::Kind::kBinary: {
        double l = 0, r = 0;
        if (!Scalar(*e.lhs, ss, &l) || !Scalar(*e.rhs, ss, &r)) return false;
        switch (e.op) {
          case Op::kAdd: *out = l + r; break;
          case Op::kSub: *out = l - r; break;
          case Op::kMul: *out = l * r; break;
          case Op::kDiv: *out = l / r; break;
          case Op::kMod: *out = std::fmod(l, r); break;
          default: *out = std::pow(l, r); break;
        }
        return true;
      }
      case ScalarExpr::Kind::kPipeline:
        return false;
    }
    return false;
  }

  bool Aggregate(const traceql::Aggregate& a, const Spanset& ss, double* out) const {
    if (a.op == AggregateOp::kCount) {
      *out = static_cast<double>(ss.spans.size());
      return true;
    }
    double sum = 0, mn = INFINITY, mx = -INFINITY;
    size_t n = 0;
    for (int i : ss.spans) {
      Value v = ev_.Eval(i, *a.expr);
      if (!v.IsNumeric()) continue;
      double x = v.Num();
      sum += x;
      mn = std::min(mn, x);
      mx = std::max(mx, x);
      ++n;
    }
    if (n == 0) return false;
    switch (a.op) {
      case AggregateOp::kSum: *out = sum; break;
      case AggregateOp::kMin: *out = mn; break;
      case AggregateOp::kMax: *out = mx; break;
      default: *out = sum / static_cast<double>(n); break;
    }
    return true;
  }


  const TraceView& t_;
  Evaluator ev_;
};

void CollectField(const FieldExpr& e, std::vector<Attribute>* out) {
  switch (e.kind) {
    case FieldExpr::Kind::kAttribute: out->push_back(e.attr); break;
    case FieldExpr::Kind::kBinary: CollectField(*e.lhs, out); CollectField(*e.rhs, out); break;
    case FieldExpr::Kind::kUnary: CollectField(*e.lhs, out); break;
    default: break;
  }
}

void CollectPipeline(const traceql::Pipeline& p, std::vector<Attribute>* out);

void CollectSpanset(const SpansetExpr& e, std::vector<Attribute>* out) {
  switch (e.kind) {
    case SpansetExpr::Kind::kFilter: CollectField(*e.filter, out); break;
    case SpansetExpr::Kind::kPipeline: CollectPipeline(*e.pipeline, out); break;
    case SpansetExpr::Kind::kOp: CollectSpanset(*e.lhs, out); CollectSpanset(*e.rhs, out); break;
  }
}

void CollectPipeline(const traceql::Pipeline& p, std::vector<Attribute>* out) {
  for (const PipelineStage& st : p.stages) {
    if (st.kind == PipelineStage::Kind::kSpanset) CollectSpanset(*st.spanset, out);
    if (st.kind == PipelineStage::Kind::kGroupBy) CollectField(*st.group_by, out);
    if (st.kind == PipelineStage::Kind::kSelect) out->insert(out->end(), st.select.begin(), st.select.end());
  }
}

}  // namespace

Result<std::unique_ptr<TraceView>> TraceView::Parse(const std::string& traces_data) {
  std::unique_ptr<TraceView> t(new TraceView());
  t->data_ = google::protobuf::Arena::CreateMessage<opentelemetry::proto::trace::v1::TracesData>(&t->arena_);
  if (!t->data_->ParseFromString(traces_data)) {
    return Status::Corruption("trace spans do not parse as OTLP TracesData");
  }
  std::unordered_map<std::string_view, int> by_id;  // into the parsed spans
  by_id.reserve(64);
  t->start_ = UINT64_MAX;
  for (const auto& rs : t->data_->resource_spans()) {
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& s : ss.spans()) {
        SpanRef r;
        r.span = &s;
        r.resource = &rs.resource();
        r.scope = &ss.scope();
        by_id.emplace(s.span_id(), static_cast<int>(t->spans_.size()));
        t->spans_.push_back(r);
        t->start_ = std::min<uint64_t>(t->start_, s.start_time_unix_nano());
        t->end_ = std::max<uint64_t>(t->end_, std::max(s.end_time_unix_nano(), s.start_time_unix_nano()));
      }
    }
  }
  if (t->spans_.empty()) t->start_ = 0;
  std::vector<int> roots;
  for (size_t i = 0; i < t->spans_.size(); ++i) {
    SpanRef& r = t->spans_[i];
    const std::string& p = r.span->parent_span_id();
    auto it = p.empty() ? by_id.end() : by_id.find(p);
    if (it != by_id.end() && it->second != static_cast<int>(i)) {
      r.parent = it->second;
      t->spans_[it->second].children.push_back(static_cast<int>(i));
    } else {
      roots.push_back(static_cast<int>(i));
      if (p.empty() && (t->root_ < 0 || r.span->start_time_unix_nano() <
                                            t->spans_[t->root_].span->start_time_unix_nano())) {
        t->root_ = static_cast<int>(i);
      }
    }
  }
  // Nested-set numbering, iteratively (traces may be deep). A cycle through parent IDs
  // cannot reach a root, so such spans keep 0/0.
  int64_t counter = 0;
  for (int root : roots) {
    std::vector<std::pair<int, size_t>> stack{{root, 0}};
    t->spans_[root].nested_left = ++counter;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < t->spans_[node].children.size()) {
        int c = t->spans_[node].children[next++];
        t->spans_[c].nested_left = ++counter;
        stack.emplace_back(c, 0);
      } else {
        t->spans_[node].nested_right = ++counter;
        stack.pop_back();
      }
    }
  }
  return t;
}

std::string_view TraceView::ServiceName(const SpanRef& s) {
  if (!s.resource) return "";
  for (const auto& kv : s.resource->attributes()) {
    if (kv.key() == "service.name" && kv.value().has_string_value()) return kv.value().string_value();
  }
  return "";
}

std::string_view TraceView::root_service() const {
  return root_ < 0 ? std::string_view() : ServiceName(spans_[root_]);
}

std::string_view TraceView::root_name() const {
  return root_ < 0 ? std::string_view() : std::string_view(spans_[root_].span->name());
}

Result<std::vector<Spanset>> EvaluateSearch(const RootExpr& q, const TraceView& trace) {
  Spanset all;
  all.spans.resize(trace.spans().size());
  for (size_t i = 0; i < all.spans.size(); ++i) all.spans[i] = static_cast<int>(i);
  SearchEval ev(trace);
  switch (q.kind) {
    case RootKind::kPipeline:
      return ev.Pipeline(q.pipeline, {all});
    case RootKind::kSpansetPipelineExpr:
      return ev.Expr(*q.spanset, {all});
    default:
      return Status::InvalidArgument("not a search query: use /api/metrics/query_range for metrics");
  }
}

bool SpanMatches(const TraceView& trace, int i, const FieldExpr& filter) {
  return Evaluator(trace).Truthy(i, filter);
}

std::vector<Spanset> EvaluatePipeline(const Pipeline& p, const TraceView& trace) {
  Spanset all;
  all.spans.resize(trace.spans().size());
  for (size_t i = 0; i < all.spans.size(); ++i) all.spans[i] = static_cast<int>(i);
  return SearchEval(trace).Pipeline(p, {all});
}

std::vector<Attribute> ReferencedAttributes(const RootExpr& q) {
  std::vector<Attribute> out;
  if (q.kind == RootKind::kPipeline) CollectPipeline(q.pipeline, &out);
  if (q.kind == RootKind::kSpansetPipelineExpr) CollectSpanset(*q.spanset, &out);
  std::vector<Attribute> unique;
  for (const Attribute& a : out) {
    bool dup = std::any_of(unique.begin(), unique.end(), [&](const Attribute& u) {
      return u.scope == a.scope && u.parent == a.parent && u.name == a.name && u.intrinsic == a.intrinsic;
    });
    if (!dup) unique.push_back(a);
  }
  return unique;
}

OutputValue AttributeValue(const TraceView& trace, int i, const Attribute& attr) {
  Evaluator ev(trace);
  Value v = ev.Attr(i, attr);
  OutputValue o;
  switch (v.type) {
    case StaticType::kString: o.type = OutputValue::Type::kString; o.s = std::string(v.Str()); break;
    case StaticType::kInt: case StaticType::kDuration: o.type = OutputValue::Type::kInt; o.i = v.i; break;
    case StaticType::kFloat: o.type = OutputValue::Type::kDouble; o.d = v.f; break;
    case StaticType::kBool: o.type = OutputValue::Type::kBool; o.b = v.b; break;
    case StaticType::kStatus:
      o.type = OutputValue::Type::kString;
      o.s = v.i == 1 ? "ok" : v.i == 2 ? "error" : "unset";
      break;
    case StaticType::kKind: {
      static const char* kNames[] = {"unspecified", "internal", "server", "client", "producer", "consumer"};
      o.type = OutputValue::Type::kString;
      o.s = v.i >= 0 && v.i < 6 ? kNames[v.i] : "unspecified";
      break;
    }
    default: break;
  }
  return o;
}

}  // namespace argus::traceql
