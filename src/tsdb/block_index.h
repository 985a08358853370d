// The index file of an on-disk block: which series the block holds, their label sets, where
// their chunks are, and the postings (label pair -> series ids) that Select intersects. In the
// spirit of Prometheus' TSDB index format (tsdb/docs/format/index.md), simplified; the
// bit-level description with a worked example is in docs/format/block.md.
//
// The reader works straight from the memory-mapped file: Open checks the header, the table of
// contents and the small fixed-width tables (their CRC-32C), and every later lookup binary
// searches those tables in place and decodes only the series entries and postings lists it
// needs, each checked against its own CRC-32C when read. Nothing is parsed into RAM up front.
//
// Layout (all integers little-endian; uvarint = LEB128, varsint = zig-zag LEB128):
//
//   header          fixed32 magic 0x58444E49 ("INDX"), u8 version 1, 3 zero bytes
//   symbols         fixed32 n, (n+1) x fixed32 end offsets into the string area (the first
//                   is 0), the string area; then fixed32 crc32c of the section.
//                   Strings are sorted and unique; a symbol id is its position, so comparing
//                   ids compares strings.
//   series          per series, in label order (series id = ordinal):
//                     uvarint len, then len bytes:
//                       uvarint #labels, #labels x (uvarint name id, uvarint value id)
//                       uvarint #chunks, then per chunk
//                         first: varsint min_time_ms, uvarint max-min, uvarint chunk ref
//                         next:  varsint min - previous max, uvarint max-min,
//                                varsint ref - previous ref
//                     fixed32 crc32c of those len bytes
//   series table    fixed32 n, n x fixed64 file offset of series entry i; crc32c
//   postings        per list: fixed32 len, len bytes (uvarint count, then the ids as
//                   uvarint deltas, the first from 0; each later delta >= 1), crc32c
//   postings table  fixed32 n, n x {fixed32 name id, fixed32 value id, fixed64 file offset
//                   of the list}, sorted by (name id, value id); crc32c
//   label table     fixed32 n, n x {fixed32 name id, fixed32 first postings-table entry,
//                   fixed32 entry count}, sorted by name id; crc32c
//   toc             6 x {fixed64 offset, fixed64 length} for symbols, series, series table,
//                   postings, postings table and label table (length excludes the crc),
//                   fixed64 offset of the all-series postings list, fixed32 crc32c of the toc
//
// Chunk refs are (segment number << 32) | byte offset in that segment (see block.h).
//
// Example:
//   ASSIGN_OR_RETURN(std::string bytes, BuildIndex(series));      // writer side
//   ASSIGN_OR_RETURN(MmapFile f, MmapFile::Open(dir + "/index"));
//   ASSIGN_OR_RETURN(IndexReader r, IndexReader::Open(std::move(f)));
//   ASSIGN_OR_RETURN(::Roaring ids, r.PostingsForMatchers(matchers));
//   for (uint32_t id : ids) { IndexSeriesEntry s; RETURN_IF_ERROR(r.ReadSeries(id, &s)); }
//
// Thread-safety: BuildIndex is a pure function. An IndexReader is immutable after Open; its
// const methods may be called from many threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <roaring/roaring.hh>

#include "model/labels.h"
#include "model/matcher.h"
#include "util/file.h"
#include "util/status.h"

