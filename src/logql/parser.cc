#include "logql/parser.h"

#include <re2/re2.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <set>

#include "logql/convert.h"
#include "logql/stages.h"

namespace argus::logql {

std::string_view RangeOpName(RangeOp op) {
  switch (op) {
    case RangeOp::kCount: return "count_over_time";
    case RangeOp::kRate: return "rate";
    case RangeOp::kRateCounter: return "rate_counter";
    case RangeOp::kBytes: return "bytes_over_time";
    case RangeOp::kBytesRate: return "bytes_rate";
    case RangeOp::kAbsent: return "absent_over_time";
    case RangeOp::kSum: return "sum_over_time";
    case RangeOp::kAvg: return "avg_over_time";
    case RangeOp::kMin: return "min_over_time";
    case RangeOp::kMax: return "max_over_time";
    case RangeOp::kStddev: return "stddev_over_time";
    case RangeOp::kStdvar: return "stdvar_over_time";
    case RangeOp::kQuantile: return "quantile_over_time";
    case RangeOp::kFirst: return "first_over_time";
    case RangeOp::kLast: return "last_over_time";
  }
  return "";
}

std::string_view VectorOpName(VectorOp op) {
  switch (op) {
    case VectorOp::kSum: return "sum";
    case VectorOp::kAvg: return "avg";
    case VectorOp::kMin: return "min";
    case VectorOp::kMax: return "max";
    case VectorOp::kCount: return "count";
    case VectorOp::kStddev: return "stddev";
    case VectorOp::kStdvar: return "stdvar";
    case VectorOp::kTopk: return "topk";
    case VectorOp::kBottomk: return "bottomk";
    case VectorOp::kSort: return "sort";
    case VectorOp::kSortDesc: return "sort_desc";
    case VectorOp::kApproxTopk: return "approx_topk";
  }
  return "";
}

bool IsComparison(BinaryOp op) {
  return op == BinaryOp::kEq || op == BinaryOp::kNe || op == BinaryOp::kGt || op == BinaryOp::kGe ||
         op == BinaryOp::kLt || op == BinaryOp::kLe;
}
bool IsSetOp(BinaryOp op) { return op == BinaryOp::kAnd || op == BinaryOp::kOr || op == BinaryOp::kUnless; }

namespace {

enum class Tok { kEof, kIdent, kString, kNumber, kDuration, kBytes, kFlag, kPunct };

struct Token {
  Tok kind = Tok::kEof;
  std::string text;  // identifier, punctuation, flag name, raw literal, or unquoted string
  double num = 0;
  int64_t dur_ns = 0;
  size_t pos = 0;
};

const char* kPuncts[] = {"|=", "|~", "|>", "!=", "!~", "!>", "=~", "==", ">=", "<=", "{", "}", "(",
                         ")", "[", "]", ",", "=", ">", "<", "|", "+", "-", "*", "/", "%", "^"};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> out;
    while (true) {
      while (p_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[p_]))) ++p_;
      if (p_ >= s_.size()) break;
      if (s_[p_] == '#') {
        while (p_ < s_.size() && s_[p_] != '\n') ++p_;
        continue;
      }
      Token t;
      t.pos = p_;
      char c = s_[p_];
      if (c == '"' || c == '`') {
        size_t st = ++p_;
        while (p_ < s_.size() && s_[p_] != c) {
          if (c == '"' && s_[p_] == '\\') ++p_;
          ++p_;
        }
        if (p_ >= s_.size()) return Err(t.pos, "literal not terminated");
        std::string_view body = s_.substr(st, p_ - st);
        ++p_;
        t.kind = Tok::kString;
        if (c == '"') {
          auto u = GoUnescape(body);
          if (!u.ok()) return Err(t.pos, "invalid char escape");
          t.text = *u;
        } else {
          t.text = std::string(body);
        }
      } else if (c == '-' && p_ + 2 < s_.size() && s_[p_ + 1] == '-' && std::isalpha(static_cast<unsigned char>(s_[p_ + 2]))) {
        size_t st = p_ + 2;
        p_ = st;
        while (p_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[p_])) || s_[p_] == '-' || s_[p_] == '_')) ++p_;
        t.kind = Tok::kFlag;
        t.text = std::string(s_.substr(st, p_ - st));
      } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                 (c == '.' && p_ + 1 < s_.size() && std::isdigit(static_cast<unsigned char>(s_[p_ + 1])))) {
        RETURN_IF_ERROR(Number(&t));
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t st = p_;
        while (p_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[p_])) || s_[p_] == '_')) ++p_;
        t.kind = Tok::kIdent;
        t.text = std::string(s_.substr(st, p_ - st));
      } else {
        bool found = false;
        for (const char* p : kPuncts) {
          size_t n = std::strlen(p);
          if (s_.substr(p_, n) == p) {
            t.kind = Tok::kPunct;
            t.text = p;
            p_ += n;
            found = true;
            break;
          }
        }
        if (!found) return Err(t.pos, std::string("syntax error: unexpected character '") + c + "'");
      }
      out.push_back(std::move(t));
    }
    Token eof;
    eof.pos = s_.size();
    out.push_back(eof);
    return out;
  }

  Status Err(size_t pos, std::string_view msg) const {
    return Status::InvalidArgument("parse error at line 1, col " + std::to_string(pos + 1) + ": " + std::string(msg));
  }

 private:
  static bool IsNumChar(std::string_view s, size_t i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (std::isalnum(c) || c == '.' || c == '_') return true;
    if (c == 0xc2 || c == 0xce || c == 0xb5 || c == 0xbc) return true;  // µ and μ
    if ((c == '+' || c == '-') && i > 0) {
      char p = s[i - 1];
      bool hex = s.size() > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
      return hex ? (p == 'p' || p == 'P') : (p == 'e' || p == 'E');
    }
    return false;
  }

  Status Number(Token* t) {
    size_t st = p_;
    std::string_view rest = s_.substr(st);
    size_t n = 0;
    while (n < rest.size() && IsNumChar(rest, n)) ++n;
    std::string_view tok = rest.substr(0, n);
    auto d = ParseGoDuration(tok, true);
    if (d.ok() && tok != "0" && !std::isdigit(static_cast<unsigned char>(tok.back())) && tok.back() != '.') {
      t->kind = Tok::kDuration;
      t->dur_ns = *d;
      t->text = std::string(tok);
      p_ += n;
      return Status::OK();
    }
    if (IsBytesLiteral(tok)) {
      t->kind = Tok::kBytes;
      t->num = static_cast<double>(*ParseHumanBytes(tok));
      t->text = std::string(tok);
      p_ += n;
      return Status::OK();
    }
    auto f = ParseGoFloat(tok);
    if (f.ok()) {
      t->kind = Tok::kNumber;
      t->num = *f;
      t->text = std::string(tok);
      p_ += n;
      return Status::OK();
    }
    bool prefixed = tok.size() > 1 && tok[0] == '0' && std::strchr("xXbBoO", tok[1]);
    if (!prefixed) {
      // The longest duration prefix, then the rest lexes as an identifier: "1mb" is 1m, b.
      for (size_t k = n; k > 1; --k) {
        std::string_view pre = tok.substr(0, k);
        if (std::isdigit(static_cast<unsigned char>(pre.back()))) continue;
        auto pd = ParseGoDuration(pre, true);
        if (pd.ok()) {
          t->kind = Tok::kDuration;
          t->dur_ns = *pd;
          t->text = std::string(pre);
          p_ += k;
          return Status::OK();
        }
      }
      size_t k = 0;
      while (k < n && (std::isdigit(static_cast<unsigned char>(tok[k])) || tok[k] == '.')) ++k;
      auto pf = ParseGoFloat(tok.substr(0, k));
      if (k > 0 && pf.ok()) {
        t->kind = Tok::kNumber;
        t->num = *pf;
        t->text = std::string(tok.substr(0, k));
        p_ += k;
        return Status::OK();
      }
    }
    return Err(st, "unable to parse literal as a float: " + std::string(tok));
  }

  std::string_view s_;
  size_t p_ = 0;
};

