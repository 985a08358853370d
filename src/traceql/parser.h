// The TraceQL parser and semantic validator (Tempo docs, traceql/; the grammar follows
// grafana/tempo pkg/traceql/expr.y, including its precedence: `|` lowest, then `&&`/`||` (one
// level, left-associative), comparisons and structural operators, `+ -`, prefix `!`,
// `* / %`, and `^` (right-associative)).
//
// Parse accepts exactly the queries Tempo's grammar accepts; what it accepts but cannot mean
// (type errors, bad regexes, `topk(0)`) Validate rejects with InvalidArgument, and what
// Tempo parses but does not execute (`parent`, several aggregates in one scalar filter,
// arithmetic between scalar pipelines) Validate rejects with Unimplemented.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<RootExpr> q, Parse("{ status = error } | rate() by (name)"));
//   Status v = Validate(*q);   // OK
//   Parse("{ .a < 3");          // InvalidArgument "parse error at line 1, col 9: ..."
//
// Thread-safety: pure functions.
#pragma once

#include <memory>
#include <string_view>

#include "traceql/ast.h"
#include "util/status.h"

namespace argus::traceql {

// Parses `query`. InvalidArgument with "parse error ..." on a syntax error.
Result<std::unique_ptr<RootExpr>> Parse(std::string_view query);

// Semantic checks: operand types, regexes (RE2), aggregate arguments, metrics arguments.
// InvalidArgument for an invalid query, Unimplemented for valid TraceQL Argus (like Tempo)
// does not execute.
Status Validate(const RootExpr& root);

// Parse then Validate.
Result<std::unique_ptr<RootExpr>> ParseAndValidate(std::string_view query);

}  // namespace argus::traceql
