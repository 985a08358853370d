// The LogQL syntax tree (Loki 3 docs, "LogQL: Log query language").
//
// A query is an Expr: a log query (stream selector plus pipeline, returning log lines) or a
// metric query (range aggregations over log ranges, vector aggregations, binary operations,
// literals, vector() and label_replace()). The parser (parser.h) builds the tree with the
// pipeline stages already compiled (regexes, templates, patterns), so parse errors surface at
// parse time as Loki reports them, and the engine (engine.h) only evaluates.
//
// Example:
//   ASSIGN_OR_RETURN(ExprPtr e, ParseExpr(R"(sum by (app) (rate({app="a"} |= "x" [1m])))"));
//   e->kind;  // ExprKind::kVectorAgg
//
// Thread-safety: a parsed tree is immutable; it may be evaluated from many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "logql/line_labels.h"
#include "model/matcher.h"

namespace argus::logql {

// One pipeline stage: a line filter, parser, label filter or formatter. Process may rewrite
// `line` and the labels and returns false to drop the entry. Implementations live in
// stages.cc. Thread-safe: stages are stateless between calls.
class Stage {
 public:
  virtual ~Stage() = default;
  virtual bool Process(int64_t ts_ns, std::string& line, LineLabels& labels) const = 0;
  // True for stages that only filter on the line (line filters); they may run before any
  // label work.
  virtual bool IsLineFilter() const { return false; }
  // True if the stage reads or writes the line.
  virtual bool TouchesLine() const { return true; }
  // For a `|= "literal"` filter: the literal every kept line contains (a store hint); else null.
  virtual const std::string* RequiredLiteral() const { return nullptr; }
};

using StagePtr = std::shared_ptr<const Stage>;

// A stream selector with its pipeline: `{app="a"} |= "x" | json`.
struct LogSelector {
  std::vector<Matcher> matchers;
  std::vector<StagePtr> stages;
};

// `| unwrap [duration(|duration_seconds(|bytes(]label[)] | post filters`.
struct Unwrap {
  enum class Conversion { kFloat, kDuration, kBytes };
  std::string label;
  Conversion conversion = Conversion::kFloat;
  std::vector<StagePtr> post_filters;  // label filters after the unwrap
};

enum class RangeOp {
  kCount, kRate, kRateCounter, kBytes, kBytesRate, kAbsent, kSum, kAvg, kMin, kMax,
  kStddev, kStdvar, kQuantile, kFirst, kLast,
};
std::string_view RangeOpName(RangeOp op);

enum class VectorOp { kSum, kAvg, kMin, kMax, kCount, kStddev, kStdvar, kTopk, kBottomk,
                      kSort, kSortDesc, kApproxTopk };
std::string_view VectorOpName(VectorOp op);

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kMod, kPow, kEq, kNe, kGt, kGe, kLt, kLe,
                      kAnd, kOr, kUnless };
bool IsComparison(BinaryOp op);
bool IsSetOp(BinaryOp op);

// `by (a, b)` or `without (a, b)`.
struct Grouping {
  bool without = false;
  std::vector<std::string> labels;
};

// `on (..)` / `ignoring (..)` and `group_left (..)` / `group_right (..)`.
struct VectorMatching {
  enum class Card { kOneToOne, kManyToOne, kOneToMany, kManyToMany };
  Card card = Card::kOneToOne;
  bool on = false;              // on(...) given (else ignoring, possibly empty)
  std::vector<std::string> matching_labels;
  std::vector<std::string> include;  // group_x(...) labels
};

enum class ExprKind { kLog, kRangeAgg, kVectorAgg, kBinary, kLiteral, kVector, kLabelReplace };

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct Expr {
  ExprKind kind = ExprKind::kLiteral;

  // kLog and kRangeAgg: the selector and pipeline.
  LogSelector selector;
  // kRangeAgg.
  RangeOp range_op = RangeOp::kCount;
  std::optional<Unwrap> unwrap;
  int64_t range_ns = 0;
  int64_t offset_ns = 0;
  std::optional<double> param;       // quantile_over_time's q; topk's k
  std::optional<Grouping> grouping;  // range and vector aggregations

  // kVectorAgg.
  VectorOp vector_op = VectorOp::kSum;

  // kBinary.
  BinaryOp binary_op = BinaryOp::kAdd;
  bool return_bool = false;
  VectorMatching matching;
  ExprPtr lhs, rhs;  // kVectorAgg and kLabelReplace use lhs as the inner expression

  // kLiteral / kVector.
  double value = 0;

  // kLabelReplace.
  std::string dst, replacement, src, regex;

  bool IsScalar() const { return kind == ExprKind::kLiteral || (kind == ExprKind::kBinary &&
                                 lhs->IsScalar() && rhs->IsScalar()); }
};

}  // namespace argus::logql
