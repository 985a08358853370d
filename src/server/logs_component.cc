#include "server/logs_component.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "api/json_writer.h"
#include "api/loki_api.h"
#include "api/loki_tail.h"
#include "ingest/compression.h"
#include "ingest/file_tail.h"
#include "ingest/loki_push.h"
#include "ingest/otlp_json.h"
#include "logstore/log_store.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.grpc.pb.h"
#include "util/coding.h"

namespace argus::server {

namespace otlplogs = opentelemetry::proto::collector::logs::v1;

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// google.rpc.Status {int32 code = 1; string message = 2;} for OTLP/HTTP protobuf errors.
std::string RpcStatus(int code, const std::string& msg) {
  std::string out;
  out.push_back(0x08);
  PutVarint64(&out, static_cast<uint64_t>(code));
  out.push_back(0x12);
  PutLengthPrefixed(&out, msg);
  return out;
}

}  // namespace

class OtlpLogsService final : public otlplogs::LogsService::Service {
 public:
  explicit OtlpLogsService(LogsComponent::Impl* impl) : impl_(impl) {}
  grpc::Status Export(grpc::ServerContext*, const otlplogs::ExportLogsServiceRequest* req,
                      otlplogs::ExportLogsServiceResponse* resp) override;

 private:
  LogsComponent::Impl* impl_;
};

struct LogsComponent::Impl {
  std::unique_ptr<logstore::LogStore> store;
  std::unique_ptr<ingest::LokiPushHandler> push;
  std::unique_ptr<api::LokiApi> api;
  std::unique_ptr<OtlpLogsService> grpc;
  std::unique_ptr<ingest::LokiPushHandler> tail_push;  // Loki's limits without age and rate
  std::unique_ptr<ingest::FileTailer> tailer;
  int maintenance_runs = 0;

  // Translates and pushes; returns the records rejected (with the first reason) or an error
  // that rejected the whole request.
  Status Export(const otlplogs::ExportLogsServiceRequest& req, otlplogs::ExportLogsServiceResponse* resp) {
    if (!push) return Status::Unavailable("argus is starting or shutting down");
    ingest::PushStats stats;
    Status st = push->Push(ingest::TranslateOtlpLogs(req, NowNs()), NowNs(), &stats);
    if (st.code() == StatusCode::kInvalidArgument) {
      resp->mutable_partial_success()->set_rejected_log_records(static_cast<int64_t>(stats.rejected));
      resp->mutable_partial_success()->set_error_message(st.message());
      return Status::OK();
    }
    return st;
  }

  api::HttpResponse OtlpHttp(const api::HttpRequest& req) {
    api::HttpResponse r;
    std::string ct = req.Header("content-type");
    bool json = ct.rfind("application/json", 0) == 0;
    auto error = [&](int http, int code, const std::string& msg) {
      api::HttpResponse e;
      e.status = http;
      if (json) {
        api::JsonWriter w;
        w.BeginObject();
        w.Key("code");
        w.Int(code);
        w.Key("message");
        w.String(msg);
        w.EndObject();
        e.body = w.Take();
        e.content_type = "application/json";
      } else {
        e.body = RpcStatus(code, msg);
        e.content_type = "application/x-protobuf";
      }
      return e;
    };
    if (req.method != "POST") return error(405, 12, "method not allowed");
    if (!json && ct.rfind("application/x-protobuf", 0) != 0 && ct.rfind("application/protobuf", 0) != 0) {
      return error(415, 3, "unsupported Content-Type \"" + ct + "\": use application/x-protobuf or application/json");
    }
    std::string storage;
    std::string_view body = req.body;
    if (req.Header("content-encoding") == "gzip") {
      auto un = ingest::Gunzip(req.body, 64 << 20);
      if (!un.ok()) return error(400, 3, un.status().message());
      storage = std::move(*un);
      body = storage;
    }
    otlplogs::ExportLogsServiceRequest msg;
    if (json) {
      Status st = ingest::ParseOtlpJson(body, &msg);
      if (!st.ok()) return error(400, 3, st.message());
    } else if (!msg.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      return error(400, 3, "cannot decode ExportLogsServiceRequest protobuf");
    }
    otlplogs::ExportLogsServiceResponse resp;
    Status st = Export(msg, &resp);
    if (!st.ok()) {
      if (st.code() == StatusCode::kResourceExhausted) return error(429, 8, st.message());
      if (st.code() == StatusCode::kUnavailable) return error(503, 14, st.message());
      return error(500, 13, st.message());
    }
    if (json) {
      (void)google::protobuf::util::MessageToJsonString(resp, &r.body);
      r.content_type = "application/json";
    } else {
      r.body = resp.SerializeAsString();
      r.content_type = "application/x-protobuf";
    }
    return r;
  }
};

