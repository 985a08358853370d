// Immutable on-disk blocks of the metrics engine: every series of a time range [min, max) with
// its XOR chunks, an index to find them, and a meta.json, in the spirit of Prometheus' TSDB
// block (prometheus/tsdb/docs/format/{index,chunks}.md). The head cuts a block every
// block range (2h by default), compaction (compact.h) merges blocks into larger ones.
//
// A block is a directory named by its ULID:
//
//   <ulid>/meta.json       {"ulid", "minTime", "maxTime", "stats": {"numSeries",
//                          "numSamples", "numChunks"}, "compaction": {"level", "sources"},
//                          "version": 1}; written last: its presence marks a complete block
//   <ulid>/chunks/000001   chunk segments (at most 512 MiB each):
//                            header: fixed32 magic 0x4B4E4843 ("CHNK"), u8 version 1,
//                                    3 zero bytes
//                            per chunk: uvarint data length, u8 encoding (ChunkEncoding: 1 XOR,
//                                       2/3 integer/float histograms), the chunk bytes,
//                                       fixed32 crc32c(encoding + data)
//                          a chunk ref is (segment number << 32) | offset of its length varint
//   <ulid>/index           series, label postings and chunk refs (block_index.h)
//
// The bit-level description with a worked example is in docs/format/block.md.
//
// Example:
//   ASSIGN_OR_RETURN(BlockMeta meta, WriteBlock(data_dir, mint, maxt, 1, {}, std::move(ss)));
//   ASSIGN_OR_RETURN(std::shared_ptr<Block> b, Block::Open(data_dir + "/" + meta.ulid));
//   ASSIGN_OR_RETURN(std::unique_ptr<Querier> q, b->NewQuerier(mint, maxt - 1));
//   ASSIGN_OR_RETURN(std::vector<Series> ss, q->Select(matchers, {}));
//
// Thread-safety: WriteBlock may run concurrently with itself (different ULIDs). A Block is
// immutable after Open and safe to share between threads; each Querier is for one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/labels.h"
#include "tsdb/block_index.h"
#include "tsdb/chunk.h"
#include "tsdb/storage.h"
#include "util/file.h"
#include "util/status.h"

namespace argus::tsdb {

inline constexpr uint32_t kChunkSegmentMagic = 0x4B4E4843;  // "CHNK" as little-endian bytes
inline constexpr uint8_t kChunkSegmentVersion = 1;
inline constexpr uint64_t kMaxChunkSegmentBytes = uint64_t{512} << 20;
inline constexpr int kBlockMetaVersion = 1;

// What meta.json says about a block.
struct BlockMeta {
  std::string ulid;
  int64_t min_time_ms = 0;
  int64_t max_time_ms = 0;  // exclusive
  uint64_t num_series = 0, num_samples = 0, num_chunks = 0;
  int level = 1;                     // 1 for blocks cut from the head, max(inputs)+1 after
  std::vector<std::string> sources;  // ULIDs of the level-1 blocks merged into this one
};

// One encoded chunk of a series: the bytes of an XorChunk or a HistogramChunk (per
// `encoding`) and the timestamps of its first and last sample (both inclusive).
struct ChunkData {
  int64_t min_time_ms = 0, max_time_ms = 0;
  std::string bytes;
  ChunkEncoding encoding = ChunkEncoding::kXor;
};

struct BlockSeries {
  Labels labels;
  std::vector<ChunkData> chunks;  // ordered by min_time_ms
};

// A new ULID (ulid spec, github.com/ulid/spec): 48-bit Unix time in ms and 80 random bits,
// 26 characters of Crockford base32. `now_ms` < 0 means the current time.
std::string NewUlid(int64_t now_ms = -1);
// Whether `s` is a well-formed ULID (26 Crockford base32 characters, first one <= '7').
bool IsUlid(std::string_view s);

// Writes a new block <parent_dir>/<ulid>/ holding `series` for [min_time_ms, max_time_ms), and
// returns its meta. Atomic: the files go to <ulid>.tmp, are fsynced, meta.json is written
// last, then the directory is renamed and `parent_dir` fsynced; on error the .tmp directory is
// removed. Series without chunks are skipped. Empty `sources` means "this block itself".
// Errors: InvalidArgument if `series` is not strictly sorted by labels, a label set is
// malformed, a chunk is shorter than the 2-byte XorChunk header or has max < min;
// IOError from the file system.
Result<BlockMeta> WriteBlock(const std::string& parent_dir, int64_t min_time_ms,
                             int64_t max_time_ms, int level,
                             const std::vector<std::string>& sources,
                             std::vector<BlockSeries> series);

class Block : public std::enable_shared_from_this<Block> {
 public:
  // Opens the block in `block_dir`: parses meta.json, maps the index and chunk segments and
  // checks their headers, the index toc and tables (block_index.h). Returns NotFound if the
  // directory or its meta.json is missing, Corruption on bad magic, checksum, truncation or a
  // meta.json that does not parse or disagrees with the index.
  static Result<std::shared_ptr<Block>> Open(const std::string& block_dir);

  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;

  const BlockMeta& meta() const { return meta_; }
  const std::string& dir() const { return dir_; }
  // Bytes of all files of the block, measured at Open.
  uint64_t size_bytes() const { return size_bytes_; }

  // A Querier over [mint_ms, maxt_ms] (inclusive). It keeps the block (and its mappings)
  // alive until destroyed. Select reads postings for the matchers, then only the matching
  // series entries and only their chunks overlapping the range; Corruption surfaces there.
  // LabelNames/LabelValues come from the index tables, or from the matching series when
  // matchers are given (the block's whole range is considered, not [mint_ms, maxt_ms]).
  Result<std::unique_ptr<Querier>> NewQuerier(int64_t mint_ms, int64_t maxt_ms) const;

  // Every series with copies of its chunk bytes (checksums verified), sorted by labels. Holds
  // the whole block in RAM: meant for compaction.
  Result<std::vector<BlockSeries>> ReadAllSeries() const;

  // The bytes of the chunk at `ref` (a view into the mapped segment, valid while the block
  // lives), after checking bounds, encoding and crc32c; its encoding goes to `*encoding` if
  // given. Corruption otherwise.
  Result<std::string_view> ChunkBytes(uint64_t ref, ChunkEncoding* encoding = nullptr) const;

  const IndexReader& index() const { return index_; }

 private:
  struct PrivateTag {};

 public:
  // Use Open. (Public only so that std::make_shared can reach it.)
  Block(PrivateTag, std::string dir, BlockMeta meta, IndexReader index,
        std::vector<MmapFile> segments, uint64_t size_bytes);

 private:

  std::string dir_;
  BlockMeta meta_;
  IndexReader index_;
  std::vector<MmapFile> segments_;  // segments_[i] is chunks/<i+1>
  uint64_t size_bytes_ = 0;
};

// The number of samples in XorChunk bytes (its 2-byte big-endian header); 0 if too short.
int ChunkNumSamples(std::string_view xor_chunk);

}  // namespace argus::tsdb
