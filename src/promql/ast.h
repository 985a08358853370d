// The PromQL abstract syntax tree, as Prometheus' parser defines it (promql/parser/ast.go):
// number and string literals, vector and matrix selectors, subqueries, function calls,
// aggregations, unary and binary expressions and parentheses, plus the printer used by
// /api/v1/format_query (Prometheus' `Expr.String()` / `Pretty` single-line form).
//
// Durations that may be expressions (Prometheus 3's experimental duration expressions:
// `[5m+1m]`, `offset step()`, `[min_of(range(), 1h)]`) are kept as a `DurationExpr` tree and
// resolved by the engine once the step and range of the query are known.
//
// Example:
//   ASSIGN_OR_RETURN(ExprPtr e, ParseExpr("sum by (job) (rate(http_requests_total[5m]))"));
//   e->type();          // ValueType::kVector
//   e->ToString();      // sum by (job) (rate(http_requests_total[5m]))
//
// Thread-safety: an Expr is immutable once parsed and may be shared between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/matcher.h"

namespace argus::promql {

// The four value types of PromQL (docs: querying/basics "Expression language data types").
enum class ValueType { kNone, kScalar, kVector, kMatrix, kString };
// "scalar", "vector", "matrix", "string" (the API's resultType), "none".
std::string_view ValueTypeName(ValueType t);

enum class BinaryOp {
  kAdd, kSub, kMul, kDiv, kMod, kPow, kAtan2,      // arithmetic
  kEql, kNeq, kGtr, kLss, kGte, kLte,              // comparison
  kAnd, kOr, kUnless,                              // set
  kTrimUpper, kTrimLower,                          // native histogram trim: </ and >/
};
std::string_view BinaryOpString(BinaryOp op);
bool IsComparison(BinaryOp op);
bool IsSetOp(BinaryOp op);
bool IsTrimOp(BinaryOp op);  // </ (keep observations below) or >/ (keep those above)

enum class AggregateOp {
  kSum, kAvg, kCount, kMin, kMax, kGroup, kStddev, kStdvar, kTopk, kBottomk, kQuantile,
  kCountValues, kLimitk, kLimitRatio,
};
std::string_view AggregateOpString(AggregateOp op);

// A duration that may be an arithmetic expression over numbers (seconds), durations,
// step(), range(), min_of() and max_of(). Resolved to seconds by Eval.
struct DurationExpr {
  enum class Kind { kNumber, kStep, kRange, kUnaryMinus, kBinary, kMin, kMax, kParen };
  Kind kind = Kind::kNumber;
  double seconds = 0;           // kNumber
  bool was_duration = false;    // kNumber written as a duration (5m), for printing
  char op = 0;                  // kBinary: + - * / % ^
  std::unique_ptr<DurationExpr> lhs, rhs;  // operands (kUnaryMinus/kParen use lhs)

  // The value in seconds, given the query's step and range (both seconds).
  double Eval(double step_s, double range_s) const;
  // True if the expression is a plain literal (no step()/range()).
  bool IsConstant() const;
  std::string ToString() const;
  std::unique_ptr<DurationExpr> Clone() const;
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

// Where an @ modifier points.
enum class AtKind { kNone, kTimestamp, kStart, kEnd };

// Vector matching of a binary operation (docs: querying/operators "Vector matching").
enum class Cardinality { kOneToOne, kManyToOne, kOneToMany, kManyToMany };

struct VectorMatching {
  Cardinality card = Cardinality::kOneToOne;
  std::vector<std::string> labels;  // on(...) / ignoring(...)
  bool on = false;                  // on() rather than ignoring()
  bool explicit_matching = false;   // on/ignoring was written
  std::vector<std::string> include; // group_left(...)/group_right(...) labels
  // Prometheus 3's experimental fill modifiers: the value used for a missing left / right
  // operand (after group_right swaps the sides, "left" is the many side).
  std::optional<double> fill_left, fill_right;
};

enum class ExprKind {
  kNumber, kString, kVectorSelector, kMatrixSelector, kSubquery, kCall, kAggregate, kBinary,
  kUnary, kParen,
};

// One node. Fields are used according to `kind` (see the comments); others stay empty.
struct Expr {
  ExprKind kind = ExprKind::kNumber;
  int pos = 0;  // byte offset of the node's start in the query (for error positions)
  int end_pos = 0;  // byte offset one past the node's end

  // kNumber
  double number = 0;
  // kString
  std::string str;

  // kVectorSelector: the metric name (may be empty) and all matchers (incl. __name__).
  std::string name;
  std::vector<Matcher> matchers;
  // kVectorSelector / kSubquery: modifiers. offset_ms is fixed at parse time unless
  // offset_expr is set (a duration expression with step()/range()).
  int64_t offset_ms = 0;
  std::unique_ptr<DurationExpr> offset_expr;
  bool has_offset = false;
  AtKind at = AtKind::kNone;
  int64_t at_ms = 0;  // kTimestamp
  // kVectorSelector: Prometheus 3's experimental extended range selectors (docs:
  // querying/basics "Anchored and smoothed range selectors"). `anchored` takes the last sample
  // at or before a range's start as its first point; `smoothed` interpolates values at the
  // boundaries (and, on an instant selector, at each step).
  bool anchored = false;
  bool smoothed = false;

  // kMatrixSelector (child = the vector selector) / kSubquery (child = the inner expr).
  int64_t range_ms = 0;
  std::unique_ptr<DurationExpr> range_expr;
  int64_t step_ms = 0;  // kSubquery; 0 = the default evaluation interval
  std::unique_ptr<DurationExpr> step_expr;
  bool has_step = false;

  // kCall
  std::string func;
  std::vector<ExprPtr> args;

  // kAggregate: param (topk's k, quantile's q, count_values' label) and the grouping.
  AggregateOp agg_op = AggregateOp::kSum;
  ExprPtr param;
  std::vector<std::string> grouping;
  bool without = false;
  bool grouping_given = false;  // by()/without() was written

  // kBinary (lhs, rhs), kUnary (child, un_minus), kParen/kMatrixSelector/kSubquery (child)
  BinaryOp bin_op = BinaryOp::kAdd;
  bool return_bool = false;
  VectorMatching matching;
  ExprPtr lhs, rhs, child;
  bool un_minus = false;

  // The type of the value this node evaluates to.
  ValueType type() const;
  // Prometheus' single-line canonical form (what /api/v1/format_query returns).
  std::string ToString() const;
  ExprPtr Clone() const;
};

// Prometheus prints durations like model.Duration.String ("1h30m", "0s", "1ms").
std::string FormatDurationMs(int64_t ms);

// The matchers of every vector selector in `e` (also those inside matrix selectors, subqueries,
// calls and aggregations), in query order, one set per selector: what Prometheus'
// parser.ExtractSelectors returns and /api/v1/query_exemplars looks exemplars up by, so that a
// panel's whole expression (Grafana sends it unchanged) finds its series' exemplars.
std::vector<std::vector<Matcher>> ExtractSelectors(const Expr& e);

}  // namespace argus::promql
