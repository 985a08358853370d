#include "promql/parser.h"

#include <cmath>
#include <map>
#include <set>

#include "promql/lexer.h"

namespace argus::promql {

namespace {

using VT = ValueType;

const std::map<std::string, FunctionSignature, std::less<>>& Functions() {
  static const auto* m = [] {
    auto* f = new std::map<std::string, FunctionSignature, std::less<>>;
    auto add = [&](std::string name, std::vector<VT> args, int variadic, VT ret) {
      (*f)[name] = FunctionSignature{name, std::move(args), variadic, ret};
    };
    for (const char* n : {"abs", "ceil", "exp", "floor", "ln", "log2", "log10", "sqrt", "sgn",
                          "acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin",
                          "sinh", "tan", "tanh", "deg", "rad", "absent", "timestamp",
                          "start_timestamp", "sort",
                          "sort_desc", "histogram_count", "histogram_sum", "histogram_avg",
                          "histogram_stddev", "histogram_stdvar"}) {
      add(n, {VT::kVector}, 0, VT::kVector);
    }
    for (const char* n : {"absent_over_time", "changes", "delta", "deriv", "idelta", "increase",
                          "irate", "rate", "resets", "avg_over_time", "count_over_time",
                          "last_over_time", "first_over_time", "mad_over_time", "max_over_time",
                          "min_over_time", "present_over_time", "stddev_over_time",
                          "stdvar_over_time", "sum_over_time", "ts_of_max_over_time",
                          "ts_of_min_over_time", "ts_of_last_over_time", "ts_of_first_over_time"}) {
      add(n, {VT::kMatrix}, 0, VT::kVector);
    }
    for (const char* n : {"day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour",
                          "minute", "month", "year"}) {
      add(n, {VT::kVector}, 1, VT::kVector);
    }
    add("clamp", {VT::kVector, VT::kScalar, VT::kScalar}, 0, VT::kVector);
    add("clamp_max", {VT::kVector, VT::kScalar}, 0, VT::kVector);
    add("clamp_min", {VT::kVector, VT::kScalar}, 0, VT::kVector);
    add("double_exponential_smoothing", {VT::kMatrix, VT::kScalar, VT::kScalar}, 0, VT::kVector);
    add("histogram_fraction", {VT::kScalar, VT::kScalar, VT::kVector}, 0, VT::kVector);
    add("histogram_quantile", {VT::kScalar, VT::kVector}, 0, VT::kVector);
    add("histogram_quantiles", {VT::kVector, VT::kString, VT::kScalar}, -1, VT::kVector);
    add("label_replace", {VT::kVector, VT::kString, VT::kString, VT::kString, VT::kString}, 0,
        VT::kVector);
    add("label_join", {VT::kVector, VT::kString, VT::kString, VT::kString}, -1, VT::kVector);
    add("pi", {}, 0, VT::kScalar);
    // Prometheus 3's experimental query-shape functions (also usable in durations).
    add("step", {}, 0, VT::kScalar);
    add("range", {}, 0, VT::kScalar);
    add("start", {}, 0, VT::kScalar);
    add("end", {}, 0, VT::kScalar);
    add("min_of", {VT::kScalar, VT::kScalar}, 0, VT::kScalar);
    add("max_of", {VT::kScalar, VT::kScalar}, 0, VT::kScalar);
    add("time", {}, 0, VT::kScalar);
    add("predict_linear", {VT::kMatrix, VT::kScalar}, 0, VT::kVector);
    add("quantile_over_time", {VT::kScalar, VT::kMatrix}, 0, VT::kVector);
    add("round", {VT::kVector, VT::kScalar}, 1, VT::kVector);
    add("scalar", {VT::kVector}, 0, VT::kScalar);
    add("vector", {VT::kScalar}, 0, VT::kVector);
    add("sort_by_label", {VT::kVector, VT::kString}, -1, VT::kVector);
    add("sort_by_label_desc", {VT::kVector, VT::kString}, -1, VT::kVector);
    add("info", {VT::kVector, VT::kVector}, 1, VT::kVector);
    return f;
  }();
  return *m;
}

// Binary operator precedence (higher binds tighter), as in generated_parser.y.
int Precedence(TokenKind k) {
  switch (k) {
    case TokenKind::kLor: return 1;
    case TokenKind::kLand:
    case TokenKind::kLunless: return 2;
    case TokenKind::kEqlc:
    case TokenKind::kNeq:
    case TokenKind::kLte:
    case TokenKind::kLss:
    case TokenKind::kGte:
    case TokenKind::kGtr: return 3;
    case TokenKind::kAdd:
    case TokenKind::kSub: return 4;
    case TokenKind::kMul:
    case TokenKind::kDiv:
    case TokenKind::kMod:
    case TokenKind::kAtan2:
    case TokenKind::kTrimUpper:
    case TokenKind::kTrimLower: return 5;
    case TokenKind::kPow: return 6;
    default: return 0;
  }
}
constexpr int kUnaryOperandPrec = 6;

BinaryOp ToBinaryOp(TokenKind k) {
  switch (k) {
    case TokenKind::kLor: return BinaryOp::kOr;
    case TokenKind::kLand: return BinaryOp::kAnd;
    case TokenKind::kLunless: return BinaryOp::kUnless;
    case TokenKind::kEqlc: return BinaryOp::kEql;
    case TokenKind::kNeq: return BinaryOp::kNeq;
    case TokenKind::kLte: return BinaryOp::kLte;
    case TokenKind::kLss: return BinaryOp::kLss;
    case TokenKind::kGte: return BinaryOp::kGte;
    case TokenKind::kGtr: return BinaryOp::kGtr;
    case TokenKind::kAdd: return BinaryOp::kAdd;
    case TokenKind::kSub: return BinaryOp::kSub;
    case TokenKind::kMul: return BinaryOp::kMul;
    case TokenKind::kDiv: return BinaryOp::kDiv;
    case TokenKind::kMod: return BinaryOp::kMod;
    case TokenKind::kAtan2: return BinaryOp::kAtan2;
    case TokenKind::kTrimUpper: return BinaryOp::kTrimUpper;
    case TokenKind::kTrimLower: return BinaryOp::kTrimLower;
    default: return BinaryOp::kPow;
  }
}

const std::map<std::string, AggregateOp>& Aggregators() {
  static const auto* m = new std::map<std::string, AggregateOp>{
      {"sum", AggregateOp::kSum},         {"avg", AggregateOp::kAvg},
      {"count", AggregateOp::kCount},     {"min", AggregateOp::kMin},
      {"max", AggregateOp::kMax},         {"group", AggregateOp::kGroup},
      {"stddev", AggregateOp::kStddev},   {"stdvar", AggregateOp::kStdvar},
      {"topk", AggregateOp::kTopk},       {"bottomk", AggregateOp::kBottomk},
      {"quantile", AggregateOp::kQuantile}, {"count_values", AggregateOp::kCountValues},
      {"limitk", AggregateOp::kLimitk},   {"limit_ratio", AggregateOp::kLimitRatio},
  };
  return *m;
}

bool IsLabelNameToken(const Token& t) {
  // Keywords are valid label names (e.g. `on`, `by`, `bool`).
  switch (t.kind) {
    case TokenKind::kIdentifier:
    case TokenKind::kLand:
    case TokenKind::kLor:
    case TokenKind::kLunless:
    case TokenKind::kAtan2:
    case TokenKind::kBy:
    case TokenKind::kWithout:
    case TokenKind::kOn:
    case TokenKind::kIgnoring:
    case TokenKind::kGroupLeft:
    case TokenKind::kGroupRight:
    case TokenKind::kBool:
    case TokenKind::kOffset:
    case TokenKind::kStart:
    case TokenKind::kEnd:
    case TokenKind::kAggregator: return true;
    case TokenKind::kNumber:  // inf / nan are lexed as numbers but are valid names
      return !t.text.empty() && std::isalpha(static_cast<unsigned char>(t.text[0]));
    default: return false;
  }
}

class ParseError {
 public:
  int pos;
  std::string msg;
};

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in), lx_(in) {}

