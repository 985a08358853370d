// OTLP/JSON decoding (OTLP spec, "JSON Protobuf Encoding"): the body of POST /v1/metrics,
// /v1/logs and /v1/traces with Content-Type: application/json.
//
// OTLP/JSON is protobuf's canonical JSON mapping with these differences, all handled here:
//   - traceId, spanId and parentSpanId are hex strings (e.g. "5b8efff798038103d269b633813fc60c"),
//     not base64 like other bytes fields;
//   - enum values are integers (protobuf's parser accepts integers and names alike);
//   - keys are lowerCamelCase (the parser accepts lowerCamelCase and the proto field names);
//   - 64-bit integers may be strings or numbers (accepted by the parser);
//   - unknown fields must be ignored (for forward compatibility).
// We parse with protobuf's JsonStringToMessage, which knows every message's schema, after
// rewriting the values of the hex ID keys into base64. The rewrite is a single pass over the
// text that understands JSON strings only as far as needed to find object keys; it is safe
// because in OTLP those key names occur only as the ID fields (attribute keys are *values* of a
// "key" member, never object keys). Writing our own schema-aware JSON decoder would duplicate
// protobuf's mapping for little gain.
//
// Example:
//   ExportMetricsServiceRequest req;
//   RETURN_IF_ERROR(ParseOtlpJson(body, &req));
//
// Thread-safety: stateless.
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

#include "util/status.h"

namespace argus::ingest {

// Parses OTLP/JSON `json` into `msg` (cleared first). Errors: InvalidArgument for malformed JSON,
// a type mismatch, or an ID that is not an even-length hex string. `msg` is not owned.
Status ParseOtlpJson(std::string_view json, google::protobuf::Message* msg);

// The rewrite step on its own: `json` with the string values of traceId/spanId/parentSpanId
// (and their snake_case spellings) turned from hex into base64. Errors: InvalidArgument for a
// value that is not hex. Exposed for tests.
Result<std::string> RewriteOtlpJsonIds(std::string_view json);

}  // namespace argus::ingest
