// What Grafana's Logs Drilldown asks of the logs it browses, computed from log entries:
// detected fields (the fields json/logfmt find in lines, plus structured metadata), detected
// labels (stream labels worth a tab), and patterns (Drain-style line templates with counts per
// step). The Loki API (api/loki_api) encodes these as /loki/api/v1/detected_fields,
// /detected_field/<name>/values, /detected_labels and /patterns.
//
// Rules followed, from Loki's querier (facts only, no code carried over):
//  - A line that parses as a JSON object gives the `json` fields (nested keys joined with `_`,
//    arrays skipped), otherwise logfmt fields (`logfmt`); structured metadata fields have no
//    parser. A name clashing with a stream label becomes `<name>_extracted`.
//  - A field's type is that of its first value, tried in Loki's order: int, float, boolean,
//    duration, bytes, else string. Cardinality is the exact number of distinct values.
//  - A detected label is kept if it is static (cluster, namespace, instance, pod) or its values
//    are not all IDs (floats or UUIDs); two values 0/1 count as a boolean, not IDs.
//  - Patterns: lines are split on spaces; lines with the same token count, first token and
//    level fall in one group, where a line joins the most similar template (share of equal
//    tokens >= 0.3, Loki's Drain threshold) and differing tokens become `<_>`.
//
// Example:
//   FieldDetector d;
//   d.Add(stream_labels, entry);            // per entry a log query returned
//   std::vector<DetectedField> f = d.Fields(1000);
//   PatternMiner m;
//   m.Add(ts_ns, line, "info");
//   std::vector<DetectedPattern> p = m.Patterns(10'000'000'000);
//
// Thread-safety: FieldDetector and PatternMiner are not thread-safe; the functions are pure.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "logstore/log_reader.h"
#include "model/labels.h"

namespace argus::logql {

struct DetectedField {
  std::string label;
  std::string type;  // "string", "int", "float", "boolean", "duration" or "bytes"
  uint64_t cardinality = 0;
  std::vector<std::string> parsers;    // "json" and/or "logfmt"; empty for structured metadata
  std::vector<std::string> json_path;  // the keys of the first json occurrence; else empty
};

// Loki's determineType: the type name of one value.
std::string DetectFieldType(std::string_view value);

class FieldDetector {
 public:
  // Parses the entry's line and records its fields and its structured metadata. `stream` is
  // the entry's stream labels (used only to rename clashing fields).
  void Add(const Labels& stream, const logstore::LogEntry& entry);
  // The fields seen, sorted by name, at most `limit`.
  std::vector<DetectedField> Fields(size_t limit) const;
  // The distinct values of field `name` (sorted), at most `limit`; empty if never seen.
  std::vector<std::string> Values(std::string_view name, size_t limit) const;

 private:
  struct Field {
    DetectedField info;
    std::set<std::string> values;
  };
  void Record(const std::string& name, std::string_view value, const char* parser,
              const std::vector<std::string>* json_path);
  std::map<std::string, Field> fields_;
};

struct DetectedLabel {
  std::string label;
  uint64_t cardinality = 0;
};

// The labels of `streams` worth showing (see the rules above), sorted by name.
std::vector<DetectedLabel> DetectLabels(const std::vector<Labels>& streams);

struct DetectedPattern {
  std::string pattern;  // tokens joined by spaces, variable ones as <_>
  std::string level;    // the lines' level, "unknown" when none was given
  std::vector<std::pair<int64_t, uint64_t>> samples;  // (bucket start, Unix ns; lines), ascending
  uint64_t total = 0;
};

// Clusters lines into patterns. Memory: one template per cluster plus its per-bucket counts.
class PatternMiner {
 public:
  // `max_clusters_per_group`: a group (token count, first token, level) holds at most this
  // many templates (Loki's Drain max_children, 15 by default upstream; more here because a
  // group is not split further by later tokens).
  explicit PatternMiner(size_t max_clusters_per_group = 100) : max_clusters_(max_clusters_per_group) {}
  void Add(int64_t ts_ns, std::string_view line, std::string_view level);
  // The patterns, most lines first, with counts per bucket of `step_ns` (bucket start =
  // ts - ts mod step). REQUIRES: step_ns > 0.
  std::vector<DetectedPattern> Patterns(int64_t step_ns) const;

 private:
  struct Cluster {
    std::vector<std::string> tokens;  // "<_>" marks a variable token
    std::vector<int64_t> ts_ns;
  };
  size_t max_clusters_;
  std::map<std::string, std::vector<Cluster>> groups_;  // key: count, first token, level
};

// The level of an entry as Drilldown shows it: structured metadata or stream label
// `detected_level`, `level`, `severity`, else "unknown".
std::string EntryLevel(const Labels& stream, const logstore::LogEntry& entry);

}  // namespace argus::logql