  Result<ExprPtr> ParseAll() {
    if (lx_.Peek().kind == TokenKind::kEof) {
      Fail(0, "no expression found in input");
      return Error();
    }
    ExprPtr e = ParseBinary(1);
    if (!err_.empty()) return Error();
    const Token& t = lx_.Peek();
    if (t.kind != TokenKind::kEof) {
      Fail(t, "unexpected " + DescribeToken(t));
      return Error();
    }
    if (e == nullptr) {
      Fail(t, "no expression found in input");
      return Error();
    }
    Check(*e);
    if (!err_.empty()) return Error();
    return e;
  }

 private:
  Status Error() const {
    return Status::InvalidArgument(PositionString(in_, err_pos_) + ": parse error: " + err_);
  }
  void Fail(int pos, std::string msg) {
    if (!err_.empty()) return;
    err_pos_ = pos;
    err_ = std::move(msg);
  }
  void Fail(const Token& t, std::string msg) {
    if (t.kind == TokenKind::kEof && lx_.paren_depth() > 0) {
      Fail(t.pos, "unclosed left parenthesis");
    } else if (t.kind == TokenKind::kEof && lx_.bracket_depth() > 0) {
      Fail(t.pos, "unclosed left bracket");
    } else if (t.kind == TokenKind::kError) {
      Fail(t.pos, t.text);
    } else {
      Fail(t.pos, std::move(msg));
    }
  }
  bool Expect(TokenKind k, const std::string& context) {
    Token t = lx_.Next();
    if (t.kind != k) {
      Token want;
      want.kind = k;
      Fail(t, "unexpected " + DescribeToken(t) + " in " + context + ", expected " +
                  DescribeToken(want));
      return false;
    }
    return true;
  }

  ExprPtr ParseBinary(int min_prec) {
    ExprPtr lhs = ParseUnary();
    if (lhs == nullptr) return nullptr;
    while (err_.empty()) {
      const Token& t = lx_.Peek();
      int prec = Precedence(t.kind);
      if (prec == 0 || prec < min_prec) break;
      Token op = lx_.Next();
      auto e = std::make_unique<Expr>();
      e->kind = ExprKind::kBinary;
      e->bin_op = ToBinaryOp(op.kind);
      e->pos = lhs->pos;
      if (lx_.Peek().kind == TokenKind::kBool) {
        lx_.Next();
        e->return_bool = true;
      }
      if (lx_.Peek().kind == TokenKind::kOn || lx_.Peek().kind == TokenKind::kIgnoring) {
        e->matching.on = lx_.Next().kind == TokenKind::kOn;
        e->matching.explicit_matching = true;
        if (!ParseLabelList(&e->matching.labels, "grouping opts")) return nullptr;
        TokenKind g = lx_.Peek().kind;
        if (g == TokenKind::kGroupLeft || g == TokenKind::kGroupRight) {
          lx_.Next();
          e->matching.card = g == TokenKind::kGroupLeft ? Cardinality::kManyToOne
                                                         : Cardinality::kOneToMany;
          if (lx_.Peek().kind == TokenKind::kLeftParen) {
            if (!ParseLabelList(&e->matching.include, "grouping opts")) return nullptr;
          }
        }
      } else if (lx_.Peek().kind == TokenKind::kGroupLeft ||
                 lx_.Peek().kind == TokenKind::kGroupRight) {
        Token g = lx_.Next();
        Fail(g, "unexpected <" + g.text + ">");
        return nullptr;
      }
      if (!ParseFillModifiers(&e->matching)) return nullptr;
      int next_min = op.kind == TokenKind::kPow ? prec : prec + 1;
      ExprPtr rhs = ParseBinary(next_min);
      if (rhs == nullptr) {
        if (err_.empty()) {
          const Token& n = lx_.Peek();
          Fail(n, "unexpected " + DescribeToken(n));
        }
        return nullptr;
      }
      e->end_pos = rhs->end_pos;
      if (IsSetOp(e->bin_op) && e->matching.card == Cardinality::kOneToOne) {
        e->matching.card = Cardinality::kManyToMany;
      }
      e->lhs = std::move(lhs);
      e->rhs = std::move(rhs);
      lhs = std::move(e);
    }
    return lhs;
  }

