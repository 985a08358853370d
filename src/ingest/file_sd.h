// Target discovery for scraping: target groups from `static_configs` and from files
// (`file_sd_configs`). Follows Prometheus docs, configuration/configuration "<file_sd_config>":
// a file is a JSON or YAML list of groups `{targets: ["host:port", ...], labels: {...}}`
// (YAML when the name ends in .yml/.yaml, JSON for .json). Each group gains the label
// `__meta_filepath` (the file's path) and the source "<path>:<index>".
//
// Files are re-read when their modification time or size changes (checked whenever Refresh is
// called, which the scrape manager does every few seconds) and at least every
// refresh_interval. A file that cannot be read or parsed keeps its last good groups (Prometheus
// does the same); a file that disappears from the glob loses its groups.
//
// Example:
//   FileDiscovery d(cfg.file_sd_configs[0]);
//   if (d.Refresh(/*force=*/false)) Sync(d.Groups());
//
// Thread-safety: FileDiscovery is not thread-safe (the manager calls it under its lock).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/scrape_config.h"
#include "model/labels.h"
#include "util/status.h"

namespace argus::ingest {

inline constexpr std::string_view kAddressLabel = "__address__";
inline constexpr std::string_view kMetaFilepathLabel = "__meta_filepath";

// A set of targets sharing labels, as produced by service discovery (Prometheus'
// targetgroup.Group).
struct TargetGroup {
  std::string source;          // unique per discovery: "<path>:<i>" or "static:<i>"
  std::vector<Labels> targets;  // each holds at least __address__
  Labels labels;                // common to every target of the group
  friend bool operator==(const TargetGroup&, const TargetGroup&) = default;
};

// The groups of a job's static_configs, sources "static:0", "static:1", ...
std::vector<TargetGroup> StaticTargetGroups(const std::vector<StaticConfig>& configs);

// Parses the content of a file_sd file. `path` decides the syntax (.json: JSON, else YAML) and
// becomes __meta_filepath and the source prefix. Errors: InvalidArgument with the path, for
// malformed syntax, a group without a list of string targets, non-string label values or
// invalid label names.
Result<std::vector<TargetGroup>> ParseTargetGroupFile(std::string_view content,
                                                      const std::string& path);

class FileDiscovery {
 public:
  explicit FileDiscovery(FileSdConfig config);

  // Expands the globs and re-reads each matched file that is new, has changed (mtime or size)
  // or, with `force`, every file. Returns true if the groups changed. Read and parse errors are
  // logged and counted (errors_total()); the file keeps its previous groups.
  bool Refresh(bool force);

  // All groups of all matched files, ordered by path then index.
  std::vector<TargetGroup> Groups() const;

  const FileSdConfig& config() const { return config_; }
  uint64_t errors_total() const { return errors_total_; }
  // The last error of each file that currently fails ("" when none).
  std::string last_error() const { return last_error_; }

 private:
  struct FileState {
    int64_t mtime_ns = -1;
    int64_t size_bytes = -1;
    std::vector<TargetGroup> groups;
  };
  FileSdConfig config_;
  std::map<std::string, FileState> files_;
  uint64_t errors_total_ = 0;
  std::string last_error_;
};

}  // namespace argus::ingest
