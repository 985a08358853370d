// Compressed blocks of log entries: the unit the logs engine stores, skips by time, checksums
// and searches. One block holds consecutive entries of one stream, zstd-compressed (see
// docs/decisions.md, "Log chunks: zstd"); format bit by bit in docs/format/logs.md.
//
//   block  := magic:u8 (0x4c 'L') | min_ts:fixed64 | max_ts:fixed64 | count:uvarint
//             | raw_len:uvarint | comp_len:uvarint | comp:bytes[comp_len] | crc:fixed32
//   crc     = CRC-32C of every byte before it (magic through comp)
//   raw     = zstd_decompress(comp), raw_len bytes, `count` entries of
//   entry  := ts_delta:svarint (from the previous entry; the first from min_ts)
//             | line_len:uvarint | line | n_meta:uvarint | (name_len name value_len value)*
//
// Worked example: entries (ts=1000, "a") and (ts=1005, "bc"), no metadata, give
// raw = 00 01 61 00 | 0a 02 62 63 00 (svarint 0 = 00, 5 -> zigzag 10 = 0a), 9 bytes; the
// header is 4c, 1000 and 1005 as little-endian fixed64, count 02, raw_len 09, comp_len, then
// zstd's frame and the CRC.
//
// Example:
//   BlockBuilder b;
//   b.Add({ts, "line", {}});
//   std::string bytes = b.Finish();
//   ASSIGN_OR_RETURN(BlockHeader h, ReadBlockHeader(bytes));
//   ASSIGN_OR_RETURN(std::vector<LogEntry> es, DecodeBlock(bytes));
//
// Thread-safety: BlockBuilder is not thread-safe; the decode functions are pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/log_entry.h"
#include "util/status.h"

namespace argus::logstore {

inline constexpr uint8_t kBlockMagic = 0x4c;

struct BlockHeader {
  int64_t min_ts_ns = 0;
  int64_t max_ts_ns = 0;
  uint64_t count = 0;
  uint64_t raw_len = 0;
  uint64_t comp_len = 0;
  size_t size_bytes = 0;  // the whole block including the CRC
};

class BlockBuilder {
 public:
  // REQUIRES: entries are added in non-decreasing ts order.
  void Add(const LogEntry& e);
  size_t raw_size() const { return raw_.size(); }
  size_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Compresses (zstd level `level`, default 3) and returns the block; resets the builder.
  std::string Finish(int level = 3);

 private:
  std::string raw_;
  size_t count_ = 0;
  int64_t min_ts_ = 0, max_ts_ = 0, prev_ts_ = 0;
};

// Parses and checks the header and CRC of the block at the start of `bytes`.
// Errors: Corruption (short, bad magic, bad lengths, CRC mismatch).
Result<BlockHeader> ReadBlockHeader(std::string_view bytes);
// Decompresses the block's entries (CRC checked). Errors: Corruption.
Result<std::vector<LogEntry>> DecodeBlock(std::string_view bytes);
// Decompresses into `raw` without parsing entries (for the line-filter fast path).
Status DecompressBlock(std::string_view bytes, std::string* raw);
// Parses a decompressed payload of `count` entries starting at `min_ts_ns`.
Result<std::vector<LogEntry>> ParseRaw(std::string_view raw, uint64_t count, int64_t min_ts_ns);

}  // namespace argus::logstore
