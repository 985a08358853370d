// Promtail-style pipeline stages for tailed log lines (Loki docs, "Promtail pipelines" and
// "Promtail stages"; the same stages Alloy calls loki.process). A pipeline is the YAML list
// `pipeline_stages` of a log source; each item is a map with one key, the stage name:
//
//   parsing:   json (expressions, source, drop_malformed), logfmt (mapping, source),
//              regex (expression, source), cri, docker
//   transform: multiline (firstline, max_wait_time = 3s, max_lines = 128)
//   action:    labels, static_labels, structured_metadata, timestamp (source, format,
//              fallback_formats, location, action_on_failure = fudge), output (source)
//   filtering: drop (source, separator = ";", expression, value, older_than, longer_than),
//              match (selector, action = keep|drop, stages)
//
// Every entry carries its stream labels, structured metadata and the "extracted" map, which
// starts as a copy of the stream labels; parsers write to it and action stages read from it.
// json, logfmt and regex reuse the LogQL parsers (logql/stages), so a field means the same in
// a pipeline as in a query; json expressions are JMESPath as far as Loki's json paths go
// (`a.b[0]`, `"key with.dots"`). Timestamps use Go layouts (logql/go_time).
//
// Differences from Promtail, on purpose: docker drops the one trailing newline of `log`;
// a timestamp without a year takes the current one (December read in January takes the
// previous year), as Promtail does.
//
// Example:
//   YAML::Node stages = YAML::Load("[{regex: {expression: '^(?P<ts>\\S+) '}},"
//                                  " {timestamp: {source: ts, format: RFC3339}}]");
//   ASSIGN_OR_RETURN(std::unique_ptr<Pipeline> p, Pipeline::Make(stages));
//   std::vector<PipelineEntry> out;
//   p->Process(PipelineEntry::FromLine(now_ns, "2024-01-02T03:04:05Z hello", labels), now_ns, &out);
//
// Thread-safety: a Pipeline holds state (multiline blocks, CRI partial lines, the last
// timestamp for `fudge`) and is used by one thread; make one per tailed file.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "logql/go_time.h"
#include "model/labels.h"
#include "util/status.h"

namespace YAML {
class Node;
}

namespace argus::ingest {

// One log entry moving through a pipeline.
struct PipelineEntry {
  int64_t ts_ns = 0;  // Unix ns; the time the line was read until a timestamp stage sets it
  std::string line;
  std::map<std::string, std::string> labels;     // stream labels
  std::vector<Label> metadata;                   // structured metadata, names unique
  std::map<std::string, std::string> extracted;  // Promtail's extracted map

  // An entry read at `ts_ns` with the source's stream labels (also copied to `extracted`).
  static PipelineEntry FromLine(int64_t ts_ns, std::string line, const Labels& labels);
};

// One stage. Process appends to `out` what goes on to the next stage: nothing when the entry
// is dropped or held (multiline), more than one when held entries are released.
class PipelineStage {
 public:
  virtual ~PipelineStage() = default;
  virtual void Process(PipelineEntry e, int64_t now_ns, std::vector<PipelineEntry>* out) = 0;
  // Releases held entries whose wait is over (all of them when `force`).
  virtual void Flush(int64_t /*now_ns*/, bool /*force*/, std::vector<PipelineEntry>* /*out*/) {}
};

class Pipeline {
 public:
  // Builds the stages of a `pipeline_stages` sequence (null or empty: a pipeline that passes
  // entries through). Errors: InvalidArgument naming the stage and field, e.g.
  // `pipeline_stages[2].timestamp: format is required`, or an unknown stage name.
  static Result<std::unique_ptr<Pipeline>> Make(const YAML::Node& stages);

  // Runs `e` through every stage; entries that come out of the last stage go to `out`.
  void Process(PipelineEntry e, int64_t now_ns, std::vector<PipelineEntry>* out);
  // Releases what stages hold past their wait (all when `force`, e.g. at shutdown) and runs
  // it through the stages after them.
  void Flush(int64_t now_ns, bool force, std::vector<PipelineEntry>* out);

  size_t size() const { return stages_.size(); }

 private:
  void RunFrom(size_t first, std::vector<PipelineEntry> in, int64_t now_ns, std::vector<PipelineEntry>* out);
  std::vector<std::unique_ptr<PipelineStage>> stages_;
};

// Parses a timestamp the way the `timestamp` stage does: `format` is Unix, UnixMs, UnixUs,
// UnixNs, a Go layout name (RFC3339, ...) or a Go layout; `loc` may be null (UTC). A layout
// without a year takes the year of `now_ns` (the previous one for December seen in January).
// Errors: InvalidArgument with Go's parse message.
Result<int64_t> ParsePipelineTimestamp(std::string_view format, std::string_view value,
                                       const logql::TimeZone* loc, int64_t now_ns);

}  // namespace argus::ingest
