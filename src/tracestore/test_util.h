// Helpers for the trace store tests and benchmarks: build OTLP spans without ceremony.
#pragma once

#include <cstdint>
#include <string>

#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace argus::tracestore::testing {

inline std::string Id(int n, size_t len = 16) {
  std::string id(len, '\0');
  uint64_t v = static_cast<uint64_t>(n);
  for (size_t i = 0; i < len && i < 8; ++i) id[len - 1 - i] = static_cast<char>((v >> (8 * i)) & 0xff);
  id[0] = 0x7a;
  return id;
}

// Appends a string / integer attribute to an OTLP attribute list.
inline void Attr(google::protobuf::RepeatedPtrField<opentelemetry::proto::common::v1::KeyValue>* attrs,
                 const std::string& key, const std::string& value) {
  auto* kv = attrs->Add();
  kv->set_key(key);
  kv->mutable_value()->set_string_value(value);
}
inline void AttrInt(google::protobuf::RepeatedPtrField<opentelemetry::proto::common::v1::KeyValue>* attrs,
                    const std::string& key, int64_t value) {
  auto* kv = attrs->Add();
  kv->set_key(key);
  kv->mutable_value()->set_int_value(value);
}

// A TracesData with one span of `trace` in `service`.
inline opentelemetry::proto::trace::v1::TracesData OneSpan(const std::string& trace, int span,
                                                           int parent, const std::string& service,
                                                           const std::string& name,
                                                           uint64_t start_ns, uint64_t end_ns) {
  opentelemetry::proto::trace::v1::TracesData td;
  auto* rs = td.add_resource_spans();
  auto* kv = rs->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value(service);
  auto* s = rs->add_scope_spans()->add_spans();
  s->set_trace_id(trace);
  s->set_span_id(Id(span, 8));
  if (parent >= 0) s->set_parent_span_id(Id(parent, 8));
  s->set_name(name);
  s->set_start_time_unix_nano(start_ns);
  s->set_end_time_unix_nano(end_ns);
  s->set_kind(opentelemetry::proto::trace::v1::Span::SPAN_KIND_SERVER);
  auto* a = s->add_attributes();
  a->set_key("http.method");
  a->mutable_value()->set_string_value("GET");
  auto* b = s->add_attributes();
  b->set_key("http.status_code");
  b->mutable_value()->set_int_value(200);
  return td;
}

}  // namespace argus::tracestore::testing
