// The metrics database: ties the WAL (src/wal/), the in-memory head (head.h) and the on-disk
// blocks (block.h, compact.h) together behind the storage interfaces of storage.h, like
// Prometheus' `tsdb.DB`.
//
// On disk, <dir>/ holds:
//   <ulid>/       blocks (block.h), each covering [min_time, max_time)
//   wal/          WAL segments and checkpoints whose records are described in
//                 docs/format/head.md (wal_records.h)
//   lock          flock()ed while a DB has the directory open
// Leftovers of interrupted work (<ulid>.tmp from a block write, <ulid>.deleted from a block
// deletion) are removed on Open.
//
// Writes: Appender::Commit encodes the batch (series records for series new to the WAL, then
// samples, exemplars, metadata), writes it with one Wal::Log call and only then applies it to
// the head, so an acknowledged write is in the WAL (durable per WalOptions' fsync policy).
// Reads: a Querier merges the head's and the overlapping blocks' results (series with the same
// labels are merged, samples sorted, equal timestamps deduplicated).
// Housekeeping (Maintain): while the head spans more than 1.5 block ranges, its oldest aligned
// block range is written as a block and dropped from the head; then the WAL is checkpointed
// (keeping series still in the head and samples not yet in blocks) and truncated; then blocks
// are compacted (compact.h) and retention applied.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<DB> db, DB::Open("/var/lib/argus/data", DbOptions{}));
//   std::unique_ptr<Appender> app = db->NewAppender();
//   RETURN_IF_ERROR(app->Append(Labels::FromMap({{"__name__", "up"}}), now_ms, 1));
//   RETURN_IF_ERROR(app->Commit());
//   ASSIGN_OR_RETURN(std::unique_ptr<Querier> q, db->NewQuerier(now_ms - 60000, now_ms));
//   RETURN_IF_ERROR(db->Maintain());   // periodically, e.g. every minute
//   RETURN_IF_ERROR(db->Close());
//
// Thread-safety: every method may be called concurrently from many threads. Appenders and
// Queriers are for one thread each and must not outlive the DB. Maintain runs one at a time
// (concurrent calls wait); commits wait for it only while the head is being truncated.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "model/labels.h"
#include "model/matcher.h"
#include "model/sample.h"
#include "tsdb/block.h"
#include "tsdb/head.h"
#include "tsdb/storage.h"
#include "util/status.h"
#include "wal/wal.h"

namespace argus::tsdb {

struct DbOptions {
  // Span of the blocks cut from the head (ms), and of the head's chunk alignment. Default 2h.
  int64_t block_range_ms = 2 * 3600 * 1000;
  // Blocks ending more than this before the newest block's end are deleted (ms). Default 15d
  // (Prometheus' default); 0 disables time retention.
  int64_t retention_time_ms = 15LL * 24 * 3600 * 1000;
  // Oldest blocks are deleted until the blocks total at most this many bytes; 0 = unlimited.
  uint64_t retention_size_bytes = 0;
  // Out-of-order window of the head (ms), see HeadOptions. Default 10 minutes.
  int64_t ooo_window_ms = 10 * 60 * 1000;
  // WAL segment size and fsync policy (wal.h).
  wal::WalOptions wal;
};

class DB : public Queryable {
 public:
  // Opens <dir> (creating it): takes the directory lock, removes leftovers, loads the blocks
  // (deleting blocks already merged into a compacted block), replays <dir>/wal (the last
  // checkpoint, then the segments after it) into the head, and opens the WAL for writing.
  // Errors: Unavailable if another DB holds the lock; IOError; Corruption from a block or a
  // WAL record that does not decode (torn WAL tails are repaired by the WAL, not errors).
  static Result<std::unique_ptr<DB>> Open(const std::string& dir, const DbOptions& opts);

  ~DB() override;  // Close()s; the error, if any, is dropped (call Close to see it).
  DB(const DB&) = delete;
  DB& operator=(const DB&) = delete;

  // A new batch writer (storage.h). Its Commit returns Unavailable once the DB is closed.
  std::unique_ptr<Appender> NewAppender();