const std::set<std::string, std::less<>> kRangeOps = {
    "count_over_time", "rate", "rate_counter", "bytes_over_time", "bytes_rate", "absent_over_time",
    "sum_over_time", "avg_over_time", "min_over_time", "max_over_time", "stddev_over_time",
    "stdvar_over_time", "quantile_over_time", "first_over_time", "last_over_time"};
const std::set<std::string, std::less<>> kVectorOps = {
    "sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk", "sort", "sort_desc",
    "approx_topk"};

RangeOp RangeOpFromName(std::string_view n) {
  for (int i = 0; i <= static_cast<int>(RangeOp::kLast); ++i) {
    if (RangeOpName(static_cast<RangeOp>(i)) == n) return static_cast<RangeOp>(i);
  }
  return RangeOp::kCount;
}
VectorOp VectorOpFromName(std::string_view n) {
  for (int i = 0; i <= static_cast<int>(VectorOp::kApproxTopk); ++i) {
    if (VectorOpName(static_cast<VectorOp>(i)) == n) return static_cast<VectorOp>(i);
  }
  return VectorOp::kSum;
}

class Parser {
 public:
  Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  Result<ExprPtr> ParseQuery() {
    ASSIGN_OR_RETURN(ExprPtr e, Binary(0));
    if (Peek().kind != Tok::kEof) return Unexpected();
    return e;
  }

  Result<std::vector<Matcher>> ParseSelectorOnly() {
    ASSIGN_OR_RETURN(auto ms, Selector());
    if (Peek().kind != Tok::kEof) return Unexpected();
    return ms;
  }

 private:
  const Token& Peek(size_t k = 0) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  const Token& Next() { return t_[std::min(i_++, t_.size() - 1)]; }
  bool IsPunct(std::string_view p, size_t k = 0) const { return Peek(k).kind == Tok::kPunct && Peek(k).text == p; }
  bool IsIdent(std::string_view w, size_t k = 0) const { return Peek(k).kind == Tok::kIdent && Peek(k).text == w; }

