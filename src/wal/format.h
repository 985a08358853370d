// The bytes of a WAL segment: how a batch of records is framed, checked and decoded, and how
// segment files are named. Used by wal.cc (writing), reader.cc (replay) and the tests; callers
// of the WAL need only wal.h. The full description with a worked example is in
// docs/format/wal.md; in short, a segment is a sequence of batches, each
//
//   offset  size  field
//   0       4     payload length n, little-endian uint32 (n >= 1)
//   4       4     CRC-32C (Castagnoli) of bytes [8, 9 + n): the type byte and the payload,
//                 little-endian uint32
//   8       1     type: 1 = batch (0 never starts a frame, so zeros read as the end)
//   9       n     payload: uvarint record count c, then c times (uvarint length, bytes)
//
// Worked example: the batch {"ab", "c"} is the 15 bytes
//   06 00 00 00 | cb 09 2f d1 | 01 | 02 | 02 61 62 | 01 63
//   n = 6         CRC 0xD12F09CB  type  c=2  "ab"       "c"
//
// A frame is valid only if it is complete, its type is known, its CRC matches and its payload
// parses to exactly n bytes. A scan stops at the first frame that is not; if every byte from
// there on is zero the segment simply ends there (a preallocated or sparse tail), otherwise
// the rest is torn (cut short) or corrupt.
//
// Example:
//   std::string frame;
//   RETURN_IF_ERROR(AppendBatch({"ab", "c"}, &frame));   // 15 bytes, see docs/format/wal.md
//   ScanResult r;
//   auto fn = [](std::string_view rec) { ...; return Status::OK(); };
//   RETURN_IF_ERROR(ScanBatches(frame, fn, &r));
//   // r.valid_bytes == 15, r.records == 2, r.end == ScanEnd::kClean
//
// Thread-safety: stateless functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace argus::wal {

inline constexpr size_t kBatchHeaderSize = 9;
inline constexpr uint8_t kBatchType = 1;
// The payload length is a uint32: one batch holds at most 4 GiB - 1 bytes of payload.
inline constexpr uint64_t kMaxBatchPayloadBytes = 0xFFFFFFFFull;
// Segment indices have 8 decimal digits.
inline constexpr int kMaxSegmentIndex = 99999999;

// Appends the frame of one batch holding `records` (in order) to *out.
// Errors: InvalidArgument if the payload would exceed kMaxBatchPayloadBytes (*out unchanged).
Status AppendBatch(const std::vector<std::string_view>& records, std::string* out);

// How a scan of a segment's bytes ended.
enum class ScanEnd {
  kClean,     // at the end of the data
  kZeroTail,  // at a run of zero bytes that lasts to the end of the data
  kTorn,      // at a frame cut short: the header or the payload extends past the end
  kCorrupt,   // at a complete frame with an unknown type, a bad CRC or a malformed payload
};
std::string_view ScanEndName(ScanEnd e);

struct ScanResult {
  size_t valid_bytes = 0;  // offset just past the last valid batch
  uint64_t batches = 0;    // valid batches decoded (and passed to fn, unless fn failed)
  uint64_t records = 0;    // records passed to fn that returned OK
  ScanEnd end = ScanEnd::kClean;
};

// Decodes the batches of `data` from its start. Each batch is checked completely before any of
// its records goes to fn, so fn sees whole batches only. Stops at the end of `data` or at the
// first invalid frame (see ScanEnd). Returns fn's first error, which stops the scan; stopping
// at an invalid frame is not an error: see res->end. `res` must not be null. The views passed
// to fn point into `data`.
Status ScanBatches(std::string_view data, const std::function<Status(std::string_view)>& fn,
                   ScanResult* res);

// The file name of segment `index`: 8 decimal digits, zero-padded ("00000042").
// REQUIRES: 0 <= index <= kMaxSegmentIndex.
std::string SegmentName(int index);

// The index named by a segment file name, or nullopt if `name` is not exactly 8 digits.
std::optional<int> ParseSegmentName(std::string_view name);

// The indices of the segment files in `dir`, ascending; other entries are ignored. Empty if
// `dir` does not exist. Errors: IOError.
Result<std::vector<int>> ListSegments(const std::string& dir);

}  // namespace argus::wal
