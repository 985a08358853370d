#include "promql/ast.h"

#include <cmath>
#include <cstdio>

#include "model/labels.h"
#include "promql/functions.h"

namespace argus::promql {

namespace {

std::string FormatFloat(double v) { return FormatFloatGo(v); }

std::string Quote(std::string_view s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      case '\r': o += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char b[8];
          std::snprintf(b, sizeof b, "\\x%02x", c);
          o += b;
        } else {
          o.push_back(static_cast<char>(c));
        }
    }
  }
  return o + "\"";
}

std::string LabelName(const std::string& n) {
  return IsLegacyLabelName(n) ? n : Quote(n);
}

std::string JoinLabels(const std::vector<std::string>& ls) {
  std::string o;
  for (size_t i = 0; i < ls.size(); ++i) {
    if (i > 0) o += ", ";
    o += LabelName(ls[i]);
  }
  return o;
}

std::string AtOffset(const Expr& e) {
  std::string o;
  switch (e.at) {
    case AtKind::kTimestamp: {
      char b[64];
      std::snprintf(b, sizeof b, " @ %.3f", static_cast<double>(e.at_ms) / 1000.0);
      o += b;
      break;
    }
    case AtKind::kStart: o += " @ start()"; break;
    case AtKind::kEnd: o += " @ end()"; break;
    default: break;
  }
  if (e.offset_expr) {
    o += " offset " + e.offset_expr->ToString();
  } else if (e.offset_ms > 0) {
    o += " offset " + FormatDurationMs(e.offset_ms);
  } else if (e.offset_ms < 0) {
    o += " offset -" + FormatDurationMs(-e.offset_ms);
  }
  if (e.anchored) o += " anchored";
  if (e.smoothed) o += " smoothed";
  return o;
}

std::string SelectorString(const Expr& e) {
  std::string o = IsLegacyMetricName(e.name) ? e.name : "";
  std::vector<std::string> ms;
  if (!e.name.empty() && !IsLegacyMetricName(e.name)) ms.push_back(Quote(e.name));
  for (const auto& m : e.matchers) {
    if (!e.name.empty() && m.name() == kMetricNameLabel && m.type() == MatchType::kEqual &&
        m.value() == e.name) {
      continue;
    }
    ms.push_back(m.ToString());
  }
  if (!ms.empty() || e.name.empty()) {
    o += "{";
    for (size_t i = 0; i < ms.size(); ++i) {
      if (i > 0) o += ", ";
      o += ms[i];
    }
    o += "}";
  }
  return o;
}

std::string RangeString(int64_t ms, const std::unique_ptr<DurationExpr>& expr) {
  if (expr) return expr->ToString();
  return FormatDurationMs(ms);
}

}  // namespace

std::string_view ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kScalar: return "scalar";
    case ValueType::kVector: return "vector";
    case ValueType::kMatrix: return "matrix";
    case ValueType::kString: return "string";
    default: return "none";
  }
}

std::string_view BinaryOpString(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd: return "+";
    case BinaryOp::kSub: return "-";
    case BinaryOp::kMul: return "*";
    case BinaryOp::kDiv: return "/";
    case BinaryOp::kMod: return "%";
    case BinaryOp::kPow: return "^";
    case BinaryOp::kAtan2: return "atan2";
    case BinaryOp::kEql: return "==";
    case BinaryOp::kNeq: return "!=";
    case BinaryOp::kGtr: return ">";
    case BinaryOp::kLss: return "<";
    case BinaryOp::kGte: return ">=";
    case BinaryOp::kLte: return "<=";
    case BinaryOp::kAnd: return "and";
    case BinaryOp::kOr: return "or";
    case BinaryOp::kUnless: return "unless";
    case BinaryOp::kTrimUpper: return "</";
    case BinaryOp::kTrimLower: return ">/";
  }
  return "?";
}

bool IsComparison(BinaryOp op) {
  return op == BinaryOp::kEql || op == BinaryOp::kNeq || op == BinaryOp::kGtr ||
         op == BinaryOp::kLss || op == BinaryOp::kGte || op == BinaryOp::kLte;
}

bool IsTrimOp(BinaryOp op) { return op == BinaryOp::kTrimUpper || op == BinaryOp::kTrimLower; }

bool IsSetOp(BinaryOp op) {
  return op == BinaryOp::kAnd || op == BinaryOp::kOr || op == BinaryOp::kUnless;
}

