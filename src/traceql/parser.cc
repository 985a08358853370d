// The parser works in two steps. First a precedence-climbing parser reads the query into a
// loose tree of pipeline-level nodes (PNode): spanset filters, parenthesized groups, numbers,
// aggregates, by/select/coalesce, metrics functions and binary operators, with Tempo's
// precedence. Then "lowering" checks that tree against the grammar's categories (spanset
// expression, pipeline, scalar filter, metrics query, metrics arithmetic, ...) and builds the
// AST. The grammar is ambiguous at the token level (`>` is both "greater" and "child", `(`
// opens a spanset, a pipeline, a scalar pipeline or a metrics query), and deciding by shape
// after the fact keeps each rule in one place.
#include "traceql/parser.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <cmath>
#include <optional>
#include <utility>
#include <vector>

#include "traceql/lexer.h"

namespace argus::traceql {
namespace {

Status SyntaxError(const Token& t, std::string_view what) {
  return Status::InvalidArgument(
      fmt::format("parse error at line {}, col {}: {}", t.line, t.col, what));
}

std::unique_ptr<FieldExpr> Clone(const FieldExpr& e) {
  auto c = std::make_unique<FieldExpr>();
  c->kind = e.kind;
  c->value = e.value;
  c->attr = e.attr;
  c->op = e.op;
  if (e.lhs) c->lhs = Clone(*e.lhs);
  if (e.rhs) c->rhs = Clone(*e.rhs);
  return c;
}

std::unique_ptr<FieldExpr> MakeStatic(Static v) {
  auto e = std::make_unique<FieldExpr>();
  e->kind = FieldExpr::Kind::kStatic;
  e->value = std::move(v);
  return e;
}

// ---------------------------------------------------------------------------------------
// Pipeline-level nodes.

struct PNode {
  enum class Kind {
    kFilter, kParen, kNumber, kStatic, kAggregate, kGroupBy, kSelect, kCoalesce,
    kMetricsFn, kSecondStage, kBinary,
  };
  Kind kind = Kind::kFilter;
  Token tok;                          // first token, for error positions
  std::unique_ptr<FieldExpr> field;   // kFilter, kGroupBy, kAggregate's argument
  Static value;                       // kNumber, kStatic
  AggregateOp agg = AggregateOp::kCount;
  std::vector<Attribute> attrs;       // kSelect
  MetricsFn fn = MetricsFn::kRate;    // kMetricsFn
  std::optional<Attribute> fn_attr;
  std::vector<double> quantiles;
  std::vector<Attribute> by;
  std::unique_ptr<FieldExpr> compare_filter;
  int64_t compare_args[3] = {10, 0, 0};
  SecondStage::Kind second = SecondStage::Kind::kTopK;  // kSecondStage
  int64_t k = 0;
  Tok op = Tok::kEof;                 // kBinary
  std::unique_ptr<PNode> lhs, rhs;    // kBinary; kParen uses lhs
};

int PipelinePrec(Tok t) {
  switch (t) {
    case Tok::kPipe: return 1;
    case Tok::kAnd: case Tok::kOr: return 2;
    case Tok::kEq: case Tok::kNeq: case Tok::kLt: case Tok::kLte: case Tok::kGt:
    case Tok::kGte: case Tok::kRe: case Tok::kNre: case Tok::kDesc: case Tok::kAnce:
    case Tok::kSibl: case Tok::kNotChild: case Tok::kNotParent: case Tok::kNotDesc:
    case Tok::kNotAnce: case Tok::kUnionSibl: case Tok::kUnionChild: case Tok::kUnionParent:
    case Tok::kUnionDesc: case Tok::kUnionAnce:
      return 3;
    case Tok::kAdd: case Tok::kSub: return 4;
    case Tok::kMul: case Tok::kDiv: case Tok::kMod: return 6;
    case Tok::kPow: return 7;
    default: return 0;
  }
}

int FieldPrec(Tok t) {
  switch (t) {
    case Tok::kAnd: case Tok::kOr: return 2;
    case Tok::kEq: case Tok::kNeq: case Tok::kLt: case Tok::kLte: case Tok::kGt:
    case Tok::kGte: case Tok::kRe: case Tok::kNre:
      return 3;
    case Tok::kAdd: case Tok::kSub: return 4;
    case Tok::kMul: case Tok::kDiv: case Tok::kMod: return 6;
    case Tok::kPow: return 7;
    default: return 0;
  }
}

Op FieldOp(Tok t) {
  switch (t) {
    case Tok::kAnd: return Op::kAnd;
    case Tok::kOr: return Op::kOr;
    case Tok::kEq: return Op::kEq;
    case Tok::kNeq: return Op::kNeq;
    case Tok::kLt: return Op::kLt;
    case Tok::kLte: return Op::kLte;
    case Tok::kGt: return Op::kGt;
    case Tok::kGte: return Op::kGte;
    case Tok::kRe: return Op::kRegex;
    case Tok::kNre: return Op::kNotRegex;
    case Tok::kAdd: return Op::kAdd;
    case Tok::kSub: return Op::kSub;
    case Tok::kMul: return Op::kMul;
    case Tok::kDiv: return Op::kDiv;
    case Tok::kMod: return Op::kMod;
    default: return Op::kPow;
  }
}

std::optional<SpansetOp> SpansetOpOf(Tok t) {
  switch (t) {
    case Tok::kAnd: return SpansetOp::kAnd;
    case Tok::kOr: return SpansetOp::kUnion;
    case Tok::kGt: return SpansetOp::kChild;
    case Tok::kLt: return SpansetOp::kParent;
    case Tok::kDesc: return SpansetOp::kDescendant;
    case Tok::kAnce: return SpansetOp::kAncestor;
    case Tok::kSibl: return SpansetOp::kSibling;
    case Tok::kNotChild: return SpansetOp::kNotChild;
    case Tok::kNotParent: return SpansetOp::kNotParent;
    case Tok::kNotDesc: return SpansetOp::kNotDescendant;
    case Tok::kNotAnce: return SpansetOp::kNotAncestor;
    case Tok::kNre: return SpansetOp::kNotSibling;
    case Tok::kUnionChild: return SpansetOp::kUnionChild;
    case Tok::kUnionParent: return SpansetOp::kUnionParent;
    case Tok::kUnionDesc: return SpansetOp::kUnionDescendant;
    case Tok::kUnionAnce: return SpansetOp::kUnionAncestor;
    case Tok::kUnionSibl: return SpansetOp::kUnionSibling;
    default: return std::nullopt;
  }
}

bool IsScalarCmp(Tok t) {
  return t == Tok::kEq || t == Tok::kNeq || t == Tok::kLt || t == Tok::kLte || t == Tok::kGt ||
         t == Tok::kGte;
}
bool IsScalarArith(Tok t) {
  return t == Tok::kAdd || t == Tok::kSub || t == Tok::kMul || t == Tok::kDiv || t == Tok::kMod ||
         t == Tok::kPow;
}
bool IsMetricsArith(Tok t) {
  return t == Tok::kAdd || t == Tok::kSub || t == Tok::kMul || t == Tok::kDiv;
}

std::optional<Static> StaticOf(const Token& t) {
  switch (t.tok) {
    case Tok::kString: return Static::String(t.text);
    case Tok::kInteger: return Static::Int(t.i);
    case Tok::kFloat: return Static::Float(t.f);
    case Tok::kDuration: return Static::Duration(t.i);
    case Tok::kTrue: return Static::Bool(true);
    case Tok::kFalse: return Static::Bool(false);
    case Tok::kNil: return Static::Nil();
    case Tok::kStatusOk: return Static::Status(SpanStatus::kOk);
    case Tok::kStatusError: return Static::Status(SpanStatus::kError);
    case Tok::kStatusUnset: return Static::Status(SpanStatus::kUnset);
    case Tok::kKindUnspecified: return Static::Kind(SpanKind::kUnspecified);
    case Tok::kKindInternal: return Static::Kind(SpanKind::kInternal);
    case Tok::kKindServer: return Static::Kind(SpanKind::kServer);
    case Tok::kKindClient: return Static::Kind(SpanKind::kClient);
    case Tok::kKindProducer: return Static::Kind(SpanKind::kProducer);
    case Tok::kKindConsumer: return Static::Kind(SpanKind::kConsumer);
    default: return std::nullopt;
  }
}

std::optional<Intrinsic> UnscopedIntrinsic(Tok t) {
  switch (t) {
    case Tok::kIDuration: return Intrinsic::kDuration;
    case Tok::kChildCount: return Intrinsic::kChildCount;
    case Tok::kName: return Intrinsic::kName;
    case Tok::kStatus: return Intrinsic::kStatus;
    case Tok::kStatusMessage: return Intrinsic::kStatusMessage;
    case Tok::kKind: return Intrinsic::kKind;
    case Tok::kParent: return Intrinsic::kParent;
    case Tok::kRootName: return Intrinsic::kTraceRootName;
    case Tok::kRootServiceName: return Intrinsic::kTraceRootService;
    case Tok::kTraceDuration: return Intrinsic::kTraceDuration;
    case Tok::kNestedSetLeft: return Intrinsic::kNestedSetLeft;
    case Tok::kNestedSetRight: return Intrinsic::kNestedSetRight;
    case Tok::kNestedSetParent: return Intrinsic::kNestedSetParent;
    default: return std::nullopt;
  }
}

std::optional<Intrinsic> ScopedIntrinsic(Tok scope, Tok t) {
  switch (scope) {
    case Tok::kTraceColon:
      if (t == Tok::kIDuration) return Intrinsic::kTraceDuration;
      if (t == Tok::kRootName) return Intrinsic::kTraceRootName;
      if (t == Tok::kRootService) return Intrinsic::kTraceRootService;
      if (t == Tok::kId) return Intrinsic::kTraceID;
      break;
    case Tok::kSpanColon:
      if (t == Tok::kIDuration) return Intrinsic::kDuration;
      if (t == Tok::kName) return Intrinsic::kName;
      if (t == Tok::kKind) return Intrinsic::kKind;
      if (t == Tok::kStatus) return Intrinsic::kStatus;
      if (t == Tok::kStatusMessage) return Intrinsic::kStatusMessage;
      if (t == Tok::kId) return Intrinsic::kSpanID;
      if (t == Tok::kParentId) return Intrinsic::kParentID;
      if (t == Tok::kChildCount) return Intrinsic::kChildCount;
      break;
    case Tok::kEventColon:
      if (t == Tok::kName) return Intrinsic::kEventName;
      if (t == Tok::kTimeSinceStart) return Intrinsic::kEventTimeSinceStart;
      break;
    case Tok::kLinkColon:
      if (t == Tok::kTraceId) return Intrinsic::kLinkTraceID;
      if (t == Tok::kSpanId) return Intrinsic::kLinkSpanID;
      break;
    case Tok::kInstrumentationColon:
      if (t == Tok::kName) return Intrinsic::kInstrumentationName;
      if (t == Tok::kVersion) return Intrinsic::kInstrumentationVersion;
      break;
    default:
      break;
  }
  return std::nullopt;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : toks_(std::move(toks)) {}

  Result<std::unique_ptr<RootExpr>> ParseRoot();

 private:
  const Token& Peek(size_t ahead = 0) const {
    size_t i = std::min(pos_ + ahead, toks_.size() - 1);
    return toks_[i];
  }
  const Token& Take() {
    const Token& t = toks_[std::min(pos_, toks_.size() - 1)];
    if (pos_ < toks_.size() - 1) ++pos_;
    return t;
  }
  Status Expect(Tok t, std::string_view what) {
    if (Peek().tok != t) return Unexpected(what);
    Take();
    return Status::OK();
  }
  Status Unexpected(std::string_view expecting) const {
    return SyntaxError(Peek(), fmt::format("unexpected {}, expecting {}", DescribeToken(Peek()),
                                           expecting));
  }

  Result<std::unique_ptr<PNode>> ParsePipelineExpr(int min_prec);
  Result<std::unique_ptr<PNode>> ParsePipelinePrimary();
  Result<std::unique_ptr<FieldExpr>> ParseField(int min_prec);
  Result<std::unique_ptr<FieldExpr>> ParseFieldUnary();
  Result<std::unique_ptr<FieldExpr>> ParseFieldPrimary();
  // Parses an intrinsic, scoped intrinsic or attribute if the next token starts one.
  Result<std::optional<Attribute>> TryParseAttribute();
  Result<Attribute> ParseAttribute();
  Result<std::vector<Attribute>> ParseAttributeList();
  Result<std::unique_ptr<FieldExpr>> ParseSpansetFilter();

  std::vector<Token> toks_;
  size_t pos_ = 0;
};

Result<std::unique_ptr<FieldExpr>> Parser::ParseSpansetFilter() {
  RETURN_IF_ERROR(Expect(Tok::kOpenBrace, "\"{\""));
  if (Peek().tok == Tok::kCloseBrace) {
    Take();
    return MakeStatic(Static::Bool(true));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<FieldExpr> e, ParseField(1));
  RETURN_IF_ERROR(Expect(Tok::kCloseBrace, "\"}\" or an operator"));
  return e;
}

Result<std::unique_ptr<FieldExpr>> Parser::ParseField(int min_prec) {
  ASSIGN_OR_RETURN(std::unique_ptr<FieldExpr> lhs, ParseFieldUnary());
  for (;;) {
    Tok t = Peek().tok;
    int prec = FieldPrec(t);
    if (prec == 0 || prec < min_prec) return lhs;
    Take();
    ASSIGN_OR_RETURN(std::unique_ptr<FieldExpr> rhs, ParseField(t == Tok::kPow ? prec : prec + 1));
    auto b = std::make_unique<FieldExpr>();
    b->kind = FieldExpr::Kind::kBinary;
    b->op = FieldOp(t);
    b->lhs = std::move(lhs);
    b->rhs = std::move(rhs);
    lhs = std::move(b);
  }
}

Result<std::unique_ptr<FieldExpr>> Parser::ParseFieldUnary() {
  Tok t = Peek().tok;
  if (t == Tok::kSub || t == Tok::kNot) {
    Take();
    // Prefix `-` has the precedence of binary `-`, prefix `!` its own level just above it:
    // both bind tighter than `+ -` and looser than `* / % ^`.
    ASSIGN_OR_RETURN(std::unique_ptr<FieldExpr> operand, ParseField(5));
    auto u = std::make_unique<FieldExpr>();
    u->kind = FieldExpr::Kind::kUnary;
    u->op = t == Tok::kSub ? Op::kNeg : Op::kNot;
    u->lhs = std::move(operand);
    return u;
  }
  return ParseFieldPrimary();
}

Result<std::unique_ptr<FieldExpr>> Parser::ParseFieldPrimary() {
  if (Peek().tok == Tok::kOpenParens) {
    Take();
    ASSIGN_OR_RETURN(std::unique_ptr<FieldExpr> e, ParseField(1));
    RETURN_IF_ERROR(Expect(Tok::kCloseParens, "\")\" or an operator"));
    return e;
  }
  if (auto s = StaticOf(Peek())) {
    Take();
    return MakeStatic(*s);
  }
  ASSIGN_OR_RETURN(std::optional<Attribute> a, TryParseAttribute());
  if (!a) return Unexpected("a field expression");
  auto e = std::make_unique<FieldExpr>();
  e->kind = FieldExpr::Kind::kAttribute;
  e->attr = std::move(*a);
  return e;
}

Result<std::optional<Attribute>> Parser::TryParseAttribute() {
  Tok t = Peek().tok;
  if (auto in = UnscopedIntrinsic(t)) {
    Take();
    Attribute a;
    a.intrinsic = *in;
    return std::optional<Attribute>(a);
  }
  switch (t) {
    case Tok::kTraceColon: case Tok::kSpanColon: case Tok::kEventColon: case Tok::kLinkColon:
    case Tok::kInstrumentationColon: {
      Take();
      auto in = ScopedIntrinsic(t, Peek().tok);
      if (!in) return Unexpected("an intrinsic of this scope");
      Take();
      Attribute a;
      a.intrinsic = *in;
      return std::optional<Attribute>(a);
    }
    case Tok::kDot: case Tok::kResourceDot: case Tok::kSpanDot: case Tok::kParentDot:
    case Tok::kEventDot: case Tok::kLinkDot: case Tok::kInstrumentationDot: {
      Take();
      Attribute a;
      switch (t) {
        case Tok::kResourceDot: a.scope = AttributeScope::kResource; break;
        case Tok::kSpanDot: a.scope = AttributeScope::kSpan; break;
        case Tok::kEventDot: a.scope = AttributeScope::kEvent; break;
        case Tok::kLinkDot: a.scope = AttributeScope::kLink; break;
        case Tok::kInstrumentationDot: a.scope = AttributeScope::kInstrumentation; break;
        default: break;
      }
      if (t == Tok::kParentDot) {
        a.parent = true;
        if (Peek().tok == Tok::kResourceDot) {
          Take();
          a.scope = AttributeScope::kResource;
        } else if (Peek().tok == Tok::kSpanDot) {
          Take();
          a.scope = AttributeScope::kSpan;
        }
      }
      if (Peek().tok != Tok::kIdentifier) return Unexpected("an attribute name");
      a.name = Take().text;
      RETURN_IF_ERROR(Expect(Tok::kEndAttribute, "the end of the attribute name"));
      return std::optional<Attribute>(a);
    }
    default:
      return std::optional<Attribute>();
  }
}

Result<Attribute> Parser::ParseAttribute() {
  ASSIGN_OR_RETURN(std::optional<Attribute> a, TryParseAttribute());
  if (!a) return Unexpected("an attribute or intrinsic");
  return std::move(*a);
}

Result<std::vector<Attribute>> Parser::ParseAttributeList() {
  std::vector<Attribute> out;
  RETURN_IF_ERROR(Expect(Tok::kOpenParens, "\"(\""));
  for (;;) {
    ASSIGN_OR_RETURN(Attribute a, ParseAttribute());
    out.push_back(std::move(a));
    if (Peek().tok == Tok::kComma) {
      Take();
      continue;
    }
    RETURN_IF_ERROR(Expect(Tok::kCloseParens, "\",\" or \")\""));
    return out;
  }
}

Result<std::unique_ptr<PNode>> Parser::ParsePipelineExpr(int min_prec) {
  ASSIGN_OR_RETURN(std::unique_ptr<PNode> lhs, ParsePipelinePrimary());
  for (;;) {
    const Token& t = Peek();
    int prec = PipelinePrec(t.tok);
    if (prec == 0 || prec < min_prec) return lhs;
    Token op = Take();
    ASSIGN_OR_RETURN(std::unique_ptr<PNode> rhs,
                     ParsePipelineExpr(op.tok == Tok::kPow ? prec : prec + 1));
    auto b = std::make_unique<PNode>();
    b->kind = PNode::Kind::kBinary;
    b->tok = op;
    b->op = op.tok;
    b->lhs = std::move(lhs);
    b->rhs = std::move(rhs);
    lhs = std::move(b);
  }
}

Result<std::unique_ptr<PNode>> Parser::ParsePipelinePrimary() {
  auto n = std::make_unique<PNode>();
  n->tok = Peek();
  Tok t = Peek().tok;
  switch (t) {
    case Tok::kOpenBrace: {
      n->kind = PNode::Kind::kFilter;
      ASSIGN_OR_RETURN(n->field, ParseSpansetFilter());
      return n;
    }
    case Tok::kOpenParens: {
      Take();
      n->kind = PNode::Kind::kParen;
      ASSIGN_OR_RETURN(n->lhs, ParsePipelineExpr(1));
      RETURN_IF_ERROR(Expect(Tok::kCloseParens, "\")\" or an operator"));
      return n;
    }
    case Tok::kInteger: case Tok::kFloat: case Tok::kDuration:
      n->kind = PNode::Kind::kNumber;
      n->value = *StaticOf(Take());
      return n;
    case Tok::kSub: {
      Take();
      Tok nt = Peek().tok;
      if (nt != Tok::kInteger && nt != Tok::kFloat && nt != Tok::kDuration) {
        return Unexpected("a number after \"-\"");
      }
      n->kind = PNode::Kind::kNumber;
      n->value = *StaticOf(Take());
      if (n->value.type == StaticType::kFloat) {
        n->value.f = -n->value.f;
      } else {
        n->value.i = -n->value.i;
      }
      return n;
    }
    case Tok::kCount: case Tok::kAvg: case Tok::kMax: case Tok::kMin: case Tok::kSum: {
      Take();
      n->kind = PNode::Kind::kAggregate;
      n->agg = t == Tok::kCount ? AggregateOp::kCount : t == Tok::kAvg ? AggregateOp::kAvg
               : t == Tok::kMax ? AggregateOp::kMax : t == Tok::kMin ? AggregateOp::kMin
                                : AggregateOp::kSum;
      RETURN_IF_ERROR(Expect(Tok::kOpenParens, "\"(\""));
      if (t != Tok::kCount) {
        ASSIGN_OR_RETURN(n->field, ParseField(1));
      }
      RETURN_IF_ERROR(Expect(Tok::kCloseParens, "\")\""));
      return n;
    }
    case Tok::kBy: {
      Take();
      n->kind = PNode::Kind::kGroupBy;
      RETURN_IF_ERROR(Expect(Tok::kOpenParens, "\"(\""));
      ASSIGN_OR_RETURN(n->field, ParseField(1));
      RETURN_IF_ERROR(Expect(Tok::kCloseParens, "\")\""));
      return n;
    }
    case Tok::kSelect: {
      Take();
      n->kind = PNode::Kind::kSelect;
      ASSIGN_OR_RETURN(n->attrs, ParseAttributeList());
      return n;
    }
    case Tok::kCoalesce: {
      Take();
      n->kind = PNode::Kind::kCoalesce;
      RETURN_IF_ERROR(Expect(Tok::kOpenParens, "\"(\""));
      RETURN_IF_ERROR(Expect(Tok::kCloseParens, "\")\""));
      return n;
    }
    case Tok::kTopK: case Tok::kBottomK: {
      Take();
      n->kind = PNode::Kind::kSecondStage;
      n->second = t == Tok::kTopK ? SecondStage::Kind::kTopK : SecondStage::Kind::kBottomK;
      RETURN_IF_ERROR(Expect(Tok::kOpenParens, "\"(\""));
      if (Peek().tok != Tok::kInteger) return Unexpected("an integer");
      n->k = Take().i;
      RETURN_IF_ERROR(Expect(Tok::kCloseParens, "\")\""));
      return n;
    }
    case Tok::kRate: case Tok::kCountOverTime: case Tok::kMinOverTime: case Tok::kMaxOverTime:
    case Tok::kAvgOverTime: case Tok::kSumOverTime: case Tok::kQuantileOverTime:
    case Tok::kHistogramOverTime: case Tok::kCompare: {
      Take();
      n->kind = PNode::Kind::kMetricsFn;
      n->fn = t == Tok::kRate ? MetricsFn::kRate
              : t == Tok::kCountOverTime ? MetricsFn::kCountOverTime
              : t == Tok::kMinOverTime ? MetricsFn::kMinOverTime
              : t == Tok::kMaxOverTime ? MetricsFn::kMaxOverTime
              : t == Tok::kAvgOverTime ? MetricsFn::kAvgOverTime
              : t == Tok::kSumOverTime ? MetricsFn::kSumOverTime
              : t == Tok::kQuantileOverTime ? MetricsFn::kQuantileOverTime
              : t == Tok::kHistogramOverTime ? MetricsFn::kHistogramOverTime
                                             : MetricsFn::kCompare;
      RETURN_IF_ERROR(Expect(Tok::kOpenParens, "\"(\""));
      if (n->fn == MetricsFn::kCompare) {
        ASSIGN_OR_RETURN(n->compare_filter, ParseSpansetFilter());
        if (Peek().tok == Tok::kComma) {
          Take();
          if (Peek().tok != Tok::kInteger) return Unexpected("an integer");
          n->compare_args[0] = Take().i;
          if (Peek().tok == Tok::kComma) {
            for (int k = 1; k < 3; ++k) {
              RETURN_IF_ERROR(Expect(Tok::kComma, "\",\""));
              if (Peek().tok != Tok::kInteger) return Unexpected("an integer");
              n->compare_args[k] = Take().i;
            }
          }
        }
      } else if (n->fn != MetricsFn::kRate && n->fn != MetricsFn::kCountOverTime) {
        ASSIGN_OR_RETURN(Attribute a, ParseAttribute());
        n->fn_attr = std::move(a);
        if (n->fn == MetricsFn::kQuantileOverTime) {
          RETURN_IF_ERROR(Expect(Tok::kComma, "\",\" and the quantiles"));
          for (;;) {
            const Token& q = Peek();
            if (q.tok == Tok::kInteger) {
              n->quantiles.push_back(static_cast<double>(q.i));
            } else if (q.tok == Tok::kFloat) {
              n->quantiles.push_back(q.f);
            } else {
              return Unexpected("a quantile");
            }
            Take();
            if (Peek().tok != Tok::kComma) break;
            Take();
          }
        }
      }
      RETURN_IF_ERROR(Expect(Tok::kCloseParens, "\")\""));
      if (n->fn != MetricsFn::kCompare && Peek().tok == Tok::kBy) {
        Take();
        ASSIGN_OR_RETURN(n->by, ParseAttributeList());
      }
      return n;
    }
    default:
      if (auto s = StaticOf(Peek())) {
        Take();
        n->kind = PNode::Kind::kStatic;
        n->value = *s;
        return n;
      }
      return Unexpected("\"{\", \"(\" or a pipeline stage");
  }
}

// ---------------------------------------------------------------------------------------
// Lowering: PNode tree -> AST, enforcing the grammar's categories.

void FlattenPipes(const PNode& n, std::vector<const PNode*>* out) {
  if (n.kind == PNode::Kind::kBinary && n.op == Tok::kPipe) {
    FlattenPipes(*n.lhs, out);
    FlattenPipes(*n.rhs, out);
  } else {
    out->push_back(&n);
  }
}

Status NotHere(const PNode& n, std::string_view what) {
  return SyntaxError(n.tok, fmt::format("unexpected {} here: {}", DescribeToken(n.tok), what));
}

Result<std::unique_ptr<SpansetExpr>> LowerSpanset(const PNode& n) {
  switch (n.kind) {
    case PNode::Kind::kFilter: {
      auto s = std::make_unique<SpansetExpr>();
      s->kind = SpansetExpr::Kind::kFilter;
      s->filter = Clone(*n.field);
      return s;
    }
    case PNode::Kind::kParen:
      return LowerSpanset(*n.lhs);
    case PNode::Kind::kBinary: {
      auto op = SpansetOpOf(n.op);
      if (!op) break;
      ASSIGN_OR_RETURN(std::unique_ptr<SpansetExpr> l, LowerSpanset(*n.lhs));
      ASSIGN_OR_RETURN(std::unique_ptr<SpansetExpr> r, LowerSpanset(*n.rhs));
      auto s = std::make_unique<SpansetExpr>();
      s->kind = SpansetExpr::Kind::kOp;
      s->op = *op;
      s->lhs = std::move(l);
      s->rhs = std::move(r);
      return s;
    }
    default:
      break;
  }
  return NotHere(n, "expecting a spanset expression");
}

Result<ScalarExpr> LowerScalarExpr(const PNode& n) {
  ScalarExpr e;
  switch (n.kind) {
    case PNode::Kind::kParen:
      return LowerScalarExpr(*n.lhs);
    case PNode::Kind::kNumber:
      e.kind = ScalarExpr::Kind::kStatic;
      e.value = n.value;
      return e;
    case PNode::Kind::kAggregate:
      e.kind = ScalarExpr::Kind::kAggregate;
      e.aggregate.op = n.agg;
      if (n.field) e.aggregate.expr = Clone(*n.field);
      return e;
    case PNode::Kind::kBinary: {
      if (!IsScalarArith(n.op)) break;
      ASSIGN_OR_RETURN(ScalarExpr l, LowerScalarExpr(*n.lhs));
      ASSIGN_OR_RETURN(ScalarExpr r, LowerScalarExpr(*n.rhs));
      e.kind = ScalarExpr::Kind::kBinary;
      e.op = FieldOp(n.op);
      e.lhs = std::make_unique<ScalarExpr>(std::move(l));
      e.rhs = std::make_unique<ScalarExpr>(std::move(r));
      return e;
    }
    default:
      break;
  }
  return NotHere(n, "expecting an aggregate or a number");
}

Result<std::unique_ptr<ScalarFilter>> LowerScalarFilter(const PNode& n) {
  if (n.kind != PNode::Kind::kBinary || !IsScalarCmp(n.op)) {
    return NotHere(n, "expecting a scalar filter such as count() > 1");
  }
  ASSIGN_OR_RETURN(ScalarExpr l, LowerScalarExpr(*n.lhs));
  ASSIGN_OR_RETURN(ScalarExpr r, LowerScalarExpr(*n.rhs));
  if (l.CountAggregates() + r.CountAggregates() == 0) {
    return NotHere(n, "a scalar filter compares an aggregate such as count() or avg(duration)");
  }
  auto f = std::make_unique<ScalarFilter>();
  f->op = FieldOp(n.op);
  f->lhs = std::move(l);
  f->rhs = std::move(r);
  return f;
}

Result<PipelineStage> LowerStage(const PNode& n, bool first) {
  PipelineStage st;
  switch (n.kind) {
    case PNode::Kind::kGroupBy:
      st.kind = PipelineStage::Kind::kGroupBy;
      st.group_by = Clone(*n.field);
      return st;
    case PNode::Kind::kSelect:
      st.kind = PipelineStage::Kind::kSelect;
      st.select = n.attrs;
      return st;
    case PNode::Kind::kCoalesce:
      if (first) return NotHere(n, "coalesce() cannot start a pipeline");
      st.kind = PipelineStage::Kind::kCoalesce;
      return st;
    default:
      break;
  }
  auto s = LowerSpanset(n);
  if (s.ok()) {
    st.kind = PipelineStage::Kind::kSpanset;
    st.spanset = std::move(*s);
    return st;
  }
  if (n.kind == PNode::Kind::kBinary && IsScalarCmp(n.op)) {
    ASSIGN_OR_RETURN(st.scalar, LowerScalarFilter(n));
    st.kind = PipelineStage::Kind::kScalarFilter;
    return st;
  }
  return s.status();
}

Result<Pipeline> LowerPipeline(const std::vector<const PNode*>& stages, size_t begin, size_t end) {
  Pipeline p;
  for (size_t i = begin; i < end; ++i) {
    ASSIGN_OR_RETURN(PipelineStage st, LowerStage(*stages[i], i == begin));
    p.stages.push_back(std::move(st));
  }
  return p;
}

// A parenthesized pipeline at the root: `({...} | count() > 1)` and spanset operators
// between such.
Result<std::unique_ptr<SpansetExpr>> LowerSpansetPipelineExpr(const PNode& n) {
  if (n.kind == PNode::Kind::kParen) {
    const PNode& in = *n.lhs;
    if (in.kind == PNode::Kind::kBinary && SpansetOpOf(in.op)) {
      auto nested = LowerSpansetPipelineExpr(in);
      if (nested.ok()) return nested;
    }
    if (in.kind == PNode::Kind::kParen) {
      auto nested = LowerSpansetPipelineExpr(in);
      if (nested.ok()) return nested;
    }
    std::vector<const PNode*> stages;
    FlattenPipes(in, &stages);
    ASSIGN_OR_RETURN(Pipeline p, LowerPipeline(stages, 0, stages.size()));
    auto s = std::make_unique<SpansetExpr>();
    s->kind = SpansetExpr::Kind::kPipeline;
    s->pipeline = std::make_unique<Pipeline>(std::move(p));
    return s;
  }
  if (n.kind == PNode::Kind::kBinary) {
    if (auto op = SpansetOpOf(n.op)) {
      ASSIGN_OR_RETURN(std::unique_ptr<SpansetExpr> l, LowerSpansetPipelineExpr(*n.lhs));
      ASSIGN_OR_RETURN(std::unique_ptr<SpansetExpr> r, LowerSpansetPipelineExpr(*n.rhs));
      auto s = std::make_unique<SpansetExpr>();
      s->kind = SpansetExpr::Kind::kOp;
      s->op = *op;
      s->lhs = std::move(l);
      s->rhs = std::move(r);
      return s;
    }
  }
  return NotHere(n, "expecting a parenthesized pipeline");
}

// Scalar pipeline expressions: `({...} | count())` and arithmetic between them.
Result<ScalarExpr> LowerScalarPipelineExpr(const PNode& n) {
  ScalarExpr e;
  if (n.kind == PNode::Kind::kParen) {
    const PNode& in = *n.lhs;
    std::vector<const PNode*> stages;
    FlattenPipes(in, &stages);
    if (stages.size() >= 2 && stages.back()->kind == PNode::Kind::kAggregate) {
      ASSIGN_OR_RETURN(Pipeline p, LowerPipeline(stages, 0, stages.size() - 1));
      PipelineStage agg;
      agg.kind = PipelineStage::Kind::kAggregate;
      agg.aggregate.op = stages.back()->agg;
      if (stages.back()->field) agg.aggregate.expr = Clone(*stages.back()->field);
      p.stages.push_back(std::move(agg));
      e.kind = ScalarExpr::Kind::kPipeline;
      e.pipeline = std::make_unique<Pipeline>(std::move(p));
      return e;
    }
    return LowerScalarPipelineExpr(in);
  }
  if (n.kind == PNode::Kind::kBinary && IsScalarArith(n.op)) {
    ASSIGN_OR_RETURN(ScalarExpr l, LowerScalarPipelineExpr(*n.lhs));
    ASSIGN_OR_RETURN(ScalarExpr r, LowerScalarPipelineExpr(*n.rhs));
    e.kind = ScalarExpr::Kind::kBinary;
    e.op = FieldOp(n.op);
    e.lhs = std::make_unique<ScalarExpr>(std::move(l));
    e.rhs = std::make_unique<ScalarExpr>(std::move(r));
    return e;
  }
  return NotHere(n, "expecting a parenthesized pipeline ending in an aggregate");
}

Result<std::unique_ptr<ScalarFilter>> LowerScalarPipelineFilter(const PNode& n) {
  if (n.kind != PNode::Kind::kBinary || !IsScalarCmp(n.op)) {
    return NotHere(n, "expecting a comparison");
  }
  ASSIGN_OR_RETURN(ScalarExpr l, LowerScalarPipelineExpr(*n.lhs));
  ScalarExpr r;
  if (n.rhs->kind == PNode::Kind::kNumber || n.rhs->kind == PNode::Kind::kStatic) {
    r.kind = ScalarExpr::Kind::kStatic;
    r.value = n.rhs->value;
  } else {
    ASSIGN_OR_RETURN(r, LowerScalarPipelineExpr(*n.rhs));
  }
  auto f = std::make_unique<ScalarFilter>();
  f->op = FieldOp(n.op);
  f->lhs = std::move(l);
  f->rhs = std::move(r);
  return f;
}

// A constant for a metrics filter: numbers (no durations) and + - * / between them.
Result<double> LowerNumber(const PNode& n) {
  switch (n.kind) {
    case PNode::Kind::kNumber:
      if (n.value.type == StaticType::kDuration) {
        return NotHere(n, "durations cannot be compared with metrics values");
      }
      return n.value.AsDouble();
    case PNode::Kind::kParen:
      return LowerNumber(*n.lhs);
    case PNode::Kind::kBinary: {
      if (!IsMetricsArith(n.op)) break;
      ASSIGN_OR_RETURN(double l, LowerNumber(*n.lhs));
      ASSIGN_OR_RETURN(double r, LowerNumber(*n.rhs));
      switch (n.op) {
        case Tok::kAdd: return l + r;
        case Tok::kSub: return l - r;
        case Tok::kMul: return l * r;
        default: return l / r;
      }
    }
    default:
      break;
  }
  return NotHere(n, "expecting a number");
}

Result<MetricsFilter> LowerMetricsFilterRhs(const PNode& cmp) {
  MetricsFilter f;
  f.op = FieldOp(cmp.op);
  ASSIGN_OR_RETURN(f.value, LowerNumber(*cmp.rhs));
  return f;
}

MetricsFirstStage LowerMetricsFn(const PNode& n) {
  MetricsFirstStage m;
  m.fn = n.fn;
  m.attr = n.fn_attr;
  m.quantiles = n.quantiles;
  m.by = n.by;
  if (n.compare_filter) m.compare_filter = Clone(*n.compare_filter);
  m.compare_top_n = n.compare_args[0];
  m.compare_start_ns = n.compare_args[1];
  m.compare_end_ns = n.compare_args[2];
  return m;
}

bool IsMetricsFnStage(const PNode& n) {
  if (n.kind == PNode::Kind::kMetricsFn) return true;
  return n.kind == PNode::Kind::kBinary && IsScalarCmp(n.op) &&
         n.lhs->kind == PNode::Kind::kMetricsFn;
}

Status LowerSecondStages(const std::vector<const PNode*>& stages, size_t begin,
                         std::vector<SecondStage>* out) {
  for (size_t i = begin; i < stages.size(); ++i) {
    const PNode& n = *stages[i];
    SecondStage s;
    const PNode* fn = &n;
    if (n.kind == PNode::Kind::kBinary && IsScalarCmp(n.op)) {
      fn = n.lhs.get();
      if (fn->kind == PNode::Kind::kSecondStage) {
        ASSIGN_OR_RETURN(MetricsFilter f, LowerMetricsFilterRhs(n));
        s.filter = f;
      }
    }
    if (fn->kind != PNode::Kind::kSecondStage) {
      return NotHere(n, "expecting topk() or bottomk() after a metrics function");
    }
    s.kind = fn->second;
    s.k = fn->k;
    out->push_back(std::move(s));
  }
  return Status::OK();
}

// `spanset pipeline | metrics function [filter] [| topk(n) [filter]]...`.
Result<std::unique_ptr<MetricsExpr>> LowerMetricsQuery(const std::vector<const PNode*>& stages) {
  size_t k = 0;
  while (k < stages.size() && !IsMetricsFnStage(*stages[k])) ++k;
  if (k == 0 || k == stages.size()) {
    return NotHere(*stages[0], "expecting a metrics query such as {} | rate()");
  }
  auto m = std::make_unique<MetricsExpr>();
  m->kind = MetricsExpr::Kind::kQuery;
  ASSIGN_OR_RETURN(m->pipeline, LowerPipeline(stages, 0, k));
  const PNode& fs = *stages[k];
  if (fs.kind == PNode::Kind::kMetricsFn) {
    m->first = LowerMetricsFn(fs);
  } else {
    m->first = LowerMetricsFn(*fs.lhs);
    ASSIGN_OR_RETURN(MetricsFilter f, LowerMetricsFilterRhs(fs));
    m->filter = f;
  }
  RETURN_IF_ERROR(LowerSecondStages(stages, k + 1, &m->second));
  return m;
}

// An operand of metrics arithmetic: a parenthesized metrics query, a number, or arithmetic.
Result<std::unique_ptr<MetricsExpr>> LowerMetricsMath(const PNode& n) {
  switch (n.kind) {
    case PNode::Kind::kNumber: {
      if (n.value.type == StaticType::kDuration) {
        return NotHere(n, "durations cannot be used in metrics arithmetic");
      }
      auto m = std::make_unique<MetricsExpr>();
      m->kind = MetricsExpr::Kind::kNumber;
      m->number = n.value.AsDouble();
      return m;
    }
    case PNode::Kind::kParen: {
      std::vector<const PNode*> stages;
      FlattenPipes(*n.lhs, &stages);
      if (stages.size() > 1) {
        auto q = LowerMetricsQuery(stages);
        if (q.ok()) return q;
        // `(math) | topk(5)`: second stages after arithmetic.
        auto inner = LowerMetricsMath(*stages[0]);
        if (!inner.ok() || !(*inner)->ContainsQuery()) return q.status();
        RETURN_IF_ERROR(LowerSecondStages(stages, 1, &(*inner)->second));
        return inner;
      }
      const PNode& in = *n.lhs;
      if (in.kind == PNode::Kind::kBinary && IsScalarCmp(in.op)) {
        ASSIGN_OR_RETURN(std::unique_ptr<MetricsExpr> l, LowerMetricsMath(*in.lhs));
        if (!l->ContainsQuery() || l->filter) return NotHere(in, "expecting a metrics query");
        ASSIGN_OR_RETURN(MetricsFilter f, LowerMetricsFilterRhs(in));
        l->filter = f;
        return l;
      }
      return LowerMetricsMath(in);
    }
    case PNode::Kind::kBinary: {
      if (!IsMetricsArith(n.op)) break;
      ASSIGN_OR_RETURN(std::unique_ptr<MetricsExpr> l, LowerMetricsMath(*n.lhs));
      ASSIGN_OR_RETURN(std::unique_ptr<MetricsExpr> r, LowerMetricsMath(*n.rhs));
      auto m = std::make_unique<MetricsExpr>();
      m->kind = MetricsExpr::Kind::kBinary;
      m->op = FieldOp(n.op);
      m->lhs = std::move(l);
      m->rhs = std::move(r);
      return m;
    }
    default:
      break;
  }
  return NotHere(n, "expecting a parenthesized metrics query or a number");
}

// A metrics expression standing alone: arithmetic or a parenthesized query, with an
// optional filter (`({} | rate()) * 100 > 5`).
Result<std::unique_ptr<MetricsExpr>> LowerMetricsStandalone(const PNode& n) {
  if (n.kind == PNode::Kind::kBinary && IsScalarCmp(n.op)) {
    ASSIGN_OR_RETURN(std::unique_ptr<MetricsExpr> l, LowerMetricsMath(*n.lhs));
    if (!l->ContainsQuery()) return NotHere(n, "expecting a metrics query");
    if (l->filter) return NotHere(n, "a metrics query takes one filter");
    ASSIGN_OR_RETURN(MetricsFilter f, LowerMetricsFilterRhs(n));
    l->filter = f;
    return l;
  }
  ASSIGN_OR_RETURN(std::unique_ptr<MetricsExpr> m, LowerMetricsMath(n));
  if (!m->ContainsQuery()) return NotHere(n, "expecting a metrics query, not a constant");
  return m;
}

Result<std::unique_ptr<RootExpr>> LowerRoot(const PNode& n) {
  auto root = std::make_unique<RootExpr>();
  std::vector<const PNode*> stages;
  FlattenPipes(n, &stages);

  if (stages.size() == 1) {
    auto s = LowerSpanset(n);
    if (s.ok()) {
      PipelineStage st;
      st.kind = PipelineStage::Kind::kSpanset;
      st.spanset = std::move(*s);
      root->pipeline.stages.push_back(std::move(st));
      return root;
    }
    Status first_error = s.status();
    if (auto spe = LowerSpansetPipelineExpr(n); spe.ok()) {
      root->kind = RootKind::kSpansetPipelineExpr;
      root->spanset = std::move(*spe);
      return root;
    }
    if (n.kind == PNode::Kind::kGroupBy || n.kind == PNode::Kind::kSelect) {
      ASSIGN_OR_RETURN(root->pipeline, LowerPipeline(stages, 0, 1));
      return root;
    }
    if (n.kind == PNode::Kind::kBinary && IsScalarCmp(n.op)) {
      if (auto sf = LowerScalarFilter(n); sf.ok()) {
        PipelineStage st;
        st.kind = PipelineStage::Kind::kScalarFilter;
        st.scalar = std::move(*sf);
        root->pipeline.stages.push_back(std::move(st));
        return root;
      } else {
        first_error = sf.status();
      }
      if (auto spf = LowerScalarPipelineFilter(n); spf.ok()) {
        root->kind = RootKind::kScalarPipelineFilter;
        root->scalar = std::move(*spf);
        return root;
      }
    }
    if (auto m = LowerMetricsStandalone(n); m.ok()) {
      root->kind = RootKind::kMetrics;
      root->metrics = std::move(*m);
      return root;
    }
    return first_error;
  }

  // Several stages. A metrics expression first: only second stages may follow.
  if (!IsMetricsFnStage(*stages[0])) {
    if (auto m = LowerMetricsStandalone(*stages[0]); m.ok()) {
      RETURN_IF_ERROR(LowerSecondStages(stages, 1, &(*m)->second));
      root->kind = RootKind::kMetrics;
      root->metrics = std::move(*m);
      return root;
    }
  }
  for (const PNode* s : stages) {
    if (IsMetricsFnStage(*s)) {
      ASSIGN_OR_RETURN(root->metrics, LowerMetricsQuery(stages));
      root->kind = RootKind::kMetrics;
      return root;
    }
  }
  ASSIGN_OR_RETURN(root->pipeline, LowerPipeline(stages, 0, stages.size()));
  return root;
}

Result<std::unique_ptr<RootExpr>> Parser::ParseRoot() {
  ASSIGN_OR_RETURN(std::unique_ptr<PNode> n, ParsePipelineExpr(1));
  std::vector<Hint> hints;
  if (Peek().tok == Tok::kWith) {
    Take();
    RETURN_IF_ERROR(Expect(Tok::kOpenParens, "\"(\""));
    for (;;) {
      if (Peek().tok != Tok::kIdentifier) return Unexpected("a hint name");
      Hint h;
      h.name = Take().text;
      RETURN_IF_ERROR(Expect(Tok::kEq, "\"=\""));
      auto v = StaticOf(Peek());
      if (!v) return Unexpected("a hint value");
      Take();
      h.value = *v;
      hints.push_back(std::move(h));
      if (Peek().tok == Tok::kComma) {
        Take();
        continue;
      }
      RETURN_IF_ERROR(Expect(Tok::kCloseParens, "\",\" or \")\""));
      break;
    }
  }
  if (Peek().tok != Tok::kEof) return Unexpected("an operator or the end of the query");
  ASSIGN_OR_RETURN(std::unique_ptr<RootExpr> root, LowerRoot(*n));
  root->hints = std::move(hints);
  return root;
}

// ---------------------------------------------------------------------------------------
// Validation.

bool IsNumericType(StaticType t) {
  return t == StaticType::kInt || t == StaticType::kFloat || t == StaticType::kDuration;
}

bool MatchingOperands(StaticType a, StaticType b) {
  if (a == StaticType::kAttribute || b == StaticType::kAttribute) return true;
  if (a == b) return true;
  return IsNumericType(a) && IsNumericType(b);
}

bool BinaryTypeValid(Op op, StaticType t) {
  switch (t) {
    case StaticType::kAttribute:
      return true;
    case StaticType::kBool:
      return op == Op::kAnd || op == Op::kOr || op == Op::kEq || op == Op::kNeq;
    case StaticType::kInt: case StaticType::kFloat: case StaticType::kDuration:
      return op == Op::kAdd || op == Op::kSub || op == Op::kMul || op == Op::kDiv ||
             op == Op::kMod || op == Op::kPow || op == Op::kEq || op == Op::kNeq ||
             op == Op::kGt || op == Op::kGte || op == Op::kLt || op == Op::kLte;
    case StaticType::kString:
      return op == Op::kEq || op == Op::kNeq || op == Op::kRegex || op == Op::kNotRegex ||
             op == Op::kGt || op == Op::kGte || op == Op::kLt || op == Op::kLte;
    case StaticType::kStatus: case StaticType::kKind: case StaticType::kNil:
      return op == Op::kEq || op == Op::kNeq;
  }
  return false;
}

Status Invalid(std::string_view what, const FieldExpr& e) {
  return Status::InvalidArgument(fmt::format("invalid TraceQL query: {}: {}", what, e.ToString()));
}

bool FieldRefsParent(const FieldExpr& e) {
  switch (e.kind) {
    case FieldExpr::Kind::kAttribute:
      return e.attr.parent || e.attr.intrinsic == Intrinsic::kParent;
    case FieldExpr::Kind::kBinary:
      return FieldRefsParent(*e.lhs) || FieldRefsParent(*e.rhs);
    case FieldExpr::Kind::kUnary:
      return FieldRefsParent(*e.lhs);
    default:
      return false;
  }
}

Status ValidateField(const FieldExpr& e) {
  switch (e.kind) {
    case FieldExpr::Kind::kStatic:
    case FieldExpr::Kind::kAttribute:
      return Status::OK();
    case FieldExpr::Kind::kUnary: {
      RETURN_IF_ERROR(ValidateField(*e.lhs));
      StaticType t = e.lhs->ImpliedType();
      if (t == StaticType::kAttribute) return Status::OK();
      bool ok = e.op == Op::kNeg ? IsNumericType(t) : e.op == Op::kNot ? t == StaticType::kBool
                                                                      : t != StaticType::kNil;
      if (!ok) return Invalid("illegal operation for the given type", e);
      return Status::OK();
    }
    case FieldExpr::Kind::kBinary: {
      RETURN_IF_ERROR(ValidateField(*e.lhs));
      RETURN_IF_ERROR(ValidateField(*e.rhs));
      StaticType l = e.lhs->ImpliedType(), r = e.rhs->ImpliedType();
      bool lnil = l == StaticType::kNil, rnil = r == StaticType::kNil;
      if (lnil || rnil) {
        // `x != nil` tests existence; `nil = nil` and `nil != nil` are constants.
        if (lnil && rnil && (e.op == Op::kEq || e.op == Op::kNeq)) return Status::OK();
        if (e.op == Op::kNeq) return Status::OK();
        return Invalid("nil can only be compared with != (attribute exists)", e);
      }
      if (!MatchingOperands(l, r)) {
        return Invalid("binary operations must operate on the same type", e);
      }
      if (!BinaryTypeValid(e.op, l) || !BinaryTypeValid(e.op, r)) {
        return Invalid("illegal operation for the given types", e);
      }
      if ((e.op == Op::kRegex || e.op == Op::kNotRegex) &&
          e.rhs->kind == FieldExpr::Kind::kStatic && e.rhs->value.type == StaticType::kString) {
        RE2 re(e.rhs->value.s, RE2::Quiet);
        if (!re.ok()) return Invalid("invalid regular expression: " + re.error(), e);
      }
      return Status::OK();
    }
  }
  return Status::OK();
}

Status ValidateFilter(const FieldExpr& e) {
  RETURN_IF_ERROR(ValidateField(e));
  StaticType t = e.ImpliedType();
  if (t != StaticType::kBool && t != StaticType::kAttribute) {
    return Invalid("a spanset filter's expression must be a boolean", e);
  }
  return Status::OK();
}

Status ValidateAggregate(const Aggregate& a) {
  if (!a.expr) return Status::OK();
  RETURN_IF_ERROR(ValidateField(*a.expr));
  StaticType t = a.expr->ImpliedType();
  if (t != StaticType::kAttribute && !IsNumericType(t)) {
    return Invalid("an aggregate's argument must be a number", *a.expr);
  }
  if (!a.expr->ReferencesSpan()) {
    return Invalid("an aggregate's argument must reference the span", *a.expr);
  }
  return Status::OK();
}

Status ValidatePipeline(const Pipeline& p);

Status ValidateScalar(const ScalarExpr& e) {
  switch (e.kind) {
    case ScalarExpr::Kind::kAggregate:
      return ValidateAggregate(e.aggregate);
    case ScalarExpr::Kind::kStatic:
      return Status::OK();
    case ScalarExpr::Kind::kPipeline:
      return ValidatePipeline(*e.pipeline);
    case ScalarExpr::Kind::kBinary: {
      RETURN_IF_ERROR(ValidateScalar(*e.lhs));
      RETURN_IF_ERROR(ValidateScalar(*e.rhs));
      StaticType l = e.lhs->ImpliedType(), r = e.rhs->ImpliedType();
      if (!MatchingOperands(l, r) || !BinaryTypeValid(e.op, l) || !BinaryTypeValid(e.op, r)) {
        return Status::InvalidArgument("invalid TraceQL query: illegal scalar arithmetic");
      }
      return Status::OK();
    }
  }
  return Status::OK();
}

Status ValidateScalarFilter(const ScalarFilter& f) {
  RETURN_IF_ERROR(ValidateScalar(f.lhs));
  RETURN_IF_ERROR(ValidateScalar(f.rhs));
  StaticType l = f.lhs.ImpliedType(), r = f.rhs.ImpliedType();
  if (!MatchingOperands(l, r) || !BinaryTypeValid(f.op, l) || !BinaryTypeValid(f.op, r)) {
    return Status::InvalidArgument(
        "invalid TraceQL query: a scalar filter must compare numbers of the same type");
  }
  if (f.lhs.CountAggregates() + f.rhs.CountAggregates() > 1) {
    return Status::Unimplemented("TraceQL: a scalar filter with more than one aggregate is not "
                                 "supported");
  }
  return Status::OK();
}

Status ValidateSpanset(const SpansetExpr& s) {
  switch (s.kind) {
    case SpansetExpr::Kind::kFilter:
      return ValidateFilter(*s.filter);
    case SpansetExpr::Kind::kPipeline:
      return ValidatePipeline(*s.pipeline);
    case SpansetExpr::Kind::kOp:
      RETURN_IF_ERROR(ValidateSpanset(*s.lhs));
      return ValidateSpanset(*s.rhs);
  }
  return Status::OK();
}

Status ValidatePipeline(const Pipeline& p) {
  for (const PipelineStage& st : p.stages) {
    switch (st.kind) {
      case PipelineStage::Kind::kSpanset:
        RETURN_IF_ERROR(ValidateSpanset(*st.spanset));
        break;
      case PipelineStage::Kind::kScalarFilter:
        RETURN_IF_ERROR(ValidateScalarFilter(*st.scalar));
        break;
      case PipelineStage::Kind::kGroupBy:
        RETURN_IF_ERROR(ValidateField(*st.group_by));
        if (!st.group_by->ReferencesSpan()) {
          return Invalid("by() must reference the span", *st.group_by);
        }
        break;
      case PipelineStage::Kind::kAggregate:
        RETURN_IF_ERROR(ValidateAggregate(st.aggregate));
        break;
      case PipelineStage::Kind::kCoalesce:
      case PipelineStage::Kind::kSelect:
        break;
    }
  }
  return Status::OK();
}

Status ValidateSecondStages(const MetricsExpr& m) {
  for (const SecondStage& s : m.second) {
    if (s.k <= 0) {
      return Status::InvalidArgument("invalid TraceQL query: topk/bottomk need k > 0");
    }
  }
  return Status::OK();
}

Status ValidateMetrics(const MetricsExpr& m, bool in_math) {
  switch (m.kind) {
    case MetricsExpr::Kind::kNumber:
      return Status::OK();
    case MetricsExpr::Kind::kBinary:
      RETURN_IF_ERROR(ValidateMetrics(*m.lhs, true));
      RETURN_IF_ERROR(ValidateMetrics(*m.rhs, true));
      return ValidateSecondStages(m);
    case MetricsExpr::Kind::kQuery:
      break;
  }
  RETURN_IF_ERROR(ValidatePipeline(m.pipeline));
  const MetricsFirstStage& f = m.first;
  if (f.fn == MetricsFn::kCompare) {
    RETURN_IF_ERROR(ValidateFilter(*f.compare_filter));
    if (in_math || m.filter || !m.second.empty()) {
      return Status::InvalidArgument(
          "invalid TraceQL query: compare() cannot be followed by a filter, topk/bottomk or "
          "arithmetic");
    }
    if (f.compare_top_n <= 0) {
      return Status::InvalidArgument("invalid TraceQL query: compare() needs a top-n > 0");
    }
  }
  if (f.attr) {
    StaticType t = f.attr->IsIntrinsic() ? IntrinsicType(f.attr->intrinsic) : StaticType::kAttribute;
    if (t != StaticType::kAttribute && !IsNumericType(t)) {
      return Status::InvalidArgument(fmt::format(
          "invalid TraceQL query: {}() needs a numeric attribute, not {}", MetricsFnName(f.fn),
          f.attr->ToString()));
    }
  }
  for (double q : f.quantiles) {
    if (!(q >= 0 && q <= 1)) {
      return Status::InvalidArgument("invalid TraceQL query: quantiles must be between 0 and 1");
    }
  }
  return ValidateSecondStages(m);
}

bool SpansetRefsParent(const SpansetExpr& s);
bool PipelineRefsParent(const Pipeline& p);

bool ScalarRefsParent(const ScalarExpr& e) {
  switch (e.kind) {
    case ScalarExpr::Kind::kAggregate:
      return e.aggregate.expr && FieldRefsParent(*e.aggregate.expr);
    case ScalarExpr::Kind::kBinary:
      return ScalarRefsParent(*e.lhs) || ScalarRefsParent(*e.rhs);
    case ScalarExpr::Kind::kPipeline:
      return PipelineRefsParent(*e.pipeline);
    default:
      return false;
  }
}

bool SpansetRefsParent(const SpansetExpr& s) {
  switch (s.kind) {
    case SpansetExpr::Kind::kFilter: return FieldRefsParent(*s.filter);
    case SpansetExpr::Kind::kPipeline: return PipelineRefsParent(*s.pipeline);
    case SpansetExpr::Kind::kOp: return SpansetRefsParent(*s.lhs) || SpansetRefsParent(*s.rhs);
  }
  return false;
}

bool PipelineRefsParent(const Pipeline& p) {
  for (const PipelineStage& st : p.stages) {
    switch (st.kind) {
      case PipelineStage::Kind::kSpanset:
        if (SpansetRefsParent(*st.spanset)) return true;
        break;
      case PipelineStage::Kind::kScalarFilter:
        if (ScalarRefsParent(st.scalar->lhs) || ScalarRefsParent(st.scalar->rhs)) return true;
        break;
      case PipelineStage::Kind::kGroupBy:
        if (FieldRefsParent(*st.group_by)) return true;
        break;
      case PipelineStage::Kind::kAggregate:
        if (st.aggregate.expr && FieldRefsParent(*st.aggregate.expr)) return true;
        break;
      case PipelineStage::Kind::kSelect:
        for (const Attribute& a : st.select) {
          if (a.parent || a.intrinsic == Intrinsic::kParent) return true;
        }
        break;
      case PipelineStage::Kind::kCoalesce:
        break;
    }
  }
  return false;
}

bool MetricsRefsParent(const MetricsExpr& m) {
  if (m.kind == MetricsExpr::Kind::kBinary) return MetricsRefsParent(*m.lhs) || MetricsRefsParent(*m.rhs);
  if (m.kind == MetricsExpr::Kind::kNumber) return false;
  return PipelineRefsParent(m.pipeline);
}

}  // namespace

Result<std::unique_ptr<RootExpr>> Parse(std::string_view query) {
  ASSIGN_OR_RETURN(std::vector<Token> toks, Lex(query));
  Parser p(std::move(toks));
  return p.ParseRoot();
}

Status Validate(const RootExpr& root) {
  bool parent = false;
  switch (root.kind) {
    case RootKind::kPipeline: parent = PipelineRefsParent(root.pipeline); break;
    case RootKind::kSpansetPipelineExpr: parent = SpansetRefsParent(*root.spanset); break;
    case RootKind::kScalarPipelineFilter:
      parent = ScalarRefsParent(root.scalar->lhs) || ScalarRefsParent(root.scalar->rhs);
      break;
    case RootKind::kMetrics: parent = MetricsRefsParent(*root.metrics); break;
  }
  if (parent) return Status::Unimplemented("TraceQL: parent is not supported");
  switch (root.kind) {
    case RootKind::kPipeline:
      return ValidatePipeline(root.pipeline);
    case RootKind::kSpansetPipelineExpr:
      return ValidateSpanset(*root.spanset);
    case RootKind::kScalarPipelineFilter:
      RETURN_IF_ERROR(ValidateScalar(root.scalar->lhs));
      RETURN_IF_ERROR(ValidateScalar(root.scalar->rhs));
      return Status::Unimplemented(
          "TraceQL: comparing the results of several pipelines is not supported");
    case RootKind::kMetrics:
      return ValidateMetrics(*root.metrics, false);
  }
  return Status::OK();
}

Result<std::unique_ptr<RootExpr>> ParseAndValidate(std::string_view query) {
  ASSIGN_OR_RETURN(std::unique_ptr<RootExpr> root, Parse(query));
  RETURN_IF_ERROR(Validate(*root));
  return root;
}

}  // namespace argus::traceql
