// A bloom filter over trace IDs, stored with each trace block so that trace-by-ID skips
// blocks that cannot hold the trace. Sized for a 1% false-positive rate (about 9.6 bits and
// 7 probes per trace). Probes are derived from two 64-bit hashes of the ID by double hashing
// (Kirsch-Mitzenmacher); the hash is a seeded 64-bit mix of the bytes, not the raw ID bytes,
// so chosen IDs cannot aim at a few bits. Encoding: docs/format/traces.md ("bloom").
//
// Example:
//   BloomFilter b = BloomFilter::ForCount(ids.size());
//   for (auto& id : ids) b.Add(id);
//   std::string bytes = b.Encode();
//   ASSIGN_OR_RETURN(BloomFilter d, BloomFilter::Decode(bytes));
//   d.MayContain(ids[0]) == true
//
// Thread-safety: Add is not thread-safe; MayContain on an unchanging filter is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace argus::tracestore {

class BloomFilter {
 public:
  BloomFilter() = default;
  // A filter sized for `n` keys at a 1% false-positive rate (at least 64 bits).
  static BloomFilter ForCount(size_t n);

  void Add(std::string_view key);
  // False only if `key` was never added. An empty (default) filter says true for everything.
  bool MayContain(std::string_view key) const;

  // "ATBF" | u32 version=1 | u32 probes | u64 bits | bit words (u64 LE) | u32 crc32c.
  std::string Encode() const;
  // Errors: Corruption for a bad magic, size or checksum.
  static Result<BloomFilter> Decode(std::string_view bytes);

 private:
  uint32_t probes_ = 0;
  uint64_t bits_ = 0;
  std::vector<uint64_t> words_;
};

}  // namespace argus::tracestore
