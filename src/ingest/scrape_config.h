// The `scrape_configs` section of a Prometheus configuration file: which jobs to scrape, how
// often, where to find their targets (static_configs, file_sd_configs) and how to relabel
// them. Follows Prometheus docs, configuration/configuration "<scrape_config>",
// "<static_config>", "<file_sd_config>", "<relabel_config>", "<tls_config>" and the HTTP client
// fields (basic_auth, authorization, proxy_url, follow_redirects).
//
// The server parses the whole YAML file with yaml-cpp and hands the `scrape_configs` sequence
// to ParseScrapeConfigs together with the `global` defaults.
//
// Example:
//   YAML::Node root = YAML::LoadFile(path);
//   ASSIGN_OR_RETURN(std::vector<ScrapeConfig> cfgs,
//                    ParseScrapeConfigs(root["scrape_configs"], 60000, 10000, config_dir));
//   ASSIGN_OR_RETURN(int64_t ms, ParsePromDuration("1m30s"));   // 90000
//
// Unknown fields are errors (as in Prometheus). Fields Prometheus knows but Argus does not
// implement yet (other *_sd_configs, oauth2, native histogram settings, ...) are ignored with a
// warning in the log. Thread-safety: plain values; the parse functions are reentrant.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/relabel.h"
#include "ingest/text_parser.h"
#include "model/labels.h"
#include "util/status.h"

namespace YAML {
class Node;
}

namespace argus::ingest {

// One `static_configs` entry: targets ("host:port") sharing a set of labels.
struct StaticConfig {
  std::vector<std::string> targets;
  Labels labels;
  friend bool operator==(const StaticConfig&, const StaticConfig&) = default;
};

// One `file_sd_configs` entry.
struct FileSdConfig {
  std::vector<std::string> files;           // paths or globs (only the last element may
                                            // contain '*'), resolved against the config dir;
                                            // names end in .json, .yml or .yaml
  int64_t refresh_interval_ms = 5 * 60 * 1000;  // default 5m
  friend bool operator==(const FileSdConfig&, const FileSdConfig&) = default;
};

// `tls_config`, for scheme https. Empty paths mean the system defaults.
struct TlsConfig {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;  // SNI / verification name; default: the target host
  bool insecure_skip_verify = false;
  friend bool operator==(const TlsConfig&, const TlsConfig&) = default;
};

struct ScrapeConfig {
  std::string job_name;
  int64_t scrape_interval_ms = 0;  // default: global scrape_interval
  int64_t scrape_timeout_ms = 0;   // default: global scrape_timeout, capped at the interval
  std::string metrics_path = "/metrics";
  std::string scheme = "http";     // "http" or "https"
  bool honor_labels = false;
  bool honor_timestamps = true;
  bool track_timestamps_staleness = false;  // stale markers also for samples with timestamps
  std::map<std::string, std::vector<std::string>> params;  // URL query parameters
  std::vector<StaticConfig> static_configs;
  std::vector<FileSdConfig> file_sd_configs;
  std::vector<RelabelConfig> relabel_configs, metric_relabel_configs;  // compiled
  int64_t sample_limit = 0;              // 0: no limit; more samples after relabeling fail
  int64_t label_limit = 0;               // max labels per series, 0: none
  int64_t label_name_length_limit = 0;   // bytes, 0: none
  int64_t label_value_length_limit = 0;  // bytes, 0: none
  int64_t body_size_limit_bytes = 0;     // uncompressed; 0: none ("10MB" form in YAML)

  // HTTP client.
  bool enable_compression = true;  // Accept-Encoding: gzip (else identity)
  bool follow_redirects = true;
  std::string basic_auth_username, basic_auth_password, basic_auth_password_file;
  std::string authorization_type = "Bearer";
  std::string authorization_credentials, authorization_credentials_file;
  std::string proxy_url;
  TlsConfig tls_config;

  // Media types to ask for, in preference order: any of "OpenMetricsText1.0.0",
  // "OpenMetricsText0.0.1", "PrometheusText1.0.0", "PrometheusText0.0.4" (Prometheus 3's
  // default is all four in that order). "PrometheusProto" is accepted and skipped.
  std::vector<std::string> scrape_protocols = {"OpenMetricsText1.0.0", "OpenMetricsText0.0.1",
                                               "PrometheusText1.0.0", "PrometheusText0.0.4"};
  // Format used when a target sends no or an unknown Content-Type. Unset: a missing type is
  // read as the Prometheus text format and an unknown one fails the scrape.
  std::optional<ExpositionFormat> fallback_scrape_protocol;

  friend bool operator==(const ScrapeConfig&, const ScrapeConfig&) = default;
};

// Parses a YAML `scrape_configs` sequence (a null node gives no jobs). Durations take the
// Prometheus form ("15s", "1m30s"); `global_interval_ms`/`global_timeout_ms` are the `global`
// section's values (Prometheus' defaults: 60000 and 10000). Relative file_sd paths are resolved
// against `config_dir` (the directory of the config file; "" = the working directory).
// Errors: InvalidArgument naming the job and the field, e.g.
// `scrape_configs[1] (job "node"): scrape_timeout: ...`; duplicate job names; timeouts longer
// than the interval; invalid relabel configs.
Result<std::vector<ScrapeConfig>> ParseScrapeConfigs(const YAML::Node& node,
                                                     int64_t global_interval_ms,
                                                     int64_t global_timeout_ms,
                                                     const std::string& config_dir = "");

// Parses a sequence of relabel configs (also used for remote_write write_relabel_configs and
// alerting relabel configs). The results are compiled. Errors: InvalidArgument naming the index
// and field.
Result<std::vector<RelabelConfig>> ParseRelabelConfigs(const YAML::Node& node);

// "1h30m" -> 5400000. Prometheus' duration syntax: an integer and a unit, repeated, units in
// decreasing order among y (365d), w, d, h, m, s, ms; "0" alone is allowed. Errors:
// InvalidArgument for empty, malformed or out-of-range (> 2^63 ns) durations.
Result<int64_t> ParsePromDuration(std::string_view s);

// The inverse, as Prometheus prints durations (model.Duration.String): 90000 -> "1m30s",
// 0 -> "0s"; years and weeks only when they divide evenly.
std::string FormatPromDuration(int64_t ms);

// "10MB" -> 10485760: Prometheus' base-2 byte sizes (B, KB/KiB, MB/MiB, GB, TB, PB, EB; K = 1024).
Result<int64_t> ParseByteSize(std::string_view s);

}  // namespace argus::ingest
