#include "traceql/ast.h"

#include <fmt/format.h>

namespace argus::traceql {

StaticType IntrinsicType(Intrinsic in) {
  switch (in) {
    case Intrinsic::kDuration: case Intrinsic::kTraceDuration:
    case Intrinsic::kEventTimeSinceStart:
      return StaticType::kDuration;
    case Intrinsic::kChildCount: case Intrinsic::kNestedSetLeft: case Intrinsic::kNestedSetRight:
    case Intrinsic::kNestedSetParent:
      return StaticType::kInt;
    case Intrinsic::kStatus: return StaticType::kStatus;
    case Intrinsic::kKind: return StaticType::kKind;
    case Intrinsic::kParent: case Intrinsic::kNone: return StaticType::kNil;
    default: return StaticType::kString;
  }
}

std::string IntrinsicName(Intrinsic in) {
  switch (in) {
    case Intrinsic::kNone: return "";
    case Intrinsic::kDuration: return "duration";
    case Intrinsic::kChildCount: return "childCount";
    case Intrinsic::kName: return "name";
    case Intrinsic::kStatus: return "status";
    case Intrinsic::kStatusMessage: return "statusMessage";
    case Intrinsic::kKind: return "kind";
    case Intrinsic::kParent: return "parent";
    case Intrinsic::kTraceRootName: return "trace:rootName";
    case Intrinsic::kTraceRootService: return "trace:rootService";
    case Intrinsic::kTraceDuration: return "trace:duration";
    case Intrinsic::kTraceID: return "trace:id";
    case Intrinsic::kNestedSetLeft: return "nestedSetLeft";
    case Intrinsic::kNestedSetRight: return "nestedSetRight";
    case Intrinsic::kNestedSetParent: return "nestedSetParent";
    case Intrinsic::kSpanID: return "span:id";
    case Intrinsic::kParentID: return "span:parentID";
    case Intrinsic::kEventName: return "event:name";
    case Intrinsic::kEventTimeSinceStart: return "event:timeSinceStart";
    case Intrinsic::kLinkTraceID: return "link:traceID";
    case Intrinsic::kLinkSpanID: return "link:spanID";
    case Intrinsic::kInstrumentationName: return "instrumentation:name";
    case Intrinsic::kInstrumentationVersion: return "instrumentation:version";
  }
  return "";
}

std::string Attribute::ToString() const {
  if (IsIntrinsic()) return IntrinsicName(intrinsic);
  std::string scope_str;
  switch (scope) {
    case AttributeScope::kNone: scope_str = ""; break;
    case AttributeScope::kSpan: scope_str = "span"; break;
    case AttributeScope::kResource: scope_str = "resource"; break;
    case AttributeScope::kEvent: scope_str = "event"; break;
    case AttributeScope::kLink: scope_str = "link"; break;
    case AttributeScope::kInstrumentation: scope_str = "instrumentation"; break;
  }
  bool plain = !name.empty();
  for (char c : name) {
    if (c == ' ' || c == '"' || c == '\\' || c == '{' || c == '}' || c == '(' || c == ')' ||
        c == '=' || c == '~' || c == '!' || c == '<' || c == '>' || c == '&' || c == '|' ||
        c == '^' || c == ',' || c == '\t' || c == '\n' || c == '\r') {
      plain = false;
    }
  }
  std::string n = name;
  if (!plain) {
    n = "\"";
    for (char c : name) {
      if (c == '"' || c == '\\') n += '\\';
      n += c;
    }
    n += "\"";
  }
  return fmt::format("{}{}.{}", parent ? "parent." : "", scope_str, n);
}

std::string OpString(Op op) {
  switch (op) {
    case Op::kAdd: return "+";
    case Op::kSub: return "-";
    case Op::kMul: return "*";
    case Op::kDiv: return "/";
    case Op::kMod: return "%";
    case Op::kPow: return "^";
    case Op::kEq: return "=";
    case Op::kNeq: return "!=";
    case Op::kLt: return "<";
    case Op::kLte: return "<=";
    case Op::kGt: return ">";
    case Op::kGte: return ">=";
    case Op::kRegex: return "=~";
    case Op::kNotRegex: return "!~";
    case Op::kAnd: return "&&";
    case Op::kOr: return "||";
    case Op::kNot: return "!";
    case Op::kNeg: return "-";
    case Op::kExists: return "!= nil";
  }
  return "?";
}

bool IsComparison(Op op) {
  return op == Op::kEq || op == Op::kNeq || op == Op::kLt || op == Op::kLte || op == Op::kGt ||
         op == Op::kGte || op == Op::kRegex || op == Op::kNotRegex;
}

bool IsBooleanResult(Op op) {
  return IsComparison(op) || op == Op::kAnd || op == Op::kOr || op == Op::kNot ||
         op == Op::kExists;
}

StaticType FieldExpr::ImpliedType() const {
  switch (kind) {
    case Kind::kStatic:
      return value.type;
    case Kind::kAttribute:
      return attr.IsIntrinsic() ? IntrinsicType(attr.intrinsic) : StaticType::kAttribute;
    case Kind::kUnary:
      return op == Op::kNeg ? lhs->ImpliedType() : StaticType::kBool;
    case Kind::kBinary: {
      if (IsBooleanResult(op)) return StaticType::kBool;
      StaticType t = lhs->ImpliedType();
      return t != StaticType::kAttribute ? t : rhs->ImpliedType();
    }
  }
  return StaticType::kAttribute;
}

bool FieldExpr::ReferencesSpan() const {
  switch (kind) {
    case Kind::kStatic: return false;
    case Kind::kAttribute: return true;
    case Kind::kUnary: return lhs->ReferencesSpan();
    case Kind::kBinary: return lhs->ReferencesSpan() || rhs->ReferencesSpan();
  }
  return false;
}

namespace {
std::string StaticString(const Static& v) {
  switch (v.type) {
    case StaticType::kNil: return "nil";
    case StaticType::kInt: return std::to_string(v.i);
    case StaticType::kFloat: return fmt::format("{}", v.f);
    case StaticType::kString: return fmt::format("`{}`", v.s);
    case StaticType::kBool: return v.b ? "true" : "false";
    case StaticType::kDuration: return fmt::format("{}ns", v.i);
    case StaticType::kStatus:
      return v.i == 1 ? "ok" : v.i == 2 ? "error" : "unset";
    case StaticType::kKind: {
      static const char* kNames[] = {"unspecified", "internal", "server", "client", "producer",
                                     "consumer"};
      return v.i >= 0 && v.i < 6 ? kNames[v.i] : "unspecified";
    }
    case StaticType::kAttribute: return "?";
  }
  return "?";
}
}  // namespace

std::string FieldExpr::ToString() const {
  switch (kind) {
    case Kind::kStatic: return StaticString(value);
    case Kind::kAttribute: return attr.ToString();
    case Kind::kUnary:
      if (op == Op::kExists) return fmt::format("{} != nil", lhs->ToString());
      return fmt::format("{}{}", OpString(op), lhs->ToString());
    case Kind::kBinary:
      return fmt::format("({} {} {})", lhs->ToString(), OpString(op), rhs->ToString());
  }
  return "";
}

std::string SpansetOpString(SpansetOp op) {
  switch (op) {
    case SpansetOp::kAnd: return "&&";
    case SpansetOp::kUnion: return "||";
    case SpansetOp::kChild: return ">";
    case SpansetOp::kParent: return "<";
    case SpansetOp::kDescendant: return ">>";
    case SpansetOp::kAncestor: return "<<";
    case SpansetOp::kSibling: return "~";
    case SpansetOp::kNotChild: return "!>";
    case SpansetOp::kNotParent: return "!<";
    case SpansetOp::kNotDescendant: return "!>>";
    case SpansetOp::kNotAncestor: return "!<<";
    case SpansetOp::kNotSibling: return "!~";
    case SpansetOp::kUnionChild: return "&>";
    case SpansetOp::kUnionParent: return "&<";
    case SpansetOp::kUnionDescendant: return "&>>";
    case SpansetOp::kUnionAncestor: return "&<<";
    case SpansetOp::kUnionSibling: return "&~";
  }
  return "?";
}

StaticType Aggregate::ImpliedType() const {
  switch (op) {
    case AggregateOp::kCount: return StaticType::kInt;
    case AggregateOp::kAvg: return StaticType::kFloat;
    default: return expr ? expr->ImpliedType() : StaticType::kAttribute;
  }
}

StaticType ScalarExpr::ImpliedType() const {
  switch (kind) {
    case Kind::kAggregate: return aggregate.ImpliedType();
    case Kind::kStatic: return value.type;
    case Kind::kPipeline:
      return pipeline->stages.empty() ? StaticType::kAttribute
                                      : pipeline->stages.back().aggregate.ImpliedType();
    case Kind::kBinary: {
      StaticType t = lhs->ImpliedType();
      return t != StaticType::kAttribute ? t : rhs->ImpliedType();
    }
  }
  return StaticType::kAttribute;
}

int ScalarExpr::CountAggregates() const {
  switch (kind) {
    case Kind::kAggregate: return 1;
    case Kind::kPipeline: return 1;
    case Kind::kBinary: return lhs->CountAggregates() + rhs->CountAggregates();
    default: return 0;
  }
}

std::string MetricsFnName(MetricsFn fn) {
  switch (fn) {
    case MetricsFn::kRate: return "rate";
    case MetricsFn::kCountOverTime: return "count_over_time";
    case MetricsFn::kMinOverTime: return "min_over_time";
    case MetricsFn::kMaxOverTime: return "max_over_time";
    case MetricsFn::kAvgOverTime: return "avg_over_time";
    case MetricsFn::kSumOverTime: return "sum_over_time";
    case MetricsFn::kQuantileOverTime: return "quantile_over_time";
    case MetricsFn::kHistogramOverTime: return "histogram_over_time";
    case MetricsFn::kCompare: return "compare";
  }
  return "?";
}

bool MetricsExpr::ContainsQuery() const {
  switch (kind) {
    case Kind::kQuery: return true;
    case Kind::kNumber: return false;
    case Kind::kBinary: return lhs->ContainsQuery() || rhs->ContainsQuery();
  }
  return false;
}

const Static* RootExpr::FindHint(const std::string& name) const {
  for (const Hint& h : hints) {
    if (h.name == name) return &h.value;
  }
  return nullptr;
}

bool CompareNumbers(Op op, double l, double r) {
  switch (op) {
    case Op::kEq: return l == r;
    case Op::kNeq: return l != r;
    case Op::kLt: return l < r;
    case Op::kLte: return l <= r;
    case Op::kGt: return l > r;
    case Op::kGte: return l >= r;
    default: return false;
  }
}

}  // namespace argus::traceql