std::string_view AggregateOpString(AggregateOp op) {
  switch (op) {
    case AggregateOp::kSum: return "sum";
    case AggregateOp::kAvg: return "avg";
    case AggregateOp::kCount: return "count";
    case AggregateOp::kMin: return "min";
    case AggregateOp::kMax: return "max";
    case AggregateOp::kGroup: return "group";
    case AggregateOp::kStddev: return "stddev";
    case AggregateOp::kStdvar: return "stdvar";
    case AggregateOp::kTopk: return "topk";
    case AggregateOp::kBottomk: return "bottomk";
    case AggregateOp::kQuantile: return "quantile";
    case AggregateOp::kCountValues: return "count_values";
    case AggregateOp::kLimitk: return "limitk";
    case AggregateOp::kLimitRatio: return "limit_ratio";
  }
  return "?";
}

std::string FormatDurationMs(int64_t ms) {
  if (ms == 0) return "0s";
  std::string o;
  bool neg = ms < 0;
  uint64_t u = neg ? static_cast<uint64_t>(-ms) : static_cast<uint64_t>(ms);
  auto unit = [&](uint64_t size, const char* name) {
    uint64_t n = u / size;
    if (n > 0) {
      o += std::to_string(n) + name;
      u -= n * size;
    }
  };
  const uint64_t kDay = 86400000;
  if (u % (365 * kDay) == 0) {
    unit(365 * kDay, "y");
  } else if (u % (7 * kDay) == 0 && u >= 7 * kDay) {
    unit(7 * kDay, "w");
  } else {
    unit(365 * kDay, "y");
    unit(kDay, "d");
    unit(3600000, "h");
    unit(60000, "m");
    unit(1000, "s");
    unit(1, "ms");
  }
  return (neg ? "-" : "") + o;
}

double DurationExpr::Eval(double step_s, double range_s) const {
  switch (kind) {
    case Kind::kNumber: return seconds;
    case Kind::kStep: return step_s;
    case Kind::kRange: return range_s;
    case Kind::kUnaryMinus: return -lhs->Eval(step_s, range_s);
    case Kind::kParen: return lhs->Eval(step_s, range_s);
    case Kind::kMin: return std::min(lhs->Eval(step_s, range_s), rhs->Eval(step_s, range_s));
    case Kind::kMax: return std::max(lhs->Eval(step_s, range_s), rhs->Eval(step_s, range_s));
    case Kind::kBinary: {
      double a = lhs->Eval(step_s, range_s), b = rhs->Eval(step_s, range_s);
      switch (op) {
        case '+': return a + b;
        case '-': return a - b;
        case '*': return a * b;
        case '/': return a / b;
        case '%': return std::fmod(a, b);
        case '^': return std::pow(a, b);
      }
    }
  }
  return 0;
}

bool DurationExpr::IsConstant() const {
  if (kind == Kind::kStep || kind == Kind::kRange) return false;
  if (lhs && !lhs->IsConstant()) return false;
  if (rhs && !rhs->IsConstant()) return false;
  return true;
}

std::string DurationExpr::ToString() const {
  switch (kind) {
    case Kind::kNumber:
      if (was_duration) return FormatDurationMs(static_cast<int64_t>(std::llround(seconds * 1000)));
      return FormatFloat(seconds);
    case Kind::kStep: return "step()";
    case Kind::kRange: return "range()";
    case Kind::kUnaryMinus: return "-" + lhs->ToString();
    case Kind::kParen: return "(" + lhs->ToString() + ")";
    case Kind::kMin: return "min_of(" + lhs->ToString() + ", " + rhs->ToString() + ")";
    case Kind::kMax: return "max_of(" + lhs->ToString() + ", " + rhs->ToString() + ")";
    case Kind::kBinary: return lhs->ToString() + " " + std::string(1, op) + " " + rhs->ToString();
  }
  return "";
}

std::unique_ptr<DurationExpr> DurationExpr::Clone() const {
  auto d = std::make_unique<DurationExpr>();
  d->kind = kind;
  d->seconds = seconds;
  d->was_duration = was_duration;
  d->op = op;
  if (lhs) d->lhs = lhs->Clone();
  if (rhs) d->rhs = rhs->Clone();
  return d;
}

ValueType Expr::type() const {
  switch (kind) {
    case ExprKind::kNumber: return ValueType::kScalar;
    case ExprKind::kString: return ValueType::kString;
    case ExprKind::kVectorSelector: return ValueType::kVector;
    case ExprKind::kMatrixSelector:
    case ExprKind::kSubquery: return ValueType::kMatrix;
    case ExprKind::kCall: {
      // Avoid a dependency on the function table: the few scalar-returning functions.
      if (func == "time" || func == "pi" || func == "scalar" || func == "step" ||
          func == "range" || func == "start" || func == "end" || func == "min_of" ||
          func == "max_of") {
        return ValueType::kScalar;
      }
      return ValueType::kVector;
    }
    case ExprKind::kAggregate: return ValueType::kVector;
    case ExprKind::kBinary:
      return lhs->type() == ValueType::kScalar && rhs->type() == ValueType::kScalar
                 ? ValueType::kScalar
                 : ValueType::kVector;
    case ExprKind::kUnary:
    case ExprKind::kParen: return child->type();
  }
  return ValueType::kNone;
}

