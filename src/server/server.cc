#include "server/server.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "api/json_writer.h"
#include "api/prometheus_api.h"
#include "api/tempo_api.h"
#include "ingest/compression.h"
#include "ingest/otlp_json.h"
#include "ingest/otlp_metrics.h"
#include "ingest/otlp_traces.h"
#include "ingest/remote_write.h"
#include "ingest/scrape.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "server/http_server.h"
#include "server/web_ui.h"
#include "server/logs_component.h"
#include "tracestore/trace_store.h"
#include "util/inflight.h"
#include "util/coding.h"
#include "util/file.h"
#include "util/metrics.h"

#ifndef ARGUS_VERSION
#define ARGUS_VERSION "0.0.0"
#endif
#ifndef ARGUS_REVISION
#define ARGUS_REVISION "unknown"
#endif

namespace argus::server {

namespace otlpmetrics = opentelemetry::proto::collector::metrics::v1;

namespace {

// Process-wide self-metrics; gauges read the live DB through this pointer (null when none).
std::atomic<tsdb::DB*> g_db{nullptr};

void RegisterDbGauges() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto& r = DefaultRegistry();
    auto stat = [](auto field) {
      return [field]() -> double {
        tsdb::DB* db = g_db.load();
        return db ? static_cast<double>(db->GetStats().*field) : 0;
      };
    };
    r.NewGaugeFunc("prometheus_tsdb_head_series", "Series in the head.",
                   stat(&tsdb::DB::Stats::head_series));
    r.NewGaugeFunc("prometheus_tsdb_head_chunks", "Chunks in the head.",
                   stat(&tsdb::DB::Stats::head_chunks));
    r.NewGaugeFunc("prometheus_tsdb_head_samples_appended_total",
                   "Samples appended to the head since start (a counter).",
                   stat(&tsdb::DB::Stats::head_samples_appended));
    r.NewGaugeFunc("prometheus_tsdb_blocks_loaded", "On-disk blocks.", stat(&tsdb::DB::Stats::blocks));
    r.NewGaugeFunc("prometheus_tsdb_storage_blocks_bytes", "Bytes of the on-disk blocks.",
                   stat(&tsdb::DB::Stats::block_bytes));
    r.NewGaugeFunc("prometheus_tsdb_wal_storage_size_bytes", "Bytes of the WAL segments.",
                   stat(&tsdb::DB::Stats::wal_bytes));
  });
}

Counter* RequestCounter(const std::string& handler, int code) {
  return DefaultRegistry().NewCounter("argus_http_requests_total", "HTTP requests by handler and status code.",
                                      {{"code", std::to_string(code)}, {"handler", handler}});
}

Histogram* RequestDuration(const std::string& handler) {
  return DefaultRegistry().NewHistogram("argus_http_request_duration_seconds",
                                        "HTTP request latency by handler.",
                                        DefaultSecondsBuckets(), {{"handler", handler}});
}

api::HttpResponse Text(int status, std::string body) {
  api::HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

// google.rpc.Status {int32 code = 1; string message = 2;} encoded by hand (OTLP/HTTP error body).
std::string RpcStatusProto(int code, const std::string& message) {
  std::string out;
  out.push_back(0x08);
  PutVarint64(&out, static_cast<uint64_t>(code));
  out.push_back(0x12);
  PutLengthPrefixed(&out, message);
  return out;
}

}  // namespace

class OtlpMetricsService final : public otlpmetrics::MetricsService::Service {
 public:
  explicit OtlpMetricsService(Server::Impl* impl) : impl_(impl) {}
  grpc::Status Export(grpc::ServerContext* ctx, const otlpmetrics::ExportMetricsServiceRequest* req,
                      otlpmetrics::ExportMetricsServiceResponse* resp) override;

 private:
  Server::Impl* impl_;
};

