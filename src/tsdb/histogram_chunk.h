// Histogram chunks: how the head and the blocks store native-histogram samples, and the
// histogram body shared with the WAL's histogram records (wal_records.h). Our own format, not
// Prometheus' chunkenc.HistogramChunk: every sample is written whole (timestamp delta, then the
// histogram's fields as varints and raw doubles), trading some bytes for a format that is
// simple to check and cannot mis-decode after a layout change. docs/format/chunks.md has the
// byte layout with a worked example.
//
//   chunk   u16 big-endian sample count (like XorChunk, so ChunkNumSamples works), then per
//           sample: timestamp (first: varsint t_ms; then uvarint t_ms - previous t_ms), body
//   body    u8 flags (bit 0: float histogram; bits 1-2: counter reset hint; bit 3: a start
//           timestamp follows the body as varsint t_ms - st_ms), varsint schema,
//           fixed64 zero_threshold, zero_count and count (uvarint each for integer histograms,
//           fixed64 for float ones), fixed64 sum, positive spans (uvarint n, n x (varsint
//           offset, uvarint length)), positive buckets (uvarint n, n x (varsint delta |
//           fixed64 count)), negative spans, negative buckets, custom values (uvarint n,
//           n x fixed64). fixed64 are little-endian IEEE-754 bits.
//
// A chunk holds either integer (ChunkEncoding::kHistogram) or float histograms
// (kFloatHistogram), never both.
//
// Example:
//   HistogramChunk c(/*is_float=*/false);
//   c.Append(HistogramSample{1000, h});
//   std::vector<HistogramSample> out;
//   RETURN_IF_ERROR(DecodeHistogramChunk(c.bytes(), kMinT, kMaxT, &out));
//
// Thread-safety: a chunk is not thread-safe while being appended to; its bytes may be read
// from many threads once sealed. Decoders are stateless and never read outside their input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tsdb/chunk.h"
#include "tsdb/storage.h"
#include "util/status.h"

namespace argus::tsdb {

// Flag bit 3 of the body's flags byte: a start timestamp follows the body, as a varsint of
// t_ms - st_ms. Bodies without it (all written before start timestamps existed) decode with
// st_ms 0.
inline constexpr uint8_t kStartTimestampFlag = 0x08;

// Appends the body encoding of `v` to `*out`; a non-zero `st_ms` (the sample's start
// timestamp) is stored relative to the sample time `t_ms`.
void EncodeHistogramBody(const HistogramValue& v, std::string* out, int64_t st_ms = 0,
                         int64_t t_ms = 0);
// Decodes one body from the front of `*in` (advancing it); `t_ms` is the sample's time, and
// `*st_ms` (if given) receives its start timestamp or 0. Corruption if malformed.
Status DecodeHistogramBody(std::string_view* in, HistogramValue* v, int64_t t_ms = 0,
                           int64_t* st_ms = nullptr);

class HistogramChunk {
 public:
  explicit HistogramChunk(bool is_float = false);
  // Recovers a chunk (for further appends) from its bytes. Corruption if they do not decode.
  static Result<HistogramChunk> FromBytes(std::string bytes, bool is_float);

  // Appends a sample. REQUIRES: s.is_float() == is_float(), s.t_ms > max_time_ms() if not empty,
  // num_samples() < 65535.
  void Append(const HistogramSample& s);

  bool is_float() const { return is_float_; }
  ChunkEncoding encoding() const {
    return is_float_ ? ChunkEncoding::kFloatHistogram : ChunkEncoding::kHistogram;
  }
  int num_samples() const { return n_; }
  std::string_view bytes() const { return b_; }
  int64_t min_time_ms() const { return first_t_; }
  int64_t max_time_ms() const { return last_t_; }

 private:
  bool is_float_;
  std::string b_;
  int n_ = 0;
  int64_t first_t_ = 0;
  int64_t last_t_ = 0;
};

// Appends the samples of a histogram chunk with mint_ms <= t_ms <= maxt_ms to `*out`.
// Corruption if the bytes are malformed (samples before the fault may have been appended).
Status DecodeHistogramChunk(std::string_view bytes, int64_t mint_ms, int64_t maxt_ms,
                            std::vector<HistogramSample>* out);

// Whether `e` is one of the histogram encodings.
inline bool IsHistogramEncoding(ChunkEncoding e) {
  return e == ChunkEncoding::kHistogram || e == ChunkEncoding::kFloatHistogram;
}

}  // namespace argus::tsdb
