// The write-ahead log shared by every signal: an append-only sequence of numbered segment
// files holding CRC-checked batches of opaque records. What a record means is the caller's
// business (the metrics engine's records are in tsdb/wal_records.h). This header is the whole
// API: it also brings in Replay (reader.h) and Checkpoint/LastCheckpoint (checkpoint.h).
//
// Layout of a WAL directory:
//   00000000, 00000001, ...   segments (8-digit indices); appends go to the highest one
//   checkpoint.00000041/      the newest checkpoint: a WAL directory of its own
//
// A Log() call writes one batch with one write(2); on replay a batch comes back whole or not
// at all. Format, bit by bit with a worked example: docs/format/wal.md and format.h.
//
// Durability follows the SyncPolicy (fsync below means fdatasync of the segment file):
//   kAlways  Log() returns after the batch is fsynced. Concurrent callers share one fsync
//            (group commit): whoever syncs covers every batch written before it started.
//   kBatch   Log() returns after write(2): the batch is in the kernel's page cache and survives
//            kill -9 of the process. A background thread fsyncs every sync_interval_ms, and
//            promptly after each segment roll (as Prometheus does, the rolled segment is
//            fsynced off the write path). A power loss may lose up to the last interval.
//   kNone    Only Close() fsyncs (the segment being written): for tests and benchmarks.
// A failed fsync is sticky: the data it covered may be lost (Linux may drop the dirty pages),
// so every later Log() returns that IOError until the WAL is reopened.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<Wal> w, Wal::Open(data_dir + "/wal", WalOptions{}));
//   RETURN_IF_ERROR(w->Log({series_record, samples_record}));   // acknowledged
//   ...
//   RETURN_IF_ERROR(w->Close());
//   ReplayStats stats;   // at the next start, before Open:
//   RETURN_IF_ERROR(Replay(data_dir + "/wal", 0, [&](std::string_view rec) { return Apply(rec); },
//                          &stats));
//
// Thread-safety: Wal is thread-safe. One Wal per directory (the caller holds a directory lock).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "util/status.h"
#include "wal/checkpoint.h"
#include "wal/reader.h"

namespace argus::wal {

enum class SyncPolicy {
  kAlways,  // Log() returns after fsync; concurrent callers share one fsync (group commit)
  kBatch,   // Log() returns after write(2); background fsync every sync_interval_ms and on roll
  kNone,    // fsync only on Close() (tests, benchmarks)
};

// "always", "batch" or "none" (the --storage.tsdb.wal-sync values); InvalidArgument otherwise.
Result<SyncPolicy> ParseSyncPolicy(std::string_view s);

struct WalOptions {
  // Roll to a new segment when the next batch would take the current one past this size
  // (bytes, default 128 MiB). A bigger batch gets a segment of its own. Must be > 0.
  uint64_t segment_size_bytes = 128ull << 20;
  SyncPolicy sync = SyncPolicy::kBatch;
  // Background fsync period for kBatch (milliseconds, default 1000). Must be > 0.
  int64_t sync_interval_ms = 1000;
};

// Counters since Open, for tests and self-metrics.
struct WalStats {
  uint64_t batches = 0;        // successful Log() calls that wrote a batch
  uint64_t records = 0;        // records in those batches
  uint64_t bytes_written = 0;  // frame bytes written
  uint64_t fsyncs = 0;         // fdatasync calls on segment files
  uint64_t segments_created = 0;
};

class Wal {
 public:
  // Opens the WAL directory `dir`, creating it (and its parents) if missing. A torn, corrupt
  // or zero-filled tail of the last existing segment is truncated with a logged warning, never
  // a refusal to start. Appends go to a new segment after the last existing one.
  // Errors: InvalidArgument for bad options; IOError.
  static Result<std::unique_ptr<Wal>> Open(const std::string& dir, const WalOptions& opts);
  ~Wal();  // Close(), ignoring its error: call Close() to see it
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Appends `records` as one atomic batch, in order; durable per the policy when it returns
  // OK. Records may be any size (a batch bigger than a segment gets a segment of its own); an
  // empty `records` writes nothing. The views need only live for the call.
  // Errors: InvalidArgument if the batch exceeds 4 GiB; IOError (the WAL stays usable unless
  // an fsync failed, see above); Unavailable after Close().
  Status Log(const std::vector<std::string_view>& records);
  Status Log(std::string_view record) { return Log(std::vector<std::string_view>{record}); }
  // Log({a, b}): without this overload two string literals would also match string_view's
  // (first, last) constructor.
  Status Log(std::initializer_list<std::string_view> records) {
    return Log(std::vector<std::string_view>(records));
  }

  // Ends the current segment and starts the next (even if the current one is empty); returns
  // the new segment's index. Errors: IOError; Unavailable after Close(); ResourceExhausted
  // past segment 99999999.
  Result<int> NextSegment();

  // [first, last] indices of the segments on disk; last is the one being written (after
  // Close: the one that was). Segments in between may be missing only if deleted by hand.
  std::pair<int, int> Segments() const;

  // Deletes the segments with index < `before`, never the one being written. Errors: IOError.
  Status TruncateBefore(int before);

  // Fsyncs and closes; idempotent. Later Log() and NextSegment() return Unavailable.
  // Errors: IOError (including a sticky fsync error, reported once more here).
  Status Close();

  // Total bytes of the segment files (not of checkpoints).
  uint64_t size_bytes() const;
  WalStats stats() const;
  const std::string& dir() const { return dir_; }

 private:
  // An open segment file. Shared because an fsync in progress may outlive its roll.
  struct SegmentFile;

  Wal(std::string dir, WalOptions opts);
  Status RollLocked();  // REQUIRES: mu_ held, not closed
  Result<std::shared_ptr<SegmentFile>> CreateSegment(int index);
  // Makes every batch up to `seq` durable (all batches written so far if `force`).
  Status SyncUpTo(uint64_t seq, bool force);
  void SyncLoop();

  const std::string dir_;
  const WalOptions opts_;

  mutable std::mutex mu_;
  std::shared_ptr<SegmentFile> segment_;                // GUARDED_BY(mu_); null once closed
  std::vector<std::shared_ptr<SegmentFile>> unsynced_;  // GUARDED_BY(mu_): rolled, not synced
  int first_segment_ = 0;                               // GUARDED_BY(mu_)
  int last_segment_ = 0;                                // GUARDED_BY(mu_)
  uint64_t rolled_bytes_ = 0;        // GUARDED_BY(mu_): bytes of the segments before segment_
  uint64_t written_seq_ = 0;         // GUARDED_BY(mu_): batches written
  bool closed_ = false;              // GUARDED_BY(mu_)
  bool stop_ = false;                // GUARDED_BY(mu_): tells SyncLoop to exit
  bool dir_unsynced_ = false;        // GUARDED_BY(mu_): a segment was created since the last sync
  Status sync_error_;                // GUARDED_BY(mu_): the first failed fsync, sticky
  WalStats stats_;                   // GUARDED_BY(mu_), except fsyncs (below)
  std::condition_variable sync_cv_;  // with mu_: wakes SyncLoop on roll and stop

  std::mutex sync_mu_;  // held for the whole of a sync, so that concurrent callers share it
  std::atomic<uint64_t> synced_seq_{0};  // batches known durable; written under sync_mu_
  std::atomic<uint64_t> fsyncs_{0};
  std::thread sync_thread_;  // kBatch only
};

}  // namespace argus::wal
