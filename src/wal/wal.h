// The write-ahead log shared by every signal: an append-only sequence of numbered segment
// files holding CRC-checked batches of opaque records. What a record means is the caller's
// business (the metrics engine's records are in tsdb/wal_records.h).
//
// A batch is written with one write(2) and is atomic on replay: either all its records come
// back or none do. Durability follows the SyncPolicy:
//   kAlways  Log() returns after fdatasync; concurrent callers share one sync (group commit).
//   kBatch   Log() returns after write(2): the data is in the kernel's page cache and survives
//            kill -9 of the process; a background thread syncs every sync_interval_ms and
//            segments are synced when rolled or closed (a power loss may lose < the interval).
//   kNone    synced only on roll and close (tests, benchmarks).
// Format, bit by bit with a worked example: docs/format/wal.md.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<Wal> w, Wal::Open(dir + "/wal", WalOptions{}));
//   RETURN_IF_ERROR(w->Log({series_record, samples_record}));   // acknowledged: durable
//   ...
//   ReplayStats st;
//   RETURN_IF_ERROR(Replay(dir + "/wal", 0, [&](std::string_view rec) { return Apply(rec); }, &st));
//
// Thread-safety: Wal is thread-safe. Replay, Checkpoint and LastCheckpoint must not run on a
// directory another Wal is appending to, except Checkpoint over segments already rolled.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "util/status.h"

namespace argus::wal {

enum class SyncPolicy { kAlways, kBatch, kNone };

// "always", "batch", "none"; InvalidArgument otherwise.
Result<SyncPolicy> ParseSyncPolicy(std::string_view s);

struct WalOptions {
  uint64_t segment_size_bytes = 128ull << 20;  // roll to a new segment past this size
  SyncPolicy sync = SyncPolicy::kBatch;
  int64_t sync_interval_ms = 1000;  // kBatch only
};

// Segment file name for index i: 8 decimal digits, zero-padded ("00000042").
std::string SegmentName(int index);

class Wal {
 public:
  // Opens (creating) the WAL directory `dir`. A torn or corrupt tail of the last existing
  // segment is truncated (with a logged warning), never a refusal to start. Appends go to a
  // new segment after the last existing one. Errors: IOError.
  static Result<std::unique_ptr<Wal>> Open(const std::string& dir, const WalOptions& opts);
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Appends `records` as one atomic batch; durable per the policy when it returns OK.
  // Records may be of any size (a batch larger than a segment just makes that segment larger).
  // Errors: IOError (the batch may or may not be on disk; the WAL stays usable), Unavailable
  // after Close().
  Status Log(const std::vector<std::string_view>& records);
  Status Log(std::string_view record) { return Log(std::vector<std::string_view>{record}); }

  // Syncs and closes the current segment and starts the next; returns the new index.
  Result<int> NextSegment();
  // [first, last] indices of the segments on disk (last is the one being written).
  std::pair<int, int> Segments() const;
  // Deletes segments with index < `before` (never the one being written).
  Status TruncateBefore(int before);
  // Syncs and closes; idempotent. Log afterwards returns Unavailable.
  Status Close();
  // Bytes of all segment files.
  uint64_t size_bytes() const;
  const std::string& dir() const { return dir_; }

 private:
  struct Segment;
  Wal(std::string dir, WalOptions opts);
  Status OpenSegmentLocked(int index);  // REQUIRES: mu_ held
  Status SyncUpTo(uint64_t seq);
  void SyncLoop();

  const std::string dir_;
  const WalOptions opts_;
  mutable std::mutex mu_;
  std::shared_ptr<Segment> segment_;  // GUARDED_BY(mu_)
  int first_segment_ = 0;             // GUARDED_BY(mu_)
  uint64_t closed_bytes_ = 0;         // GUARDED_BY(mu_): bytes of segments before segment_
  bool closed_ = false;               // GUARDED_BY(mu_)
  uint64_t written_seq_ = 0;          // GUARDED_BY(mu_): batches written
  std::mutex sync_mu_;                // serialises syncs; held while syncing
  std::atomic<uint64_t> synced_seq_{0};
  std::thread sync_thread_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
};

struct ReplayStats {
  uint64_t records = 0;
  uint64_t segments = 0;
  uint64_t truncated_bytes = 0;  // bytes cut from a torn/corrupt last segment
  uint64_t skipped_bytes = 0;    // bytes skipped in corrupt non-last segments
  bool repaired = false;
};

// Calls fn(record) for every record of the segments in `dir` with index >= from_segment, in
// order. A torn or corrupt tail of the last segment is truncated on disk and reported in
// `stats` (not an error). Corruption inside an earlier segment skips the rest of that segment
// with a logged warning. An error from fn aborts replay and is returned. `stats` may be null.
Status Replay(const std::string& dir, int from_segment,
              const std::function<Status(std::string_view record)>& fn, ReplayStats* stats);

// Writes `dir`/checkpoint.<to> (8 digits) atomically: the records of the newest existing
// checkpoint, then of segments [from, to], each passed through `filter`, which returns false to
// drop the record or true to keep it (rewriting it into *out if it sets *out non-empty).
// Older checkpoints are deleted afterwards. The checkpoint is itself a WAL directory: read it
// with Replay(path, 0, ...).
Status Checkpoint(const std::string& dir, int from, int to,
                  const std::function<bool(std::string_view rec, std::string* out)>& filter);

// The newest complete checkpoint in `dir`: (path, index), or nullopt if there is none.
Result<std::optional<std::pair<std::string, int>>> LastCheckpoint(const std::string& dir);

}  // namespace argus::wal