  // fill(v), fill_left(v), fill_right(v) after the matching modifiers. A metric named `fill`
  // (not followed by '(') is an operand, not a modifier.
  bool ParseFillModifiers(VectorMatching* vm) {
    while (true) {
      const Token& t = lx_.Peek();
      if (t.kind != TokenKind::kIdentifier ||
          (t.text != "fill" && t.text != "fill_left" && t.text != "fill_right")) {
        return true;
      }
      Lexer probe = lx_;
      probe.Next();
      if (probe.Next().kind != TokenKind::kLeftParen) return true;
      Token name = lx_.Next();
      lx_.Next();  // (
      Token v = lx_.Next();
      double sign = 1;
      if (v.kind == TokenKind::kSub || v.kind == TokenKind::kAdd) {
        if (v.kind == TokenKind::kSub) sign = -1;
        v = lx_.Next();
      }
      if (v.kind != TokenKind::kNumber) {
        Fail(v, "unexpected " + DescribeToken(v) + " in fill modifier, expected number");
        return false;
      }
      if (!Expect(TokenKind::kRightParen, "fill modifier")) return false;
      double val = sign * v.number;
      if (name.text == "fill" || name.text == "fill_left") vm->fill_left = val;
      if (name.text == "fill" || name.text == "fill_right") vm->fill_right = val;
    }
  }

  ExprPtr ParseUnary() {
    const Token& t = lx_.Peek();
    if (t.kind == TokenKind::kAdd || t.kind == TokenKind::kSub) {
      Token op = lx_.Next();
      ExprPtr operand = ParseBinary(kUnaryOperandPrec);
      if (operand == nullptr) {
        if (err_.empty()) {
          const Token& n = lx_.Peek();
          Fail(n, "unexpected " + DescribeToken(n));
        }
        return nullptr;
      }
      if (operand->kind == ExprKind::kNumber) {
        if (op.kind == TokenKind::kSub) operand->number = -operand->number;
        operand->pos = op.pos;
        return operand;
      }
      auto e = std::make_unique<Expr>();
      e->kind = ExprKind::kUnary;
      e->un_minus = op.kind == TokenKind::kSub;
      e->pos = op.pos;
      e->end_pos = operand->end_pos;
      e->child = std::move(operand);
      return e;
    }
    ExprPtr p = ParsePrimary();
    if (p == nullptr) return nullptr;
    return ParsePostfix(std::move(p));
  }

  ExprPtr ParsePrimary() {
    Token t = lx_.Next();
    switch (t.kind) {
      case TokenKind::kNumber: {
        auto e = std::make_unique<Expr>();
        e->kind = ExprKind::kNumber;
        e->number = t.number;
        e->pos = t.pos;
        e->end_pos = t.pos + static_cast<int>(t.text.size());
        return e;
      }
      case TokenKind::kDuration: {
        auto e = std::make_unique<Expr>();
        e->kind = ExprKind::kNumber;
        e->number = static_cast<double>(t.duration_ms) / 1000.0;
        e->pos = t.pos;
        e->end_pos = t.pos + static_cast<int>(t.text.size());
        return e;
      }
      case TokenKind::kString: {
        auto e = std::make_unique<Expr>();
        e->kind = ExprKind::kString;
        e->str = t.text;
        e->pos = t.pos;
        e->end_pos = t.pos + 1;
        return e;
      }
      case TokenKind::kLeftParen: {
        ExprPtr inner = ParseBinary(1);
        if (inner == nullptr) {
          if (err_.empty()) {
            const Token& n = lx_.Peek();
            Fail(n, "unexpected " + DescribeToken(n));
          }
          return nullptr;
        }
        Token close = lx_.Next();
        if (close.kind != TokenKind::kRightParen) {
          Fail(close, "unexpected " + DescribeToken(close) + ", expected \")\"");
          if (close.kind == TokenKind::kEof) Fail(close, "unclosed left parenthesis");
          return nullptr;
        }
        auto e = std::make_unique<Expr>();
        e->kind = ExprKind::kParen;
        e->pos = t.pos;
        e->end_pos = close.pos + 1;
        e->child = std::move(inner);
        return e;
      }
      case TokenKind::kLeftBrace: {
        auto e = std::make_unique<Expr>();
        e->kind = ExprKind::kVectorSelector;
        e->pos = t.pos;
        if (!ParseMatchers(e.get())) return nullptr;
        return FinishSelector(std::move(e));
      }
      case TokenKind::kAggregator: return ParseAggregation(t);
      case TokenKind::kIdentifier:
      case TokenKind::kMetricIdentifier:
      case TokenKind::kStart:
      case TokenKind::kEnd:
      case TokenKind::kBool:
      case TokenKind::kOffset:
      case TokenKind::kBy:
      case TokenKind::kWithout:
      case TokenKind::kOn:
      case TokenKind::kIgnoring:
      case TokenKind::kGroupLeft:
      case TokenKind::kGroupRight: {
        if ((t.kind == TokenKind::kStart || t.kind == TokenKind::kEnd) &&
            lx_.Peek().kind == TokenKind::kLeftParen) {
          Token named = t;
          named.text = t.kind == TokenKind::kStart ? "start" : "end";
          return ParseCall(named);
        }
        if (t.kind != TokenKind::kIdentifier && t.kind != TokenKind::kMetricIdentifier &&
            lx_.Peek().kind != TokenKind::kLeftBrace) {
          Fail(t, "unexpected <" + t.text + ">");
          return nullptr;
        }
        if (lx_.Peek().kind == TokenKind::kLeftParen) return ParseCall(t);
        auto e = std::make_unique<Expr>();
        e->kind = ExprKind::kVectorSelector;
        e->pos = t.pos;
        e->name = t.text;
        e->end_pos = t.pos + static_cast<int>(t.text.size());
        if (lx_.Peek().kind == TokenKind::kLeftBrace) {
          lx_.Next();
          if (!ParseMatchers(e.get())) return nullptr;
        }
        return FinishSelector(std::move(e));
      }
      case TokenKind::kEof:
        Fail(t, "unexpected end of input");
        return nullptr;
      default:
        Fail(t, "unexpected " + DescribeToken(t));
        return nullptr;
    }
  }

