// LogQL pipeline stages (Loki docs, "Log queries"): line filters (|= != |~ !~ |> !> and ip()),
// parsers (json, logfmt, regexp, pattern, unpack), label filters (string, number, duration,
// bytes, ip; and/or), line_format, label_format, drop, keep and decolorize.
//
// Each Make* function validates its arguments the way Loki's parser does and returns
// InvalidArgument with Loki's message ("error parsing regexp: ...", "at least one capture is
// required", "named captures are not allowed", "ip: invalid pattern", ...). A stage that fails
// on one line sets __error__ (JSONParserErr, LogfmtParserErr, LabelFilterErr,
// TemplateFormatErr) and __error_details__ instead of failing the query.
//
// Example:
//   ASSIGN_OR_RETURN(StagePtr f, MakeLineFilter(LineFilterOp::kContains, {{"error"}}));
//   std::string line = "an error"; LineLabels l;
//   f->Process(0, line, l);  // true
//
// Thread-safety: stages are immutable after construction.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "logql/ast.h"
#include "logql/convert.h"

namespace argus::logql {

enum class LineFilterOp { kContains, kNotContains, kMatch, kNotMatch, kPattern, kNotPattern };

// One operand of a line filter or-chain: a string or ip("...").
struct LineFilterTerm {
  std::string value;
  bool is_ip = false;
};

Result<StagePtr> MakeLineFilter(LineFilterOp op, const std::vector<LineFilterTerm>& terms);

// `json` with optional `label="path"` expressions (empty: extract every field).
Result<StagePtr> MakeJsonParser(const std::vector<std::pair<std::string, std::string>>& exprs);
// `logfmt [--strict] [--keep-empty]` with optional `label` / `label="key"` expressions.
Result<StagePtr> MakeLogfmtParser(bool strict, bool keep_empty,
                                  const std::vector<std::pair<std::string, std::string>>& exprs);
Result<StagePtr> MakeRegexpParser(const std::string& regex);
Result<StagePtr> MakePatternParser(const std::string& pattern);
StagePtr MakeUnpackParser();
StagePtr MakeDecolorize();
Result<StagePtr> MakeLineFormat(const std::string& tmpl);
// label_format: each (dst, src-or-template, is_rename).
struct LabelFormatSpec {
  std::string dst;
  std::string value;
  bool rename = false;
};
Result<StagePtr> MakeLabelFormat(const std::vector<LabelFormatSpec>& specs);
// drop / keep: names, optionally with a matcher on the value.
struct NamedMatcher {
  std::string name;
  std::optional<Matcher> matcher;
};
StagePtr MakeDrop(std::vector<NamedMatcher> names);
StagePtr MakeKeep(std::vector<NamedMatcher> names);

// A label filter expression tree.
struct LabelFilter {
  enum class Kind { kString, kNumber, kDuration, kBytes, kIp, kAnd, kOr };
  enum class Cmp { kEq, kNe, kGt, kGe, kLt, kLe };
  Kind kind = Kind::kString;
  std::string name;
  Cmp cmp = Cmp::kEq;
  std::optional<Matcher> matcher;  // kString
  double number = 0;               // kNumber, kDuration (seconds as ns), kBytes
  IpRange ip;                      // kIp
  std::shared_ptr<const LabelFilter> left, right;

  // Whether the entry passes; may set __error__ on a conversion failure (and keep the entry).
  bool Eval(LineLabels& labels) const;
};
StagePtr MakeLabelFilterStage(std::shared_ptr<const LabelFilter> f);

// Loki's label-key sanitizer: non [a-zA-Z0-9_] become `_`; a leading digit gets a `_` prefix.
std::string SanitizeLabelKey(std::string_view key);

}  // namespace argus::logql
