// The read interface of the logs engine, plus an in-memory implementation.
//
// A query engine (src/logql) asks for the streams whose labels match a selector, with their
// entries in a time range; LogStore (log_store.h) implements LogReader over its compressed
// blocks, and MemoryReader serves the conformance runner and unit tests. Timestamps are Unix
// nanoseconds.
//
// Example:
//   MemoryReader mem;
//   mem.Append(Labels::FromMap({{"app", "a"}}), {1'000'000'000, "line", {}});
//   mem.Select(matchers, 0, 2'000'000'000, [](const Labels& ls, std::span<const LogEntry> es) {
//     return Status::OK();
//   });
//   ASSIGN_OR_RETURN(auto cursors, mem.Open(matchers, 0, 2'000'000'000, Order::kBackward));
//   ASSIGN_OR_RETURN(std::span<const LogEntry> newest_batch, cursors[0].cursor->Next());
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/labels.h"
#include "model/log_entry.h"
#include "model/matcher.h"
#include "util/status.h"

namespace argus::logstore {


// Advice a query gives the store; the engine still applies every filter itself, so a store
// may ignore it. `line_contains`: only entries whose line contains every one of these strings
// can match (the query's leading `|= "..."` filters), so blocks without them may be skipped.
struct SelectHints {
  std::vector<std::string> line_contains;
};

// Which way a cursor walks time.
enum class Order { kForward, kBackward };

// One stream's entries in a time range, batch by batch, so that a query over many GB holds only
// the batch in hand (a decoded block, or a cluster of blocks whose time ranges overlap) instead
// of the whole range. Batches come in the cursor's Order (a backward cursor returns the newest
// batch first); within a batch entries are always ascending by time (equal timestamps in
// arrival order), so a backward reader walks each batch from its end. Not thread-safe; must not
// outlive the reader that opened it.
class EntryCursor {
 public:
  virtual ~EntryCursor() = default;
  // The next non-empty batch, or an empty span once the range is exhausted. The span is valid
  // until the next call or the cursor's destruction. Errors: the reader's (Corruption of a block).
  virtual Result<std::span<const LogEntry>> Next() = 0;
};

struct StreamCursor {
  Labels labels;
  std::unique_ptr<EntryCursor> cursor;
};

class LogReader {
 public:
  virtual ~LogReader() = default;

  // Cursors over the streams matching every matcher that may have entries with
  // start_ns <= ts_ns <= end_ns, in a fixed stream order. Opening decodes nothing: blocks are
  // decompressed as Next reaches them. A cursor may return no batch at all (its blocks held no
  // entry in range or none passing `hints`).
  virtual Result<std::vector<StreamCursor>> Open(const std::vector<Matcher>& matchers, int64_t start_ns,
                                                 int64_t end_ns, Order order,
                                                 const SelectHints* hints = nullptr) const = 0;

  // Convenience over Open: calls `fn` for each batch of each stream, streams one after another
  // in Open's order, batches in ascending time order (several calls per stream are consecutive),
  // so at most one batch is resident. `fn`'s span is valid only during the call. Stops at and
  // returns the first non-OK status from `fn` or from reading.
  using StreamFn = std::function<Status(const Labels& stream, std::span<const LogEntry> entries)>;
  Status Select(const std::vector<Matcher>& matchers, int64_t start_ns, int64_t end_ns, const StreamFn& fn,
                const SelectHints* hints = nullptr) const;
};

// The write side: what ingest appends through (LogStore implements it).
struct PushStream {
  Labels labels;
  std::vector<LogEntry> entries;
};

class LogWriter {
 public:
  virtual ~LogWriter() = default;
  // Stores the entries, acknowledging once durable. Errors are the implementation's (see
  // LogStore::Push); valid entries are stored even when others are rejected.
  virtual Status Push(const std::vector<PushStream>& streams) = 0;
};

// Streams held in memory. Not thread-safe for concurrent Append and Select.
class MemoryReader : public LogReader {
 public:
  // `batch_entries`: entries per cursor batch (small by default so that the engine's merging
  // of batches is exercised by every test that runs on a MemoryReader).
  explicit MemoryReader(size_t batch_entries = 3) : batch_entries_(batch_entries) {}
  // Adds an entry to the stream `labels` (empty values dropped, as Loki does on write).
  void Append(const Labels& labels, LogEntry entry);
  void Clear() { streams_.clear(); }
  // Ignores `hints`. The cursors point into the reader: no Append or Clear while they live.
  Result<std::vector<StreamCursor>> Open(const std::vector<Matcher>& matchers, int64_t start_ns, int64_t end_ns,
                                         Order order, const SelectHints* hints = nullptr) const override;

 private:
  size_t batch_entries_;
  std::map<Labels, std::vector<LogEntry>> streams_;
};

}  // namespace argus::logstore
