// Prometheus remote_write 1.0 receiver: decodes a POST /api/v1/write body and appends its
// samples, exemplars and metadata through a tsdb::Appender.
//
// Follows the Prometheus Remote-Write 1.0 specification (prometheus.io/docs/specs/
// remote_write_spec): the body is a snappy *block*-compressed protobuf `prometheus.WriteRequest`
// (proto/prometheus/remote.proto). Timestamps are int64 milliseconds; any float64 value is
// valid, including NaN and the stale marker (model/sample.h), which are stored bit-exactly.
//
// Example:
//   std::unique_ptr<tsdb::Appender> app = db.NewAppender();
//   WriteStats stats;
//   Status st = HandleRemoteWrite(body, RemoteWriteOptions{}, app.get(), &stats);
//   // OK -> 204; InvalidArgument -> 400 with st.message(); Unavailable -> 503;
//   // ResourceExhausted -> 429; anything else -> 500.
//
// Thread-safety: the functions are stateless; each call needs its own Appender.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "prometheus/remote.pb.h"
#include "tsdb/storage.h"
#include "util/status.h"

namespace argus::ingest {

// What one request did. `samples`, `exemplars` and `metadata` count what was committed (all
// zero if the batch was rolled back or Commit failed); `rejected` counts samples (and native
// histogram samples) that were not appended, `first_error` describes the first of them.
struct WriteStats {
  uint64_t samples = 0, exemplars = 0, metadata = 0, rejected = 0;
  uint64_t histograms = 0;  // native histogram samples committed
  std::string first_error;
};

struct RemoteWriteOptions {
  // Longest accepted label value, in bytes (default 1 MiB). Longer values reject the series.
  size_t max_label_value_bytes = 1 << 20;
  // Largest accepted decoded (uncompressed) body, in bytes (default 64 MiB); checked against
  // the snappy header before decompressing.
  size_t max_decoded_bytes = 64 << 20;
};

// Decodes `snappy_body` and appends everything it carries, then calls app->Commit().
//
// Per-series and per-sample problems do not abort the batch: the series or sample is skipped,
// the rest are appended and committed, and the call returns InvalidArgument with the first
// error (Prometheus answers such a request with 400 so that the sender does not retry it).
// Rejected: a series without labels or without a non-empty `__name__`, an empty label name,
// a label name or value that is not valid UTF-8, duplicate label names, a label value longer than opts.max_label_value_bytes, samples the
// Appender refuses (out of order, duplicate timestamp, ...), and native histograms that fail
// validation (IntHistogram::Validate, with Prometheus' messages) or mix integer and float counts.
// Native histograms (`TimeSeries.histograms`) are appended as integer histograms (count_int)
// or float histograms (count_float); schemas 9..52 are reduced to 8 as
// Prometheus 3 does. Labels that are not sorted are sorted; labels with empty values are dropped
// (an empty value means "no label" in Prometheus' data model). Exemplars the Appender refuses
// are dropped without failing the request, as Prometheus does.
//
// Returns:
//   OK                 everything was appended and committed.
//   InvalidArgument    the body is not valid snappy, exceeds opts.max_decoded_bytes, is not a
//                      well-formed WriteRequest (truncated, or a known field with the wrong
//                      wire type, which Go's decoder refuses too; nothing is appended), or
//                      something was rejected (the good part is committed; see `stats`).
// The body is decoded without copying label strings (they are viewed in the decoded buffer
// and copied only for series the head does not have yet); native histograms and metadata,
// which are rare, are parsed with the generated protobuf classes.
//   Unavailable, ResourceExhausted, IOError, Internal, Canceled
//                      returned by the Appender (Append or Commit); the batch is rolled back.
// `stats` may be null. REQUIRES: `app` is a fresh Appender; it is committed or rolled back on
// return and must not be used again.
Status HandleRemoteWrite(std::string_view snappy_body, const RemoteWriteOptions& opts,
                         tsdb::Appender* app, WriteStats* stats);

// HandleRemoteWrite for a request built in memory (encoded, then decoded as if received).
// Same contract as HandleRemoteWrite.
Status ApplyWriteRequest(const prometheus::WriteRequest& req, const RemoteWriteOptions& opts,
                         tsdb::Appender* app, WriteStats* stats);

}  // namespace argus::ingest
