#include "logstore/log_reader.h"

#include <algorithm>

namespace argus::logstore {

Status LogReader::Select(const std::vector<Matcher>& matchers, int64_t start_ns, int64_t end_ns, const StreamFn& fn,
                         const SelectHints* hints) const {
  ASSIGN_OR_RETURN(std::vector<StreamCursor> cursors, Open(matchers, start_ns, end_ns, Order::kForward, hints));
  for (StreamCursor& c : cursors) {
    while (true) {
      ASSIGN_OR_RETURN(std::span<const LogEntry> batch, c.cursor->Next());
      if (batch.empty()) break;
      RETURN_IF_ERROR(fn(c.labels, batch));
    }
    c.cursor.reset();  // release its batch before decoding the next stream's
  }
  return Status::OK();
}

namespace {

// Slices an in-memory sorted range into batches of at most `n` entries.
class SpanCursor : public EntryCursor {
 public:
  SpanCursor(std::span<const LogEntry> all, size_t n, Order order) : all_(all), n_(std::max<size_t>(n, 1)), order_(order) {}
  Result<std::span<const LogEntry>> Next() override {
    size_t k = std::min(n_, all_.size());
    std::span<const LogEntry> out;
    if (order_ == Order::kForward) {
      out = all_.first(k);
      all_ = all_.subspan(k);
    } else {
      out = all_.last(k);
      all_ = all_.first(all_.size() - k);
    }
    return out;
  }

 private:
  std::span<const LogEntry> all_;
  size_t n_;
  Order order_;
};

}  // namespace

void MemoryReader::Append(const Labels& labels, LogEntry entry) {
  auto& v = streams_[labels];
  // Keep entries sorted; appends are usually in order.
  auto it = std::upper_bound(v.begin(), v.end(), entry.ts_ns,
                             [](int64_t t, const LogEntry& e) { return t < e.ts_ns; });
  v.insert(it, std::move(entry));
}

Result<std::vector<StreamCursor>> MemoryReader::Open(const std::vector<Matcher>& matchers, int64_t start_ns,
                                                     int64_t end_ns, Order order, const SelectHints*) const {
  std::vector<StreamCursor> out;
  for (const auto& [ls, entries] : streams_) {
    if (!MatchesAll(matchers, ls)) continue;
    auto lo = std::lower_bound(entries.begin(), entries.end(), start_ns,
                               [](const LogEntry& e, int64_t t) { return e.ts_ns < t; });
    auto hi = std::upper_bound(entries.begin(), entries.end(), end_ns,
                               [](int64_t t, const LogEntry& e) { return t < e.ts_ns; });
    if (lo >= hi) continue;
    std::span<const LogEntry> all(&*lo, static_cast<size_t>(hi - lo));
    out.push_back({ls, std::make_unique<SpanCursor>(all, batch_entries_, order)});
  }
  return out;
}

}  // namespace argus::logstore
