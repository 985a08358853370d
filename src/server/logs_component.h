// The logs signal inside the server: the LogStore at <storage.path>/logs, Loki push and query
// API on the main port (/loki/api/v1/...), OTLP logs on /otlp/v1/logs (main port),
// /v1/logs (OTLP/HTTP port) and gRPC LogsService/Export, and the store's maintenance
// (retention, snapshots). Kept apart from server.cc so the metrics and logs wiring stay
// separate.
//
// Example (from Server::Start / HandleWeb):
//   logs = std::make_unique<LogsComponent>();
//   RETURN_IF_ERROR(logs->Open(storage_path, wal_sync));
//   if (logs->HandleWeb(req, &resp)) return resp;
//
// Thread-safety: Open/Close from one thread; the handlers are thread-safe once open.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/http.h"
#include "ingest/file_tail.h"
#include "util/status.h"
#include "wal/wal.h"

namespace grpc {
class Service;
}

namespace argus::server {

class LogsComponent {
 public:
  LogsComponent();
  ~LogsComponent();
  // Opens (creating) <storage_path>/logs and replays its WAL, then starts tailing the files
  // of `log_sources` and those matching `tail_globs` (with the stream labels `tail_labels`,
  // Prometheus text form); positions in <storage_path>/logs/positions. Tailed lines are not
  // held to Loki's age and rate limits: they are local files, read at their own pace.
  // Errors: the store's; InvalidArgument for bad labels.
  Status Open(const std::string& storage_path, wal::SyncPolicy sync,
              const std::vector<std::string>& tail_globs = {}, const std::string& tail_labels = "{job=\"tail\"}",
              std::vector<ingest::TailSource> log_sources = {});
  // Snapshots and closes the store; idempotent.
  void Close();
  // Retention and a snapshot (bounding the WAL); called by the server's maintenance loop.
  void Maintain();
  // Handles Loki API paths and /otlp/v1/logs on the main port; false for other paths.
  bool HandleWeb(const api::HttpRequest& req, api::HttpResponse* resp);
  // Handles the WebSocket upgrade of /loki/api/v1/tail (and the deprecated /api/prom/tail):
  // fills `out` with the tail session or the error to send; false for other paths.
  bool HandleWebSocket(const api::HttpRequest& req, api::UpgradeResult* out);
  // Handles /v1/logs on the OTLP/HTTP port; false for other paths.
  bool HandleOtlpHttp(const api::HttpRequest& req, api::HttpResponse* resp);
  // The gRPC LogsService to register (owned by this component).
  grpc::Service* grpc_service();

  struct Impl;  // internal; public so the gRPC service in the .cc can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace argus::server
