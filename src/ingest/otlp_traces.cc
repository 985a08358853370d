#include "ingest/otlp_traces.h"

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <deque>
#include <type_traits>
#include <map>
#include <unordered_map>

#include "ingest/compression.h"
#include "ingest/otlp_json.h"
#include "ingest/zipkin.h"
#include "model/labels.h"
#include "tracestore/otlp_wire.h"
#include "util/coding.h"
#include "util/inflight.h"
#include "util/protowire.h"

namespace argus::ingest {

namespace otlp = opentelemetry::proto;
namespace otlptrace = opentelemetry::proto::collector::trace::v1;

namespace {

bool AllZero(std::string_view s) {
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

// `bytes` (a Resource or Span message) with string attribute keys and values cut to `max`
// bytes, through protobuf: only for messages longer than `max`, the only ones that can hold
// such a string. Returns false if nothing needed cutting (`*out` is then unspecified).
template <class Message>
bool TruncatedCopy(std::string_view bytes, size_t max, std::string* out) {
  if (max == 0 || bytes.size() <= max) return false;
  Message m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
  std::string before = m.SerializeAsString();
  TruncateAttrs(m.mutable_attributes(), max);
  if constexpr (std::is_same_v<Message, otlp::trace::v1::Span>) {
    for (auto& e : *m.mutable_events()) TruncateAttrs(e.mutable_attributes(), max);
    for (auto& l : *m.mutable_links()) TruncateAttrs(l.mutable_attributes(), max);
  }
  *out = m.SerializeAsString();
  return *out != before;
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

Status SplitByTrace(std::string_view request, const TraceIngestLimits& limits,
                    std::vector<tracestore::TraceBatch>* out, TraceIngestResult* result) {
  using tracestore::otlp_field::kResource;
  using tracestore::otlp_field::kSchemaUrl;
  using tracestore::otlp_field::kScope;
  using tracestore::otlp_field::kScopeSpans;
  using tracestore::otlp_field::kSpans;
  constexpr uint64_t kLen = WireReader::kLengthDelimited;
  const Status malformed = Status::InvalidArgument("cannot decode ExportTraceServiceRequest protobuf");
  // Each span is read in place, and each trace's TracesData written from the views: a
  // ResourceSpans per run of its spans under one resource, a ScopeSpans per run under one scope.
  struct Run {
    size_t resource_spans, scope_spans;  // ordinals in the request
    std::string_view resource, resource_schema, scope, scope_schema;
    bool has_resource, has_scope;
    std::vector<std::string_view> spans;
  };
  struct Trace {
    std::string_view id;
    std::vector<Run> runs;
  };
  std::vector<Trace> traces;
  std::unordered_map<std::string_view, size_t> trace_of;
  std::deque<std::string> owned;  // messages rewritten by attribute truncation
  auto refuse = [&](const char* why) {
    ++result->rejected_spans;
    if (result->error.empty()) result->error = why;
  };
  uint64_t accepted = 0;
  WireReader top(request);
  WireField rsf;
  for (size_t rs_ordinal = 0; top.Next(&rsf);) {
    if (rsf.number != 1 || rsf.type != kLen) continue;
    ++rs_ordinal;
    std::string_view resource, rs_schema;
    bool has_resource = false;
    std::vector<std::string_view> scope_spans;
    WireReader rs(rsf.bytes);
    WireField f;
    while (rs.Next(&f)) {
      if (f.type != kLen) continue;
      if (f.number == kResource) {
        resource = f.bytes;
        has_resource = true;
      } else if (f.number == kScopeSpans) {
        scope_spans.push_back(f.bytes);
      } else if (f.number == kSchemaUrl) {
        rs_schema = f.bytes;
      }
    }
    if (rs.error() || !IsValidUtf8(rs_schema) || !tracestore::ValidResource(resource)) return malformed;
    std::string cut;
    if (TruncatedCopy<otlp::resource::v1::Resource>(resource, limits.max_attribute_bytes, &cut)) {
      resource = owned.emplace_back(std::move(cut));
    }
    for (size_t ss_ordinal = 0; ss_ordinal < scope_spans.size(); ++ss_ordinal) {
      std::string_view scope, ss_schema;
      bool has_scope = false;
      std::vector<std::string_view> spans;
      WireReader ss(scope_spans[ss_ordinal]);
      while (ss.Next(&f)) {
        if (f.type != kLen) continue;
        if (f.number == kScope) {
          scope = f.bytes;
          has_scope = true;
        } else if (f.number == kSpans) {
          spans.push_back(f.bytes);
        } else if (f.number == kSchemaUrl) {
          ss_schema = f.bytes;
        }
      }
      if (ss.error() || !IsValidUtf8(ss_schema) || !tracestore::ValidScope(scope)) return malformed;
      for (std::string_view span : spans) {
        tracestore::SpanView v;
        if (!tracestore::ReadSpan(span, &v) || !tracestore::ValidSpan(span)) return malformed;
        if (v.trace_id.size() != 16 || AllZero(v.trace_id)) {
          refuse("invalid trace ID: must be 16 bytes (32 hex digits) and not all zero");
          continue;
        }
        if (v.span_id.size() != 8 || AllZero(v.span_id)) {
          refuse("invalid span ID: must be 8 bytes (16 hex digits) and not all zero");
          continue;
        }
        if (!v.parent_span_id.empty() && v.parent_span_id.size() != 8) {
          refuse("invalid parent span ID: must be empty or 8 bytes (16 hex digits)");
          continue;
        }
        if (TruncatedCopy<otlp::trace::v1::Span>(span, limits.max_attribute_bytes, &cut)) {
          span = owned.emplace_back(std::move(cut));
        }
        auto [it, inserted] = trace_of.try_emplace(v.trace_id, traces.size());
        if (inserted) traces.push_back(Trace{v.trace_id, {}});
        std::vector<Run>& runs = traces[it->second].runs;
        if (runs.empty() || runs.back().resource_spans != rs_ordinal || runs.back().scope_spans != ss_ordinal) {
          runs.push_back(Run{rs_ordinal, ss_ordinal, resource, rs_schema, scope, ss_schema, has_resource,
                             has_scope, {}});
        }
        runs.back().spans.push_back(span);
        ++accepted;
      }
    }
  }
  if (top.error()) return malformed;
  std::string scope_buf, rs_buf;
  for (const Trace& t : traces) {
    tracestore::TraceBatch& b = out->emplace_back();
    b.trace_id = std::string(t.id);
    for (size_t i = 0; i < t.runs.size();) {
      // The runs of one ResourceSpans of the request become one ResourceSpans.
      rs_buf.clear();
      const Run& first = t.runs[i];
      if (first.has_resource) PutLengthDelimitedField(&rs_buf, kResource, first.resource);
      for (; i < t.runs.size() && t.runs[i].resource_spans == first.resource_spans; ++i) {
        const Run& r = t.runs[i];
        scope_buf.clear();
        if (r.has_scope) PutLengthDelimitedField(&scope_buf, kScope, r.scope);
        for (std::string_view span : r.spans) PutLengthDelimitedField(&scope_buf, kSpans, span);
        if (!r.scope_schema.empty()) PutLengthDelimitedField(&scope_buf, kSchemaUrl, r.scope_schema);
        PutLengthDelimitedField(&rs_buf, kScopeSpans, scope_buf);
      }
      if (!first.resource_schema.empty()) PutLengthDelimitedField(&rs_buf, kSchemaUrl, first.resource_schema);
      PutLengthDelimitedField(&b.spans, 1, rs_buf);
    }
  }
  result->accepted_spans += accepted;
  return Status::OK();
}

TraceIngester::TraceIngester(tracestore::TraceStore* store, TraceIngestLimits limits,
                             std::function<bool()> ready)
    : store_(store), limits_(limits), ready_(std::move(ready)) {}

Status TraceIngester::Export(const otlptrace::ExportTraceServiceRequest& req,
                             otlptrace::ExportTraceServiceResponse* resp) {
  return Export(std::string_view(req.SerializeAsString()), resp);
}

Status TraceIngester::Export(std::string_view request, otlptrace::ExportTraceServiceResponse* resp) {
  if (ready_ && !ready_()) return Status::Unavailable("argus is starting or shutting down");
  InflightGuard g(&inflight_, limits_.max_inflight);
  if (!g.ok()) return Status::ResourceExhausted("too many concurrent trace exports");
  std::vector<tracestore::TraceBatch> batches;
  TraceIngestResult split;
  RETURN_IF_ERROR(SplitByTrace(request, limits_, &batches, &split));
  uint64_t rejected = split.rejected_spans;
  std::string error = split.error;
  if (!batches.empty()) {
    ASSIGN_OR_RETURN(tracestore::AppendResult r, store_->Append(batches));
    rejected += r.rejected_spans;
    if (error.empty()) error = r.error;
    spans_accepted_ += r.accepted_spans;
    if (span_metrics_ != nullptr || service_graphs_ != nullptr) {
      // The spans are durable already: a failure here costs metrics, not spans. Both read
      // the accepted traces parsed once, on one arena.
      google::protobuf::Arena arena;
      std::vector<const otlp::trace::v1::TracesData*> traces;
      traces.reserve(r.accepted.size());
      for (size_t i : r.accepted) {
        auto* td = google::protobuf::Arena::CreateMessage<otlp::trace::v1::TracesData>(&arena);
        if (td->ParseFromString(batches[i].spans)) traces.push_back(td);
      }
      int64_t now = tracestore::NowMs();
      if (span_metrics_ != nullptr) {
        Status st = span_metrics_->Observe(traces, now);
        if (!st.ok()) spdlog::warn("span metrics: {}", st.ToString());
      }
      if (service_graphs_ != nullptr) {
        Status st = service_graphs_->Observe(traces, now);
        if (!st.ok()) spdlog::warn("service graphs: {}", st.ToString());
      }
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
  std::string from_json;
  if (json) {
    otlptrace::ExportTraceServiceRequest req;
    Status st = ParseOtlpJson(body, &req);
    if (!st.ok()) return error(400, 3, st.message());
    from_json = req.SerializeAsString();
    body = from_json;
  }
  otlptrace::ExportTraceServiceResponse resp;
  Status st = Export(body, &resp);
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
  Status st = Export(*req, &resp);
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
