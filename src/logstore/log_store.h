// The logs engine: streams keyed by label set, entries in zstd-compressed blocks with per-block
// time bounds and CRCs (block.h), a postings index from label pairs to streams, a write-ahead
// log (src/wal) and snapshots for recovery, an out-of-order window and retention.
//
// Layout of the store directory (`<storage.path>/logs`), formats in docs/format/logs.md:
//   wal/                 WAL segments: stream and entries records, written before an ack
//   snapshot.<N>         every stream's blocks and head as of WAL segment N (older segments
//                        are deleted once it is written)
//
// A push is acknowledged once its records are in the WAL (per the WAL's sync policy). Open
// loads the newest snapshot and replays the WAL segments after it; a torn WAL tail is repaired
// by the WAL, a corrupt snapshot is a Corruption error (nothing is silently dropped).
//
// Example:
//   ASSIGN_OR_RETURN(auto store, LogStore::Open(dir + "/logs", LogStoreOptions{}));
//   RETURN_IF_ERROR(store->Push({{Labels::FromMap({{"app", "a"}}), {{ts_ns, "line", {}}}}}, now_ns));
//   store->Select(matchers, start_ns, end_ns, fn);
//
// Thread-safety: all methods are thread-safe; pushes serialize on one mutex, queries share it.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "logstore/log_reader.h"
#include "wal/wal.h"

namespace argus::logstore {

struct LogStoreOptions {
  // Entries older than a stream's newest entry by more than this are rejected (ns, default
  // 1h, Loki's default of half of max_chunk_age). 0 accepts any order.
  int64_t ooo_window_ns = 3600LL * 1'000'000'000;
  // Entries older than now - retention are deleted by ApplyRetention (ns, default 0 = keep
  // forever, as Loki's retention_period 0).
  int64_t retention_ns = 0;
  // A stream's head is compressed into a block when it reaches this many raw bytes (default
  // 1 MiB: zstd's ratio still grows up to there, and a query holds one such block per stream
  // in flight; docs/decisions.md, "Block size and zstd level").
  size_t block_size_bytes = 1 << 20;
  // zstd level blocks are sealed with (default 8; same section).
  int zstd_level = 8;
  wal::WalOptions wal;
};

struct LogStoreStats {
  uint64_t streams = 0;
  uint64_t entries = 0;
  uint64_t raw_bytes = 0;         // line and metadata bytes held
  uint64_t compressed_bytes = 0;  // bytes of sealed blocks
  uint64_t blocks = 0;
  // Read-side instrumentation (all cursors of all queries): blocks decompressed so far, and
  // the most bytes of decoded entries and decompression buffers resident at one time.
  uint64_t blocks_decoded = 0;
  uint64_t blocks_filtered = 0;  // skipped undecompressed: their trigram filter lacked a needle
  uint64_t peak_resident_bytes = 0;
};

// Receives entries as the store accepts them, for live tailing (Loki's /tail). OnEntries is
// called from the pushing thread once the entries are in the WAL, with the store's write lock
// held: it must be quick (queue and return), must not call back into the store, and is never
// called concurrently for one store. `entries` are in ascending time order.
class TailSink {
 public:
  virtual ~TailSink() = default;
  virtual void OnEntries(const Labels& stream, const std::vector<LogEntry>& entries) = 0;
};

class LogStore : public LogReader, public LogWriter {
 public:
  // Opens (creating) the store at `dir`: loads the newest snapshot, replays the WAL.
  // Errors: Corruption for a bad snapshot; IOError.
  static Result<std::unique_ptr<LogStore>> Open(const std::string& dir, const LogStoreOptions& opts);
  ~LogStore() override;

  // Stores the entries and acknowledges once they are in the WAL. Entries outside the
  // out-of-order window are skipped and reported as one OutOfOrder error (after storing the
  // rest: nothing valid is lost). Entries in a stream need not be sorted. REQUIRES: labels
  // non-empty. Errors: OutOfOrder; IOError from the WAL (then nothing of the push is stored).
  Status Push(const std::vector<PushStream>& streams) override;