  static std::string TokName(const Token& t) {
    switch (t.kind) {
      case Tok::kEof: return "$end";
      case Tok::kIdent: {
        static const std::set<std::string, std::less<>> kKeywords = {
            "by", "without", "bool", "on", "ignoring", "group_left", "group_right", "offset", "and",
            "or", "unless", "ip", "json", "logfmt", "regexp", "pattern", "unpack", "line_format",
            "label_format", "drop", "keep", "decolorize", "unwrap", "vector", "label_replace"};
        if (kKeywords.contains(t.text) || kRangeOps.contains(t.text) || kVectorOps.contains(t.text)) return t.text;
        return "IDENTIFIER";
      }
      case Tok::kString: return "STRING";
      case Tok::kNumber: return "NUMBER";
      case Tok::kDuration: return "DURATION";
      case Tok::kBytes: return "BYTES";
      case Tok::kFlag: return "--" + t.text;
      case Tok::kPunct: return t.text;
    }
    return "?";
  }
  Status ErrAt(const Token& t, std::string_view msg) const {
    return Status::InvalidArgument("parse error at line 1, col " + std::to_string(t.pos + 1) + ": " + std::string(msg));
  }
  Status Unexpected(std::string_view expecting = "") const {
    std::string m = "syntax error: unexpected " + TokName(Peek());
    if (!expecting.empty()) m += ", expecting " + std::string(expecting);
    return ErrAt(Peek(), m);
  }
  Status Expect(std::string_view p) {
    if (!IsPunct(p)) return Unexpected(p);
    ++i_;
    return Status::OK();
  }

  // ---- binary expressions ----

  static int Prec(const Token& t, BinaryOp* op) {
    if (t.kind == Tok::kIdent) {
      if (t.text == "or") { *op = BinaryOp::kOr; return 1; }
      if (t.text == "and") { *op = BinaryOp::kAnd; return 2; }
      if (t.text == "unless") { *op = BinaryOp::kUnless; return 2; }
      return -1;
    }
    if (t.kind != Tok::kPunct) return -1;
    static const struct { const char* s; BinaryOp op; int prec; } kOps[] = {
        {"==", BinaryOp::kEq, 3}, {"!=", BinaryOp::kNe, 3}, {">", BinaryOp::kGt, 3}, {">=", BinaryOp::kGe, 3},
        {"<", BinaryOp::kLt, 3}, {"<=", BinaryOp::kLe, 3}, {"+", BinaryOp::kAdd, 4}, {"-", BinaryOp::kSub, 4},
        {"*", BinaryOp::kMul, 5}, {"/", BinaryOp::kDiv, 5}, {"%", BinaryOp::kMod, 5}, {"^", BinaryOp::kPow, 6}};
    for (const auto& o : kOps) {
      if (t.text == o.s) { *op = o.op; return o.prec; }
    }
    return -1;
  }

  Result<ExprPtr> Binary(int min_prec) {
    ASSIGN_OR_RETURN(ExprPtr lhs, Unary());
    while (true) {
      BinaryOp op;
      int prec = Prec(Peek(), &op);
      if (prec < 0 || prec < min_prec) break;
      ++i_;
      auto e = std::make_shared<Expr>();
      e->kind = ExprKind::kBinary;
      e->binary_op = op;
      if (IsIdent("bool")) {
        if (!IsComparison(op)) return Unexpected();
        e->return_bool = true;
        ++i_;
      }
      if (IsIdent("on") || IsIdent("ignoring")) {
        e->matching.on = Next().text == "on";
        ASSIGN_OR_RETURN(e->matching.matching_labels, LabelList());
      }
      if (IsIdent("group_left") || IsIdent("group_right")) {
        e->matching.card = Next().text == "group_left" ? VectorMatching::Card::kManyToOne
                                                       : VectorMatching::Card::kOneToMany;
        if (IsPunct("(")) {
          ASSIGN_OR_RETURN(e->matching.include, LabelList());
        }
      }
      if (IsSetOp(op)) e->matching.card = VectorMatching::Card::kManyToMany;
      int next_prec = op == BinaryOp::kPow ? prec : prec + 1;
      ASSIGN_OR_RETURN(ExprPtr rhs, Binary(next_prec));
      if (IsSetOp(op)) {
        if (lhs->IsScalar()) return ErrAt(Peek(), "unexpected literal for left leg of logical/set binary operation (" + std::string(op == BinaryOp::kAnd ? "and" : op == BinaryOp::kOr ? "or" : "unless") + "): 0.000000");
        if (rhs->IsScalar()) return ErrAt(Peek(), "unexpected literal for right leg of logical/set binary operation");
      }
      if (lhs->kind == ExprKind::kLog || rhs->kind == ExprKind::kLog) {
        return ErrAt(Peek(), "unexpected type for binary operation: log queries are not allowed");
      }
      e->lhs = lhs;
      e->rhs = rhs;
      lhs = e;
    }
    return lhs;
  }

