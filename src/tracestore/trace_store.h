// The traces engine: spans grouped by trace, a WAL (src/wal) so that nothing acknowledged is
// lost, a head of live traces in memory, and immutable blocks (block.h) cut from the head,
// sorted by trace ID with an index and a bloom filter so trace-by-ID needs no time range.
// Blocks older than the retention are deleted. Formats: docs/format/traces.md.
//
// Layout under the store's directory (the server uses <storage.path>/traces):
//   wal/                 WAL segments; each record is one trace's spans (see below)
//   blocks/<id>/         trace blocks; <id> = 16 hex digits of the cut time (ms) + 8 of a sequence
//
// WAL record: u8 type (1 = spans) | 16-byte trace ID | serialized OTLP TracesData.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<TraceStore> s, TraceStore::Open(dir, TraceStoreOptions{}));
//   ASSIGN_OR_RETURN(AppendResult r, s->Append(std::move(batches)));   // in the WAL when OK
//   ASSIGN_OR_RETURN(std::optional<std::string> t, s->FindTrace(trace_id));
//   RETURN_IF_ERROR(s->Close());
//
// Thread-safety: TraceStore is thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "tracestore/block.h"
#include "util/status.h"
#include "wal/wal.h"

namespace argus::tracestore {

struct TraceStoreOptions {
  wal::SyncPolicy wal_sync = wal::SyncPolicy::kBatch;
  // A trace may hold at most this many bytes of encoded spans (default 5 MB, Tempo's
  // max_bytes_per_trace); spans beyond it are refused. 0 = unlimited.
  uint64_t max_bytes_per_trace = 5'000'000;
  // At most this many traces in the head (default 100000); spans of new traces beyond it are
  // refused until the head is cut. 0 = unlimited.
  uint64_t max_live_traces = 100'000;
  // Cut the head into a block when it holds this many bytes (default 64 MiB) ...
  uint64_t max_head_bytes = 64ull << 20;
  // ... or when its oldest trace arrived this long ago (milliseconds, default 5 min).
  int64_t max_head_age_ms = 5 * 60 * 1000;
  // Delete blocks whose newest span ended longer ago than this (ms, default 14 days,
  // Tempo's block_retention). 0 = keep forever.
  int64_t retention_ms = 14LL * 24 * 3600 * 1000;
  // Compaction merges small blocks: blocks whose earliest span falls in the same window of
  // this many ms (default 1 h, Tempo's compaction_window), smallest first, none more than 4
  // times the size of the smallest in the group ...
  int64_t compaction_window_ms = 3600LL * 1000;
  // ... at most this many at once (default 8; at least 2 make a compaction) ...
  size_t compaction_max_blocks = 8;
  // ... whose data files total at most this many bytes (default 64 MiB, about 2.5 M spans of
  // columnar pages; the merge streams, holding one page per input). 0 = no compaction.
  uint64_t compaction_max_bytes = 64ull << 20;
  // A group is merged once it is full (compaction_max_blocks blocks, or the next block of its
  // size would pass compaction_max_bytes), or once its newest block was cut this many ms ago
  // (default 5 min). Waiting for a full group rewrites each span about once per size tier
  // instead of at every cut. 0 = merge any group of two at once.
  int64_t compaction_settle_ms = 5 * 60 * 1000;
  // Period of the background cut, compaction and retention check (ms, default 10 s). 0 = no
  // background thread (tests call Maintain()).
  int64_t maintenance_interval_ms = 10'000;
};

// One trace's spans for Append: `trace_id` is 16 bytes, `spans` a serialized OTLP TracesData
// whose spans all have that trace ID (the ingester checks it, and that the bytes are valid).
struct TraceBatch {
  std::string trace_id;
  std::string spans;
};

struct AppendResult {
  std::vector<size_t> accepted;  // indices of the batches written, in order
  uint64_t accepted_spans = 0;
  uint64_t rejected_spans = 0;  // refused by a limit; `error` says which
  std::string error;            // the first refusal, empty if none
};

struct TagValue {
  ValueType type = ValueType::kString;
  std::string value;
  bool operator<(const TagValue& o) const {
    return value != o.value ? value < o.value : type < o.type;
  }
};

// A condition on one span that the block columns can check: a span's name, status, kind or
// duration, or a string or integer attribute equal to a value. Used to skip traces (and whole
// blocks and pages) in search.
struct SpanCondition {
  enum class Field { kName, kStatus, kKind, kDuration, kAttribute };
  Field field = Field::kAttribute;
  bool any_scope = false;           // kAttribute: span or resource (TraceQL's unscoped `.x`)
  AttrScope scope = AttrScope::kSpan;
  std::string key;                  // kAttribute
  ValueType value_type = ValueType::kString;  // kAttribute: kString (value) or kInt (int_value)
  std::string value;                // kName, kAttribute: the string
  int64_t int_value = 0;            // kAttribute with kInt
  int64_t code = 0;                 // kStatus, kKind: the OTLP value
  uint64_t min_duration_nano = 0;   // kDuration: inclusive bounds
  uint64_t max_duration_nano = UINT64_MAX;
};

// Which traces can match, as far as the columns tell: for every group, some span of the trace
// satisfies all of the group's conditions. An empty filter admits every trace. It must only
// ever admit more than the query matches, never less.
struct ColumnFilter {
  std::vector<std::vector<SpanCondition>> required;
};

// What search shows of a trace before reading its spans.
struct TraceSummary {
  std::string trace_id;  // 16 bytes
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
  std::string root_service;  // empty if the root span has not arrived
  std::string root_name;
};

struct TraceStoreStats {
  uint64_t live_traces = 0;
  uint64_t head_bytes = 0;
  uint64_t blocks = 0;
  uint64_t block_traces = 0;
  uint64_t replayed_records = 0;
  uint64_t skipped_records = 0;  // WAL records that did not decode (logged)
  uint64_t compactions = 0;      // blocks written by compaction since Open
};

class TraceStore {
 public:
  // Opens (creating) the store in `dir`: opens its blocks, replays the WAL into the head, and
  // starts the maintenance thread. Blocks that fail to open are logged and skipped.
  // Errors: IOError; InvalidArgument for bad options.
  static Result<std::unique_ptr<TraceStore>> Open(const std::string& dir,
                                                  const TraceStoreOptions& opts);
  ~TraceStore();  // Close(), ignoring its error
  TraceStore(const TraceStore&) = delete;
  TraceStore& operator=(const TraceStore&) = delete;

