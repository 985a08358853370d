// The runner for Prometheus' PromQL test scripts (promql/promqltest/test.go; format described
// in ../shared/conformance/promql/SOURCE.md): `load`, `clear`, `eval instant|range` with
// `expect fail|warn|no_warn|info|no_info|ordered|range vector|string`, scalar and series
// expectations, the deprecated `eval_fail`/`eval_ordered`/... forms, and the extra checks
// upstream makes for instant evals (the same query with `@ <t>` on every selector at other
// evaluation times, and the query as a range query around t). Runs over an in-memory storage
// with upstream's test settings (lookback 5m, max samples 10000, delayed name removal).
//
// Backs `argus test promql FILE...`.
//
// Example:
//   PromqlTestOptions o;
//   int rc = RunPromqlTestFiles({"functions.test"}, o, std::cout);  // 0 when all pass
//
// Thread-safety: reentrant; each call uses its own storage and engine.
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace argus::promql {

struct PromqlTestOptions {
  // "file_basename min_passed" lines: a listed file passes when at least min_passed of its
  // cases pass; unlisted files must pass completely. Empty = every file must pass.
  std::string baseline_path;
  bool verbose = false;  // print passing cases too
};

struct PromqlFileResult {
  int passed = 0;
  int failed = 0;
  int failed_histograms = 0;  // failures that need native histograms
};

// Runs one script's text; failures are described on `out` (prefixed with `name`).
PromqlFileResult RunPromqlTestScript(const std::string& name, const std::string& text,
                                     const PromqlTestOptions& opts, std::ostream& out);

// Runs each file, prints a line per file and the closing "N passed, M failed" line.
// Returns 0 if everything passed (or met its baseline), 1 otherwise, 77 if a file is missing.
int RunPromqlTestFiles(const std::vector<std::string>& files, const PromqlTestOptions& opts,
                       std::ostream& out);

// The entry point of `argus test promql [--baseline FILE] [-v] FILE...`; argv excludes
// "argus test promql".
int PromqlTestMain(const std::vector<std::string>& args);

}  // namespace argus::promql
