// A log entry: the unit the logs engine stores and queries (Loki's logproto.Entry).
//
// Example:
//   LogEntry e{.ts_ns = 1700000000'000000000, .line = "GET / 200", .metadata = {{"trace_id", "ab"}}};
//
// Thread-safety: a value type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/labels.h"

namespace argus::logstore {

// One log line: its time (Unix ns), text and structured metadata (names unique; values may be
// empty, unlike stream labels).
struct LogEntry {
  int64_t ts_ns = 0;
  std::string line;
  std::vector<Label> metadata;
};

}  // namespace argus::logstore