  // Appends the batches: the accepted ones are written to the WAL as one batch and are
  // durable (per the sync policy) and visible when this returns OK. Batches over a limit are
  // refused whole and counted in the result. Errors: InvalidArgument for a trace ID that is
  // not 16 bytes (nothing is written); IOError from the WAL; Unavailable after Close().
  Result<AppendResult> Append(const std::vector<TraceBatch>& batches);

  // The spans of `trace_id` (16 bytes) from the head and every block, as one serialized
  // TracesData; nullopt if none. Errors: Corruption from a block.
  Result<std::optional<std::string>> FindTrace(std::string_view trace_id) const;

  // Calls fn(summary, traces_data) for every trace with a span overlapping
  // [start_unix_nano, end_unix_nano] (0, 0 = all), the head first, then blocks newest first;
  // stops when fn returns false. A trace split across the head and blocks is visited once
  // per part. `prefilter`, if set, is asked first with the summary and may skip the trace
  // without its spans being read; `columns`, if set, skips block traces (and whole blocks)
  // that cannot match. Errors: fn's; Corruption from a block.
  Status ForEachTrace(uint64_t start_unix_nano, uint64_t end_unix_nano,
                      const std::function<bool(const TraceSummary&)>& prefilter,
                      const std::function<Result<bool>(const TraceSummary&, const std::string&)>& fn,
                      const ColumnFilter* columns = nullptr) const;

