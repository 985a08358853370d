// Zipkin v2 JSON spans (zipkin-api zipkin2-api.yaml, "ListOfSpans"), the body of
// POST /api/v2/spans, converted to an OTLP ExportTraceServiceRequest the way the OpenTelemetry
// Collector's zipkin receiver maps them:
//   traceId (16 or 32 hex digits; 16 are left-padded), id, parentId  -> trace/span/parent IDs
//   name -> name; kind CLIENT/SERVER/PRODUCER/CONSUMER -> SPAN_KIND_* (absent: INTERNAL)
//   timestamp, duration (microseconds) -> start/end (nanoseconds)
//   localEndpoint.serviceName -> resource service.name (one ResourceSpans per service)
//   remoteEndpoint.serviceName -> attribute peer.service; tags -> string attributes
//   tag "error" -> status ERROR with the tag's value as message (the tag is kept)
//   annotations {timestamp, value} -> events
// Spans are not otherwise validated here (TraceIngester refuses bad IDs with the rest).
//
// Example:
//   ASSIGN_OR_RETURN(ExportTraceServiceRequest req, ParseZipkinV2(body));
//
// Thread-safety: stateless.
#pragma once

#include <string_view>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "util/status.h"

namespace argus::ingest {

// Errors: InvalidArgument for malformed JSON, a body that is not an array of objects, a
// mistyped field, or IDs that are not hex.
Result<opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest> ParseZipkinV2(
    std::string_view json);

}  // namespace argus::ingest