  Result<ExprPtr> Literal(double v) {
    auto e = std::make_shared<Expr>();
    e->kind = ExprKind::kLiteral;
    e->value = v;
    return ExprPtr(e);
  }

  Result<ExprPtr> Unary() {
    const Token& t = Peek();
    if (t.kind == Tok::kPunct && (t.text == "-" || t.text == "+")) {
      bool neg = t.text == "-";
      ++i_;
      if (Peek().kind != Tok::kNumber) return Unexpected("NUMBER");
      double v = Next().num;
      return Literal(neg ? -v : v);
    }
    if (t.kind == Tok::kNumber) {
      ++i_;
      return Literal(t.num);
    }
    if (t.kind == Tok::kPunct && t.text == "(") {
      ++i_;
      ASSIGN_OR_RETURN(ExprPtr e, Binary(0));
      RETURN_IF_ERROR(Expect(")"));
      return e;
    }
    if (t.kind == Tok::kPunct && t.text == "{") {
      auto e = std::make_shared<Expr>();
      e->kind = ExprKind::kLog;
      ASSIGN_OR_RETURN(e->selector.matchers, Selector());
      RETURN_IF_ERROR(Pipeline(&e->selector.stages, nullptr));
      return ExprPtr(e);
    }
    if (t.kind == Tok::kIdent) {
      if (kRangeOps.contains(t.text)) return RangeAgg();
      if (kVectorOps.contains(t.text)) return VectorAgg();
      if (t.text == "vector") {
        ++i_;
        RETURN_IF_ERROR(Expect("("));
        bool neg = false;
        if (IsPunct("-")) { neg = true; ++i_; }
        if (Peek().kind != Tok::kNumber) return Unexpected("NUMBER");
        double v = Next().num;
        RETURN_IF_ERROR(Expect(")"));
        auto e = std::make_shared<Expr>();
        e->kind = ExprKind::kVector;
        e->value = neg ? -v : v;
        return ExprPtr(e);
      }
      if (t.text == "label_replace") return LabelReplace();
    }
    return Unexpected();
  }

  Result<ExprPtr> LabelReplace() {
    ++i_;
    RETURN_IF_ERROR(Expect("("));
    auto e = std::make_shared<Expr>();
    e->kind = ExprKind::kLabelReplace;
    ASSIGN_OR_RETURN(e->lhs, Binary(0));
    std::string* dsts[] = {&e->dst, &e->replacement, &e->src, &e->regex};
    for (std::string* d : dsts) {
      RETURN_IF_ERROR(Expect(","));
      if (Peek().kind != Tok::kString) return Unexpected("STRING");
      *d = Next().text;
    }
    RETURN_IF_ERROR(Expect(")"));
    if (!IsLegacyLabelName(e->dst)) return ErrAt(Peek(), "invalid destination label name in label_replace(): " + e->dst);
    RE2::Options o;
    o.set_log_errors(false);
    RE2 re("^(?:" + e->regex + ")$", o);
    if (!re.ok()) return ErrAt(Peek(), "invalid regex in label_replace: error parsing regexp: " + re.error());
    return ExprPtr(e);
  }

  Result<std::vector<std::string>> LabelList() {
    RETURN_IF_ERROR(Expect("("));
    std::vector<std::string> out;
    while (!IsPunct(")")) {
      if (Peek().kind != Tok::kIdent) return Unexpected("IDENTIFIER");
      out.push_back(Next().text);
      if (IsPunct(",")) { ++i_; continue; }
      if (!IsPunct(")")) return Unexpected(")");
    }
    ++i_;
    return out;
  }

  Result<std::optional<Grouping>> MaybeGrouping() {
    if (!IsIdent("by") && !IsIdent("without")) return std::optional<Grouping>();
    Grouping g;
    g.without = Next().text == "without";
    ASSIGN_OR_RETURN(g.labels, LabelList());
    return std::optional<Grouping>(std::move(g));
  }

  Result<ExprPtr> VectorAgg() {
    auto e = std::make_shared<Expr>();
    e->kind = ExprKind::kVectorAgg;
    std::string name = Next().text;
    e->vector_op = VectorOpFromName(name);
    ASSIGN_OR_RETURN(e->grouping, MaybeGrouping());
    RETURN_IF_ERROR(Expect("("));
    bool takes_param = e->vector_op == VectorOp::kTopk || e->vector_op == VectorOp::kBottomk ||
                       e->vector_op == VectorOp::kApproxTopk;
    if (takes_param) {
      if (Peek().kind == Tok::kNumber && IsPunct(",", 1)) {
        const Token& p = Next();
        ++i_;
        double k = p.num;
        if (k != std::floor(k) || p.text.find_first_of(".eExXpP") != std::string::npos) {
          return ErrAt(p, "invalid parameter " + name + "(" + p.text + ",");
        }
        if (k <= 0) return ErrAt(p, "invalid parameter " + name + "(" + p.text + ", k must be greater than 0)");
        e->param = k;
      } else if (IsPunct("-") && Peek(1).kind == Tok::kNumber) {
        return ErrAt(Peek(), "invalid parameter " + name + "(-" + Peek(1).text + ",");
      }
    }
    ASSIGN_OR_RETURN(e->lhs, Binary(0));
    RETURN_IF_ERROR(Expect(")"));
    if (!e->grouping) {
      ASSIGN_OR_RETURN(e->grouping, MaybeGrouping());
    }
    if (takes_param && !e->param) return ErrAt(Peek(), "parameter required for operation " + name);
    if (e->vector_op == VectorOp::kApproxTopk && e->grouping) {
      return ErrAt(Peek(), "grouping not allowed for approx_topk aggregation");
    }
    if (e->lhs->kind == ExprKind::kLog) return ErrAt(Peek(), "unexpected log query in vector aggregation");
    return ExprPtr(e);
  }