  ExprPtr FinishSelector(ExprPtr e) {
    bool name_matcher = false;
    for (const auto& m : e->matchers) {
      if (m.name() == kMetricNameLabel) {
        if (!e->name.empty()) {
          Fail(e->pos, "metric name must not be set twice: \"" + e->name + "\" or \"" +
                           m.value() + "\"");
          return nullptr;
        }
        name_matcher = true;
      }
    }
    (void)name_matcher;
    if (!e->name.empty()) {
      auto m = Matcher::Make(MatchType::kEqual, std::string(kMetricNameLabel), e->name);
      e->matchers.insert(e->matchers.begin(), std::move(*m));
    }
    bool non_empty = allow_empty_selector_;
    for (const auto& m : e->matchers) {
      if (!m.MatchesEmpty()) non_empty = true;
    }
    if (!non_empty) {
      Fail(e->pos, "vector selector must contain at least one non-empty matcher");
      return nullptr;
    }
    return e;
  }

  // After '{': matchers up to and including '}'.
  bool ParseMatchers(Expr* e) {
    while (true) {
      Token t = lx_.Next();
      if (t.kind == TokenKind::kRightBrace) {
        e->end_pos = t.pos + 1;
        return true;
      }
      std::string name;
      bool quoted = false;
      if (t.kind == TokenKind::kString) {
        name = t.text;
        quoted = true;
      } else if (IsLabelNameToken(t)) {
        name = t.text;
      } else {
        Fail(t, "unexpected " + DescribeToken(t) + " in label matching, expected label matching operator");
        if (t.kind == TokenKind::kEof) Fail(t, "unexpected end of input inside braces");
        return false;
      }
      Token op = lx_.Next();
      if (quoted && (op.kind == TokenKind::kComma || op.kind == TokenKind::kRightBrace)) {
        // {"metric.name"}: a bare quoted name is the metric name.
        if (!e->name.empty()) {
          Fail(t.pos, "metric name must not be set twice: \"" + e->name + "\" or \"" + name + "\"");
          return false;
        }
        e->name = name;
        if (op.kind == TokenKind::kRightBrace) {
          e->end_pos = op.pos + 1;
          return true;
        }
        continue;
      }
      MatchType type;
      switch (op.kind) {
        case TokenKind::kAssign: type = MatchType::kEqual; break;
        case TokenKind::kNeq: type = MatchType::kNotEqual; break;
        case TokenKind::kEqlRegex: type = MatchType::kRegexMatch; break;
        case TokenKind::kNeqRegex: type = MatchType::kRegexNoMatch; break;
        default:
          Fail(op, "unexpected " + DescribeToken(op) +
                       " in label matching, expected label matching operator");
          return false;
      }
      Token val = lx_.Next();
      if (val.kind != TokenKind::kString) {
        Fail(val, "unexpected " + DescribeToken(val) + " in label matching, expected string");
        return false;
      }
      auto m = Matcher::Make(type, name, val.text);
      if (!m.ok()) {
        Fail(val.pos, m.status().message());
        return false;
      }
      e->matchers.push_back(std::move(*m));
      Token sep = lx_.Next();
      if (sep.kind == TokenKind::kRightBrace) {
        e->end_pos = sep.pos + 1;
        return true;
      }
      if (sep.kind != TokenKind::kComma) {
        Fail(sep, "unexpected " + DescribeToken(sep) + " in label matching, expected \",\" or \"}\"");
        return false;
      }
    }
  }

  // (a, b, "c") for by/without/on/ignoring/group_x.
  bool ParseLabelList(std::vector<std::string>* out, const std::string& context) {
    if (!Expect(TokenKind::kLeftParen, context)) return false;
    while (true) {
      Token t = lx_.Next();
      if (t.kind == TokenKind::kRightParen) return true;
      if (t.kind == TokenKind::kString || IsLabelNameToken(t)) {
        if (t.kind != TokenKind::kString && !IsLegacyLabelName(t.text)) {
          Fail(t, "invalid label name \"" + t.text + "\"");
          return false;
        }
        out->push_back(t.text);
      } else {
        Fail(t, "unexpected " + DescribeToken(t) + " in " + context + ", expected label");
        return false;
      }
      Token sep = lx_.Next();
      if (sep.kind == TokenKind::kRightParen) return true;
      if (sep.kind != TokenKind::kComma) {
        Fail(sep, "unexpected " + DescribeToken(sep) + " in " + context + ", expected \",\" or \")\"");
        return false;
      }
    }
  }

