// The LogQL lexer and parser (Loki 3 docs, "LogQL"; grammar after grafana/loki
// pkg/logql/syntax/expr.y). Parsing also validates what Loki validates at parse time: regexes,
// patterns, templates, json expressions, ip() patterns, range aggregations that need or forbid
// unwrap, and which aggregations allow grouping. Errors are InvalidArgument with Loki's
// wording, e.g. "parse error at line 1, col 32: syntax error: unexpected bool" or
// "invalid aggregation sum_over_time without unwrap".
//
// Operator precedence, loosest first: or; and unless; == != > >= < <=; + -; * / %; ^ (right
// associative). A sign is allowed only directly on a number literal.
//
// Example:
//   auto e = ParseExpr(R"(count_over_time({app="a"} | logfmt | level="error" [5m]))");
//   if (!e.ok()) return e.status();
//
// Thread-safety: pure function.
#pragma once

#include <string_view>

#include "logql/ast.h"
#include "util/status.h"

namespace argus::logql {

Result<ExprPtr> ParseExpr(std::string_view query);

// Parses a bare stream selector `{a="b", c=~"d"}` (the /series and /labels `match[]` forms).
Result<std::vector<Matcher>> ParseSelector(std::string_view selector);

}  // namespace argus::logql
