// Decompression of request bodies, with a cap on the decoded size so that a small hostile body
// cannot make the server allocate gigabytes ("zip bombs").
//
//   Gunzip            gzip (RFC 1952), as sent with `Content-Encoding: gzip` by OTLP/HTTP
//                     exporters, Loki clients and scraped targets. A zlib stream (RFC 1950) is
//                     accepted too, and so are several concatenated gzip members (RFC 1952 2.2).
//   SnappyUncompress  snappy *block* format (not the framed/stream format), as Prometheus
//                     remote_write 1.0 and Loki's protobuf push require.
//
// Example:
//   ASSIGN_OR_RETURN(std::string body, Gunzip(request.body, 64 << 20));
//
// Errors (both): InvalidArgument for corrupt or truncated input and for output that would exceed
// `max_bytes` (an oversized body does not become acceptable by retrying, so it is not
// ResourceExhausted, which the server maps to the retryable 429). Thread-safety: stateless.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "util/status.h"

namespace argus::ingest {

// Inflates `compressed` (gzip or zlib). Returns the decoded bytes, at most `max_bytes` of them.
Result<std::string> Gunzip(std::string_view compressed, size_t max_bytes);

// Decodes one snappy block. Checks the length stored in the block header against `max_bytes`
// before allocating.
Result<std::string> SnappyUncompress(std::string_view compressed, size_t max_bytes);

}  // namespace argus::ingest