  Result<ExprPtr> RangeAgg() {
    auto e = std::make_shared<Expr>();
    e->kind = ExprKind::kRangeAgg;
    std::string name = Next().text;
    e->range_op = RangeOpFromName(name);
    RETURN_IF_ERROR(Expect("("));
    if (e->range_op == RangeOp::kQuantile) {
      if (Peek().kind != Tok::kNumber) return Unexpected("NUMBER");
      e->param = Next().num;
      RETURN_IF_ERROR(Expect(","));
    }
    RETURN_IF_ERROR(LogRange(e.get()));
    RETURN_IF_ERROR(Expect(")"));
    ASSIGN_OR_RETURN(e->grouping, MaybeGrouping());
    RETURN_IF_ERROR(ValidateRange(*e));
    return ExprPtr(e);
  }

  Status ValidateRange(const Expr& e) {
    RangeOp op = e.range_op;
    std::string name(RangeOpName(op));
    if (e.grouping) {
      switch (op) {
        case RangeOp::kAvg: case RangeOp::kStddev: case RangeOp::kStdvar: case RangeOp::kQuantile:
        case RangeOp::kRate: case RangeOp::kMax: case RangeOp::kMin: case RangeOp::kFirst: case RangeOp::kLast:
          break;
        default:
          return ErrAt(Peek(), "grouping not allowed for " + name + " aggregation");
      }
    }
    if (e.unwrap) {
      switch (op) {
        case RangeOp::kAvg: case RangeOp::kSum: case RangeOp::kMax: case RangeOp::kMin: case RangeOp::kStddev:
        case RangeOp::kStdvar: case RangeOp::kQuantile: case RangeOp::kRate: case RangeOp::kRateCounter:
        case RangeOp::kAbsent: case RangeOp::kFirst: case RangeOp::kLast:
          return Status::OK();
        default:
          return ErrAt(Peek(), "invalid aggregation " + name + " with unwrap");
      }
    }
    switch (op) {
      case RangeOp::kBytes: case RangeOp::kBytesRate: case RangeOp::kCount: case RangeOp::kRate: case RangeOp::kAbsent:
        return Status::OK();
      default:
        return ErrAt(Peek(), "invalid aggregation " + name + " without unwrap");
    }
  }

  Status RangeSuffix(Expr* e) {
    RETURN_IF_ERROR(Expect("["));
    if (Peek().kind != Tok::kDuration) return Unexpected("DURATION");
    e->range_ns = Next().dur_ns;
    RETURN_IF_ERROR(Expect("]"));
    if (IsIdent("offset")) {
      ++i_;
      if (Peek().kind != Tok::kDuration) return Unexpected("DURATION");
      e->offset_ns = Next().dur_ns;
    }
    return Status::OK();
  }

  Status LogRange(Expr* e) {
    if (IsPunct("(")) {
      ++i_;
      ASSIGN_OR_RETURN(e->selector.matchers, Selector());
      RETURN_IF_ERROR(Pipeline(&e->selector.stages, &e->unwrap));
      RETURN_IF_ERROR(Expect(")"));
      RETURN_IF_ERROR(RangeSuffix(e));
      return Status::OK();
    }
    ASSIGN_OR_RETURN(e->selector.matchers, Selector());
    if (IsPunct("[")) {
      RETURN_IF_ERROR(RangeSuffix(e));
      RETURN_IF_ERROR(Pipeline(&e->selector.stages, &e->unwrap));
      return Status::OK();
    }
    RETURN_IF_ERROR(Pipeline(&e->selector.stages, &e->unwrap));
    return RangeSuffix(e);
  }

  // ---- selectors and pipelines ----