  ExprPtr ParseCall(const Token& name) {
    const FunctionSignature* sig = LookupFunction(name.text);
    if (sig == nullptr) {
      Fail(name, "unknown function with name \"" + name.text + "\"");
      return nullptr;
    }
    lx_.Next();  // (
    auto e = std::make_unique<Expr>();
    e->kind = ExprKind::kCall;
    e->func = name.text;
    e->pos = name.pos;
    if (lx_.Peek().kind == TokenKind::kRightParen) {
      e->end_pos = lx_.Next().pos + 1;
      return e;
    }
    while (true) {
      // info()'s second argument is a label selector that may match the empty string.
      allow_empty_selector_ = e->func == "info" && e->args.size() == 1;
      ExprPtr a = ParseBinary(1);
      allow_empty_selector_ = false;
      if (a == nullptr) {
        if (err_.empty()) {
          const Token& n = lx_.Peek();
          Fail(n, "unexpected " + DescribeToken(n));
        }
        return nullptr;
      }
      e->args.push_back(std::move(a));
      Token sep = lx_.Next();
      if (sep.kind == TokenKind::kRightParen) {
        e->end_pos = sep.pos + 1;
        return e;
      }
      if (sep.kind != TokenKind::kComma) {
        Fail(sep, "unexpected " + DescribeToken(sep) + " in function call, expected \",\" or \")\"");
        return nullptr;
      }
      if (lx_.Peek().kind == TokenKind::kRightParen) {  // trailing comma
        e->end_pos = lx_.Next().pos + 1;
        return e;
      }
    }
  }

  ExprPtr ParseAggregation(const Token& op) {
    auto e = std::make_unique<Expr>();
    e->kind = ExprKind::kAggregate;
    e->agg_op = Aggregators().at(std::string(AggregateOpLower(op.text)));
    e->pos = op.pos;
    auto grouping = [&]() -> bool {
      TokenKind k = lx_.Peek().kind;
      if (k == TokenKind::kBy || k == TokenKind::kWithout) {
        lx_.Next();
        e->without = k == TokenKind::kWithout;
        e->grouping_given = true;
        return ParseLabelList(&e->grouping, "grouping opts");
      }
      return true;
    };
    if (!grouping()) return nullptr;
    bool before = e->grouping_given;
    Token lp = lx_.Next();
    if (lp.kind != TokenKind::kLeftParen) {
      Fail(lp, "unexpected " + DescribeToken(lp) + " in aggregation, expected \"(\"");
      return nullptr;
    }
    std::vector<ExprPtr> args;
    if (lx_.Peek().kind != TokenKind::kRightParen) {
      while (true) {
        ExprPtr a = ParseBinary(1);
        if (a == nullptr) {
          if (err_.empty()) {
            const Token& n = lx_.Peek();
            Fail(n, "unexpected " + DescribeToken(n));
          }
          return nullptr;
        }
        args.push_back(std::move(a));
        if (lx_.Peek().kind == TokenKind::kComma) {
          lx_.Next();
          if (lx_.Peek().kind == TokenKind::kRightParen) break;
          continue;
        }
        break;
      }
    }
    Token rp = lx_.Next();
    if (rp.kind != TokenKind::kRightParen) {
      Fail(rp, "unexpected " + DescribeToken(rp) + " in aggregation, expected \")\"");
      return nullptr;
    }
    e->end_pos = rp.pos + 1;
    if (!before) {
      if (!grouping()) return nullptr;
    } else if (lx_.Peek().kind == TokenKind::kBy || lx_.Peek().kind == TokenKind::kWithout) {
      Fail(lx_.Peek(), "unexpected " + DescribeToken(lx_.Peek()));
      return nullptr;
    }
    bool has_param = e->agg_op == AggregateOp::kTopk || e->agg_op == AggregateOp::kBottomk ||
                     e->agg_op == AggregateOp::kQuantile ||
                     e->agg_op == AggregateOp::kCountValues ||
                     e->agg_op == AggregateOp::kLimitk || e->agg_op == AggregateOp::kLimitRatio;
    size_t want = has_param ? 2 : 1;
    if (args.size() != want) {
      Fail(e->pos, "wrong number of arguments for aggregate expression provided, expected " +
                       std::to_string(want) + ", got " + std::to_string(args.size()));
      return nullptr;
    }
    if (has_param) e->param = std::move(args[0]);
    e->child = std::move(args.back());
    return e;
  }

  static std::string AggregateOpLower(const std::string& s) {
    std::string o = s;
    for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return o;
  }

  // A duration expression inside [...] (full arithmetic) or after offset (one atom).
  std::unique_ptr<DurationExpr> ParseDuration(int min_prec) {
    auto lhs = ParseDurationUnary();
    if (lhs == nullptr) return nullptr;
    while (true) {
      TokenKind k = lx_.Peek().kind;
      int prec = 0;
      char op = 0;
      switch (k) {
        case TokenKind::kAdd: prec = 1; op = '+'; break;
        case TokenKind::kSub: prec = 1; op = '-'; break;
        case TokenKind::kMul: prec = 2; op = '*'; break;
        case TokenKind::kDiv: prec = 2; op = '/'; break;
        case TokenKind::kMod: prec = 2; op = '%'; break;
        case TokenKind::kPow: prec = 3; op = '^'; break;
        default: break;
      }
      if (prec == 0 || prec < min_prec) break;
      lx_.Next();
      auto rhs = ParseDuration(op == '^' ? prec : prec + 1);
      if (rhs == nullptr) return nullptr;
      auto b = std::make_unique<DurationExpr>();
      b->kind = DurationExpr::Kind::kBinary;
      b->op = op;
      b->lhs = std::move(lhs);
      b->rhs = std::move(rhs);
      lhs = std::move(b);
    }
    return lhs;
  }

