// Compressed blocks of log entries: the unit the logs engine stores, skips by time, checksums
// and searches. One block holds consecutive entries of one stream, zstd-compressed (see
// docs/decisions.md, "Log chunks: zstd"), with a trigram filter of its lines so that a line
// filter can skip it without decompressing; format bit by bit in docs/format/logs.md.
//
//   block  := magic:u8 (0x4d 'M'; 0x4c 'L' = version 1, no filter, still read)
//             | min_ts:fixed64 | max_ts:fixed64 | count:uvarint | raw_len:uvarint
//             | comp_len:uvarint | filter_log2:u8 | filter:bytes[2^filter_log2 / 8]
//             | comp:bytes[comp_len] | crc:fixed32
//   crc     = CRC-32C of every byte before it (magic through comp)
//   raw     = zstd_decompress(comp), raw_len bytes, `count` entries of
//   entry  := ts_delta:svarint (from the previous entry; the first from min_ts)
//             | line_len:uvarint | line | n_meta:uvarint | (name_len name value_len value)*
//   filter  = bit TrigramHash(t) >> (16 - filter_log2) set for every 3-byte substring t of
//             every line (filter_log2 0: no filter)
//
// Worked example: entries (ts=1000, "a") and (ts=1005, "bc"), no metadata, give
// raw = 00 01 61 00 | 0a 02 62 63 00 (svarint 0 = 00, 5 -> zigzag 10 = 0a), 9 bytes; the
// header is 4d, 1000 and 1005 as little-endian fixed64, count 02, raw_len 09, comp_len, a
// 1024-bit filter (filter_log2 0a, 128 bytes, no bit set: no line has 3 bytes), then zstd's
// frame and the CRC.
//
// Example:
//   BlockBuilder b;
//   b.Add({ts, "line", {}});
//   std::string bytes = b.Finish();
//   ASSIGN_OR_RETURN(BlockHeader h, ReadBlockHeader(bytes));
//   if (BlockMayContain(h, {"needle"})) ASSIGN_OR_RETURN(std::vector<LogEntry> es, DecodeBlock(bytes));
//
// Thread-safety: BlockBuilder is not thread-safe; the decode functions are pure (each thread
// reuses its own zstd context).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/log_entry.h"
#include "util/status.h"

namespace argus::logstore {

inline constexpr uint8_t kBlockMagicV1 = 0x4c;  // no filter
inline constexpr uint8_t kBlockMagic = 0x4d;

// The hash of a 3-byte substring the filters use: 16 bits, the top bits index smaller filters.
inline uint32_t TrigramHash(const char* p) {
  uint32_t v = static_cast<uint8_t>(p[0]) | static_cast<uint32_t>(static_cast<uint8_t>(p[1])) << 8 |
               static_cast<uint32_t>(static_cast<uint8_t>(p[2])) << 16;
  return (v * 0x9E3779B1u) >> 16;
}

struct BlockHeader {
  int64_t min_ts_ns = 0;
  int64_t max_ts_ns = 0;
  uint64_t count = 0;
  uint64_t raw_len = 0;
  uint64_t comp_len = 0;
  size_t size_bytes = 0;  // the whole block including the CRC
  uint8_t filter_log2 = 0;       // 0: no filter (version 1)
  std::string_view filter;       // 2^filter_log2 bits, points into the block's bytes
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
  std::vector<uint64_t> trigrams_ = std::vector<uint64_t>(1024);  // 2^16 bits, by TrigramHash
  size_t count_ = 0;
  int64_t min_ts_ = 0, max_ts_ = 0, prev_ts_ = 0;
};

// Parses and checks the header and CRC of the block at the start of `bytes`.
// Errors: Corruption (short, bad magic, bad lengths, CRC mismatch).
Result<BlockHeader> ReadBlockHeader(std::string_view bytes);
// False only when the block's filter proves that some needle of 3 or more bytes is in none of
// its lines (a version-1 block, or only shorter needles: true). `h` from ReadBlockHeader.
bool BlockMayContain(const BlockHeader& h, std::span<const std::string> needles);
// Decompresses the block's entries (CRC checked). Errors: Corruption.
Result<std::vector<LogEntry>> DecodeBlock(std::string_view bytes);
// Decompresses into `raw` without parsing entries (for the line-filter fast path).
Status DecompressBlock(std::string_view bytes, std::string* raw);
// The same for a header already read (and checked) from `bytes`.
Status DecompressBlock(std::string_view bytes, const BlockHeader& h, std::string* raw);
// Parses a decompressed payload of `count` entries starting at `min_ts_ns`.
Result<std::vector<LogEntry>> ParseRaw(std::string_view raw, uint64_t count, int64_t min_ts_ns);
// The scan path: parses into out[0..n) (reusing those elements' string capacity; `out` grows
// as needed and keeps its size) only the entries with start_ns <= ts_ns <= end_ns whose line
// contains every string of `needles`, and returns n. With needles, the whole payload is
// searched for needles[0] (memmem) and only the entries around its hits are examined; the
// others are skipped by their length prefixes, never copied. Errors: Corruption.
Result<size_t> ParseRawInto(std::string_view raw, uint64_t count, int64_t min_ts_ns, int64_t start_ns,
                            int64_t end_ns, std::span<const std::string> needles, std::vector<LogEntry>* out);

}  // namespace argus::logstore