struct Server::Impl {
  ServerOptions opts;
  Config config;
  std::unique_ptr<tsdb::DB> db;
  std::unique_ptr<promql::Engine> engine;
  std::unique_ptr<api::PrometheusApi> prom_api;
  std::unique_ptr<ingest::DeltaAccumulator> deltas = std::make_unique<ingest::DeltaAccumulator>();
  std::unique_ptr<ingest::ScrapeManager> scrapes;
  std::unique_ptr<HttpServer> web, otlp_http;
  std::unique_ptr<OtlpMetricsService> grpc_service;
  std::unique_ptr<grpc::Server> grpc_server;
  // Logs (Loki API, OTLP logs, the log store): see logs_component.h.
  std::unique_ptr<LogsComponent> logs = std::make_unique<LogsComponent>();
  int grpc_port = 0;
  std::atomic<int> inflight{0};
  std::atomic<bool> ready{false};
  std::thread maintenance;
  std::thread generator;  // collects span metrics and service graphs every 15 s
  std::mutex mu;
  std::condition_variable cv;
  bool shutdown = false;  // GUARDED_BY(mu)
  bool done = false;      // GUARDED_BY(mu)

  // --- Traces (Tempo-compatible): store under <storage.path>/traces, OTLP ingest, Tempo API.
  std::unique_ptr<tracestore::TraceStore> traces;
  std::unique_ptr<ingest::SpanMetrics> span_metrics;
  std::unique_ptr<ingest::ServiceGraphs> service_graphs;
  std::unique_ptr<ingest::TraceIngester> trace_ingester;
  std::unique_ptr<ingest::OtlpTraceGrpcService> trace_grpc;
  std::unique_ptr<api::TempoApi> tempo_api;
  api::HttpResponse OtlpTraces(const api::HttpRequest& req);
  // --- end traces

  api::HttpResponse RemoteWrite(const api::HttpRequest& req);
  api::HttpResponse OtlpMetrics(const api::HttpRequest& req);
  Status ExportOtlp(const otlpmetrics::ExportMetricsServiceRequest& req,
                    otlpmetrics::ExportMetricsServiceResponse* resp);
};

grpc::Status OtlpMetricsService::Export(grpc::ServerContext*, const otlpmetrics::ExportMetricsServiceRequest* req,
                                        otlpmetrics::ExportMetricsServiceResponse* resp) {
  InflightGuard g(&impl_->inflight, impl_->opts.max_inflight_pushes);
  if (!g.ok()) return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many concurrent requests");
  Status st = impl_->ExportOtlp(*req, resp);
  RequestCounter("grpc_otlp_metrics", st.ok() ? 200 : 500)->Inc();
  if (st.ok()) return grpc::Status::OK;
  switch (st.code()) {
    case StatusCode::kInvalidArgument: return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, st.message());
    case StatusCode::kResourceExhausted: return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, st.message());
    case StatusCode::kUnavailable: return grpc::Status(grpc::StatusCode::UNAVAILABLE, st.message());
    default: return grpc::Status(grpc::StatusCode::INTERNAL, st.message());
  }
}

Status Server::Impl::ExportOtlp(const otlpmetrics::ExportMetricsServiceRequest& req,
                                otlpmetrics::ExportMetricsServiceResponse* resp) {
  if (!ready.load()) return Status::Unavailable("argus is starting or shutting down");
  ingest::OtlpResult result;
  RETURN_IF_ERROR(ingest::ApplyOtlpMetrics(req, deltas.get(), db->NewAppender().get(), &result));
  if (result.rejected_points > 0 || !result.error_message.empty()) {
    auto* ps = resp->mutable_partial_success();
    ps->set_rejected_data_points(result.rejected_points);
    ps->set_error_message(result.error_message);
  }
  return Status::OK();
}