  std::unique_ptr<DurationExpr> ParseDurationUnary() {
    TokenKind k = lx_.Peek().kind;
    if (k == TokenKind::kSub || k == TokenKind::kAdd) {
      lx_.Next();
      auto operand = ParseDuration(3);
      if (operand == nullptr) return nullptr;
      if (k == TokenKind::kAdd) return operand;
      auto u = std::make_unique<DurationExpr>();
      u->kind = DurationExpr::Kind::kUnaryMinus;
      u->lhs = std::move(operand);
      return u;
    }
    return ParseDurationAtom();
  }

  // After `offset`: an optional sign and one atom (`offset -2 ^ 2` is `(x offset -2) ^ 2`).
  std::unique_ptr<DurationExpr> ParseOffsetDuration() {
    TokenKind k = lx_.Peek().kind;
    if (k == TokenKind::kSub || k == TokenKind::kAdd) {
      lx_.Next();
      auto operand = ParseDurationAtom();
      if (operand == nullptr || k == TokenKind::kAdd) return operand;
      auto u = std::make_unique<DurationExpr>();
      u->kind = DurationExpr::Kind::kUnaryMinus;
      u->lhs = std::move(operand);
      return u;
    }
    return ParseDurationAtom();
  }

  std::unique_ptr<DurationExpr> ParseDurationAtom() {
    Token t = lx_.Next();
    auto d = std::make_unique<DurationExpr>();
    switch (t.kind) {
      case TokenKind::kNumber:
        d->seconds = t.number;
        return d;
      case TokenKind::kDuration:
        d->seconds = static_cast<double>(t.duration_ms) / 1000.0;
        d->was_duration = true;
        return d;
      case TokenKind::kLeftParen: {
        d->kind = DurationExpr::Kind::kParen;
        d->lhs = ParseDuration(1);
        if (d->lhs == nullptr) return nullptr;
        if (!Expect(TokenKind::kRightParen, "duration expression")) return nullptr;
        return d;
      }
      case TokenKind::kIdentifier: {
        std::string low = AggregateOpLower(t.text);
        if (low == "step" || low == "range") {
          if (!Expect(TokenKind::kLeftParen, "duration expression")) return nullptr;
          if (!Expect(TokenKind::kRightParen, "duration expression")) return nullptr;
          d->kind = low == "step" ? DurationExpr::Kind::kStep : DurationExpr::Kind::kRange;
          return d;
        }
        if (low == "min_of" || low == "max_of") {
          if (!Expect(TokenKind::kLeftParen, "duration expression")) return nullptr;
          d->kind = low == "min_of" ? DurationExpr::Kind::kMin : DurationExpr::Kind::kMax;
          d->lhs = ParseDuration(1);
          if (d->lhs == nullptr) return nullptr;
          if (!Expect(TokenKind::kComma, "duration expression")) return nullptr;
          d->rhs = ParseDuration(1);
          if (d->rhs == nullptr) return nullptr;
          if (!Expect(TokenKind::kRightParen, "duration expression")) return nullptr;
          return d;
        }
        break;
      }
      default: break;
    }
    Fail(t, "unexpected " + DescribeToken(t) + " in duration expression");
    return nullptr;
  }

  // Resolves a constant duration to ms, checking it; for step()/range() keeps the tree.
  bool SetDuration(std::unique_ptr<DurationExpr> d, int pos, int64_t* ms,
                   std::unique_ptr<DurationExpr>* expr, bool allow_negative, bool allow_zero,
                   const char* what) {
    if (!d->IsConstant()) {
      *expr = std::move(d);
      return true;
    }
    double s = d->Eval(0, 0);
    if (std::isnan(s) || std::isinf(s) || std::abs(s) > 9.2e15) {
      Fail(pos, std::string(what) + " out of range");
      return false;
    }
    int64_t v = static_cast<int64_t>(std::llround(s * 1000));
    if (!allow_negative && v < 0) {
      Fail(pos, std::string(what) + " must be greater than 0");
      return false;
    }
    if (!allow_zero && v == 0) {
      Fail(pos, std::string(what) + " must be greater than 0");
      return false;
    }
    *ms = v;
    if (d->kind != DurationExpr::Kind::kNumber || !d->was_duration) *expr = nullptr;
    return true;
  }

