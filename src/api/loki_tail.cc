#include "api/loki_tail.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <set>

#include "api/json_writer.h"
#include "api/loki_api.h"
#include "logql/engine.h"
#include "logql/parser.h"

namespace argus::api {

namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;
constexpr size_t kMaxLimit = 5000;        // Loki's max_entries_limit_per_query default
constexpr int64_t kMaxDelayForSec = 5;    // Loki's tail max delay_for

int64_t WallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

HttpResponse BadRequest(std::string msg) { return LokiError(Status::InvalidArgument(std::move(msg))); }

template <typename LabelRange>
void WriteLabelObject(JsonWriter& w, const LabelRange& ls) {
  w.BeginObject();
  for (const Label& l : ls) {
    w.Key(l.name);
    w.String(l.value);
  }
  w.EndObject();
}

struct Dropped {
  Labels labels;
  int64_t ts_ns;
};

// One frame: the streams a query kept, plus the entries dropped since the last frame.
std::string EncodeFrame(const std::vector<logql::Stream>& streams, const std::vector<Dropped>& dropped) {
  JsonWriter w;
  w.BeginObject();
  w.Key("streams");
  w.BeginArray();
  for (const logql::Stream& s : streams) {
    w.BeginObject();
    w.Key("stream");
    WriteLabelObject(w, s.labels);
    w.Key("values");
    w.BeginArray();
    for (const logql::StreamEntry& e : s.entries) {
      w.BeginArray();
      w.String(std::to_string(e.ts_ns));
      w.String(e.line);
      w.EndArray();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  if (!dropped.empty()) {
    w.Key("dropped_entries");
    w.BeginArray();
    for (const Dropped& d : dropped) {
      w.BeginObject();
      w.Key("labels");
      WriteLabelObject(w, d.labels);
      w.Key("timestamp");
      w.String(std::to_string(d.ts_ns));
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return w.Take();
}

class TailSession : public PushSession, public logstore::TailSink {
 public:
  TailSession(logstore::LogStore* store, logql::ExprPtr expr, int64_t delay_ns)
      : store_(store), expr_(std::move(expr)), delay_ns_(delay_ns) {}
  ~TailSession() override {
    if (id_ != 0) store_->RemoveTailSink(id_);
  }

  // Registers the tailer, then sends what [start_ns, now_ns] holds (oldest first, at most
  // `limit`). Entries pushed meanwhile reach both; the live copies of those are dropped.
  Status Begin(int64_t start_ns, int64_t now_ns, size_t limit) {
    id_ = store_->AddTailSink(expr_->selector.matchers, this);
    logql::QueryParams p;
    p.start_ns = start_ns;
    p.end_ns = now_ns + 1;
    p.step_ns = kNsPerSec;
    p.limit = limit;
    p.direction = logql::Direction::kForward;
    ASSIGN_OR_RETURN(logql::QueryResult res, logql::Evaluate(*store_, *expr_, p));
    std::set<std::pair<int64_t, std::string>> seen;
    size_t n = 0;
    for (const logql::Stream& s : res.streams) {
      for (const logql::StreamEntry& e : s.entries) seen.emplace(e.ts_ns, e.line);
      n += s.entries.size();
    }
    if (n > 0) first_frame_ = EncodeFrame(res.streams, {});
    std::lock_guard l(mu_);
    std::erase_if(pending_, [&](const Pending& pe) {
      return pe.entry.ts_ns <= now_ns && seen.contains({pe.entry.ts_ns, pe.entry.line});
    });
    return Status::OK();
  }

  void OnEntries(const Labels& stream, const std::vector<logstore::LogEntry>& entries) override {
    int64_t now = WallNowNs();
    std::lock_guard l(mu_);
    for (const logstore::LogEntry& e : entries) {
      if (pending_.size() >= kTailMaxPendingEntries) {
        if (dropped_.size() < kTailMaxPendingEntries) dropped_.push_back({pending_.front().stream, pending_.front().entry.ts_ns});
        pending_.pop_front();
      }
      pending_.push_back({stream, e, now});
    }
  }

  bool Poll(int64_t now_ns, std::vector<std::string>* out) override {
    if (!first_frame_.empty()) {
      out->push_back(std::move(first_frame_));
      first_frame_.clear();
    }
    std::vector<Pending> batch;
    std::vector<Dropped> dropped;
    {
      std::lock_guard l(mu_);
      while (!pending_.empty() && pending_.front().arrival_ns <= now_ns - delay_ns_) {
        batch.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
      dropped.swap(dropped_);
    }
    if (batch.empty() && dropped.empty()) return true;
    logstore::MemoryReader mem;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (Pending& pe : batch) {
      lo = std::min(lo, pe.entry.ts_ns);
      hi = std::max(hi, pe.entry.ts_ns);
      mem.Append(pe.stream, std::move(pe.entry));
    }
    std::vector<logql::Stream> streams;
    if (!batch.empty()) {
      logql::QueryParams p;
      p.start_ns = lo;
      p.end_ns = hi + 1;
      p.step_ns = kNsPerSec;
      p.limit = batch.size();
      p.direction = logql::Direction::kForward;
      auto res = logql::Evaluate(mem, *expr_, p);
      // A pipeline error on live entries ends the session like an error on the lookback.
      if (!res.ok()) return false;
      streams = std::move(res->streams);
    }
    bool any = std::any_of(streams.begin(), streams.end(), [](const logql::Stream& s) { return !s.entries.empty(); });
    if (any || !dropped.empty()) out->push_back(EncodeFrame(streams, dropped));
    return true;
  }

 private:
  struct Pending {
    Labels stream;
    logstore::LogEntry entry;
    int64_t arrival_ns;
  };
  logstore::LogStore* store_;
  logql::ExprPtr expr_;
  const int64_t delay_ns_;
  uint64_t id_ = 0;
  std::string first_frame_;  // Poll's thread only (after Begin)
  std::mutex mu_;
  std::deque<Pending> pending_;   // GUARDED_BY(mu_), in arrival order
  std::vector<Dropped> dropped_;  // GUARDED_BY(mu_)
};

}  // namespace

UpgradeResult StartLokiTail(logstore::LogStore* store, const HttpRequest& req, int64_t now_ns) {
  UpgradeResult out;
  std::string q = req.Param("query");
  if (q.empty()) {
    out.error = BadRequest("query must not be empty");
    return out;
  }
  auto e = logql::ParseExpr(q);
  if (!e.ok()) {
    out.error = LokiError(e.status());
    return out;
  }
  if ((*e)->kind != logql::ExprKind::kLog) {
    out.error = BadRequest("tail only supports log queries, not metric queries");
    return out;
  }
  int64_t delay_s = 0;
  if (req.HasParam("delay_for")) {
    std::string d = req.Param("delay_for");
    char* end = nullptr;
    delay_s = std::strtoll(d.c_str(), &end, 10);
    if (d.empty() || end != d.c_str() + d.size() || delay_s < 0) {
      out.error = BadRequest("cannot parse delay_for \"" + d + "\": expected a number of seconds");
      return out;
    }
    if (delay_s > kMaxDelayForSec) {
      out.error = BadRequest("delay_for can't be greater than " + std::to_string(kMaxDelayForSec));
      return out;
    }
  }
  size_t limit = 100;
  if (req.HasParam("limit")) {
    std::string ls = req.Param("limit");
    char* end = nullptr;
    long long l = std::strtoll(ls.c_str(), &end, 10);
    if (ls.empty() || end != ls.c_str() + ls.size() || l <= 0) {
      out.error = BadRequest("limit must be a positive value");
      return out;
    }
    if (static_cast<size_t>(l) > kMaxLimit) {
      out.error = BadRequest("max entries limit per query exceeded, limit > max_entries_limit (" + ls + " > " +
                             std::to_string(kMaxLimit) + ")");
      return out;
    }
    limit = static_cast<size_t>(l);
  }
  int64_t start_ns = now_ns - 3600 * kNsPerSec;
  if (req.HasParam("start")) {
    auto s = ParseLokiTimeNs(req.Param("start"));
    if (!s.ok()) {
      out.error = LokiError(s.status());
      return out;
    }
    start_ns = *s;
  }
  auto session = std::make_unique<TailSession>(store, std::move(*e), delay_s * kNsPerSec);
  Status st = session->Begin(start_ns, now_ns, limit);
  if (!st.ok()) {
    out.error = LokiError(st);
    return out;
  }
  out.session = std::move(session);
  return out;
}

}  // namespace argus::api
