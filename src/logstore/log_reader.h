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
#pragma once

#include <cstdint>
#include <functional>
#include <map>
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

class LogReader {
 public:
  virtual ~LogReader() = default;
  // Calls `fn` once per stream matching every matcher that has entries with
  // start_ns <= ts_ns <= end_ns, passing those entries in ascending time order (entries with
  // equal timestamps in arrival order). `fn`'s span is valid only during the call. Stops at
  // and returns the first non-OK status from `fn` or from reading.
  using StreamFn = std::function<Status(const Labels& stream, std::span<const LogEntry> entries)>;
  virtual Status Select(const std::vector<Matcher>& matchers, int64_t start_ns, int64_t end_ns,
                        const StreamFn& fn, const SelectHints* hints = nullptr) const = 0;
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
  // Adds an entry to the stream `labels` (empty values dropped, as Loki does on write).
  void Append(const Labels& labels, LogEntry entry);
  void Clear() { streams_.clear(); }
  // Ignores `hints`.
  Status Select(const std::vector<Matcher>& matchers, int64_t start_ns, int64_t end_ns,
                const StreamFn& fn, const SelectHints* hints = nullptr) const override;

 private:
  std::map<Labels, std::vector<LogEntry>> streams_;
};

}  // namespace argus::logstore
