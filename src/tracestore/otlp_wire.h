// OTLP trace protobuf read at the wire level (opentelemetry-proto trace/v1/trace.proto and
// common/v1/common.proto), without materializing messages: the request path of trace ingest
// and the trace store's head read spans as views into the bytes they were sent in. A
// serialized TracesData and a serialized ExportTraceServiceRequest have the same layout
// (field 1: repeated ResourceSpans), so both are read alike.
//
// Example:
//   bool ok = ForEachSpan(traces_data, [&](std::string_view resource, std::string_view span,
//                                          const SpanView& s) { ... });   // false: malformed
//
// Thread-safety: stateless functions; views point into the caller's bytes.
#pragma once

#include <cstdint>
#include <string_view>

#include "util/protowire.h"

namespace argus::tracestore {

// Field numbers of trace.proto that the readers below use.
namespace otlp_field {
inline constexpr uint64_t kResourceSpans = 1;                 // TracesData, request
inline constexpr uint64_t kResource = 1, kScopeSpans = 2, kSchemaUrl = 3;  // ResourceSpans
inline constexpr uint64_t kScope = 1, kSpans = 2;             // ScopeSpans (kSchemaUrl = 3)
}  // namespace otlp_field

// What ingest and the store read of a span: views into its bytes, defaults for absent fields.
struct SpanView {
  std::string_view trace_id, span_id, parent_span_id, name, status_message;
  int64_t kind = 0;
  int64_t status_code = 0;
  bool has_status = false;
  uint64_t start_time_unix_nano = 0, end_time_unix_nano = 0;
};

// Reads the fields above from the Span message `bytes`; false if its wire structure is bad
// (nested messages other than status are not checked here: ValidSpan does that).
bool ReadSpan(std::string_view bytes, SpanView* out);

// Whether the bytes are a valid Span / Resource / InstrumentationScope as protobuf's own
// parser decides it: wire structure down to every nested message (events, links, status,
// attribute values, arrays, key-value lists, at most 100 deep) and UTF-8 in every string
// field. Unknown fields are allowed, as protobuf keeps them.
bool ValidSpan(std::string_view bytes);
bool ValidResource(std::string_view bytes);
bool ValidScope(std::string_view bytes);

// The string value of attribute `key` of a Resource message ("" if absent or not a string).
std::string_view ResourceAttribute(std::string_view resource, std::string_view key);

// Calls fn(resource, span, view) for every span of a serialized TracesData (or request), in
// order; `resource` is the Resource message's bytes ("" if absent). False if the bytes are
// malformed down to the spans (the spans already visited were visited).
template <class Fn>
bool ForEachSpan(std::string_view traces_data, Fn&& fn) {
  WireReader top(traces_data);
  WireField rs;
  while (top.Next(&rs)) {
    if (rs.number != otlp_field::kResourceSpans || rs.type != WireReader::kLengthDelimited) continue;
    std::string_view resource;
    WireReader r(rs.bytes);
    WireField f;
    while (r.Next(&f)) {
      if (f.number == otlp_field::kResource && f.type == WireReader::kLengthDelimited) resource = f.bytes;
    }
    if (r.error()) return false;
    WireReader r2(rs.bytes);
    while (r2.Next(&f)) {
      if (f.number != otlp_field::kScopeSpans || f.type != WireReader::kLengthDelimited) continue;
      WireReader ss(f.bytes);
      WireField g;
      while (ss.Next(&g)) {
        if (g.number != otlp_field::kSpans || g.type != WireReader::kLengthDelimited) continue;
        SpanView v;
        if (!ReadSpan(g.bytes, &v)) return false;
        fn(resource, g.bytes, v);
      }
      if (ss.error()) return false;
    }
  }
  return !top.error();
}

}  // namespace argus::tracestore
