// OTLP traces ingest (OTLP spec, "OTLP/gRPC" and "OTLP/HTTP"; trace.proto): the gRPC
// TraceService/Export and the body of POST /v1/traces (protobuf or JSON with hex IDs, gzip),
// split into one batch per trace and appended to the trace store.
//
// Spans with a trace ID that is not 16 bytes (or all zero), a span ID that is not 8 bytes (or
// all zero), or a parent span ID that is neither empty nor 8 bytes are refused and reported
// through partial_success (rejected_spans, error_message), as are traces over the store's
// limits; the other spans are written. String attribute keys and values longer than
// max_attribute_bytes are truncated (Tempo's max_attribute_bytes). Malformed bodies are HTTP
// 400 / gRPC INVALID_ARGUMENT; not ready or shutting down is 503 / UNAVAILABLE with
// Retry-After; too many requests in flight is 429 / RESOURCE_EXHAUSTED.
//
// Example:
//   TraceIngester ing(store, TraceIngestLimits{}, [&] { return ready.load(); });
//   OtlpHttpReply r = ing.HandleHttp("POST", "application/x-protobuf", "", body);
//   OtlpTraceGrpcService svc(&ing);        // grpc::ServerBuilder::RegisterService(&svc)
//
// Thread-safety: TraceIngester and the service are thread-safe (the store is).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/service_graphs.h"
#include "ingest/span_metrics.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "tracestore/trace_store.h"
#include "util/status.h"

namespace argus::ingest {

struct TraceIngestLimits {
  // String attribute keys and values are truncated to this many bytes (default 2048, Tempo's
  // distributor max_attribute_bytes; cut at a UTF-8 character boundary). 0 = no limit.
  size_t max_attribute_bytes = 2048;
  // Largest decompressed OTLP/HTTP body (bytes, default 64 MiB).
  size_t max_body_bytes = 64ull << 20;
  // Requests handled at once; more are answered 429 (default 64).
  int max_inflight = 64;
};

struct TraceIngestResult {
  uint64_t accepted_spans = 0;
  uint64_t rejected_spans = 0;
  std::string error;  // the first reason a span was refused
};

// Splits the serialized ExportTraceServiceRequest `request` into one batch per trace (each
// keeps its spans' resource and scope), appending to `out`, without materializing messages:
// spans are copied as the bytes they were sent in. Spans with bad IDs are refused and counted
// in `result`; string attribute keys and values are truncated per `limits` (for the rare
// resource or span longer than the limit, through protobuf). Errors: InvalidArgument if the
// bytes are not a valid request as protobuf's parser decides it (nothing is appended).
Status SplitByTrace(std::string_view request, const TraceIngestLimits& limits,
                    std::vector<tracestore::TraceBatch>* out, TraceIngestResult* result);

// A transport-neutral OTLP/HTTP answer.
struct OtlpHttpReply {
  int status = 200;
  std::string content_type;
  std::string body;
  int retry_after_s = 0;  // > 0: send Retry-After
};

class TraceIngester {
 public:
  // `store` is not owned and must outlive this; `ready` says whether to accept writes.
  TraceIngester(tracestore::TraceStore* store, TraceIngestLimits limits,
                std::function<bool()> ready);

  // Appends the spans of the serialized ExportTraceServiceRequest `request`; fills
  // partial_success in `resp` when spans were refused. Errors: InvalidArgument (not a valid
  // request), Unavailable (not ready), ResourceExhausted (too many in flight), IOError.
  Status Export(std::string_view request,
                opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse* resp);
  // The same for a request already decoded (gRPC, JSON, Zipkin): it is serialized first.
  Status Export(const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& req,
                opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse* resp);

  // POST /v1/traces: decodes (gzip; protobuf or JSON by Content-Type), exports, and encodes
  // the ExportTraceServiceResponse (or a google.rpc.Status error) in the request's encoding.
  OtlpHttpReply HandleHttp(std::string_view method, std::string_view content_type,
                           std::string_view content_encoding, std::string_view body);

  // POST /api/v2/spans (Zipkin v2 JSON, gzip allowed): 202 when every span was written; 400
  // with the reason when the body is bad or spans were refused (the others are written).
  OtlpHttpReply HandleZipkin(std::string_view method, std::string_view content_type,
                             std::string_view content_encoding, std::string_view body);

  uint64_t spans_accepted() const { return spans_accepted_.load(); }

  // Span metrics to feed with every accepted batch (not owned; null = none). Set before use.
  void set_span_metrics(SpanMetrics* m) { span_metrics_ = m; }
  // Service graphs to feed with every accepted batch (not owned; null = none). Set before use.
  void set_service_graphs(ServiceGraphs* g) { service_graphs_ = g; }

 private:
  tracestore::TraceStore* store_;
  const TraceIngestLimits limits_;
  std::function<bool()> ready_;
  std::atomic<int> inflight_{0};
  std::atomic<uint64_t> spans_accepted_{0};
  SpanMetrics* span_metrics_ = nullptr;
  ServiceGraphs* service_graphs_ = nullptr;
};

// The gRPC service (opentelemetry.proto.collector.trace.v1.TraceService).
class OtlpTraceGrpcService final
    : public opentelemetry::proto::collector::trace::v1::TraceService::Service {
 public:
  explicit OtlpTraceGrpcService(TraceIngester* ingester) : ingester_(ingester) {}
  grpc::Status Export(grpc::ServerContext* ctx,
                      const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest* req,
                      opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse* resp) override;

 private:
  TraceIngester* ingester_;
};

}  // namespace argus::ingest
