// Start-timestamp columns: how the head, the WAL and the blocks keep the start timestamps
// (ST) of float samples beside their XOR chunks. A series that never received an ST has no
// column at all, so the common case pays neither memory nor disk; one that has them keeps
// only the samples whose ST is known (not 0). docs/format/chunks.md ("Start timestamps") has
// the byte layout with a worked example.
//
//   entries  per sample with a known ST, in increasing t_ms:
//            varsint (t_ms - previous t_ms), varsint (st_ms - previous st_ms)
//            where "previous" starts at (0, 0) for the first entry.
//
// A cumulative counter (constant ST) costs the timestamp delta plus one byte per sample; a
// delta series whose ST is the previous sample's time costs two timestamp deltas. ST values
// are not checked here (PromQL decides what an ST before, at or after its sample means).
//
// Example:
//   StColumn col;
//   col.Append(60000, 1000);
//   col.Append(120000, 1000);
//   std::vector<SampleST> sts;
//   col.Collect(0, 200000, &sts);        // {{60000, 1000}, {120000, 1000}}
//   std::string bytes;
//   EncodeSTEntries(sts, &bytes);         // what a kXorST block chunk stores after its XOR part
//
//   kXorST chunk  XorChunk bytes | entries | fixed32 little-endian length of the entries
//
// Thread-safety: StColumn is not thread-safe (the head guards it with the series mutex);
// the codec functions are stateless and never read outside their input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tsdb/storage.h"
#include "util/status.h"

namespace argus::tsdb {

// Appends the encoding of `entries` (sorted by t_ms, unique) to `*out`.
void EncodeSTEntries(const std::vector<SampleST>& entries, std::string* out);
// Appends the entries of `in` with mint_ms <= t_ms <= maxt_ms to `*out`. Corruption if the
// bytes are truncated or the timestamps do not increase (entries before the fault may have
// been appended).
Status DecodeSTEntries(std::string_view in, int64_t mint_ms, int64_t maxt_ms,
                       std::vector<SampleST>* out);

// The start timestamps of one series' in-order float samples in the head.
class StColumn {
 public:
  // Records that the sample at t_ms started at st_ms. REQUIRES: st_ms != 0 and t_ms greater
  // than every t_ms appended before.
  void Append(int64_t t_ms, int64_t st_ms);
  // Appends the entries with mint_ms <= t_ms <= maxt_ms to `*out`, in order.
  void Collect(int64_t mint_ms, int64_t maxt_ms, std::vector<SampleST>* out) const;
  // Drops the entries older than mint_ms.
  void Truncate(int64_t mint_ms);
  bool empty() const { return n_ == 0; }
  size_t num_entries() const { return n_; }
  // The encoded entries (EncodeSTEntries' format), e.g. for memory accounting.
  std::string_view bytes() const { return b_; }

 private:
  std::string b_;
  size_t n_ = 0;
  int64_t last_t_ = 0;
  int64_t last_st_ = 0;
};

// A ChunkEncoding::kXorST chunk: the XorChunk bytes, then the encoded entries of its samples'
// start timestamps, then the entries' length as fixed32 (little-endian).
std::string EncodeXorSTChunk(std::string_view xor_bytes, const std::vector<SampleST>& entries);
// Splits a kXorST chunk into its XOR part and its entries. Corruption if the trailer does not
// fit the bytes.
Status SplitXorSTChunk(std::string_view chunk, std::string_view* xor_bytes,
                       std::string_view* entries);

// Merges two lists sorted by t_ms (set union by t_ms; on equal t_ms the one from `a` wins).
// T is any element with an int64_t `t_ms`: Sample, SampleST.
template <typename T>
std::vector<T> MergeByTime(std::vector<T> a, const std::vector<T>& b) {
  if (b.empty()) return a;
  if (a.empty()) return b;
  std::vector<T> out;
  out.reserve(a.size() + b.size());
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].t_ms <= b[j].t_ms)) {
      if (j < b.size() && a[i].t_ms == b[j].t_ms) ++j;
      out.push_back(a[i++]);
    } else {
      out.push_back(b[j++]);
    }
  }
  return out;
}

}  // namespace argus::tsdb