  Result<std::vector<Matcher>> Selector() {
    RETURN_IF_ERROR(Expect("{"));
    std::vector<Matcher> out;
    while (!IsPunct("}")) {
      if (Peek().kind != Tok::kIdent) return Unexpected("IDENTIFIER");
      std::string name = Next().text;
      const Token& op = Peek();
      MatchType mt;
      if (IsPunct("=")) mt = MatchType::kEqual;
      else if (IsPunct("!=")) mt = MatchType::kNotEqual;
      else if (IsPunct("=~")) mt = MatchType::kRegexMatch;
      else if (IsPunct("!~")) mt = MatchType::kRegexNoMatch;
      else return Unexpected();
      ++i_;
      if (Peek().kind != Tok::kString) return Unexpected("STRING");
      std::string value = Next().text;
      auto m = Matcher::Make(mt, name, value);
      if (!m.ok()) return ErrAt(op, "error parsing regexp: " + m.status().message());
      out.push_back(std::move(*m));
      if (IsPunct(",")) { ++i_; continue; }
      if (!IsPunct("}")) return Unexpected("}");
    }
    ++i_;
    bool has_positive = false;
    for (const Matcher& m : out) has_positive |= !m.MatchesEmpty();
    if (!has_positive) {
      return ErrAt(Peek(), "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will");
    }
    return out;
  }

  Status Pipeline(std::vector<StagePtr>* stages, std::optional<Unwrap>* unwrap) {
    while (true) {
      const Token& t = Peek();
      if (t.kind != Tok::kPunct) return Status::OK();
      static const struct { const char* s; LineFilterOp op; } kLineOps[] = {
          {"|=", LineFilterOp::kContains}, {"!=", LineFilterOp::kNotContains}, {"|~", LineFilterOp::kMatch},
          {"!~", LineFilterOp::kNotMatch}, {"|>", LineFilterOp::kPattern}, {"!>", LineFilterOp::kNotPattern}};
      bool line_filter = false;
      for (const auto& lo : kLineOps) {
        if (t.text == lo.s) {
          ++i_;
          ASSIGN_OR_RETURN(StagePtr s, LineFilter(lo.op, t));
          stages->push_back(std::move(s));
          line_filter = true;
          break;
        }
      }
      if (line_filter) continue;
      if (t.text != "|") return Status::OK();
      if (unwrap && unwrap->has_value()) {
        // After unwrap only label filters are allowed.
        ++i_;
        ASSIGN_OR_RETURN(auto f, LabelFilterOr());
        (*unwrap)->post_filters.push_back(MakeLabelFilterStage(std::move(f)));
        continue;
      }
      ++i_;
      const Token& w = Peek();
      if (w.kind == Tok::kIdent && (!IsLabelFilterStart())) {
        ASSIGN_OR_RETURN(bool handled, NamedStage(stages, unwrap));
        if (handled) continue;
      }
      ASSIGN_OR_RETURN(auto f, LabelFilterOr());
      stages->push_back(MakeLabelFilterStage(std::move(f)));
    }
  }

  // True if the tokens after `|` read `name <op>` or `(`: a label filter.
  bool IsLabelFilterStart() const {
    if (IsPunct("(")) return true;
    if (Peek().kind != Tok::kIdent) return false;
    const Token& n = Peek(1);
    if (n.kind != Tok::kPunct) return false;
    static const std::set<std::string, std::less<>> kOps = {"=", "!=", "=~", "!~", "==", ">", ">=", "<", "<="};
    if (!kOps.contains(n.text)) return false;
    // `| label_format a=b` and `| drop a="b"` also have `ident =` after the keyword, but then the
    // keyword is followed by another identifier, not an operator.
    return true;
  }

  Result<StagePtr> LineFilter(LineFilterOp op, const Token& op_tok) {
    std::vector<LineFilterTerm> terms;
    while (true) {
      if (Peek().kind == Tok::kString) {
        terms.push_back({Next().text, false});
      } else if (IsIdent("ip") && IsPunct("(", 1)) {
        i_ += 2;
        if (Peek().kind != Tok::kString) return Unexpected("STRING");
        terms.push_back({Next().text, true});
        RETURN_IF_ERROR(Expect(")"));
      } else {
        return Unexpected("STRING");
      }
      if (IsIdent("or") && (Peek(1).kind == Tok::kString || (Peek(1).kind == Tok::kIdent && Peek(1).text == "ip"))) {
        ++i_;
        continue;
      }
      break;
    }
    auto s = MakeLineFilter(op, terms);
    if (!s.ok()) return ErrAt(op_tok, s.status().message());
    return s;
  }

  // Label extraction expressions: `a, b="path"`.
  Result<std::vector<std::pair<std::string, std::string>>> ExtractionExprs() {
    std::vector<std::pair<std::string, std::string>> out;
    while (Peek().kind == Tok::kIdent) {
      std::string name = Next().text;
      if (IsPunct("=")) {
        ++i_;
        if (Peek().kind != Tok::kString) return Unexpected("STRING");
        out.emplace_back(name, Next().text);
      } else {
        out.emplace_back(name, name);
      }
      if (!IsPunct(",")) break;
      ++i_;
    }
    return out;
  }