namespace argus::tsdb {

inline constexpr uint32_t kIndexMagic = 0x58444E49;  // "INDX" as little-endian bytes
inline constexpr uint8_t kIndexVersion = 1;

// Where one chunk of a series is and which samples it spans: [min_time_ms, max_time_ms], both
// inclusive (the first and last sample's timestamps).
struct ChunkMeta {
  int64_t min_time_ms = 0;
  int64_t max_time_ms = 0;
  uint64_t ref = 0;  // (segment number << 32) | offset in the segment
  friend bool operator==(const ChunkMeta&, const ChunkMeta&) = default;
};

// One series for BuildIndex. `labels` is borrowed: it must outlive the BuildIndex call.
struct IndexSeriesInput {
  const Labels* labels = nullptr;
  std::vector<ChunkMeta> chunks;  // sorted by min_time_ms
};

// Encodes an index file for `series`. Returns InvalidArgument if the series are not strictly
// sorted by labels (equal label sets included), a label set is empty or has an empty value,
// a chunk has max_time_ms < min_time_ms, or there are more than 2^32-1 series or symbols.
Result<std::string> BuildIndex(const std::vector<IndexSeriesInput>& series);

// A series entry as read back from the index.
struct IndexSeriesEntry {
  Labels labels;
  std::vector<ChunkMeta> chunks;
};

// Reads an index from its memory map, which it owns.
class IndexReader {
 public:
  // Checks the header, the toc and the CRCs and shape of the symbols, series table, postings
  // table and label table. Returns Corruption on any mismatch or truncation.
  static Result<IndexReader> Open(MmapFile file);

  IndexReader(IndexReader&&) = default;
  IndexReader& operator=(IndexReader&&) = default;

  uint32_t num_series() const { return num_series_; }
  uint64_t size_bytes() const { return data_.size(); }

  // Decodes series `id` (< num_series()). Corruption on a CRC mismatch or malformed entry,
  // InvalidArgument if `id` is out of range.
  Status ReadSeries(uint32_t id, IndexSeriesEntry* out) const;
  // Only the label set of series `id`, skipping the chunk metas.
  Result<Labels> ReadSeriesLabels(uint32_t id) const;

  // Sorted label names of the whole index.
  std::vector<std::string> LabelNames() const;
  // Sorted values of label `name` in the whole index (empty if the name is unknown).
  std::vector<std::string> LabelValues(std::string_view name) const;

  // Series ids having name=value (empty if absent). Corruption on a bad postings list.
  Result<::Roaring> Postings(std::string_view name, std::string_view value) const;
  // All series ids.
  Result<::Roaring> AllPostings() const;
  // Series ids whose label set satisfies `m` (a missing label counts as "").
  Result<::Roaring> PostingsForMatcher(const Matcher& m) const;
  // Series ids satisfying every matcher; all series if `ms` is empty.
  Result<::Roaring> PostingsForMatchers(const std::vector<Matcher>& ms) const;

 private:
  IndexReader() = default;

  // The string of symbol `id`. REQUIRES: id < num_symbols_ (checked by callers).
  std::string_view Symbol(uint32_t id) const;
  // The id of symbol `s`, or false if absent.
  bool FindSymbol(std::string_view s, uint32_t* id) const;
  // [first, first+count) entries of the postings table for name `name_id`; false if absent.
  bool LabelRange(uint32_t name_id, uint32_t* first, uint32_t* count) const;
  uint32_t PostingsEntryName(uint32_t i) const;
  uint32_t PostingsEntryValue(uint32_t i) const;
  uint64_t PostingsEntryOffset(uint32_t i) const;
  Result<::Roaring> ReadPostingsAt(uint64_t offset) const;
  Result<std::string_view> SeriesPayload(uint32_t id) const;

  MmapFile file_;
  std::string_view data_;
  // Views into data_, validated by Open.
  uint32_t num_symbols_ = 0;
  const char* symbol_offsets_ = nullptr;  // (num_symbols_ + 1) x fixed32
  std::string_view symbol_area_;
  uint64_t series_begin_ = 0, series_end_ = 0;
  uint32_t num_series_ = 0;
  const char* series_offsets_ = nullptr;  // num_series_ x fixed64
  uint64_t postings_begin_ = 0, postings_end_ = 0;
  uint32_t num_postings_entries_ = 0;
  const char* postings_table_ = nullptr;  // 16-byte records
  uint32_t num_label_names_ = 0;
  const char* label_table_ = nullptr;  // 12-byte records
  uint64_t all_postings_offset_ = 0;
};

}  // namespace argus::tsdb