  // Skips blocks outside [start_ns, end_ns] by their header, and with hints blocks whose
  // trigram filter lacks a required substring (block.h). With hints, a decoded block is
  // searched as a whole for the first required substring and only the entries around its hits
  // are parsed and returned (the others are not materialised). The store's read lock is held
  // only while opening: the cursors share the immutable blocks they cover and a copy of the
  // in-range head, so pushes and retention run while they are read. A cursor holds one decoded
  // block (or one cluster of time-overlapping blocks) at a time; it must not outlive the store.
  Result<std::vector<StreamCursor>> Open(const std::vector<Matcher>& matchers, int64_t start_ns, int64_t end_ns,
                                         Order order, const SelectHints* hints = nullptr) const override;

  // Stream label sets matching `matchers` (all streams when empty) with entries overlapping
  // [start_ns, end_ns].
  std::vector<Labels> Series(const std::vector<Matcher>& matchers, int64_t start_ns, int64_t end_ns) const;
  // Sorted label names / values of `name` over those streams.
  std::vector<std::string> LabelNames(const std::vector<Matcher>& matchers, int64_t start_ns, int64_t end_ns) const;
  std::vector<std::string> LabelValues(const std::string& name, const std::vector<Matcher>& matchers,
                                       int64_t start_ns, int64_t end_ns) const;

  // Deletes entries older than now_ns - retention (no-op when retention is 0). Errors: none
  // today; Status for future on-disk work.
  Status ApplyRetention(int64_t now_ns);
  // Writes a snapshot and deletes the WAL segments it covers. Errors: IOError.
  Status Snapshot();
  // Snapshot, then closes the WAL; later pushes return Unavailable. Errors: IOError.
  Status Close();

  LogStoreStats stats() const;

  // Registers `sink` for the entries of streams matching every one of `matchers`, from the
  // next push on; returns an id for RemoveTailSink. Pushes with no registered sink pay one
  // empty check. `sink` must stay valid until removed.
  uint64_t AddTailSink(std::vector<Matcher> matchers, TailSink* sink);
  // Unregisters; once it returns, the sink is not called again.
  void RemoveTailSink(uint64_t id);

 private:
  struct Block {
    int64_t min_ts_ns, max_ts_ns;
    uint64_t count;
    std::shared_ptr<const std::string> bytes;  // immutable once sealed; shared with cursors
  };
  class Cursor;
  friend class Cursor;
  // Read-side counters, updated by cursors without the store lock.
  void AddResident(int64_t delta_bytes) const;
  mutable std::atomic<uint64_t> blocks_decoded_{0};
  mutable std::atomic<uint64_t> blocks_filtered_{0};
  mutable std::atomic<int64_t> resident_bytes_{0};
  mutable std::atomic<int64_t> peak_resident_bytes_{0};
  struct Stream {
    uint64_t id;
    Labels labels;
    std::vector<Block> blocks;
    std::vector<LogEntry> head;  // sorted by ts
    size_t head_bytes = 0;
    int64_t max_ts_ns = INT64_MIN;
  };

  LogStore(std::string dir, LogStoreOptions opts);
  Stream* GetOrCreateLocked(const Labels& ls, bool* created);
  void AppendLocked(Stream* s, LogEntry e);
  void SealLocked(Stream* s);
  std::vector<const Stream*> MatchLocked(const std::vector<Matcher>& ms) const;
  Status ApplyRecord(std::string_view rec);
  std::string SerializeLocked() const;
  Status LoadSnapshot(const std::string& path);

  const std::string dir_;
  const LogStoreOptions opts_;
  mutable std::shared_mutex mu_;
  std::unique_ptr<wal::Wal> wal_;                            // GUARDED_BY(mu_)
  std::vector<std::unique_ptr<Stream>> streams_;             // GUARDED_BY(mu_); index = id
  std::map<Labels, uint64_t> by_labels_;                     // GUARDED_BY(mu_)
  std::map<std::string, std::map<std::string, std::vector<uint64_t>>> postings_;  // GUARDED_BY(mu_)
  bool closed_ = false;                                      // GUARDED_BY(mu_)
  struct Tail {
    std::vector<Matcher> matchers;
    TailSink* sink;
  };
  std::mutex tail_mu_;  // taken inside mu_ by Push, alone by Add/RemoveTailSink
  std::map<uint64_t, Tail> tails_;  // GUARDED_BY(tail_mu_)
  uint64_t next_tail_id_ = 1;       // GUARDED_BY(tail_mu_)
};

}  // namespace argus::logstore