api::HttpResponse Server::Impl::RemoteWrite(const api::HttpRequest& req) {
  if (req.method != "POST") return Text(405, "method not allowed\n");
  if (!ready.load()) {
    auto r = Text(503, "argus is starting or shutting down\n");
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  std::string enc = req.Header("content-encoding");
  if (!enc.empty() && enc != "snappy") {
    return Text(415, "unsupported Content-Encoding \"" + enc + "\": remote_write requires snappy\n");
  }
  InflightGuard g(&inflight, opts.max_inflight_pushes);
  if (!g.ok()) {
    auto r = Text(429, "too many concurrent remote_write requests\n");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  ingest::WriteStats stats;
  ingest::RemoteWriteOptions rw;
  rw.max_decoded_bytes = opts.max_push_body_bytes;
  Status st = ingest::HandleRemoteWrite(req.body, rw, db->NewAppender().get(), &stats);
  static Counter* samples = DefaultRegistry().NewCounter(
      "argus_ingest_samples_total", "Samples accepted by remote_write.", {{"protocol", "remote_write"}});
  samples->Inc(static_cast<double>(stats.samples));
  if (st.ok()) {
    api::HttpResponse r;
    r.status = 204;
    r.content_type = "text/plain";
    return r;
  }
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfOrder: return Text(400, st.message() + "\n");
    case StatusCode::kResourceExhausted: {
      auto r = Text(429, st.message() + "\n");
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    case StatusCode::kUnavailable: {
      auto r = Text(503, st.message() + "\n");
      r.headers.emplace_back("Retry-After", "5");
      return r;
    }
    default: return Text(500, st.message() + "\n");
  }
}

api::HttpResponse Server::Impl::OtlpMetrics(const api::HttpRequest& req) {
  if (req.method != "POST") return Text(405, "method not allowed\n");
  std::string ct = req.Header("content-type");
  bool json = ct.rfind("application/json", 0) == 0;
  bool proto = ct.rfind("application/x-protobuf", 0) == 0 || ct.rfind("application/protobuf", 0) == 0;
  if (!json && !proto) {
    return Text(415, "unsupported Content-Type \"" + ct +
                         "\": use application/x-protobuf or application/json\n");
  }
  auto error = [&](int http, int grpc_code, const std::string& msg) {
    api::HttpResponse r;
    r.status = http;
    if (json) {
      api::JsonWriter w;
      w.BeginObject();
      w.Key("code");
      w.Int(grpc_code);
      w.Key("message");
      w.String(msg);
      w.EndObject();
      r.body = w.Take();
      r.content_type = "application/json";
    } else {
      r.body = RpcStatusProto(grpc_code, msg);
      r.content_type = "application/x-protobuf";
    }
    if (http == 429 || http == 503) r.headers.emplace_back("Retry-After", http == 429 ? "1" : "5");
    return r;
  };
  InflightGuard g(&inflight, opts.max_inflight_pushes);
  if (!g.ok()) return error(429, 8, "too many concurrent requests");
  std::string body_storage;
  std::string_view body = req.body;
  std::string enc = req.Header("content-encoding");
  if (enc == "gzip") {
    auto un = ingest::Gunzip(req.body, opts.max_push_body_bytes);
    if (!un.ok()) return error(400, 3, un.status().message());
    body_storage = std::move(*un);
    body = body_storage;
  } else if (!enc.empty() && enc != "identity") {
    return error(415, 3, "unsupported Content-Encoding \"" + enc + "\"");
  }
  otlpmetrics::ExportMetricsServiceRequest msg;
  if (json) {
    Status st = ingest::ParseOtlpJson(body, &msg);
    if (!st.ok()) return error(400, 3, st.message());
  } else if (!msg.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return error(400, 3, "cannot decode ExportMetricsServiceRequest protobuf");
  }
  otlpmetrics::ExportMetricsServiceResponse resp;
  Status st = ExportOtlp(msg, &resp);
  if (!st.ok()) {
    if (st.code() == StatusCode::kUnavailable) return error(503, 14, st.message());
    if (st.code() == StatusCode::kResourceExhausted) return error(429, 8, st.message());
    if (st.code() == StatusCode::kInvalidArgument) return error(400, 3, st.message());
    return error(500, 13, st.message());
  }
  api::HttpResponse r;
  if (json) {
    google::protobuf::util::JsonPrintOptions po;
    po.preserve_proto_field_names = false;
    (void)google::protobuf::util::MessageToJsonString(resp, &r.body, po);
    r.content_type = "application/json";
  } else {
    r.body = resp.SerializeAsString();
    r.content_type = "application/x-protobuf";
  }
  return r;
}

// --- Traces: OTLP/HTTP POST /v1/traces (and /otlp/v1/traces on the main port).
api::HttpResponse Server::Impl::OtlpTraces(const api::HttpRequest& req) {
  if (!trace_ingester) return Text(503, "argus is starting or shutting down\n");
  ingest::OtlpHttpReply r = trace_ingester->HandleHttp(req.method, req.Header("content-type"),
                                                       req.Header("content-encoding"), req.body);
  api::HttpResponse resp;
  resp.status = r.status;
  resp.content_type = r.content_type;
  resp.body = std::move(r.body);
  if (r.retry_after_s > 0) resp.headers.emplace_back("Retry-After", std::to_string(r.retry_after_s));
  return resp;
}
// --- end traces

Server::Server(ServerOptions opts) : impl_(std::make_unique<Impl>()) { impl_->opts = std::move(opts); }

Server::~Server() { Shutdown(); }

Status Server::Start() {
  Impl& s = *impl_;
  s.web = std::make_unique<HttpServer>(
      s.opts.web_listen_address, [this](const api::HttpRequest& r) { return HandleWeb(r); },
      s.opts.max_push_body_bytes);
  s.web->SetWebSocketHandler([this](const api::HttpRequest& r) {
    api::UpgradeResult up;
    if (!impl_->logs->HandleWebSocket(r, &up)) {
      up.error = HandleWeb(r);  // not a WebSocket endpoint: answer as plain HTTP
    }
    return up;
  });
  RETURN_IF_ERROR(s.web->Start());
  std::string self = s.opts.web_listen_address;
  if (self.rfind(':', 0) == 0 || self.rfind("0.0.0.0:", 0) == 0 || self.rfind("[::]:", 0) == 0) {
    self = "localhost:" + std::to_string(s.web->port());
  } else {
    auto hp = ParseListenAddress(self);
    if (hp.ok()) self = hp->first + ":" + std::to_string(s.web->port());
  }
  std::string yaml = kDefaultConfig;
  std::string config_dir;
  if (!s.opts.config_file.empty()) {
    ASSIGN_OR_RETURN(yaml, ReadFile(s.opts.config_file));
    config_dir = std::filesystem::path(s.opts.config_file).parent_path().string();
  }
  auto cfg = ParseConfig(yaml, config_dir, self, s.opts.storage_path);
  if (!cfg.ok()) return cfg.status().WithContext(s.opts.config_file.empty() ? "embedded config" : s.opts.config_file);
  s.config = std::move(*cfg);

  tsdb::DbOptions dbo;
  if (s.config.retention_time_ms) dbo.retention_time_ms = *s.config.retention_time_ms;
  if (s.opts.retention_time_ms) dbo.retention_time_ms = *s.opts.retention_time_ms;
  if (s.config.retention_size_bytes) dbo.retention_size_bytes = *s.config.retention_size_bytes;
  if (s.opts.retention_size_bytes) dbo.retention_size_bytes = *s.opts.retention_size_bytes;
  if (s.config.ooo_window_ms) dbo.ooo_window_ms = *s.config.ooo_window_ms;
  if (s.opts.ooo_window_ms) dbo.ooo_window_ms = *s.opts.ooo_window_ms;
  dbo.wal.sync = s.opts.wal_sync;
  spdlog::info("opening storage at {} (replaying the WAL)", s.opts.storage_path);
  ASSIGN_OR_RETURN(s.db, tsdb::DB::Open(s.opts.storage_path, dbo));
  g_db.store(s.db.get());
  RegisterDbGauges();
  promql::EngineOptions eo;
  eo.lookback_delta_ms = s.opts.query_lookback_delta_ms;
  eo.max_samples = s.opts.query_max_samples;
  eo.timeout_ms = s.opts.query_timeout_ms;
  eo.max_concurrency = s.opts.query_max_concurrency;
  eo.use_start_timestamps = s.opts.query_use_start_timestamps;
  s.engine = std::make_unique<promql::Engine>(eo);
  s.prom_api = std::make_unique<api::PrometheusApi>(
      s.db.get(), api::BuildInfo{ARGUS_VERSION, ARGUS_REVISION, "main", __DATE__}, s.engine.get());
  // Logs: the log store under <storage.path>/logs.
  RETURN_IF_ERROR(s.logs->Open(s.opts.storage_path, s.opts.wal_sync, s.opts.logs_tail_globs,
                               s.opts.logs_tail_labels, s.config.log_sources));

  // --- Traces: the trace store and its ingest and query APIs.
  tracestore::TraceStoreOptions tso;
  tso.wal_sync = s.opts.wal_sync;
  spdlog::info("opening trace storage at {}/traces", s.opts.storage_path);
  ASSIGN_OR_RETURN(s.traces, tracestore::TraceStore::Open(s.opts.storage_path + "/traces", tso));
  ingest::TraceIngestLimits til;
  til.max_body_bytes = s.opts.max_push_body_bytes;
  til.max_inflight = s.opts.max_inflight_pushes;
  s.trace_ingester = std::make_unique<ingest::TraceIngester>(s.traces.get(), til,
                                                             [&s] { return s.ready.load(); });
  if (s.opts.traces_span_metrics) {
    tsdb::DB* metrics_db = s.db.get();
    s.span_metrics = std::make_unique<ingest::SpanMetrics>([metrics_db] { return metrics_db->NewAppender(); });
    s.trace_ingester->set_span_metrics(s.span_metrics.get());
  }
  if (s.opts.traces_service_graphs) {
    tsdb::DB* metrics_db = s.db.get();
    s.service_graphs = std::make_unique<ingest::ServiceGraphs>([metrics_db] { return metrics_db->NewAppender(); });
    s.trace_ingester->set_service_graphs(s.service_graphs.get());
  }
  s.trace_grpc = std::make_unique<ingest::OtlpTraceGrpcService>(s.trace_ingester.get());
  s.tempo_api = std::make_unique<api::TempoApi>(
      s.traces.get(), api::BuildInfo{ARGUS_VERSION, ARGUS_REVISION, "main", __DATE__});
  // --- end traces

  if (!s.opts.otlp_http_listen_address.empty()) {
    s.otlp_http = std::make_unique<HttpServer>(
        s.opts.otlp_http_listen_address, [this](const api::HttpRequest& r) { return HandleOtlpHttp(r); },
        s.opts.max_push_body_bytes);
    RETURN_IF_ERROR(s.otlp_http->Start());
  }
  if (!s.opts.otlp_grpc_listen_address.empty()) {
    std::string addr = s.opts.otlp_grpc_listen_address;
    if (addr.rfind(':', 0) == 0) addr = "0.0.0.0" + addr;
    s.grpc_service = std::make_unique<OtlpMetricsService>(impl_.get());
    grpc::ServerBuilder b;
    b.AddListeningPort(addr, grpc::InsecureServerCredentials(), &s.grpc_port);
    b.RegisterService(s.grpc_service.get());
    b.RegisterService(s.logs->grpc_service());  // OTLP LogsService/Export
    b.RegisterService(s.trace_grpc.get());  // traces: OTLP TraceService
    b.SetMaxReceiveMessageSize(static_cast<int>(s.opts.max_push_body_bytes));
    s.grpc_server = b.BuildAndStart();
    if (!s.grpc_server || s.grpc_port == 0) {
      return Status::IOError("cannot listen for OTLP/gRPC on " + s.opts.otlp_grpc_listen_address);
    }
  }
  tsdb::DB* db = s.db.get();
  s.scrapes = std::make_unique<ingest::ScrapeManager>([db] { return db->NewAppender(); });
  RETURN_IF_ERROR(s.scrapes->ApplyConfig(s.config.scrape_configs));
  s.maintenance = std::thread([&s] {
    std::unique_lock<std::mutex> l(s.mu);
    while (!s.shutdown) {
      s.cv.wait_for(l, std::chrono::milliseconds(s.opts.maintenance_interval_ms));
      if (s.shutdown) break;
      l.unlock();
      Status st = s.db->Maintain();
      if (!st.ok()) spdlog::error("storage maintenance failed: {}", st.ToString());
      s.logs->Maintain();
      l.lock();
    }
  });
  if (s.span_metrics || s.service_graphs) {
    // Tempo's metrics-generator writes its series every collection interval (15 s), so a
    // quiet service shows a rate of 0 rather than no data; service-graph halves that waited
    // long enough become unpaired (or virtual-node) edges.
    s.generator = std::thread([&s] {
      std::unique_lock<std::mutex> l(s.mu);
      while (!s.shutdown) {
        s.cv.wait_for(l, std::chrono::seconds(15));
        if (s.shutdown) break;
        l.unlock();
        int64_t now = tracestore::NowMs();
        if (s.span_metrics) {
          Status st = s.span_metrics->Collect(now);
          if (!st.ok()) spdlog::warn("span metrics: {}", st.ToString());
        }
        if (s.service_graphs) {
          Status st = s.service_graphs->Collect(now);
          if (!st.ok()) spdlog::warn("service graphs: {}", st.ToString());
        }
        l.lock();
      }
    });
  }
  s.ready.store(true);
  spdlog::info("argus ready: web on port {}, OTLP/HTTP on {}, OTLP/gRPC on {}", s.web->port(),
               s.otlp_http ? std::to_string(s.otlp_http->port()) : "off",
               s.grpc_server ? std::to_string(s.grpc_port) : "off");
  return Status::OK();
}

void Server::Shutdown() {
  Impl& s = *impl_;
  {
    std::lock_guard<std::mutex> l(s.mu);
    if (s.shutdown) return;
    s.shutdown = true;
  }
  s.cv.notify_all();
  s.ready.store(false);
  spdlog::info("shutting down: closing listeners, finishing in-flight requests");
  if (s.web) s.web->Stop();
  if (s.otlp_http) s.otlp_http->Stop();
  if (s.grpc_server) s.grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (s.scrapes) s.scrapes->Stop();
  if (s.maintenance.joinable()) s.maintenance.join();
  if (s.generator.joinable()) s.generator.join();
  // --- Traces: cut the head into a block and close the trace WAL.
  if (s.traces) {
    Status ts = s.traces->Close();
    if (!ts.ok()) spdlog::error("closing trace storage: {}", ts.ToString());
  }
  // --- end traces
  g_db.store(nullptr);
  if (s.db) {
    Status st = s.db->Close();
    if (!st.ok()) spdlog::error("closing storage: {}", st.ToString());
  }
  s.logs->Close();
  spdlog::info("shutdown complete");
  std::lock_guard<std::mutex> l(s.mu);
  s.done = true;
  s.cv.notify_all();
}

void Server::Wait() {
  std::unique_lock<std::mutex> l(impl_->mu);
  impl_->cv.wait(l, [this] { return impl_->done; });
}

uint16_t Server::web_port() const { return impl_->web ? impl_->web->port() : 0; }
uint16_t Server::otlp_http_port() const { return impl_->otlp_http ? impl_->otlp_http->port() : 0; }
int Server::otlp_grpc_port() const { return impl_->grpc_port; }

api::HttpResponse Server::HandleWeb(const api::HttpRequest& in) {
  Impl& s = *impl_;
  auto start = std::chrono::steady_clock::now();
  api::HttpRequest req = in;
  if (req.path.rfind("/prometheus/", 0) == 0) req.path = req.path.substr(11);
  std::string handler = req.path;
  api::HttpResponse resp;
  if (req.path == "/-/healthy") {
    resp = Text(200, "Healthy.\n");
  } else if (req.path == "/-/ready" || req.path == "/ready") {
    resp = s.ready.load() ? Text(200, "Ready.\n") : Text(503, "Service Unavailable\n");
  } else if (req.path == "/metrics") {
    resp = Text(200, DefaultRegistry().Render());
    resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
  } else if (req.path == "/api/v1/write" || req.path == "/api/v1/push") {
    resp = s.RemoteWrite(req);
  } else if (req.path == "/otlp/v1/metrics") {
    resp = s.OtlpMetrics(req);
  } else if (ServeWebUi(req, s.opts.storage_path, &resp)) {  // the UI and its dashboards API
    handler = req.path.rfind("/api/", 0) == 0 ? "/api/argus/v1/dashboards" : "/";
  } else if (s.logs->HandleWeb(req, &resp)) {
    // Logs: /loki/api/v1/... and /otlp/v1/logs.
    if (handler.rfind("/loki/api/v1/label/", 0) == 0) handler = "/loki/api/v1/label/:name/values";
  } else if (req.path == "/otlp/v1/traces") {  // traces
    resp = s.OtlpTraces(req);
  } else if (req.path == "/api/v2/spans") {  // traces: Zipkin v2 JSON
    if (s.trace_ingester) {
      ingest::OtlpHttpReply r = s.trace_ingester->HandleZipkin(
          req.method, req.Header("content-type"), req.Header("content-encoding"), req.body);
      resp.status = r.status;
      resp.content_type = r.content_type;
      resp.body = std::move(r.body);
      if (r.retry_after_s > 0) resp.headers.emplace_back("Retry-After", std::to_string(r.retry_after_s));
    } else {
      resp = Text(503, "argus is starting or shutting down\n");
    }
  } else if (!s.ready.load() || !s.db) {
    resp = api::ErrorResponse(Status::Unavailable("argus is starting or shutting down"));
  } else if (req.path == "/api/v1/status/config") {
    api::JsonWriter w;
    w.BeginObject();
    w.Key("yaml");
    w.String(s.config.source);
    w.EndObject();
    resp = api::SuccessResponse(w.Take());
  } else if (req.path == "/api/v1/status/flags") {
    resp = api::SuccessResponse(s.opts.flags_json);
  } else if (req.path == "/api/v1/targets") {
    api::JsonWriter w;
    w.BeginObject();
    w.Key("activeTargets");
    w.BeginArray();
    for (const auto& t : s.scrapes->Targets()) {
      w.BeginObject();
      w.Key("discoveredLabels");
      w.BeginObject();
      for (const auto& l : t.discovered_labels) {
        w.Key(l.name);
        w.String(l.value);
      }
      w.EndObject();
      w.Key("labels");
      w.BeginObject();
      for (const auto& l : t.labels) {
        w.Key(l.name);
        w.String(l.value);
      }
      w.EndObject();
      w.Key("scrapeUrl");
      w.String(t.scrape_url);
      w.Key("lastError");
      w.String(t.last_error);
      w.Key("lastScrapeDuration");
      w.Double(t.last_duration_s);
      w.Key("health");
      w.String(t.health);
      w.EndObject();
    }
    w.EndArray();
    w.Key("droppedTargets");
    w.BeginArray();
    w.EndArray();
    w.EndObject();
    resp = api::SuccessResponse(w.Take());
  } else if (s.tempo_api && s.tempo_api->Handle(req, &resp)) {  // traces: the Tempo API
    if (handler.rfind("/api/traces/", 0) == 0) handler = "/api/traces/:id";
    if (handler.rfind("/api/v2/traces/", 0) == 0) handler = "/api/v2/traces/:id";
    if (handler.rfind("/api/search/tag/", 0) == 0) handler = "/api/search/tag/:tag/values";
    if (handler.rfind("/api/v2/search/tag/", 0) == 0) handler = "/api/v2/search/tag/:tag/values";
  } else if (!s.prom_api->Handle(req, &resp)) {
    handler = "other";
    resp = Text(404, "404 page not found\n");
  }
  if (handler.rfind("/api/v1/label/", 0) == 0) handler = "/api/v1/label/:name/values";
  RequestCounter(handler, resp.status)->Inc();
  RequestDuration(handler)->Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return resp;
}

api::HttpResponse Server::HandleOtlpHttp(const api::HttpRequest& req) {
  if (req.path == "/v1/metrics") {
    auto r = impl_->OtlpMetrics(req);
    RequestCounter("/v1/metrics", r.status)->Inc();
    return r;
  }
  api::HttpResponse logs_resp;
  if (impl_->logs->HandleOtlpHttp(req, &logs_resp)) {
    RequestCounter("/v1/logs", logs_resp.status)->Inc();
    return logs_resp;
  }
  if (req.path == "/v1/traces") {  // traces
    auto r = impl_->OtlpTraces(req);
    RequestCounter("/v1/traces", r.status)->Inc();
    return r;
  }
  return Text(404, "404 page not found\n");
}

}  // namespace argus::server
