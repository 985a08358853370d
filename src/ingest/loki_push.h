// Loki push ingest: POST /loki/api/v1/push bodies (JSON, optionally gzip, and snappy-compressed
// protobuf logproto.PushRequest) and OTLP logs (ExportLogsServiceRequest), validated with
// Loki's limits and written through a logstore::LogWriter.
//
// Follows Loki's HTTP API reference ("Ingest logs") and its validation (pkg/validation):
// messages are Loki's, e.g. "Max entry size '262144' bytes exceeded for stream '{app="a"}'
// while adding an entry with length '300000' bytes". Invalid entries are dropped and the rest
// stored; the call then returns InvalidArgument (HTTP 400) with the first problems. A push over
// the ingestion rate returns ResourceExhausted (429) and stores nothing.
//
// OTLP logs follow Loki's default OTLP mapping (docs "Ingesting logs to Loki using
// OpenTelemetry Collector"): the default list of resource attributes (service.name,
// service.namespace, k8s.pod.name, ...) become stream labels with dots replaced by
// underscores (service_name defaults to "unknown_service"); other resource attributes, scope
// and log attributes, trace_id, span_id, severity_text and severity_number become structured
// metadata.
//
// Example:
//   LokiPushHandler push(LokiLimits{}, store.get());
//   Status st = push.HandleHttp(body, "application/json", "gzip", now_ns);
//
// Thread-safety: LokiPushHandler is thread-safe (its rate limiter takes a mutex).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "logstore/log_reader.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "util/status.h"

namespace argus::ingest {

// Loki's limits_config defaults.
struct LokiLimits {
  size_t max_line_size_bytes = 256 << 10;          // max_line_size: 256KB
  int max_label_names_per_series = 15;             // max_label_names_per_series
  size_t max_label_name_length = 1024;             // max_label_name_length
  size_t max_label_value_length = 2048;            // max_label_value_length
  int64_t reject_old_samples_max_age_ns = 7 * 24 * 3600LL * 1'000'000'000;  // 168h
  int64_t creation_grace_period_ns = 600LL * 1'000'000'000;                // 10m
  size_t max_structured_metadata_bytes = 64 << 10;  // max_structured_metadata_size: 64KB
  double ingestion_rate_bytes_per_s = 4 << 20;      // ingestion_rate_mb: 4
  double ingestion_burst_bytes = 6 << 20;           // ingestion_burst_size_mb: 6
  size_t max_decoded_bytes = 64 << 20;              // largest accepted decompressed body
};

struct PushStats {
  uint64_t streams = 0, entries = 0, bytes = 0, rejected = 0;
};

// Decoders: InvalidArgument with a Loki-style message on malformed input.
Result<std::vector<logstore::PushStream>> DecodeLokiJson(std::string_view json);
Result<std::vector<logstore::PushStream>> DecodeLokiProto(std::string_view proto);
// Parses `{a="b", c="d"}` (Prometheus text form, Go escapes). InvalidArgument otherwise.
Result<Labels> ParseLabelsText(std::string_view s);
// The OTLP mapping described above; `now_ns` stamps records with neither time set.
std::vector<logstore::PushStream> TranslateOtlpLogs(
    const opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest& req, int64_t now_ns);

class LokiPushHandler {
 public:
  // `writer` must outlive the handler.
  LokiPushHandler(LokiLimits limits, logstore::LogWriter* writer);

  // Decodes a push body by its Content-Type (application/json, else protobuf) and
  // Content-Encoding (gzip for JSON; protobuf bodies are snappy), then Push.
  Status HandleHttp(std::string_view body, std::string_view content_type, std::string_view content_encoding,
                    int64_t now_ns, PushStats* stats);
  // Validates, rate-limits and writes. Errors: InvalidArgument (some entries rejected; the rest
  // stored), ResourceExhausted (rate limit; nothing stored), the writer's errors.
  Status Push(std::vector<logstore::PushStream> streams, int64_t now_ns, PushStats* stats);

 private:
  const LokiLimits limits_;
  logstore::LogWriter* const writer_;
  std::mutex mu_;
  double tokens_;           // GUARDED_BY(mu_): bytes available
  int64_t last_refill_ns_;  // GUARDED_BY(mu_)
};

}  // namespace argus::ingest
