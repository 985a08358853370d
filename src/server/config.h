// The YAML configuration file, Prometheus-style (Prometheus docs, configuration/configuration):
//
//   global:
//     scrape_interval: 1m        # default for every job (Prometheus default 1m)
//     scrape_timeout: 10s        # default 10s
//   scrape_configs: [...]        # as Prometheus' scrape_config (see ingest/scrape_config.h)
//   storage:
//     tsdb:
//       retention_time: 15d      # default 15d; the --storage.tsdb.retention.time flag wins
//       retention_size: 0        # bytes or "10GB"; 0 = unlimited
//       out_of_order_time_window: 10m
//   log_sources: [...]           # files to tail, Promtail-style (see ingest/file_tail.h)
//
// Without --config.file Argus runs kDefaultConfig, which scrapes Argus's own /metrics every 15 s
// (job "argus") and tails Argus's own log (<storage.path>/argus.log, {job="argus"}), so the
// first run already has metrics and logs to query.
//
// Example:
//   ASSIGN_OR_RETURN(Config cfg, ParseConfig(yaml_text, "/etc/argus", "localhost:9090"));
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ingest/file_tail.h"
#include "ingest/scrape_config.h"
#include "util/status.h"

namespace argus::server {

// The embedded default; "$SELF" is replaced by Argus's own web address.
extern const char* const kDefaultConfig;

struct Config {
  int64_t scrape_interval_ms = 60000;
  int64_t scrape_timeout_ms = 10000;
  std::vector<ingest::ScrapeConfig> scrape_configs;
  std::optional<int64_t> retention_time_ms;
  std::optional<uint64_t> retention_size_bytes;
  std::optional<int64_t> ooo_window_ms;
  std::vector<ingest::TailSource> log_sources;  // one per path of each log_sources entry
  std::string source;  // the YAML text, for /api/v1/status/config
};

// Parses `yaml`. `config_dir` resolves relative file_sd paths; `self_address` replaces "$SELF";
// `storage_path` replaces "$STORAGE_PATH" in log_sources paths.
// Errors: InvalidArgument naming the field (unknown top-level keys too).
Result<Config> ParseConfig(const std::string& yaml, const std::string& config_dir,
                           const std::string& self_address, const std::string& storage_path = "data");

}  // namespace argus::server