  // A Querier over [mint_ms, maxt_ms] (inclusive) merging the head and every block overlapping
  // the range. The blocks stay readable while it lives even if Maintain deletes them.
  Result<std::unique_ptr<Querier>> NewQuerier(int64_t mint_ms, int64_t maxt_ms) override;

  // Exemplars in [mint_ms, maxt_ms] of the series matching any of the matcher sets (Prometheus
  // /api/v1/query_exemplars), sorted by series labels. Exemplars live in the head only.
  Result<std::vector<std::pair<Labels, std::vector<Exemplar>>>> QueryExemplars(
      int64_t mint_ms, int64_t maxt_ms, const std::vector<std::vector<Matcher>>& matcher_sets);

  // All metadata sorted by metric family, or that of `metric` if non-empty; at most `limit`
  // entries when limit >= 0.
  std::vector<MetricMetadata> Metadata(std::string_view metric = "", int limit = -1) const;

  // Housekeeping, called periodically by the server and by tests: cuts head data into blocks,
  // truncates the head and the WAL (checkpoint), compacts blocks, applies retention. Errors:
  // IOError/Corruption from block and WAL files; the DB stays usable and the next call
  // retries.
  Status Maintain();

  // Waits for a running Maintain and in-flight commits, flushes and closes the WAL and
  // releases the directory lock; later commits and Maintain fail with Unavailable, queries
  // keep working. Idempotent. Does not cut a block (the WAL replays the head on next Open).
  Status Close();

  struct Stats {
    uint64_t head_series = 0, head_samples_appended = 0, head_chunks = 0;
    uint64_t blocks = 0, block_bytes = 0, wal_bytes = 0;
    // Oldest and newest sample time over head and blocks; INT64_MAX / INT64_MIN if empty.
    int64_t min_time_ms = 0, max_time_ms = 0;
  };
  Stats GetStats() const;

  // What the last Open's WAL replay saw (for logs and tests).
  struct ReplayStats {
    uint64_t series = 0, samples = 0, exemplars = 0, metadata = 0;
    uint64_t samples_skipped = 0;   // unknown series, out of bounds (already in a block), ...
    uint64_t series_conflicts = 0;  // a ref reused by other labels: the record was skipped
  };
  const ReplayStats& replay_stats() const { return replay_stats_; }

  const std::string& dir() const { return dir_; }
  // The loaded blocks, sorted by min time.
  std::vector<std::shared_ptr<Block>> Blocks() const;

 private:
  class DbAppender;
  friend class DbAppender;

  DB(std::string dir, DbOptions opts);
  Status Lock();
  Status LoadBlocks();
  Status ReplayWal();
  Status ReplayRecord(std::string_view rec);
  // Writes head data of [mint_ms, maxt_ms) into a block and drops it from the head.
  Status CutBlock(int64_t mint_ms, int64_t maxt_ms);
  // Checkpoints the closed WAL segments keeping data at or after mint_ms, then deletes them.
  Status TruncateWal(int64_t mint_ms);
  Status Compact();
  Status ApplyRetention();
  // Renames <dir>/<ulid> to <ulid>.deleted and removes it.
  Status DeleteBlockDir(const std::shared_ptr<Block>& b);

  const std::string dir_;
  const DbOptions opts_;
  int lock_fd_ = -1;
  std::unique_ptr<Head> head_;
  std::unique_ptr<wal::Wal> wal_;
  std::atomic<bool> closed_{false};
  std::mutex close_mu_;

  // Commits hold it shared from their last check to the end of applying; Maintain holds it
  // exclusively to wait for in-flight commits before reading and truncating the head.
  std::shared_mutex commit_gate_;
  std::mutex maintain_mu_;  // one Maintain at a time

  mutable std::mutex blocks_mu_;
  std::vector<std::shared_ptr<Block>> blocks_;  // sorted by min time. GUARDED_BY(blocks_mu_)

  ReplayStats replay_stats_;                              // written only during Open
  std::unordered_map<uint64_t, uint64_t> replay_alias_;   // WAL ref -> head ref, during Open
};

}  // namespace argus::tsdb