  ExprPtr ParsePostfix(ExprPtr e) {
    while (err_.empty()) {
      TokenKind k = lx_.Peek().kind;
      if (k == TokenKind::kLeftBracket) {
        Token lb = lx_.Next();
        std::unique_ptr<DurationExpr> range;
        if (lx_.Peek().kind != TokenKind::kColon) {
          range = ParseDuration(1);
          if (range == nullptr) return nullptr;
        } else {
          Fail(lx_.Peek(), "unexpected \":\" in subquery selector, expected duration");
          return nullptr;
        }
        Token sep = lx_.Next();
        if (sep.kind == TokenKind::kColon) {
          auto sq = std::make_unique<Expr>();
          sq->kind = ExprKind::kSubquery;
          sq->pos = e->pos;
          if (!SetDuration(std::move(range), lb.pos + 1, &sq->range_ms, &sq->range_expr, false,
                           false, "duration")) {
            return nullptr;
          }
          if (lx_.Peek().kind != TokenKind::kRightBracket) {
            auto step = ParseDuration(1);
            if (step == nullptr) return nullptr;
            sq->has_step = true;
            if (!SetDuration(std::move(step), sep.pos + 1, &sq->step_ms, &sq->step_expr, false,
                             false, "duration")) {
              return nullptr;
            }
          }
          Token rb = lx_.Next();
          if (rb.kind != TokenKind::kRightBracket) {
            Fail(rb, "unexpected " + DescribeToken(rb) + " in subquery selector, expected \"]\"");
            return nullptr;
          }
          sq->end_pos = rb.pos + 1;
          sq->child = std::move(e);
          e = std::move(sq);
          continue;
        }
        if (sep.kind != TokenKind::kRightBracket) {
          Fail(sep, "unexpected " + DescribeToken(sep) + " in subquery or range selector, expected \"]\" or \":\"");
          return nullptr;
        }
        if (e->kind != ExprKind::kVectorSelector) {
          Fail(e->pos, "ranges only allowed for vector selectors");
          return nullptr;
        }
        if (e->has_offset) {
          Fail(e->pos, "no offset modifiers allowed before range");
          return nullptr;
        }
        if (e->at != AtKind::kNone) {
          Fail(e->pos, "no @ modifiers allowed before range");
          return nullptr;
        }
        auto ms = std::make_unique<Expr>();
        ms->kind = ExprKind::kMatrixSelector;
        ms->pos = e->pos;
        ms->end_pos = sep.pos + 1;
        if (!SetDuration(std::move(range), lb.pos + 1, &ms->range_ms, &ms->range_expr, false,
                         false, "duration")) {
          return nullptr;
        }
        ms->child = std::move(e);
        e = std::move(ms);
        continue;
      }
      if (k == TokenKind::kOffset || k == TokenKind::kAt) {
        Token mod = lx_.Next();
        Expr* target = e.get();
        if (e->kind == ExprKind::kMatrixSelector) target = e->child.get();
        if (target->kind != ExprKind::kVectorSelector && target->kind != ExprKind::kSubquery) {
          Fail(mod, k == TokenKind::kOffset
                        ? "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"
                        : "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery");
          return nullptr;
        }
        if (k == TokenKind::kOffset) {
          if (target->has_offset) {
            Fail(mod, "offset may not be set multiple times");
            return nullptr;
          }
          auto d = ParseOffsetDuration();
          if (d == nullptr) return nullptr;
          target->has_offset = true;
          if (!SetDuration(std::move(d), mod.pos, &target->offset_ms, &target->offset_expr, true,
                           true, "offset")) {
            return nullptr;
          }
        } else {
          if (target->at != AtKind::kNone) {
            Fail(mod, "@ <timestamp> may not be set multiple times");
            return nullptr;
          }
          Token t = lx_.Next();
          double sign = 1;
          if (t.kind == TokenKind::kSub || t.kind == TokenKind::kAdd) {
            if (t.kind == TokenKind::kSub) sign = -1;
            t = lx_.Next();
          }
          if (t.kind == TokenKind::kNumber || t.kind == TokenKind::kDuration) {
            double s = sign * (t.kind == TokenKind::kNumber ? t.number
                                                            : static_cast<double>(t.duration_ms) / 1000.0);
            if (std::isnan(s) || std::isinf(s) || std::abs(s) > 9.2e15) {
              Fail(t, "timestamp out of bounds for @ modifier: " + t.text);
              return nullptr;
            }
            target->at = AtKind::kTimestamp;
            target->at_ms = static_cast<int64_t>(std::llround(s * 1000));
          } else if ((t.kind == TokenKind::kStart || t.kind == TokenKind::kEnd) && sign > 0) {
            if (!Expect(TokenKind::kLeftParen, "@ modifier")) return nullptr;
            if (!Expect(TokenKind::kRightParen, "@ modifier")) return nullptr;
            target->at = t.kind == TokenKind::kStart ? AtKind::kStart : AtKind::kEnd;
          } else {
            Fail(t, "unexpected " + DescribeToken(t) + " in @, expected timestamp");
            return nullptr;
          }
        }
        continue;
      }
      if (k == TokenKind::kIdentifier &&
          (lx_.Peek().text == "anchored" || lx_.Peek().text == "smoothed")) {
        // Prometheus 3's experimental extended range selectors: `foo[5m] anchored`,
        // `foo smoothed` (they follow @ and offset).
        Token mod = lx_.Next();
        bool anchored = mod.text == "anchored";
        Expr* target = e.get();
        if (e->kind == ExprKind::kMatrixSelector) target = e->child.get();
        if (target->kind != ExprKind::kVectorSelector) {
          Fail(mod, mod.text + " modifier must be preceded by an instant vector selector or range vector selector");
          return nullptr;
        }
        if (anchored ? target->smoothed : target->anchored) {
          Fail(mod, "anchored and smoothed modifiers cannot be used together");
          return nullptr;
        }
        (anchored ? target->anchored : target->smoothed) = true;
        continue;
      }
      break;
    }
    return e;
  }

