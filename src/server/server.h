// The Argus process: opens the metrics DB (replaying its WAL), starts the HTTP server on
// --web.listen-address (Prometheus API, remote_write, OTLP/HTTP, /metrics, health), the OTLP
// gRPC server and the OTLP/HTTP server, the scrape manager, and the maintenance loop (block
// cutting, compaction, retention every minute); shuts all of it down in the reverse order.
//
// Example:
//   ServerOptions o;  o.storage_path = "/var/lib/argus";
//   Server s(o);
//   RETURN_IF_ERROR(s.Start());
//   s.Wait();          // until Shutdown() (main calls it on SIGTERM/SIGINT)
//
// Thread-safety: Start, Shutdown and Wait may be called from different threads; Shutdown is
// idempotent.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/http.h"
#include "server/config.h"
#include "tsdb/db.h"
#include "util/status.h"

namespace argus::server {

class OtlpMetricsService;

struct ServerOptions {
  std::string config_file;                    // "" = embedded default config
  std::string storage_path = "data/";
  std::string web_listen_address = ":9090";
  std::string otlp_grpc_listen_address = ":4317";   // "" disables
  std::string otlp_http_listen_address = ":4318";   // "" disables
  std::optional<int64_t> retention_time_ms;   // flag; overrides the config file
  std::optional<uint64_t> retention_size_bytes;
  std::optional<int64_t> ooo_window_ms;
  wal::SyncPolicy wal_sync = wal::SyncPolicy::kBatch;
  int max_inflight_pushes = 64;               // more concurrent pushes get 429
  uint64_t max_push_body_bytes = 64ull << 20;
  int64_t maintenance_interval_ms = 60000;
  std::string flags_json = "{}";              // for /api/v1/status/flags
  // PromQL engine limits (Prometheus' flags of the same names).
  int64_t query_lookback_delta_ms = 300000;   // --query.lookback-delta (5m)
  int64_t query_max_samples = 50000000;       // --query.max-samples
  int64_t query_timeout_ms = 120000;          // --query.timeout (2m)
  int query_max_concurrency = 20;             // --query.max-concurrency
  // --enable-feature=use-start-timestamps (default off): PromQL reads the samples' start
  // timestamps (promql::EngineOptions::use_start_timestamps).
  bool query_use_start_timestamps = false;
  // Logs: files to tail (glob patterns) and the stream labels of their lines (Prometheus
  // text form; `filename` is added). Default: no tailing, labels {job="tail"}.
  std::vector<std::string> logs_tail_globs;
  std::string logs_tail_labels = "{job=\"tail\"}";
  bool traces_span_metrics = true;            // traces: write traces_spanmetrics_* (default on)
  bool traces_service_graphs = true;          // traces: write traces_service_graph_* (default on)
};

class Server {
 public:
  explicit Server(ServerOptions opts);
  ~Server();
  // Loads the config, opens the DB, binds every listener, starts scraping. Errors: a bad
  // config (InvalidArgument), a DB that cannot open, a port that cannot be bound (IOError).
  Status Start();
  // Stops listeners (finishing in-flight requests), scraping and maintenance, then closes the
  // DB (syncing the WAL).
  void Shutdown();
  // Blocks until Shutdown() has run.
  void Wait();
  // The HTTP port actually bound (useful with ":0").
  uint16_t web_port() const;
  uint16_t otlp_http_port() const;
  int otlp_grpc_port() const;

  // Routes one request of the main port (exposed for tests).
  api::HttpResponse HandleWeb(const api::HttpRequest& req);
  // Routes one request of the OTLP/HTTP port.
  api::HttpResponse HandleOtlpHttp(const api::HttpRequest& req);

 private:
  friend class OtlpMetricsService;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace argus::server
