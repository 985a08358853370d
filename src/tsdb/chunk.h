// XOR chunks: the Gorilla compression of (timestamp, value) samples that the head and the
// blocks store, byte-compatible in spirit with Prometheus' `chunkenc.XORChunk`
// (Pelkonen et al., "Gorilla", VLDB 2015, section 4.1). The bit-level format, with a worked
// example, is in docs/format/chunks.md.
//
// Layout: a 2-byte big-endian sample count, then a bit stream: the first timestamp as a signed
// varint (ms) and the first value as 64 raw bits; the second timestamp as an unsigned varint
// delta; then delta-of-delta timestamps in the buckets 0 / 14 / 17 / 20 / 64 bits and XOR'd
// values with the leading/trailing-zero window scheme.
//
// Example:
//   XorChunk c;
//   c.Append(1000, 1.0);
//   c.Append(16000, 2.0);
//   std::string bytes(c.bytes());              // what a block stores
//   ASSIGN_OR_RETURN(XorChunk r, XorChunk::FromBytes(bytes));
//   for (XorIterator it = r.Iterator(); it.Next();) use(it.At());
//
// Thread-safety: a chunk is not thread-safe while being appended to; once sealed (no more
// appends) its bytes may be read and iterated from many threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "model/sample.h"
#include "util/status.h"

namespace argus::tsdb {

// The encoding byte stored before each chunk in a block's chunk segment file.
// 1 is XorChunk (chunk.h), 2 and 3 are HistogramChunk (histogram_chunk.h) of integer and float
// histograms; the numbers match Prometheus' chunkenc encodings, the histogram bytes do not.
// 4 (ours) is an XorChunk followed by the start timestamps of its samples (st_column.h:
// EncodeXorSTChunk); since an XorIterator stops after the chunk's sample count, reading a
// kXorST chunk as plain XOR still gives its samples.
enum class ChunkEncoding : uint8_t { kXor = 1, kHistogram = 2, kFloatHistogram = 3, kXorST = 4 };

class XorIterator;

class XorChunk {
 public:
  XorChunk();
  // Wraps encoded bytes (e.g. read from a block). Returns Corruption if shorter than the
  // 2-byte header. Decoding errors surface later from XorIterator::status().
  static Result<XorChunk> FromBytes(std::string bytes);

  // Appends a sample. REQUIRES: t_ms > the last appended timestamp (the head keeps
  // out-of-order samples elsewhere and re-encodes).
  void Append(int64_t t_ms, double v);

  int num_samples() const;
  // The encoded chunk, header included. Valid until the next Append.
  std::string_view bytes() const { return b_; }
  // Timestamps of the first and last sample; undefined when empty.
  int64_t min_time_ms() const { return first_t_; }
  int64_t max_time_ms() const { return t_; }

  XorIterator Iterator() const;

 private:
  friend class XorIterator;
  void WriteBits(uint64_t v, int nbits);
  void WriteBit(bool bit);
  std::string b_;
  int bit_count_ = 0;  // bits used in the last byte of b_ (0 means b_ ends on a byte boundary)
  int64_t first_t_ = 0;
  int64_t t_ = 0;
  int64_t t_delta_ = 0;
  double v_ = 0;
  uint8_t leading_ = 0xff;
  uint8_t trailing_ = 0;
};

// Iterates a chunk's samples in order. Holds a view of the chunk's bytes: the chunk (or the
// mapped block) must outlive it.
class XorIterator {
 public:
  explicit XorIterator(std::string_view bytes);
  // Advances to the next sample; false at the end or on a decoding error (see status()).
  bool Next();
  Sample At() const { return {t_, v_}; }
  // Corruption if the stream ended early or was malformed; OK otherwise.
  const Status& status() const { return status_; }

 private:
  bool ReadBit(bool* bit);
  bool ReadBits(int nbits, uint64_t* v);
  bool ReadVarint(uint64_t* v);
  std::string_view b_;
  size_t pos_bits_ = 16;  // after the 2-byte header
  int total_ = 0;
  int read_ = 0;
  int64_t t_ = 0;
  int64_t t_delta_ = 0;
  double v_ = 0;
  uint8_t leading_ = 0;
  uint8_t trailing_ = 0;
  bool window_set_ = false;  // a "new window" record has been read
  Status status_;
  friend class XorChunk;     // FromBytes recovers the append state from a decode
};

}  // namespace argus::tsdb
