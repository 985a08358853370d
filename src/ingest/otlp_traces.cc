#include "ingest/otlp_traces.h"

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <map>
#include <unordered_map>

#include "ingest/compression.h"
#include "ingest/otlp_json.h"
#include "ingest/zipkin.h"
#include "util/inflight.h"
#include "util/coding.h"

namespace argus::ingest {

namespace otlp = opentelemetry::proto;
namespace otlptrace = opentelemetry::proto::collector::trace::v1;

namespace {

bool AllZero(const std::string& s) {
  for (char c : s) {
    if (c != 0) return false;
  }
  return true;
}

void Truncate(std::string* s, size_t max) {
  if (max == 0 || s->size() <= max) return;
  size_t n = max;
  // Do not cut a UTF-8 sequence: back up over continuation bytes.
  while (n > 0 && (static_cast<unsigned char>((*s)[n]) & 0xC0) == 0x80) --n;
  s->resize(n);
}

void TruncateAttrs(google::protobuf::RepeatedPtrField<otlp::common::v1::KeyValue>* attrs, size_t max) {
  if (max == 0) return;
  for (auto& kv : *attrs) {
    Truncate(kv.mutable_key(), max);
    if (kv.value().has_string_value()) Truncate(kv.mutable_value()->mutable_string_value(), max);
  }
}

std::string RpcStatus(int code, const std::string& message) {
  std::string out;
  out.push_back(0x08);
  PutVarint64(&out, static_cast<uint64_t>(code));
  out.push_back(0x12);
  PutLengthPrefixed(&out, message);
  return out;
}

// `s` as a JSON string literal (RFC 8259 escapes; bytes >= 0x80 are passed through).
std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace

void SplitByTrace(const otlptrace::ExportTraceServiceRequest& req, const TraceIngestLimits& limits,
                  std::vector<tracestore::TraceBatch>* out, TraceIngestResult* result) {
  otlptrace::ExportTraceServiceRequest copy(req);
  SplitByTrace(&copy, limits, out, result);
}

void SplitByTrace(otlptrace::ExportTraceServiceRequest* request, const TraceIngestLimits& limits,
                  std::vector<tracestore::TraceBatch>* out, TraceIngestResult* result) {
  struct Slot {
    size_t batch;
    int rs = -1, ss = -1;  // indices in the request of the last resource/scope copied
  };
  otlptrace::ExportTraceServiceRequest& req = *request;
  std::unordered_map<std::string, Slot> slots;
  auto refuse = [&](const std::string& why) {
    ++result->rejected_spans;
    if (result->error.empty()) result->error = why;
  };
  for (int i = 0; i < req.resource_spans_size(); ++i) {
    auto& rs = *req.mutable_resource_spans(i);
    for (int j = 0; j < rs.scope_spans_size(); ++j) {
      auto& ss = *rs.mutable_scope_spans(j);
      for (auto& span : *ss.mutable_spans()) {
        if (span.trace_id().size() != 16 || AllZero(span.trace_id())) {
          refuse("invalid trace ID: must be 16 bytes (32 hex digits) and not all zero");
          continue;
        }
        if (span.span_id().size() != 8 || AllZero(span.span_id())) {
          refuse("invalid span ID: must be 8 bytes (16 hex digits) and not all zero");
          continue;
        }
        if (!span.parent_span_id().empty() && span.parent_span_id().size() != 8) {
          refuse("invalid parent span ID: must be empty or 8 bytes (16 hex digits)");
          continue;
        }
        auto [it, inserted] = slots.try_emplace(span.trace_id(), Slot{out->size()});
        if (inserted) {
          out->emplace_back();
          out->back().trace_id = span.trace_id();
        }
        Slot& slot = it->second;
        auto& td = (*out)[slot.batch].spans;
        if (slot.rs != i) {
          auto* nrs = td.add_resource_spans();
          *nrs->mutable_resource() = rs.resource();
          nrs->set_schema_url(rs.schema_url());
          TruncateAttrs(nrs->mutable_resource()->mutable_attributes(), limits.max_attribute_bytes);
          slot.rs = i;
          slot.ss = -1;
        }
        auto* nrs = td.mutable_resource_spans(td.resource_spans_size() - 1);
        if (slot.ss != j) {
          auto* nss = nrs->add_scope_spans();
          *nss->mutable_scope() = ss.scope();
          nss->set_schema_url(ss.schema_url());
          slot.ss = j;
        }
        auto* s = nrs->mutable_scope_spans(nrs->scope_spans_size() - 1)->add_spans();
        s->Swap(&span);  // moved, not copied: the request is ours
        TruncateAttrs(s->mutable_attributes(), limits.max_attribute_bytes);
        for (auto& e : *s->mutable_events()) TruncateAttrs(e.mutable_attributes(), limits.max_attribute_bytes);
        for (auto& l : *s->mutable_links()) TruncateAttrs(l.mutable_attributes(), limits.max_attribute_bytes);
        ++result->accepted_spans;
      }
    }
  }
}

TraceIngester::TraceIngester(tracestore::TraceStore* store, TraceIngestLimits limits,
                             std::function<bool()> ready)
    : store_(store), limits_(limits), ready_(std::move(ready)) {}

Status TraceIngester::Export(const otlptrace::ExportTraceServiceRequest& req,
                             otlptrace::ExportTraceServiceResponse* resp) {
  otlptrace::ExportTraceServiceRequest copy(req);
  return Export(&copy, resp);
}

Status TraceIngester::Export(otlptrace::ExportTraceServiceRequest* req,
                             otlptrace::ExportTraceServiceResponse* resp) {
  if (ready_ && !ready_()) return Status::Unavailable("argus is starting or shutting down");
  InflightGuard g(&inflight_, limits_.max_inflight);
  if (!g.ok()) return Status::ResourceExhausted("too many concurrent trace exports");
  std::vector<tracestore::TraceBatch> batches;
  TraceIngestResult split;
  SplitByTrace(req, limits_, &batches, &split);
  uint64_t rejected = split.rejected_spans;
  std::string error = split.error;
  if (!batches.empty()) {
    ASSIGN_OR_RETURN(tracestore::AppendResult r, store_->Append(batches));
    rejected += r.rejected_spans;
    if (error.empty()) error = r.error;
    spans_accepted_ += r.accepted_spans;
    if (span_metrics_ != nullptr) {
      // The spans are durable already: a failure here costs metrics, not spans.
      Status st = span_metrics_->Observe(batches, r.accepted, tracestore::NowMs());
      if (!st.ok()) spdlog::warn("span metrics: {}", st.ToString());
    }
    if (service_graphs_ != nullptr) {
      Status st = service_graphs_->Observe(batches, r.accepted, tracestore::NowMs());
      if (!st.ok()) spdlog::warn("service graphs: {}", st.ToString());
    }
  }
  if (rejected > 0) {
    resp->mutable_partial_success()->set_rejected_spans(static_cast<int64_t>(rejected));
    resp->mutable_partial_success()->set_error_message(error);
  }
  return Status::OK();
}

OtlpHttpReply TraceIngester::HandleHttp(std::string_view method, std::string_view content_type,
                                        std::string_view content_encoding, std::string_view body) {
  bool json = content_type.rfind("application/json", 0) == 0;
  bool proto = content_type.rfind("application/x-protobuf", 0) == 0 ||
               content_type.rfind("application/protobuf", 0) == 0;
  auto error = [&](int http, int grpc_code, const std::string& msg) {
    OtlpHttpReply r;
    r.status = http;
    if (json) {
      r.body = "{\"code\":" + std::to_string(grpc_code) + ",\"message\":" + JsonString(msg) + "}";
      r.content_type = "application/json";
    } else {
      r.body = RpcStatus(grpc_code, msg);
      r.content_type = "application/x-protobuf";
    }
    if (http == 429) r.retry_after_s = 1;
    if (http == 503) r.retry_after_s = 5;
    return r;
  };
  if (method != "POST") {
    OtlpHttpReply r;
    r.status = 405;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "method not allowed\n";
    return r;
  }
  if (!json && !proto) {
    OtlpHttpReply r;
    r.status = 415;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "unsupported Content-Type \"" + std::string(content_type) +
             "\": use application/x-protobuf or application/json\n";
    return r;
  }
  std::string storage;
  if (content_encoding == "gzip") {
    auto un = Gunzip(body, limits_.max_body_bytes);
    if (!un.ok()) return error(400, 3, un.status().message());
    storage = std::move(*un);
    body = storage;
  } else if (!content_encoding.empty() && content_encoding != "identity") {
    return error(415, 3, "unsupported Content-Encoding \"" + std::string(content_encoding) + "\"");
  }
  otlptrace::ExportTraceServiceRequest req;
  if (json) {
    Status st = ParseOtlpJson(body, &req);
    if (!st.ok()) return error(400, 3, st.message());
  } else if (!req.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return error(400, 3, "cannot decode ExportTraceServiceRequest protobuf");
  }
  otlptrace::ExportTraceServiceResponse resp;
  Status st = Export(&req, &resp);
  if (!st.ok()) {
    switch (st.code()) {
      case StatusCode::kUnavailable: return error(503, 14, st.message());
      case StatusCode::kResourceExhausted: return error(429, 8, st.message());
      case StatusCode::kInvalidArgument: return error(400, 3, st.message());
      default: return error(500, 13, st.message());
    }
  }
  OtlpHttpReply r;
  if (json) {
    google::protobuf::util::JsonPrintOptions po;
    (void)google::protobuf::util::MessageToJsonString(resp, &r.body, po);
    r.content_type = "application/json";
  } else {
    r.body = resp.SerializeAsString();
    r.content_type = "application/x-protobuf";
  }
  return r;
}

OtlpHttpReply TraceIngester::HandleZipkin(std::string_view method, std::string_view content_type,
                                          std::string_view content_encoding, std::string_view body) {
  auto text = [](int status, std::string msg) {
    OtlpHttpReply r;
    r.status = status;
    r.content_type = "text/plain; charset=utf-8";
    r.body = std::move(msg) + "\n";
    if (status == 503) r.retry_after_s = 5;
    if (status == 429) r.retry_after_s = 1;
    return r;
  };
  if (method != "POST") return text(405, "method not allowed");
  if (!content_type.empty() && content_type.rfind("application/json", 0) != 0) {
    return text(415, "unsupported Content-Type \"" + std::string(content_type) +
                         "\": Zipkin v2 spans are application/json");
  }
  std::string storage;
  if (content_encoding == "gzip") {
    auto un = Gunzip(body, limits_.max_body_bytes);
    if (!un.ok()) return text(400, un.status().message());
    storage = std::move(*un);
    body = storage;
  } else if (!content_encoding.empty() && content_encoding != "identity") {
    return text(415, "unsupported Content-Encoding \"" + std::string(content_encoding) + "\"");
  }
  auto req = ParseZipkinV2(body);
  if (!req.ok()) return text(400, req.status().message());
  otlptrace::ExportTraceServiceResponse resp;
  Status st = Export(&*req, &resp);
  if (!st.ok()) {
    switch (st.code()) {
      case StatusCode::kUnavailable: return text(503, st.message());
      case StatusCode::kResourceExhausted: return text(429, st.message());
      default: return text(500, st.message());
    }
  }
  if (resp.has_partial_success() && resp.partial_success().rejected_spans() > 0) {
    return text(400, std::to_string(resp.partial_success().rejected_spans()) +
                         " spans refused: " + resp.partial_success().error_message());
  }
  OtlpHttpReply r;
  r.status = 202;
  r.content_type = "text/plain; charset=utf-8";
  return r;
}

grpc::Status OtlpTraceGrpcService::Export(grpc::ServerContext*,
                                          const otlptrace::ExportTraceServiceRequest* req,
                                          otlptrace::ExportTraceServiceResponse* resp) {
  Status st = ingester_->Export(*req, resp);
  if (st.ok()) return grpc::Status::OK;
  switch (st.code()) {
    case StatusCode::kInvalidArgument: return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, st.message());
    case StatusCode::kResourceExhausted: return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, st.message());
    case StatusCode::kUnavailable: return grpc::Status(grpc::StatusCode::UNAVAILABLE, st.message());
    default: return grpc::Status(grpc::StatusCode::INTERNAL, st.message());
  }
}

}  // namespace argus::ingest
