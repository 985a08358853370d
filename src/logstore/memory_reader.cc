#include "logstore/log_reader.h"

#include <algorithm>

namespace argus::logstore {

void MemoryReader::Append(const Labels& labels, LogEntry entry) {
  auto& v = streams_[labels];
  // Keep entries sorted; appends are usually in order.
  auto it = std::upper_bound(v.begin(), v.end(), entry.ts_ns,
                             [](int64_t t, const LogEntry& e) { return t < e.ts_ns; });
  v.insert(it, std::move(entry));
}

Status MemoryReader::Select(const std::vector<Matcher>& matchers, int64_t start_ns, int64_t end_ns,
                            const StreamFn& fn, const SelectHints*) const {
  for (const auto& [ls, entries] : streams_) {
    if (!MatchesAll(matchers, ls)) continue;
    auto lo = std::lower_bound(entries.begin(), entries.end(), start_ns,
                               [](const LogEntry& e, int64_t t) { return e.ts_ns < t; });
    auto hi = std::upper_bound(entries.begin(), entries.end(), end_ns,
                               [](int64_t t, const LogEntry& e) { return t < e.ts_ns; });
    if (lo >= hi) continue;
    RETURN_IF_ERROR(fn(ls, std::span<const LogEntry>(&*lo, static_cast<size_t>(hi - lo))));
  }
  return Status::OK();
}

}  // namespace argus::logstore