  // Attribute keys seen in `scope` (span or resource), sorted.
  std::vector<std::string> TagNames(AttrScope scope) const;
  // The values of attribute `key` in `scope`, sorted by text, with their types (arrays and
  // maps are left out).
  std::vector<TagValue> TagValues(AttrScope scope, const std::string& key) const;
  // The span names seen, sorted.
  std::vector<std::string> SpanNames() const;

  // Cuts the head into a block if it is over its size or age limit (always if `force` and
  // the head is not empty), compacts one group of small blocks (Compact), then deletes blocks
  // past retention (`now_ms` = wall clock, ms). Errors: IOError, Corruption from a block.
  Status Maintain(int64_t now_ms, bool force);

  // Merges one group of blocks into one: in the oldest window (compaction_window_ms, by each
  // block's earliest span) that has one ready, the smallest blocks within 4 times the size of
  // the smallest, up to compaction_max_blocks of them within compaction_max_bytes, once the
  // group is full or settled (compaction_settle_ms; `now_ms` against the cut time in each
  // block's name). The new block keeps the invariants of every block (sorted by
  // trace ID, index, bloom filter, columns; fragments of one trace merged) and lists its
  // inputs in meta.json (compacted_from) before they are deleted. Returns whether a group was
  // compacted. Errors: IOError; Corruption from an input (nothing is changed).
  Result<bool> Compact(int64_t now_ms);

  // Cuts the head into a block (if not empty), stops maintenance and closes the WAL.
  // Idempotent. Errors: IOError.
  Status Close();

  TraceStoreStats stats() const;

 private:
  struct LiveTrace {
    std::vector<std::string> fragments;  // serialized TracesData
    uint64_t bytes = 0;
    uint64_t start_unix_nano = UINT64_MAX;
    uint64_t end_unix_nano = 0;
    std::string root_service, root_name;
    int64_t first_append_ms = 0;
  };
  using Head = std::map<std::string, LiveTrace>;

  TraceStore(std::string dir, TraceStoreOptions opts);
  Status Recover();
  // Adds `fragment` (serialized TracesData, already read as valid) to the head; returns its
  // span count.
  uint64_t ApplyLocked(const std::string& trace_id, std::string fragment, int64_t now_ms);
  Status CutHead(int64_t now_ms);
  Status ApplyRetention(int64_t now_ms);
  void MaintenanceLoop();
  std::vector<std::shared_ptr<const Block>> BlocksSnapshot() const;

  const std::string dir_;
  const TraceStoreOptions opts_;
  std::unique_ptr<wal::Wal> wal_;

  // Appends hold commit_ shared across WAL write and head update; a cut holds it exclusively
  // while it swaps the head out and rolls the WAL, so a segment never mixes cut and live data.
  std::shared_mutex commit_;
  std::mutex cut_mu_;  // one cut at a time
  std::mutex compact_mu_;  // one compaction at a time

  mutable std::mutex mu_;
  Head head_;                                           // GUARDED_BY(mu_)
  uint64_t head_bytes_ = 0;                             // GUARDED_BY(mu_)
  int64_t head_oldest_ms_ = 0;                          // GUARDED_BY(mu_)
  std::shared_ptr<const Head> cutting_;                 // GUARDED_BY(mu_): being written
  std::vector<std::shared_ptr<const Block>> blocks_;    // GUARDED_BY(mu_): oldest first
  uint64_t block_seq_ = 0;                              // GUARDED_BY(mu_)
  uint64_t compactions_ = 0;                            // GUARDED_BY(mu_)
  bool closed_ = false;                                 // GUARDED_BY(mu_)
  TraceStoreStats stats_;                               // GUARDED_BY(mu_): replay counters

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // GUARDED_BY(stop_mu_)
  std::thread maintenance_;
};

// Now in milliseconds since the epoch (wall clock).
int64_t NowMs();

}  // namespace argus::tracestore
