// The runner for TraceQL parser corpora in the format of grafana/tempo
// pkg/traceql/test_examples.yaml: a YAML map with the sections
//   valid:          queries that must parse and validate
//   parse_fails:    queries Parse must reject
//   validate_fails: queries that parse but Validate must reject as invalid (InvalidArgument)
//   unsupported:    queries that parse but Validate must reject as not executable (Unimplemented)
// It backs `argus test traceql FILE`.
//
// Example:
//   CorpusResult r = RunCorpus("../shared/conformance/traceql/test_examples.yaml", std::cout);
//   // prints each miss, then "412 passed, 0 failed"
//
// Thread-safety: pure apart from the output stream.
#pragma once

#include <ostream>
#include <string>

#include "util/status.h"

namespace argus::traceql {

struct CorpusResult {
  int passed = 0;
  int failed = 0;
};

// Runs every case of the corpus at `path`, writing one line per miss ("FAIL <section>: <query>:
// <why>") and a last line "N passed, M failed" to `out`. IOError/InvalidArgument if the file
// cannot be read or is not such a YAML map.
Result<CorpusResult> RunCorpus(const std::string& path, std::ostream& out);

// `argus test traceql FILE [--baseline BASELINE]`: returns the process exit code. 0 when
// every case passes, or, with a baseline file ("<file name> <min passed>" lines), when the
// pass count is at least the baseline's; 1 otherwise; 2 for usage or I/O errors.
int RunTestCommand(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace argus::traceql
