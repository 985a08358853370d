#include "ingest/zipkin.h"

#include <simdjson.h>

#include <map>
#include <string>

namespace argus::ingest {

namespace otlp = opentelemetry::proto;

namespace {

Result<std::string> HexId(std::string_view hex, size_t bytes, std::string_view what) {
  if (hex.empty() || hex.size() > bytes * 2) {
    return Status::InvalidArgument("zipkin: " + std::string(what) + " \"" + std::string(hex) +
                                   "\" must be 1 to " + std::to_string(bytes * 2) + " hex digits");
  }
  std::string padded = std::string(bytes * 2 - hex.size(), '0') + std::string(hex);
  std::string out(bytes, '\0');
  for (size_t i = 0; i < padded.size(); ++i) {
    char c = padded[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return Status::InvalidArgument("zipkin: " + std::string(what) + " is not hex");
    out[i / 2] = static_cast<char>(out[i / 2] | (i % 2 ? d : d << 4));
  }
  return out;
}

void AddAttr(google::protobuf::RepeatedPtrField<otlp::common::v1::KeyValue>* attrs,
             std::string_view key, std::string_view value) {
  auto* kv = attrs->Add();
  kv->set_key(std::string(key));
  kv->mutable_value()->set_string_value(std::string(value));
}

}  // namespace

Result<otlp::collector::trace::v1::ExportTraceServiceRequest> ParseZipkinV2(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element doc;
  if (auto err = parser.parse(padded).get(doc)) {
    return Status::InvalidArgument(std::string("zipkin: malformed JSON: ") + simdjson::error_message(err));
  }
  simdjson::dom::array spans;
  if (doc.get_array().get(spans)) return Status::InvalidArgument("zipkin: the body must be a JSON array of spans");
  otlp::collector::trace::v1::ExportTraceServiceRequest req;
  std::map<std::string, otlp::trace::v1::ScopeSpans*> by_service;
  for (simdjson::dom::element e : spans) {
    simdjson::dom::object o;
    if (e.get_object().get(o)) return Status::InvalidArgument("zipkin: every span must be an object");
    std::string_view trace_id, id, parent, name, kind, service, remote;
    if (o["traceId"].get_string().get(trace_id) || o["id"].get_string().get(id)) {
      return Status::InvalidArgument("zipkin: a span needs traceId and id strings");
    }
    otlp::trace::v1::Span span;
    ASSIGN_OR_RETURN(std::string tid, HexId(trace_id, 16, "traceId"));
    ASSIGN_OR_RETURN(std::string sid, HexId(id, 8, "id"));
    span.set_trace_id(tid);
    span.set_span_id(sid);
    if (!o["parentId"].get_string().get(parent) && !parent.empty()) {
      ASSIGN_OR_RETURN(std::string pid, HexId(parent, 8, "parentId"));
      span.set_parent_span_id(pid);
    }
    if (!o["name"].get_string().get(name)) span.set_name(std::string(name));
    span.set_kind(otlp::trace::v1::Span::SPAN_KIND_INTERNAL);
    if (!o["kind"].get_string().get(kind)) {
      if (kind == "CLIENT") span.set_kind(otlp::trace::v1::Span::SPAN_KIND_CLIENT);
      else if (kind == "SERVER") span.set_kind(otlp::trace::v1::Span::SPAN_KIND_SERVER);
      else if (kind == "PRODUCER") span.set_kind(otlp::trace::v1::Span::SPAN_KIND_PRODUCER);
      else if (kind == "CONSUMER") span.set_kind(otlp::trace::v1::Span::SPAN_KIND_CONSUMER);
      else return Status::InvalidArgument("zipkin: unknown kind \"" + std::string(kind) + "\"");
    }
    uint64_t ts_us = 0, dur_us = 0;
    if (auto f = o["timestamp"]; f.error() == simdjson::SUCCESS && f.get_uint64().get(ts_us)) {
      return Status::InvalidArgument("zipkin: timestamp must be an integer (microseconds)");
    }
    if (auto f = o["duration"]; f.error() == simdjson::SUCCESS && f.get_uint64().get(dur_us)) {
      return Status::InvalidArgument("zipkin: duration must be an integer (microseconds)");
    }
    span.set_start_time_unix_nano(ts_us * 1000);
    span.set_end_time_unix_nano((ts_us + dur_us) * 1000);
    simdjson::dom::object local, remote_ep, tags;
    if (!o["localEndpoint"].get_object().get(local) &&
        local["serviceName"].get_string().get(service) != simdjson::SUCCESS) {
      service = "";  // an endpoint without a service name
    }
    if (!o["remoteEndpoint"].get_object().get(remote_ep) &&
        !remote_ep["serviceName"].get_string().get(remote) && !remote.empty()) {
      AddAttr(span.mutable_attributes(), "peer.service", remote);
    }
    if (!o["tags"].get_object().get(tags)) {
      for (auto field : tags) {
        std::string_view v;
        if (field.value.get_string().get(v)) {
          return Status::InvalidArgument("zipkin: tag values must be strings");
        }
        AddAttr(span.mutable_attributes(), field.key, v);
        if (field.key == "error") {
          span.mutable_status()->set_code(otlp::trace::v1::Status::STATUS_CODE_ERROR);
          span.mutable_status()->set_message(std::string(v));
        }
      }
    }
    simdjson::dom::array annotations;
    if (!o["annotations"].get_array().get(annotations)) {
      for (simdjson::dom::element a : annotations) {
        uint64_t ats = 0;
        std::string_view value;
        if (a["timestamp"].get_uint64().get(ats) || a["value"].get_string().get(value)) {
          return Status::InvalidArgument("zipkin: an annotation needs timestamp and value");
        }
        auto* ev = span.add_events();
        ev->set_time_unix_nano(ats * 1000);
        ev->set_name(std::string(value));
      }
    }
    std::string svc(service);
    auto it = by_service.find(svc);
    if (it == by_service.end()) {
      auto* rs = req.add_resource_spans();
      AddAttr(rs->mutable_resource()->mutable_attributes(), "service.name", svc);
      auto* ss = rs->add_scope_spans();
      ss->mutable_scope()->set_name("zipkin");
      it = by_service.emplace(svc, ss).first;
    }
    *it->second->add_spans() = std::move(span);
  }
  return req;
}

}  // namespace argus::ingest
