#include "server/config.h"

#include <yaml-cpp/yaml.h>

namespace argus::server {

const char* const kDefaultConfig = R"(# Argus embedded default configuration: Argus observes itself.
global:
  scrape_interval: 15s
  scrape_timeout: 10s
scrape_configs:
  - job_name: argus
    static_configs:
      - targets: ["$SELF"]
log_sources:
  - name: argus
    paths: ["$STORAGE_PATH/argus.log"]
    labels: {job: argus, service_name: argus}
    pipeline_stages:
      - regex:
          expression: '^(?P<ts>\S+) \[(?P<level>\w+)\] '
      - timestamp: {source: ts, format: RFC3339Nano}
      - labels: {level: ""}
)";

namespace {

Result<int64_t> Duration(const YAML::Node& n, const std::string& field) {
  auto d = ingest::ParsePromDuration(n.as<std::string>());
  if (!d.ok()) return Status::InvalidArgument(field + ": " + d.status().message());
  return *d;
}

}  // namespace

Result<Config> ParseConfig(const std::string& yaml, const std::string& config_dir,
                           const std::string& self_address, const std::string& storage_path) {
  std::string text = yaml;
  for (size_t p; (p = text.find("$SELF")) != std::string::npos;) text.replace(p, 5, self_address);
  Config cfg;
  cfg.source = text;
  try {
    YAML::Node root = YAML::Load(text);
    if (root.IsNull()) return cfg;
    if (!root.IsMap()) return Status::InvalidArgument("config: the top level must be a mapping");
    for (const auto& kv : root) {
      std::string key = kv.first.as<std::string>();
      if (key != "global" && key != "scrape_configs" && key != "storage" && key != "rule_files" &&
          key != "alerting" && key != "remote_write" && key != "remote_read" && key != "log_sources") {
        return Status::InvalidArgument("config: unknown field \"" + key + "\"");
      }
    }
    if (const YAML::Node g = root["global"]) {
      if (g["scrape_interval"]) {
        ASSIGN_OR_RETURN(cfg.scrape_interval_ms, Duration(g["scrape_interval"], "global.scrape_interval"));
      }
      if (g["scrape_timeout"]) {
        ASSIGN_OR_RETURN(cfg.scrape_timeout_ms, Duration(g["scrape_timeout"], "global.scrape_timeout"));
      }
    }
    if (const YAML::Node sc = root["scrape_configs"]) {
      ASSIGN_OR_RETURN(cfg.scrape_configs,
                       ingest::ParseScrapeConfigs(sc, cfg.scrape_interval_ms, cfg.scrape_timeout_ms,
                                                  config_dir));
    }
    if (const YAML::Node ls = root["log_sources"]) {
      ASSIGN_OR_RETURN(cfg.log_sources, ingest::ParseLogSources(ls, storage_path));
    }
    if (const YAML::Node t = root["storage"]["tsdb"]) {
      if (t["retention_time"]) {
        ASSIGN_OR_RETURN(cfg.retention_time_ms, Duration(t["retention_time"], "storage.tsdb.retention_time"));
      }
      if (t["retention_size"]) {
        auto b = ingest::ParseByteSize(t["retention_size"].as<std::string>());
        if (!b.ok()) return Status::InvalidArgument("storage.tsdb.retention_size: " + b.status().message());
        cfg.retention_size_bytes = static_cast<uint64_t>(*b);
      }
      if (t["out_of_order_time_window"]) {
        ASSIGN_OR_RETURN(cfg.ooo_window_ms, Duration(t["out_of_order_time_window"],
                                                     "storage.tsdb.out_of_order_time_window"));
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("config: ") + e.what());
  }
  return cfg;
}

}  // namespace argus::server