  // Type checks (Prometheus parser.checkAST).
  void Check(const Expr& e) {
    if (!err_.empty()) return;
    switch (e.kind) {
      case ExprKind::kParen: Check(*e.child); break;
      case ExprKind::kUnary:
        Check(*e.child);
        if (e.child->type() != VT::kScalar && e.child->type() != VT::kVector) {
          Fail(e.pos, "unary expression only allowed on expressions of type scalar or instant vector, got \"" +
                          std::string(DocumentedType(e.child->type())) + "\"");
        }
        break;
      case ExprKind::kMatrixSelector: Check(*e.child); break;
      case ExprKind::kSubquery:
        Check(*e.child);
        if (e.child->type() != VT::kVector) {
          Fail(e.child->pos, "subquery is only allowed on instant vector, got " +
                                 std::string(DocumentedType(e.child->type())) + " instead");
        }
        break;
      case ExprKind::kBinary: {
        Check(*e.lhs);
        Check(*e.rhs);
        if (!err_.empty()) return;
        VT lt = e.lhs->type(), rt = e.rhs->type();
        if (e.return_bool && !IsComparison(e.bin_op)) {
          Fail(e.pos, "bool modifier can only be used on comparison operators");
          return;
        }
        if (IsComparison(e.bin_op) && !e.return_bool && lt == VT::kScalar && rt == VT::kScalar) {
          Fail(e.pos, "comparisons between scalars must use BOOL modifier");
          return;
        }
        if ((lt != VT::kScalar && lt != VT::kVector) || (rt != VT::kScalar && rt != VT::kVector)) {
          Fail(e.pos, "binary expression must contain only scalar and instant vector types");
          return;
        }
        if (IsTrimOp(e.bin_op) && lt == VT::kScalar) {
          Fail(e.pos, "trim operator \"" + std::string(BinaryOpString(e.bin_op)) +
                          "\" needs an instant vector of native histograms on the left-hand side");
          return;
        }
        if (IsSetOp(e.bin_op)) {
          if (lt == VT::kScalar || rt == VT::kScalar) {
            Fail(e.pos, "set operator \"" + std::string(BinaryOpString(e.bin_op)) +
                            "\" not allowed in binary scalar expression");
            return;
          }
          if (e.matching.card == Cardinality::kOneToMany ||
              e.matching.card == Cardinality::kManyToOne) {
            Fail(e.pos, "no grouping allowed for \"" + std::string(BinaryOpString(e.bin_op)) +
                            "\" operation");
            return;
          }
        }
        if ((lt != VT::kVector || rt != VT::kVector) && e.matching.explicit_matching) {
          Fail(e.pos, "vector matching only allowed between instant vectors");
          return;
        }
        if (e.matching.on) {
          for (const auto& inc : e.matching.include) {
            for (const auto& l : e.matching.labels) {
              if (inc == l) {
                Fail(e.pos, "label \"" + inc + "\" must not occur in ON and GROUP clause at once");
                return;
              }
            }
          }
        }
        break;
      }
      case ExprKind::kAggregate: {
        Check(*e.child);
        if (e.param) Check(*e.param);
        if (!err_.empty()) return;
        if (e.child->type() != VT::kVector) {
          Fail(e.pos, "expected type instant vector in aggregation expression, got " +
                          std::string(DocumentedType(e.child->type())));
          return;
        }
        if (e.param) {
          VT want = e.agg_op == AggregateOp::kCountValues ? VT::kString : VT::kScalar;
          if (e.param->type() != want) {
            Fail(e.param->pos, "expected type " + std::string(DocumentedType(want)) +
                                   " in aggregation parameter, got " +
                                   std::string(DocumentedType(e.param->type())));
            return;
          }
        }
        break;
      }
      case ExprKind::kCall: {
        const FunctionSignature* sig = LookupFunction(e.func);
        size_t n = e.args.size(), fixed = sig->arg_types.size();
        if (sig->variadic == 0) {
          if (n != fixed) {
            Fail(e.pos, "expected " + std::to_string(fixed) + " argument(s) in call to \"" +
                            e.func + "\", got " + std::to_string(n));
            return;
          }
        } else {
          size_t min = fixed - 1;
          if (sig->variadic < 0) {
            min = fixed - 1;
            if (e.func == "label_join" || e.func == "histogram_quantiles") min = 3;
            if (n < min) {
              Fail(e.pos, "expected at least " + std::to_string(min) +
                              " argument(s) in call to \"" + e.func + "\", got " + std::to_string(n));
              return;
            }
          } else {
            size_t max = min + static_cast<size_t>(sig->variadic);
            if (n < min || n > max) {
              if (n < min) {
                Fail(e.pos, "expected at least " + std::to_string(min) +
                                " argument(s) in call to \"" + e.func + "\", got " + std::to_string(n));
              } else {
                Fail(e.pos, "expected at most " + std::to_string(max) +
                                " argument(s) in call to \"" + e.func + "\", got " + std::to_string(n));
              }
              return;
            }
          }
        }
        for (size_t i = 0; i < n; ++i) {
          Check(*e.args[i]);
          if (!err_.empty()) return;
          VT want = i < fixed ? sig->arg_types[i] : sig->arg_types.back();
          if (e.args[i]->type() != want) {
            Fail(e.args[i]->pos, "expected type " + std::string(DocumentedType(want)) +
                                     " in call to function \"" + e.func + "\", got " +
                                     std::string(DocumentedType(e.args[i]->type())));
            return;
          }
        }
        if (e.func == "label_replace" || e.func == "label_join") {
          // The destination label name must be valid (checked at parse time upstream).
          const std::string& dst = e.args[1]->kind == ExprKind::kString ? e.args[1]->str : "";
          if (e.args[1]->kind == ExprKind::kString && !IsValidUtf8(dst)) {
            Fail(e.args[1]->pos, "invalid label name \"" + dst + "\"");
          }
        }
        break;
      }
      default: break;
    }
  }

  std::string_view in_;
  Lexer lx_;
  std::string err_;
  int err_pos_ = 0;
  bool allow_empty_selector_ = false;
};

}  // namespace

const FunctionSignature* LookupFunction(std::string_view name) {
  auto it = Functions().find(name);
  return it == Functions().end() ? nullptr : &it->second;
}

std::string_view DocumentedType(ValueType t) {
  switch (t) {
    case VT::kScalar: return "scalar";
    case VT::kVector: return "instant vector";
    case VT::kMatrix: return "range vector";
    case VT::kString: return "string";
    default: return "none";
  }
}

std::string PositionString(std::string_view query, int pos) {
  int line = 1;
  int col = 1;
  for (int i = 0; i < pos && i < static_cast<int>(query.size()); ++i) {
    if (query[i] == '\n') {
      ++line;
      col = 1;
    } else if ((static_cast<unsigned char>(query[i]) & 0xC0) != 0x80) {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

Result<ExprPtr> ParseExpr(std::string_view query) {
  Parser p(query);
  return p.ParseAll();
}

Result<std::vector<Matcher>> ParseMetricSelector(std::string_view s) {
  ASSIGN_OR_RETURN(ExprPtr e, ParseExpr(s));
  if (e->kind != ExprKind::kVectorSelector || e->has_offset || e->at != AtKind::kNone) {
    return Status::InvalidArgument(PositionString(s, 0) + ": parse error: expected vector selector");
  }
  return std::move(e->matchers);
}

}  // namespace argus::promql