  Result<std::vector<NamedMatcher>> NamedMatchers() {
    std::vector<NamedMatcher> out;
    while (true) {
      if (Peek().kind != Tok::kIdent) return Unexpected("IDENTIFIER");
      NamedMatcher nm;
      nm.name = Next().text;
      MatchType mt;
      bool has_op = true;
      if (IsPunct("=")) mt = MatchType::kEqual;
      else if (IsPunct("!=")) mt = MatchType::kNotEqual;
      else if (IsPunct("=~")) mt = MatchType::kRegexMatch;
      else if (IsPunct("!~")) mt = MatchType::kRegexNoMatch;
      else has_op = false;
      if (has_op) {
        ++i_;
        if (Peek().kind != Tok::kString) return Unexpected("STRING");
        auto m = Matcher::Make(mt, nm.name, Next().text);
        if (!m.ok()) return ErrAt(Peek(), "error parsing regexp: " + m.status().message());
        nm.matcher = std::move(*m);
      }
      out.push_back(std::move(nm));
      if (!IsPunct(",")) break;
      ++i_;
    }
    return out;
  }

  // Returns false if the identifier is not a stage keyword (then it starts a label filter).
  Result<bool> NamedStage(std::vector<StagePtr>* stages, std::optional<Unwrap>* unwrap) {
    const Token& w = Peek();
    const std::string& k = w.text;
    auto wrap = [&](Result<StagePtr> r) -> Status {
      if (!r.ok()) return ErrAt(w, r.status().message());
      stages->push_back(std::move(*r));
      return Status::OK();
    };
    if (k == "json") {
      ++i_;
      ASSIGN_OR_RETURN(auto exprs, ExtractionExprs());
      RETURN_IF_ERROR(wrap(MakeJsonParser(exprs)));
      return true;
    }
    if (k == "logfmt") {
      ++i_;
      bool strict = false, keep_empty = false;
      while (Peek().kind == Tok::kFlag) {
        const Token& f = Next();
        if (f.text == "strict") strict = true;
        else if (f.text == "keep-empty") keep_empty = true;
        else return ErrAt(f, "syntax error: unexpected --" + f.text);
      }
      ASSIGN_OR_RETURN(auto exprs, ExtractionExprs());
      RETURN_IF_ERROR(wrap(MakeLogfmtParser(strict, keep_empty, exprs)));
      return true;
    }
    if (k == "regexp" || k == "pattern" || k == "line_format") {
      ++i_;
      if (Peek().kind != Tok::kString) return Unexpected("STRING");
      std::string arg = Next().text;
      if (k == "regexp") RETURN_IF_ERROR(wrap(MakeRegexpParser(arg)));
      else if (k == "pattern") RETURN_IF_ERROR(wrap(MakePatternParser(arg)));
      else RETURN_IF_ERROR(wrap(MakeLineFormat(arg)));
      return true;
    }
    if (k == "unpack") {
      ++i_;
      stages->push_back(MakeUnpackParser());
      return true;
    }
    if (k == "decolorize") {
      ++i_;
      stages->push_back(MakeDecolorize());
      return true;
    }
    if (k == "label_format") {
      ++i_;
      std::vector<LabelFormatSpec> specs;
      while (true) {
        if (Peek().kind != Tok::kIdent) return Unexpected("IDENTIFIER");
        LabelFormatSpec s;
        s.dst = Next().text;
        RETURN_IF_ERROR(Expect("="));
        if (Peek().kind == Tok::kIdent) {
          s.rename = true;
          s.value = Next().text;
        } else if (Peek().kind == Tok::kString) {
          s.value = Next().text;
        } else {
          return Unexpected("STRING");
        }
        for (const LabelFormatSpec& prev : specs) {
          if (prev.dst == s.dst) {
            return ErrAt(w, "multiple label name '" + s.dst + "' not allowed in a single format operation");
          }
        }
        specs.push_back(std::move(s));
        if (!IsPunct(",")) break;
        ++i_;
      }
      RETURN_IF_ERROR(wrap(MakeLabelFormat(specs)));
      return true;
    }
    if (k == "drop" || k == "keep") {
      ++i_;
      ASSIGN_OR_RETURN(auto names, NamedMatchers());
      stages->push_back(k == "drop" ? MakeDrop(std::move(names)) : MakeKeep(std::move(names)));
      return true;
    }
    if (k == "unwrap") {
      if (!unwrap) return ErrAt(w, "syntax error: unexpected unwrap");
      ++i_;
      Unwrap u;
      if ((IsIdent("duration") || IsIdent("duration_seconds") || IsIdent("bytes")) && IsPunct("(", 1)) {
        u.conversion = Next().text == "bytes" ? Unwrap::Conversion::kBytes : Unwrap::Conversion::kDuration;
        ++i_;
        if (Peek().kind != Tok::kIdent) return Unexpected("IDENTIFIER");
        u.label = Next().text;
        RETURN_IF_ERROR(Expect(")"));
      } else {
        if (Peek().kind != Tok::kIdent) return Unexpected("IDENTIFIER");
        u.label = Next().text;
      }
      *unwrap = std::move(u);
      return true;
    }
    return false;
  }

  Result<std::shared_ptr<const LabelFilter>> LabelFilterOr() {
    ASSIGN_OR_RETURN(auto l, LabelFilterAnd());
    while (IsIdent("or")) {
      ++i_;
      ASSIGN_OR_RETURN(auto r, LabelFilterAnd());
      auto n = std::make_shared<LabelFilter>();
      n->kind = LabelFilter::Kind::kOr;
      n->left = l;
      n->right = r;
      l = n;
    }
    return l;
  }

