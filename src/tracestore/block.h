// Immutable trace blocks on disk: traces sorted by trace ID, a trace-ID index and a bloom
// filter (so trace-by-ID needs no time range), and the spans stored column by column in pages
// (span_columns.h), so search decompresses only the columns it filters on and trace-by-ID only
// one page. Format, bit by bit: docs/format/traces.md.
//
// A block directory holds:
//   data          pages back to back; each page holds about kPageSpans spans of consecutive
//                 traces, column by column, each column zstd-compressed
//   pages         the page directory (offset, length, CRC, first trace, trace count) and the
//                 block's span names, span attribute keys and resources (dictionary ids)
//   dict          the block's string dictionary
//   index         fixed-size entries sorted by trace ID (page, span count, time range, root)
//   bloom         a bloom filter over the trace IDs
//   meta.json     time range and counts, written last (a block without it is incomplete)
//
// Example:
//   std::vector<BlockTrace> traces = ...;                  // any order
//   RETURN_IF_ERROR(WriteBlock(dir, std::move(traces)));
//   ASSIGN_OR_RETURN(std::unique_ptr<Block> b, Block::Open(dir));
//   ASSIGN_OR_RETURN(std::optional<std::string> t, b->FindTrace(trace_id));
//
// Thread-safety: a Block is immutable after Open and safe to read from many threads (each
// reader opens its own Page).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tracestore/bloom.h"
#include "tracestore/span_columns.h"
#include "util/file.h"
#include "util/status.h"

namespace argus::tracestore {

// One trace to write: its ID (16 bytes) and its spans as serialized OTLP TracesData (the
// concatenation of several serialized TracesData is one, so fragments may be appended).
struct BlockTrace {
  std::string trace_id;
  std::string traces_data;
};

struct BlockMeta {
  int version = 2;
  uint64_t min_time_unix_nano = 0;  // earliest span start
  uint64_t max_time_unix_nano = 0;  // latest span end
  uint64_t traces = 0;
  uint64_t spans = 0;
  uint64_t data_bytes = 0;          // size of the data file
  // The store's WAL segments before this index hold only spans that are in blocks: replay
  // starts at the highest wal_segment of all blocks.
  uint64_t wal_segment = 0;
  // For a block made by compaction: the names of the blocks merged into it. At startup a
  // listed block that still exists (a crash before it was deleted) is deleted, so no span is
  // seen twice. Empty for blocks cut from the head.
  std::vector<std::string> compacted_from;
};

// Writes one block trace by trace, in ascending trace-ID order: each page goes to the data
// file as it fills, so the writer holds one page of spans, the index (48 bytes per trace) and
// the dictionary, whatever the block's size. The directory appears complete or not at all:
// files are written into `dir.tmp` (its parent must exist), fsynced, and renamed by Finish;
// a writer destroyed before Finish removes `dir.tmp`. Not thread-safe.
class BlockWriter {
 public:
  // `expected_traces` sizes the bloom filter (an upper bound will do); `wal_segment` and
  // `compacted_from` go into the meta (see BlockMeta). Errors: IOError.
  static Result<std::unique_ptr<BlockWriter>> Create(const std::string& dir, size_t expected_traces,
                                                     uint64_t wal_segment = 0,
                                                     std::vector<std::string> compacted_from = {});
  ~BlockWriter();
  // Appends a trace: `trace_id` (16 bytes, greater than the previous one's) and its spans as
  // serialized TracesData. Errors: InvalidArgument for a bad or out-of-order ID or spans
  // that do not parse (the block is unchanged); IOError (the writer can then only be
  // dropped); Internal after Finish.
  Status Add(std::string_view trace_id, std::string_view traces_data);
  // Writes the last page and the other files, fsyncs and renames. Errors: IOError; Internal
  // if called twice.
  Status Finish();

 private:
  struct State;
  BlockWriter();
  Status FlushPage();
  std::unique_ptr<State> st_;
};

// Writes a block of `traces` (any order) with a BlockWriter; traces with the same ID are
// merged, their fragments concatenated in the order given. `wal_segment` and `compacted_from`
// go into the meta. Errors: InvalidArgument for a trace ID that is not 16 bytes or spans that
// do not parse; IOError.
Status WriteBlock(const std::string& dir, std::vector<BlockTrace> traces, uint64_t wal_segment = 0,
                  std::vector<std::string> compacted_from = {});

// A trace's entry in the index.
struct IndexEntry {
  std::string_view trace_id;  // 16 bytes, into the index file
  uint32_t ordinal = 0;       // position in the index
  uint32_t page = 0;          // the page that holds its spans
  uint32_t spans = 0;
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
  uint32_t root_service = 0;  // dictionary ids ("" if the root span is missing)
  uint32_t root_name = 0;
};

// A page's entry in the page directory.
struct PageEntry {
  uint64_t offset = 0;  // into the data file
  uint32_t length = 0;
  uint32_t crc = 0;     // CRC-32C of the page's bytes
  uint32_t first_trace = 0;  // index ordinal of its first trace
  uint32_t traces = 0;
};

class Block {
 public:
  // Opens and validates the block in `dir` (checksums of index, bloom and columns; the data
  // file is checked per trace when read). Errors: Corruption; IOError; NotFound if meta.json
  // is missing.
  static Result<std::unique_ptr<Block>> Open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const BlockMeta& meta() const { return meta_; }
  const Dictionary& dict() const { return dict_; }
  size_t num_traces() const { return count_; }
  size_t num_pages() const { return pages_.size(); }
  // REQUIRES: p < num_pages().
  const PageEntry& page(size_t p) const { return pages_[p]; }
  // The distinct span names, span attribute keys and serialized resources of the block, as
  // dictionary ids.
  const std::vector<uint32_t>& span_names() const { return names_; }
  const std::vector<uint32_t>& span_keys() const { return keys_; }
  const std::vector<uint32_t>& resources() const { return resources_; }

  // Checks page `p`'s checksum and opens it (its columns decompress on use). The Page reads
  // the block's mapped data and must not outlive the Block. Errors: Corruption.
  Result<std::unique_ptr<Page>> OpenPage(size_t p) const;

  // True if the block may hold `trace_id` (bloom filter); false means it does not.
  bool MayContain(std::string_view trace_id) const { return bloom_.MayContain(trace_id); }

  // The trace's serialized TracesData, nullopt if absent. Errors: Corruption if its bytes
  // fail their checksum or do not decompress.
  Result<std::optional<std::string>> FindTrace(std::string_view trace_id) const;

  // The i-th trace of the index (sorted by trace ID). REQUIRES: i < num_traces().
  IndexEntry Entry(size_t i) const;
  // The TracesData of entry `e` (decodes its page; to read many traces, open the page once
  // with OpenPage). Errors: Corruption.
  Result<std::string> ReadTrace(const IndexEntry& e) const;
  // The TracesData of entry `e` from its page `p`, already opened. Errors: Corruption.
  Result<std::string> ReadTrace(const IndexEntry& e, Page* p) const;

 private:
  Block() = default;

  std::string dir_;
  BlockMeta meta_;
  MmapFile data_;
  std::string index_;   // the index file, validated
  size_t count_ = 0;
  BloomFilter bloom_;
  Dictionary dict_;
  std::vector<PageEntry> pages_;
  std::vector<uint32_t> names_, keys_, resources_;
};

}  // namespace argus::tracestore
