// The PromQL parser (Prometheus promql/parser): precedence and associativity as upstream's
// yacc grammar (or < and/unless < comparisons < + - < * / % atan2 < ^ (right), unary -/+ binding
// like *), type checking as upstream's checkAST, and parse errors in upstream's form
// ("1:5: parse error: unexpected <op:+>").
//
// Also the function table (names, argument and return types) shared with the engine.
//
// Example:
//   Result<ExprPtr> e = ParseExpr("rate(x[5m]) > bool 1");
//   Result<std::vector<Matcher>> ms = ParseMetricSelector("up{job=~\"a|b\"}");
//
// Thread-safety: the functions are reentrant.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/labels.h"
#include "promql/ast.h"
#include "util/status.h"

namespace argus::promql {

// A PromQL function's signature (Prometheus parser/functions.go). `variadic`: 0 = exactly
// arg_types.size() arguments; n > 0 = up to n optional trailing arguments (of the last type);
// -1 = any number of trailing arguments of the last type.
struct FunctionSignature {
  std::string name;
  std::vector<ValueType> arg_types;
  int variadic = 0;
  ValueType return_type = ValueType::kVector;
};

// The signature of function `name`, or nullptr if there is none.
const FunctionSignature* LookupFunction(std::string_view name);

// Parses and type-checks a PromQL expression. Errors: InvalidArgument whose message is
// Prometheus' ("1:14: parse error: unexpected end of input"), ready to show in an API error.
Result<ExprPtr> ParseExpr(std::string_view query);

// Parses a series selector (`name{l="v"}`, `{l=~"v"}`) into its matchers, as /api/v1/series'
// match[] and the test scripts need. Errors: InvalidArgument as ParseExpr, and for any other
// expression "...: parse error: expected vector selector".
Result<std::vector<Matcher>> ParseMetricSelector(std::string_view s);

// The "line:col" (1-based) of byte offset `pos` in `query`, as Prometheus' annotations print.
std::string PositionString(std::string_view query, int pos);

// Prometheus' name for a value type in type errors: "scalar", "instant vector",
// "range vector", "string".
std::string_view DocumentedType(ValueType t);

}  // namespace argus::promql