  Result<std::shared_ptr<const LabelFilter>> LabelFilterAnd() {
    ASSIGN_OR_RETURN(auto l, LabelFilterPrimary());
    while (true) {
      if (IsIdent("and") || IsPunct(",")) {
        ++i_;
      } else if (!(IsPunct("(") || (Peek().kind == Tok::kIdent && !IsIdent("or") && !IsIdent("offset")))) {
        break;
      }
      ASSIGN_OR_RETURN(auto r, LabelFilterPrimary());
      auto n = std::make_shared<LabelFilter>();
      n->kind = LabelFilter::Kind::kAnd;
      n->left = l;
      n->right = r;
      l = n;
    }
    return l;
  }

  Result<std::shared_ptr<const LabelFilter>> LabelFilterPrimary() {
    if (IsPunct("(")) {
      ++i_;
      ASSIGN_OR_RETURN(auto f, LabelFilterOr());
      RETURN_IF_ERROR(Expect(")"));
      return f;
    }
    if (Peek().kind != Tok::kIdent) return Unexpected("IDENTIFIER");
    auto f = std::make_shared<LabelFilter>();
    f->name = Next().text;
    const Token& op = Peek();
    if (op.kind != Tok::kPunct) return Unexpected();
    std::string o = op.text;
    ++i_;
    bool str_op = o == "=~" || o == "!~";
    const Token& v = Peek();
    if (v.kind == Tok::kString) {
      if (!(o == "=" || o == "!=" || str_op)) return Unexpected();
      ++i_;
      MatchType mt = o == "=" ? MatchType::kEqual : o == "!=" ? MatchType::kNotEqual
                     : o == "=~" ? MatchType::kRegexMatch : MatchType::kRegexNoMatch;
      auto m = Matcher::Make(mt, f->name, v.text);
      if (!m.ok()) return ErrAt(v, "error parsing regexp: " + m.status().message());
      f->kind = LabelFilter::Kind::kString;
      f->matcher = std::move(*m);
      return std::shared_ptr<const LabelFilter>(f);
    }
    if (v.kind == Tok::kIdent && v.text == "ip") {
      if (!(o == "=" || o == "!=")) return Unexpected();
      ++i_;
      RETURN_IF_ERROR(Expect("("));
      if (Peek().kind != Tok::kString) return Unexpected("STRING");
      const Token& pat = Next();
      RETURN_IF_ERROR(Expect(")"));
      auto r = ParseIpPattern(pat.text);
      if (!r.ok()) return ErrAt(pat, r.status().message());
      f->kind = LabelFilter::Kind::kIp;
      f->ip = *r;
      f->cmp = o == "=" ? LabelFilter::Cmp::kEq : LabelFilter::Cmp::kNe;
      return std::shared_ptr<const LabelFilter>(f);
    }
    if (str_op) return Unexpected("STRING");
    static const struct { const char* s; LabelFilter::Cmp c; } kCmps[] = {
        {"=", LabelFilter::Cmp::kEq}, {"==", LabelFilter::Cmp::kEq}, {"!=", LabelFilter::Cmp::kNe},
        {">", LabelFilter::Cmp::kGt}, {">=", LabelFilter::Cmp::kGe}, {"<", LabelFilter::Cmp::kLt},
        {"<=", LabelFilter::Cmp::kLe}};
    bool found = false;
    for (const auto& c : kCmps) {
      if (o == c.s) { f->cmp = c.c; found = true; }
    }
    if (!found) {
      --i_;
      return Unexpected();
    }
    bool neg = false;
    if (IsPunct("-") && Peek(1).kind == Tok::kNumber) {
      neg = true;
      ++i_;
    }
    const Token& val = Peek();
    if (val.kind == Tok::kNumber) {
      f->kind = LabelFilter::Kind::kNumber;
      f->number = neg ? -val.num : val.num;
    } else if (val.kind == Tok::kDuration) {
      f->kind = LabelFilter::Kind::kDuration;
      f->number = static_cast<double>(val.dur_ns);
    } else if (val.kind == Tok::kBytes) {
      f->kind = LabelFilter::Kind::kBytes;
      f->number = val.num;
    } else {
      return Unexpected();
    }
    ++i_;
    return std::shared_ptr<const LabelFilter>(f);
  }

  std::vector<Token> t_;
  size_t i_ = 0;
};

}  // namespace

Result<ExprPtr> ParseExpr(std::string_view query) {
  Lexer lx(query);
  ASSIGN_OR_RETURN(auto toks, lx.Run());
  Parser p(std::move(toks));
  return p.ParseQuery();
}

Result<std::vector<Matcher>> ParseSelector(std::string_view selector) {
  Lexer lx(selector);
  ASSIGN_OR_RETURN(auto toks, lx.Run());
  Parser p(std::move(toks));
  return p.ParseSelectorOnly();
}

}  // namespace argus::logql
