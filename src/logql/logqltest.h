// The runner for Loki's LogQL test scripts (`argus test logql FILE...`): the promqltest dialect
// described in ../shared/conformance/logql/SOURCE.md (`clear`, `load` with
// `<selector> "<line>" @ <t> [repeat every <s> for <n>] [metadata k="v" ...]`, and
// `eval instant at` / `eval range from .. to .. step ..` with expected vectors, scalars,
// matrices, `expect empty`, `expect fail [msg: | regex:]` and `expect ordered`).
//
// Each failing eval prints its file:line, query, expected and actual; each file prints a line
// with its counts; the run ends with "N passed, M failed".
//
// Example:
//   LogqlTestCounts c;
//   Status st = RunLogqlTestFile("range_aggregations.logqltest", std::cout, &c);
//
// Thread-safety: each call owns its in-memory store; calls may run concurrently.
#pragma once

#include <ostream>
#include <string>

#include "util/status.h"

namespace argus::logql {

struct LogqlTestCounts {
  int passed = 0;
  int failed = 0;
};

// Runs one script, printing failures to `out`. Returns IOError if the file cannot be read;
// script syntax errors count as failed evals (or one failure for a bad load block).
Status RunLogqlTestFile(const std::string& path, std::ostream& out, LogqlTestCounts* counts);

// `argus test logql [--baseline FILE] FILE...`. Returns the process exit code: 0 when every
// file passes (or, with --baseline, when each file passes at least its baseline count, a file
// missing from the baseline needing 100%), 1 otherwise, 77 when no given file exists.
int RunLogqlTestMain(int argc, char** argv);

}  // namespace argus::logql
