// The TraceQL abstract syntax tree, as produced by traceql::Parse and checked by
// traceql::Validate. The language is Tempo's (Tempo docs, traceql/; grafana/tempo
// pkg/traceql): spanset filters over field expressions, spanset and structural operators,
// pipelines with aggregates, group/select/coalesce, metrics functions with a second stage,
// arithmetic between metrics queries, and `with(...)` hints.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<RootExpr> q, Parse("{ span.http.status >= 500 } | count() > 1"));
//   RETURN_IF_ERROR(Validate(*q));
//   q->kind == RootKind::kPipeline; q->pipeline.stages.size() == 2
//
// Nodes own their children through unique_ptr; a tree is a value with no shared state.
// Thread-safety: immutable after parsing; safe to read from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace argus::traceql {

// The type a field expression is known to have before it meets data. kAttribute means "an
// attribute: any type, only known per span".
enum class StaticType { kNil, kInt, kFloat, kString, kBool, kDuration, kStatus, kKind, kAttribute };

// Span status and kind use the OTLP numbering (OTLP trace.proto Status.StatusCode, Span.SpanKind).
enum class SpanStatus : int64_t { kUnset = 0, kOk = 1, kError = 2 };
enum class SpanKind : int64_t {
  kUnspecified = 0, kInternal = 1, kServer = 2, kClient = 3, kProducer = 4, kConsumer = 5
};

// A literal. Durations are nanoseconds in `i`; status and kind are their enum values in `i`.
struct Static {
  StaticType type = StaticType::kNil;
  int64_t i = 0;
  double f = 0;
  bool b = false;
  std::string s;

  static Static Nil() { return Static{}; }
  static Static Int(int64_t v) { Static x; x.type = StaticType::kInt; x.i = v; return x; }
  static Static Float(double v) { Static x; x.type = StaticType::kFloat; x.f = v; return x; }
  static Static Duration(int64_t ns) { Static x; x.type = StaticType::kDuration; x.i = ns; return x; }
  static Static Bool(bool v) { Static x; x.type = StaticType::kBool; x.b = v; return x; }
  static Static String(std::string v) { Static x; x.type = StaticType::kString; x.s = std::move(v); return x; }
  static Static Status(SpanStatus v) { Static x; x.type = StaticType::kStatus; x.i = static_cast<int64_t>(v); return x; }
  static Static Kind(SpanKind v) { Static x; x.type = StaticType::kKind; x.i = static_cast<int64_t>(v); return x; }

  bool IsNumeric() const {
    return type == StaticType::kInt || type == StaticType::kFloat || type == StaticType::kDuration;
  }
  // The numeric value as a double (durations in nanoseconds). REQUIRES: IsNumeric().
  double AsDouble() const { return type == StaticType::kFloat ? f : static_cast<double>(i); }
};

// Intrinsics: fields every span has. The scoped spellings (`span:duration`) map to the same
// values as the unscoped ones (`duration`).
enum class Intrinsic {
  kNone,
  kDuration, kChildCount, kName, kStatus, kStatusMessage, kKind, kParent,
  kTraceRootName, kTraceRootService, kTraceDuration, kTraceID,
  kNestedSetLeft, kNestedSetRight, kNestedSetParent,
  kSpanID, kParentID,
  kEventName, kEventTimeSinceStart,
  kLinkTraceID, kLinkSpanID,
  kInstrumentationName, kInstrumentationVersion,
};

// The type an intrinsic has (kNil for `parent`, which TraceQL parses but cannot execute).
StaticType IntrinsicType(Intrinsic in);
// Tempo's spelling, e.g. "span:duration" for kDuration when scoped.
std::string IntrinsicName(Intrinsic in);

enum class AttributeScope { kNone, kSpan, kResource, kEvent, kLink, kInstrumentation };

// An attribute reference (`.a`, `span.a`, `resource."a b"`, `parent.span.a`) or an intrinsic.
struct Attribute {
  AttributeScope scope = AttributeScope::kNone;
  bool parent = false;        // `parent.` prefix: the parent span's attribute (unsupported)
  std::string name;           // attribute name, unquoted; empty for intrinsics
  Intrinsic intrinsic = Intrinsic::kNone;

  bool IsIntrinsic() const { return intrinsic != Intrinsic::kNone; }
  std::string ToString() const;
};

enum class Op {
  kAdd, kSub, kMul, kDiv, kMod, kPow,
  kEq, kNeq, kLt, kLte, kGt, kGte, kRegex, kNotRegex,
  kAnd, kOr,
  kNot, kNeg, kExists,  // unary
};
std::string OpString(Op op);
bool IsComparison(Op op);  // = != < <= > >= =~ !~
bool IsBooleanResult(Op op);  // comparisons, && ||, !, exists
// `l op r` for the numeric comparisons = != < <= > >=; false for any other op.
bool CompareNumbers(Op op, double l, double r);

// A field expression: what a spanset filter `{ ... }` and an aggregate's argument hold.
struct FieldExpr {
  enum class Kind { kStatic, kAttribute, kBinary, kUnary };
  Kind kind = Kind::kStatic;
  Static value;                  // kStatic
  Attribute attr;                // kAttribute
  Op op = Op::kEq;               // kBinary, kUnary
  std::unique_ptr<FieldExpr> lhs;  // kBinary lhs; kUnary operand
  std::unique_ptr<FieldExpr> rhs;  // kBinary rhs

  StaticType ImpliedType() const;
  // True if the expression reads anything of the span (an attribute or intrinsic).
  bool ReferencesSpan() const;
  std::string ToString() const;
};