grpc::Status OtlpLogsService::Export(grpc::ServerContext*, const otlplogs::ExportLogsServiceRequest* req,
                                     otlplogs::ExportLogsServiceResponse* resp) {
  Status st = impl_->Export(*req, resp);
  if (st.ok()) return grpc::Status::OK;
  switch (st.code()) {
    case StatusCode::kResourceExhausted: return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, st.message());
    case StatusCode::kUnavailable: return grpc::Status(grpc::StatusCode::UNAVAILABLE, st.message());
    case StatusCode::kInvalidArgument: return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, st.message());
    default: return grpc::Status(grpc::StatusCode::INTERNAL, st.message());
  }
}

LogsComponent::LogsComponent() : impl_(std::make_unique<Impl>()) {
  impl_->grpc = std::make_unique<OtlpLogsService>(impl_.get());
}

LogsComponent::~LogsComponent() { Close(); }

Status LogsComponent::Open(const std::string& storage_path, wal::SyncPolicy sync,
                           const std::vector<std::string>& tail_globs, const std::string& tail_labels,
                           std::vector<ingest::TailSource> log_sources) {
  logstore::LogStoreOptions o;
  o.wal.sync = sync;
  spdlog::info("opening log storage at {}/logs", storage_path);
  ASSIGN_OR_RETURN(impl_->store, logstore::LogStore::Open(storage_path + "/logs", o));
  impl_->push = std::make_unique<ingest::LokiPushHandler>(ingest::LokiLimits{}, impl_->store.get());
  impl_->api = std::make_unique<api::LokiApi>(impl_->store.get(), impl_->push.get());
  std::vector<ingest::TailSource> sources = std::move(log_sources);
  if (!tail_globs.empty()) {
    ASSIGN_OR_RETURN(Labels labels, ingest::ParseLabelsText(tail_labels));
    for (const std::string& g : tail_globs) sources.push_back({g, labels, nullptr});
  }
  if (!sources.empty()) {
    // Old lines of a local file are its history, not a misbehaving client: no age limit (Loki's
    // reject_old_samples) and no rate limit (a backlog is read in one go).
    ingest::LokiLimits tail_limits;
    tail_limits.reject_old_samples_max_age_ns = INT64_MAX;
    tail_limits.ingestion_rate_bytes_per_s = 1e18;
    tail_limits.ingestion_burst_bytes = 1e18;
    impl_->tail_push = std::make_unique<ingest::LokiPushHandler>(tail_limits, impl_->store.get());
    size_t n = sources.size();
    impl_->tailer = std::make_unique<ingest::FileTailer>(std::move(sources), storage_path + "/logs/positions",
                                                         impl_->tail_push.get());
    impl_->tailer->Start();
    spdlog::info("tailing {} log path pattern(s)", n);
  }
  return Status::OK();
}

void LogsComponent::Close() {
  if (impl_->tailer) impl_->tailer->Stop();
  if (!impl_->store) return;
  Status st = impl_->store->Close();
  if (!st.ok()) spdlog::error("closing log storage: {}", st.ToString());
}

void LogsComponent::Maintain() {
  if (!impl_->store) return;
  Status st = impl_->store->ApplyRetention(NowNs());
  // A snapshot rewrites the whole store, so take one every 15th run (15 minutes by default):
  // it bounds the WAL replay without rewriting large stores every minute.
  if (st.ok() && ++impl_->maintenance_runs % 15 == 0) st = impl_->store->Snapshot();
  if (!st.ok()) spdlog::error("log storage maintenance failed: {}", st.ToString());
}

bool LogsComponent::HandleWeb(const api::HttpRequest& req, api::HttpResponse* resp) {
  if (req.path == "/otlp/v1/logs") {
    *resp = impl_->api ? impl_->OtlpHttp(req) : api::LokiError(Status::Unavailable("argus is starting"));
    return true;
  }
  if (req.path.rfind("/loki/api/", 0) != 0) return false;
  if (req.path == "/loki/api/v1/tail") {
    // Reached only without a WebSocket upgrade (upgrades go to HandleWebSocket); Loki's
    // WebSocket library answers such a request with this 400.
    *resp = api::LokiError(Status::InvalidArgument(
        "websocket: the client is not using the websocket protocol: 'upgrade' token not found in "
        "'Connection' header"));
    return true;
  }
  if (!impl_->api) {
    *resp = api::LokiError(Status::Unavailable("argus is starting or shutting down"));
    return true;
  }
  return impl_->api->Handle(req, NowNs(), resp);
}

bool LogsComponent::HandleWebSocket(const api::HttpRequest& req, api::UpgradeResult* out) {
  if (req.path != "/loki/api/v1/tail" && req.path != "/api/prom/tail") return false;
  if (!impl_->store || !impl_->api) {
    out->error = api::LokiError(Status::Unavailable("argus is starting or shutting down"));
    return true;
  }
  *out = api::StartLokiTail(impl_->store.get(), req, NowNs());
  return true;
}

bool LogsComponent::HandleOtlpHttp(const api::HttpRequest& req, api::HttpResponse* resp) {
  if (req.path != "/v1/logs") return false;
  *resp = impl_->api ? impl_->OtlpHttp(req) : api::LokiError(Status::Unavailable("argus is starting"));
  return true;
}

grpc::Service* LogsComponent::grpc_service() { return impl_->grpc.get(); }

}  // namespace argus::server
