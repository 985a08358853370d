#include "traceql/conformance.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>
#include <string_view>

#include "traceql/parser.h"

namespace argus::traceql {
namespace {

// The verdict on one query of `section`, or an empty string if it behaved as expected.
std::string Check(std::string_view section, const std::string& q) {
  auto parsed = Parse(q);
  if (section == "parse_fails") {
    return parsed.ok() ? "parsed, expected a syntax error" : "";
  }
  if (!parsed.ok()) return "parse error: " + parsed.status().message();
  Status v = Validate(**parsed);
  if (section == "valid") return v.ok() ? "" : "validation failed: " + v.ToString();
  if (section == "validate_fails") {
    if (v.ok()) return "validated, expected a validation error";
    if (v.code() != StatusCode::kInvalidArgument) return "wrong error: " + v.ToString();
    return "";
  }
  // unsupported
  if (v.ok()) return "validated, expected 'not supported'";
  if (v.code() != StatusCode::kUnimplemented) return "wrong error: " + v.ToString();
  return "";
}

}  // namespace

Result<CorpusResult> RunCorpus(const std::string& path, std::ostream& out) {
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("cannot read TraceQL corpus " + path + ": " + e.what());
  }
  if (!doc.IsMap()) return Status::InvalidArgument(path + ": expected a YAML map of sections");
  CorpusResult r;
  for (std::string_view section : {"valid", "parse_fails", "validate_fails", "unsupported"}) {
    YAML::Node list = doc[std::string(section)];
    if (!list) continue;
    if (!list.IsSequence()) {
      return Status::InvalidArgument(path + ": section " + std::string(section) +
                                     " is not a list");
    }
    for (const YAML::Node& item : list) {
      std::string q = item.as<std::string>();
      std::string why = Check(section, q);
      if (why.empty()) {
        ++r.passed;
      } else {
        ++r.failed;
        out << "FAIL " << section << ": " << q << ": " << why << "\n";
      }
    }
  }
  out << r.passed << " passed, " << r.failed << " failed\n";
  return r;
}

int RunTestCommand(int argc, char** argv, std::ostream& out, std::ostream& err) {
  std::string file, baseline;
  for (int i = 0; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--baseline" && i + 1 < argc) {
      baseline = argv[++i];
    } else if (file.empty()) {
      file = a;
    } else {
      err << "usage: argus test traceql FILE [--baseline BASELINE_FILE]\n";
      return 2;
    }
  }
  if (file.empty()) {
    err << "usage: argus test traceql FILE [--baseline BASELINE_FILE]\n";
    return 2;
  }
  auto r = RunCorpus(file, out);
  if (!r.ok()) {
    err << r.status().ToString() << "\n";
    return 2;
  }
  if (r->failed == 0) return 0;
  if (baseline.empty()) return 1;
  std::ifstream in(baseline);
  if (!in) {
    err << "cannot read baseline " << baseline << "\n";
    return 2;
  }
  std::string base_name = file.substr(file.find_last_of('/') + 1);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string name;
    int min_passed = 0;
    if (!(ls >> name >> min_passed) || name != base_name) continue;
    if (r->passed >= min_passed) return 0;
    err << "pass count " << r->passed << " is below the baseline " << min_passed << "\n";
    return 1;
  }
  return 1;
}

}  // namespace argus::traceql
