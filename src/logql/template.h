// The subset of Go's text/template that LogQL's line_format and label_format use (Loki docs,
// "Template functions"): text and {{ }} actions with trim markers, pipelines (`.a | upper`),
// function calls with string, number and parenthesized arguments, `.label` fields, `.` for all
// labels, if/else if/else/end, and Loki's functions (lower, upper, title, trunc, substr,
// replace, trim*, contains, hasPrefix, hasSuffix, indent, nindent, repeat, regexReplaceAll,
// regexReplaceAllLiteral, default, count, printf, len, and, or, not, eq, ne, lt, le, gt, ge,
// add, sub, mul, div, mod, addf, subf, mulf, divf, max, min, ceil, floor, round, int,
// float64, b64enc, b64dec, urlencode, urldecode, alignLeft, alignRight, __line__,
// __timestamp__, unixEpoch, unixEpochMillis, unixEpochNanos, bytes, duration).
//
// Example:
//   ASSIGN_OR_RETURN(auto t, Template::Parse("line", "{{.level | upper}}: {{__line__}}"));
//   std::string out = t->Execute(labels, line, ts_ns);
//
// Parse errors carry Go's messages ("template: line:1: unclosed action",
// `function "x" not defined`). Thread-safety: a parsed Template is immutable.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "logql/line_labels.h"
#include "util/status.h"

namespace argus::logql {

class Template {
 public:
  struct Node;
  // `name` appears in error messages ("template: <name>:1: ...").
  static Result<std::shared_ptr<const Template>> Parse(std::string_view name, std::string_view text);
  ~Template();
  // Renders with the labels as fields. A runtime error (e.g. a bad argument) returns it.
  Result<std::string> Execute(const LineLabels& labels, std::string_view line, int64_t ts_ns) const;

 private:
  Template() = default;
  std::unique_ptr<Node> root_;
};

}  // namespace argus::logql