// Spanset operators between two spansets. Tempo docs, traceql "Combining spansets" and
// "Structural".
enum class SpansetOp {
  kAnd, kUnion,                                                      // && ||
  kChild, kParent, kDescendant, kAncestor, kSibling,                 // > < >> << ~
  kNotChild, kNotParent, kNotDescendant, kNotAncestor, kNotSibling,  // !> !< !>> !<< !~
  kUnionChild, kUnionParent, kUnionDescendant, kUnionAncestor, kUnionSibling,  // &> &< &>> &<< &~
};
std::string SpansetOpString(SpansetOp op);

struct Pipeline;

// A spanset expression: a filter, or an operator between two spanset expressions. In a
// root `spansetPipelineExpression` the operands may also be parenthesized pipelines.
struct SpansetExpr {
  enum class Kind { kFilter, kOp, kPipeline };
  Kind kind = Kind::kFilter;
  std::unique_ptr<FieldExpr> filter;  // kFilter
  SpansetOp op = SpansetOp::kAnd;     // kOp
  std::unique_ptr<SpansetExpr> lhs, rhs;
  std::unique_ptr<Pipeline> pipeline;  // kPipeline
};

enum class AggregateOp { kCount, kAvg, kMax, kMin, kSum };

// `count()`, `avg(expr)`, ... over the spans of a spanset.
struct Aggregate {
  AggregateOp op = AggregateOp::kCount;
  std::unique_ptr<FieldExpr> expr;  // null for count()
  StaticType ImpliedType() const;
};

// A scalar expression: arithmetic over aggregates and numeric literals, or (in a root
// scalar pipeline filter) over parenthesized `pipeline | aggregate`s.
struct ScalarExpr {
  enum class Kind { kAggregate, kStatic, kBinary, kPipeline };
  Kind kind = Kind::kStatic;
  Aggregate aggregate;               // kAggregate
  Static value;                      // kStatic
  Op op = Op::kAdd;                  // kBinary
  std::unique_ptr<ScalarExpr> lhs, rhs;
  std::unique_ptr<Pipeline> pipeline;  // kPipeline: ends with an aggregate stage
  StaticType ImpliedType() const;
  int CountAggregates() const;
};

// `scalar op scalar`, e.g. `count() > 2` or `avg(duration) < 1s`.
struct ScalarFilter {
  Op op = Op::kEq;
  ScalarExpr lhs, rhs;
};

// One stage of a pipeline.
struct PipelineStage {
  enum class Kind { kSpanset, kScalarFilter, kGroupBy, kCoalesce, kSelect, kAggregate };
  Kind kind = Kind::kSpanset;
  std::unique_ptr<SpansetExpr> spanset;     // kSpanset
  std::unique_ptr<ScalarFilter> scalar;     // kScalarFilter
  std::unique_ptr<FieldExpr> group_by;      // kGroupBy
  std::vector<Attribute> select;            // kSelect
  Aggregate aggregate;                      // kAggregate (last stage of a scalar pipeline only)
};

struct Pipeline {
  std::vector<PipelineStage> stages;
};

enum class MetricsFn {
  kRate, kCountOverTime, kMinOverTime, kMaxOverTime, kAvgOverTime, kSumOverTime,
  kQuantileOverTime, kHistogramOverTime, kCompare,
};
std::string MetricsFnName(MetricsFn fn);

// The first stage of a metrics query: `rate() by (resource.service.name)` etc.
struct MetricsFirstStage {
  MetricsFn fn = MetricsFn::kRate;
  std::optional<Attribute> attr;        // the *_over_time functions' argument
  std::vector<double> quantiles;        // quantile_over_time
  std::vector<Attribute> by;
  std::unique_ptr<FieldExpr> compare_filter;  // compare(): the selection
  int64_t compare_top_n = 10;                 // compare(): values per attribute
  int64_t compare_start_ns = 0, compare_end_ns = 0;
};

// `> 10` after a metrics stage: keeps series whose values satisfy it.
struct MetricsFilter {
  Op op = Op::kGt;
  double value = 0;
};

struct SecondStage {
  enum class Kind { kTopK, kBottomK };
  Kind kind = Kind::kTopK;
  int64_t k = 0;
  std::optional<MetricsFilter> filter;
};

// A metrics expression: one query, a number, or arithmetic between them
// (`({status=error} | rate()) / ({} | rate())`).
struct MetricsExpr {
  enum class Kind { kQuery, kNumber, kBinary };
  Kind kind = Kind::kQuery;
  // kQuery:
  Pipeline pipeline;
  MetricsFirstStage first;
  std::optional<MetricsFilter> filter;
  std::vector<SecondStage> second;
  // kNumber:
  double number = 0;
  // kBinary (+ - * /), with an optional filter and second stages applied to the result:
  Op op = Op::kAdd;
  std::unique_ptr<MetricsExpr> lhs, rhs;

  bool ContainsQuery() const;
};

struct Hint {
  std::string name;
  Static value;
};

enum class RootKind {
  kPipeline,                 // `{...} | ...`: a search
  kSpansetPipelineExpr,      // `({...} | ...) && ({...} | ...)`: a search
  kScalarPipelineFilter,     // `({...} | count()) > ({...} | count())`: parsed, not executed
  kMetrics,                  // `{...} | rate() ...`: a metrics query
};

struct RootExpr {
  RootKind kind = RootKind::kPipeline;
  Pipeline pipeline;                         // kPipeline
  std::unique_ptr<SpansetExpr> spanset;      // kSpansetPipelineExpr
  std::unique_ptr<ScalarFilter> scalar;      // kScalarPipelineFilter
  std::unique_ptr<MetricsExpr> metrics;      // kMetrics
  std::vector<Hint> hints;

  // The value of hint `name` if given, e.g. "most_recent".
  const Static* FindHint(const std::string& name) const;
};

}  // namespace argus::traceql