std::string Expr::ToString() const {
  switch (kind) {
    case ExprKind::kNumber: return FormatFloat(number);
    case ExprKind::kString: return Quote(str);
    case ExprKind::kVectorSelector: return SelectorString(*this) + AtOffset(*this);
    case ExprKind::kMatrixSelector:
      return SelectorString(*child) + "[" + RangeString(range_ms, range_expr) + "]" +
             AtOffset(*child);
    case ExprKind::kSubquery:
      return child->ToString() + "[" + RangeString(range_ms, range_expr) + ":" +
             (has_step ? RangeString(step_ms, step_expr) : "") + "]" + AtOffset(*this);
    case ExprKind::kCall: {
      std::string o = func + "(";
      for (size_t i = 0; i < args.size(); ++i) {
        if (i > 0) o += ", ";
        o += args[i]->ToString();
      }
      return o + ")";
    }
    case ExprKind::kAggregate: {
      std::string o(AggregateOpString(agg_op));
      if (without) {
        o += " without (" + JoinLabels(grouping) + ") ";
      } else if (!grouping.empty()) {
        o += " by (" + JoinLabels(grouping) + ") ";
      }
      o += "(";
      if (param) o += param->ToString() + ", ";
      return o + child->ToString() + ")";
    }
    case ExprKind::kBinary: {
      std::string m;
      if (matching.explicit_matching && (!matching.labels.empty() || matching.on)) {
        m = std::string(" ") + (matching.on ? "on" : "ignoring") + " (" +
            JoinLabels(matching.labels) + ")";
        if (matching.card == Cardinality::kManyToOne || matching.card == Cardinality::kOneToMany) {
          m += std::string(" group_") + (matching.card == Cardinality::kManyToOne ? "left" : "right") +
               " (" + JoinLabels(matching.include) + ")";
        }
      }
      if (matching.fill_left && matching.fill_right &&
          (*matching.fill_left == *matching.fill_right ||
           (std::isnan(*matching.fill_left) && std::isnan(*matching.fill_right)))) {
        m += " fill (" + FormatFloat(*matching.fill_left) + ")";
      } else {
        if (matching.fill_left) m += " fill_left (" + FormatFloat(*matching.fill_left) + ")";
        if (matching.fill_right) m += " fill_right (" + FormatFloat(*matching.fill_right) + ")";
      }
      return lhs->ToString() + " " + std::string(BinaryOpString(bin_op)) +
             (return_bool ? " bool" : "") + m + " " + rhs->ToString();
    }
    case ExprKind::kUnary: return std::string(un_minus ? "-" : "+") + child->ToString();
    case ExprKind::kParen: return "(" + child->ToString() + ")";
  }
  return "";
}

ExprPtr Expr::Clone() const {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->pos = pos;
  e->end_pos = end_pos;
  e->number = number;
  e->str = str;
  e->name = name;
  e->matchers = matchers;
  e->offset_ms = offset_ms;
  if (offset_expr) e->offset_expr = offset_expr->Clone();
  e->has_offset = has_offset;
  e->at = at;
  e->at_ms = at_ms;
  e->anchored = anchored;
  e->smoothed = smoothed;
  e->range_ms = range_ms;
  if (range_expr) e->range_expr = range_expr->Clone();
  e->step_ms = step_ms;
  if (step_expr) e->step_expr = step_expr->Clone();
  e->has_step = has_step;
  e->func = func;
  for (const auto& a : args) e->args.push_back(a->Clone());
  e->agg_op = agg_op;
  if (param) e->param = param->Clone();
  e->grouping = grouping;
  e->without = without;
  e->grouping_given = grouping_given;
  e->bin_op = bin_op;
  e->return_bool = return_bool;
  e->matching = matching;
  if (lhs) e->lhs = lhs->Clone();
  if (rhs) e->rhs = rhs->Clone();
  if (child) e->child = child->Clone();
  e->un_minus = un_minus;
  return e;
}

std::vector<std::vector<Matcher>> ExtractSelectors(const Expr& e) {
  std::vector<std::vector<Matcher>> sets;
  std::vector<const Expr*> todo{&e};
  while (!todo.empty()) {
    const Expr* n = todo.back();
    todo.pop_back();
    if (n->kind == ExprKind::kVectorSelector) sets.push_back(n->matchers);
    // Children pushed in reverse so that they pop in query order.
    for (const ExprPtr* c : {&n->child, &n->rhs, &n->lhs, &n->param}) {
      if (*c) todo.push_back(c->get());
    }
    for (auto it = n->args.rbegin(); it != n->args.rend(); ++it) todo.push_back(it->get());
  }
  return sets;
}

}  // namespace argus::promql
