#include "tracestore/trace_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>

namespace argus::tracestore {

namespace otlp = opentelemetry::proto;

namespace {

constexpr char kSpansRecord = 1;

std::string_view ServiceOf(const otlp::trace::v1::ResourceSpans& rs) {
  for (const auto& kv : rs.resource().attributes()) {
    if (kv.key() == "service.name" && kv.value().has_string_value()) return kv.value().string_value();
  }
  return "";
}

bool IsBlockName(const std::string& name) {
  if (name.size() != 24) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

TraceSummary SummaryOf(const std::string& id, const SpanColumns& c, uint32_t ordinal,
                       const IndexEntry& e) {
  TraceSummary s;
  s.trace_id = id;
  s.start_unix_nano = e.start_unix_nano;
  s.end_unix_nano = e.end_unix_nano;
  s.root_service = std::string(c.Str(c.root_service(ordinal)));
  s.root_name = std::string(c.Str(c.root_name(ordinal)));
  return s;
}

bool Overlaps(uint64_t s, uint64_t e, uint64_t start, uint64_t end) {
  if (start == 0 && end == 0) return true;
  return s <= end && e >= start;
}

// A ColumnFilter resolved against one block's dictionary.
class BlockFilter {
 public:
  // False if no trace of the block can match.
  bool Resolve(const SpanColumns& c, const ColumnFilter& f) {
    c_ = &c;
    for (const auto& group : f.required) {
      std::vector<Resolved> g;
      for (const SpanCondition& sc : group) {
        Resolved r{sc.field, sc.any_scope, sc.scope, 0, 0, sc.code};
        if (sc.field == SpanCondition::Field::kName || sc.field == SpanCondition::Field::kAttribute) {
          int64_t v = c.Find(sc.value);
          if (v < 0) return false;  // no span of the block has this string
          r.value = static_cast<uint32_t>(v);
        }
        if (sc.field == SpanCondition::Field::kAttribute) {
          int64_t k = c.Find(sc.key);
          if (k < 0) return false;
          r.key = static_cast<uint32_t>(k);
        }
        g.push_back(r);
      }
      groups_.push_back(std::move(g));
    }
    // Span rows are in trace order: the first row of each trace.
    first_.assign(c.num_traces() + 1, static_cast<uint32_t>(c.num_spans()));
    for (size_t i = c.num_spans(); i-- > 0;) first_[c.trace(i)] = static_cast<uint32_t>(i);
    for (size_t t = c.num_traces(); t-- > 0;) first_[t] = std::min(first_[t], first_[t + 1]);
    return true;
  }

  bool Admits(uint32_t trace) const {
    for (const auto& g : groups_) {
      bool any = false;
      for (uint32_t i = first_[trace]; i < first_[trace + 1] && !any; ++i) {
        any = std::all_of(g.begin(), g.end(), [&](const Resolved& r) { return Holds(i, r); });
      }
      if (!any) return false;
    }
    return true;
  }

 private:
  struct Resolved {
    SpanCondition::Field field;
    bool any_scope;
    AttrScope scope;
    uint32_t key, value;
    int64_t code;
  };
  bool Holds(uint32_t i, const Resolved& r) const {
    switch (r.field) {
      case SpanCondition::Field::kName: return c_->name(i) == r.value;
      case SpanCondition::Field::kStatus: return c_->status(i) == r.code;
      case SpanCondition::Field::kKind: return c_->kind(i) == r.code;
      case SpanCondition::Field::kAttribute:
        for (const ColumnAttr& a : c_->attrs(i)) {
          if (a.key == r.key && a.value == r.value && a.type == ValueType::kString &&
              (r.any_scope || a.scope == r.scope)) {
            return true;
          }
        }
        return false;
    }
    return false;
  }
  const SpanColumns* c_ = nullptr;
  std::vector<std::vector<Resolved>> groups_;
  std::vector<uint32_t> first_;
};

// Renames the block out of sight (`.deleted`, removed at startup if we crash), then removes it.
Status DeleteBlockDir(const std::string& dir) {
  std::string gone = dir + ".deleted";
  if (std::rename(dir.c_str(), gone.c_str()) != 0) return Status::FromErrno("rename " + dir, errno);
  return RemoveAll(gone);
}

}  // namespace

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TraceStore::TraceStore(std::string dir, TraceStoreOptions opts)
    : dir_(std::move(dir)), opts_(opts) {}

TraceStore::~TraceStore() { Close().IgnoreError(); }

Result<std::unique_ptr<TraceStore>> TraceStore::Open(const std::string& dir,
                                                     const TraceStoreOptions& opts) {
  if (opts.max_head_bytes == 0 || opts.max_head_age_ms <= 0 || opts.retention_ms < 0 ||
      opts.maintenance_interval_ms < 0) {
    return Status::InvalidArgument("trace store: bad options");
  }
  std::unique_ptr<TraceStore> s(new TraceStore(dir, opts));
  RETURN_IF_ERROR(CreateDirs(dir + "/blocks"));
  RETURN_IF_ERROR(s->Recover());
  if (opts.maintenance_interval_ms > 0) {
    s->maintenance_ = std::thread([p = s.get()] { p->MaintenanceLoop(); });
  }
  return s;
}

Status TraceStore::Recover() {
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir_ + "/blocks"));
  std::sort(names.begin(), names.end());
  uint64_t replay_from = 0;
  for (const std::string& name : names) {
    std::string path = dir_ + "/blocks/" + name;
    if (name.ends_with(".tmp") || name.ends_with(".deleted")) {
      RETURN_IF_ERROR(RemoveAll(path));
      continue;
    }
    if (!IsBlockName(name)) continue;
    auto b = Block::Open(path);
    if (!b.ok()) {
      spdlog::warn("trace store: skipping block {}: {}", path, b.status().ToString());
      continue;
    }
    replay_from = std::max(replay_from, (*b)->meta().wal_segment);
    block_seq_ = std::max<uint64_t>(block_seq_, std::stoull(name.substr(16), nullptr, 16) + 1);
    blocks_.push_back(std::move(*b));
  }
  // A crash after a compaction wrote its block but before it deleted the inputs leaves both:
  // the inputs go (their spans are all in the compacted block).
  std::set<std::string> compacted;
  for (const auto& b : blocks_) compacted.insert(b->meta().compacted_from.begin(), b->meta().compacted_from.end());
  for (auto it = blocks_.begin(); it != blocks_.end();) {
    std::string name = (*it)->dir().substr((*it)->dir().find_last_of('/') + 1);
    if (!compacted.count(name)) {
      ++it;
      continue;
    }
    spdlog::info("trace store: deleting block {}, already compacted", (*it)->dir());
    RETURN_IF_ERROR(DeleteBlockDir((*it)->dir()));
    it = blocks_.erase(it);
  }
  std::string wal_dir = dir_ + "/wal";
  wal::ReplayStats rs;
  int64_t now = NowMs();
  RETURN_IF_ERROR(wal::Replay(
      wal_dir, static_cast<int>(replay_from),
      [&](std::string_view rec) -> Status {
        otlp::trace::v1::TracesData td;
        if (rec.size() < 17 || rec[0] != kSpansRecord ||
            !td.ParseFromArray(rec.data() + 17, static_cast<int>(rec.size() - 17))) {
          ++stats_.skipped_records;
          spdlog::warn("trace store: skipping a WAL record that does not decode ({} bytes)",
                       rec.size());
          return Status::OK();
        }
        std::lock_guard<std::mutex> l(mu_);
        ApplyLocked(std::string(rec.substr(1, 16)), std::string(rec.substr(17)), td, now);
        ++stats_.replayed_records;
        return Status::OK();
      },
      &rs));
  wal::WalOptions wo;
  wo.sync = opts_.wal_sync;
  ASSIGN_OR_RETURN(wal_, wal::Wal::Open(wal_dir, wo));
  if (replay_from > 0) RETURN_IF_ERROR(wal_->TruncateBefore(static_cast<int>(replay_from)));
  return Status::OK();
}

void TraceStore::ApplyLocked(const std::string& trace_id, std::string fragment,
                             const otlp::trace::v1::TracesData& spans, int64_t now_ms) {
  auto [it, inserted] = head_.try_emplace(trace_id);
  LiveTrace& t = it->second;
  if (inserted) {
    t.first_append_ms = now_ms;
    if (head_.size() == 1) head_oldest_ms_ = now_ms;
  }
  for (const auto& rs : spans.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& s : ss.spans()) {
        t.start_unix_nano = std::min<uint64_t>(t.start_unix_nano, s.start_time_unix_nano());
        t.end_unix_nano = std::max<uint64_t>(
            t.end_unix_nano, std::max(s.end_time_unix_nano(), s.start_time_unix_nano()));
        if (s.parent_span_id().empty() && t.root_name.empty()) {
          t.root_name = s.name();
          t.root_service = std::string(ServiceOf(rs));
        }
      }
    }
  }
  t.bytes += fragment.size();
  head_bytes_ += fragment.size();
  t.fragments.push_back(std::move(fragment));
}

Result<AppendResult> TraceStore::Append(const std::vector<TraceBatch>& batches) {
  for (const TraceBatch& b : batches) {
    if (b.trace_id.size() != 16) return Status::InvalidArgument("trace ID is not 16 bytes");
  }
  AppendResult result;
  std::vector<std::string> records;
  std::vector<size_t> accepted;
  auto span_count = [](const otlp::trace::v1::TracesData& td) {
    uint64_t n = 0;
    for (const auto& rs : td.resource_spans()) {
      for (const auto& ss : rs.scope_spans()) n += ss.spans_size();
    }
    return n;
  };
  std::shared_lock<std::shared_mutex> gate(commit_);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return Status::Unavailable("trace store is closed");
    std::map<std::string, uint64_t> pending_bytes;
    uint64_t new_traces = 0;
    for (size_t i = 0; i < batches.size(); ++i) {
      std::string rec;
      rec.push_back(kSpansRecord);
      rec += batches[i].trace_id;
      batches[i].spans.AppendToString(&rec);
      uint64_t bytes = rec.size() - 17;
      auto it = head_.find(batches[i].trace_id);
      uint64_t have = (it == head_.end() ? 0 : it->second.bytes) + pending_bytes[batches[i].trace_id];
      std::string refusal;
      if (opts_.max_bytes_per_trace > 0 && have + bytes > opts_.max_bytes_per_trace) {
        refusal = fmt::format("trace too large: max size of trace ({} bytes) exceeded",
                              opts_.max_bytes_per_trace);
      } else if (it == head_.end() && pending_bytes[batches[i].trace_id] == 0 &&
                 opts_.max_live_traces > 0 && head_.size() + new_traces >= opts_.max_live_traces) {
        refusal = fmt::format("max live traces ({}) exceeded", opts_.max_live_traces);
      }
      if (!refusal.empty()) {
        result.rejected_spans += span_count(batches[i].spans);
        if (result.error.empty()) result.error = refusal;
        continue;
      }
      if (it == head_.end() && pending_bytes[batches[i].trace_id] == 0) ++new_traces;
      pending_bytes[batches[i].trace_id] += bytes;
      records.push_back(std::move(rec));
      accepted.push_back(i);
    }
  }
  if (records.empty()) return result;
  result.accepted = accepted;
  std::vector<std::string_view> views(records.begin(), records.end());
  RETURN_IF_ERROR(wal_->Log(views));
  int64_t now = NowMs();
  std::lock_guard<std::mutex> l(mu_);
  for (size_t k = 0; k < accepted.size(); ++k) {
    const TraceBatch& b = batches[accepted[k]];
    result.accepted_spans += span_count(b.spans);
    ApplyLocked(b.trace_id, records[k].substr(17), b.spans, now);
  }
  return result;
}

std::vector<std::shared_ptr<const Block>> TraceStore::BlocksSnapshot() const {
  std::lock_guard<std::mutex> l(mu_);
  return blocks_;
}

Result<std::optional<std::string>> TraceStore::FindTrace(std::string_view trace_id) const {
  std::string out;
  bool found = false;
  std::shared_ptr<const Head> cutting;
  {
    std::lock_guard<std::mutex> l(mu_);
    cutting = cutting_;
    auto it = head_.find(std::string(trace_id));
    if (it != head_.end()) {
      found = true;
      for (const std::string& f : it->second.fragments) out += f;
    }
  }
  if (cutting) {
    auto it = cutting->find(std::string(trace_id));
    if (it != cutting->end()) {
      found = true;
      for (const std::string& f : it->second.fragments) out += f;
    }
  }
  for (const auto& b : BlocksSnapshot()) {
    ASSIGN_OR_RETURN(std::optional<std::string> t, b->FindTrace(trace_id));
    if (t) {
      found = true;
      out += *t;
    }
  }
  if (!found) return std::optional<std::string>();
  return std::optional<std::string>(std::move(out));
}

Status TraceStore::ForEachTrace(
    uint64_t start, uint64_t end, const std::function<bool(const TraceSummary&)>& prefilter,
    const std::function<Result<bool>(const TraceSummary&, const std::string&)>& fn,
    const ColumnFilter* columns) const {
  // The head: copy what matches under the lock, evaluate outside it.
  std::vector<std::pair<TraceSummary, std::string>> live;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto collect = [&](const Head& h) {
      for (const auto& [id, t] : h) {
        if (!Overlaps(t.start_unix_nano, t.end_unix_nano, start, end)) continue;
        TraceSummary s{id, t.start_unix_nano, t.end_unix_nano, t.root_service, t.root_name};
        if (prefilter && !prefilter(s)) continue;
        std::string data;
        for (const std::string& f : t.fragments) data += f;
        live.emplace_back(std::move(s), std::move(data));
      }
    };
    collect(head_);
    if (cutting_) collect(*cutting_);
  }
  for (const auto& [s, data] : live) {
    ASSIGN_OR_RETURN(bool more, fn(s, data));
    if (!more) return Status::OK();
  }
  auto blocks = BlocksSnapshot();
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) {
    const Block& b = **it;
    if (!Overlaps(b.meta().min_time_unix_nano, b.meta().max_time_unix_nano, start, end)) continue;
    BlockFilter bf;
    bool filtered = columns != nullptr && !columns->required.empty();
    if (filtered && !bf.Resolve(b.columns(), *columns)) continue;  // nothing here can match
    for (size_t i = 0; i < b.num_traces(); ++i) {
      IndexEntry e = b.Entry(i);
      if (!Overlaps(e.start_unix_nano, e.end_unix_nano, start, end)) continue;
      if (filtered && !bf.Admits(static_cast<uint32_t>(i))) continue;
      TraceSummary s = SummaryOf(std::string(e.trace_id), b.columns(), static_cast<uint32_t>(i), e);
      if (prefilter && !prefilter(s)) continue;
      ASSIGN_OR_RETURN(std::string data, b.ReadTrace(e));
      ASSIGN_OR_RETURN(bool more, fn(s, data));
      if (!more) return Status::OK();
    }
  }
  return Status::OK();
}

std::vector<std::string> TraceStore::TagNames(AttrScope scope) const {
  std::set<std::string> out;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [id, t] : head_) {
      for (const std::string& f : t.fragments) {
        otlp::trace::v1::TracesData td;
        if (!td.ParseFromString(f)) continue;
        for (const auto& rs : td.resource_spans()) {
          if (scope == AttrScope::kResource) {
            for (const auto& kv : rs.resource().attributes()) out.insert(kv.key());
            continue;
          }
          for (const auto& ss : rs.scope_spans()) {
            for (const auto& s : ss.spans()) {
              for (const auto& kv : s.attributes()) out.insert(kv.key());
            }
          }
        }
      }
    }
  }
  for (const auto& b : BlocksSnapshot()) {
    const SpanColumns& c = b->columns();
    for (size_t i = 0; i < c.num_spans(); ++i) {
      for (const ColumnAttr& a : c.attrs(i)) {
        if (a.scope == scope) out.insert(std::string(c.Str(a.key)));
      }
    }
  }
  return {out.begin(), out.end()};
}

std::vector<TagValue> TraceStore::TagValues(AttrScope scope, const std::string& key) const {
  std::set<TagValue> out;
  auto add = [&](const otlp::common::v1::AnyValue& v) {
    auto [type, text] = ValueText(v);
    if (type != ValueType::kOther) out.insert(TagValue{type, std::move(text)});
  };
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [id, t] : head_) {
      for (const std::string& f : t.fragments) {
        otlp::trace::v1::TracesData td;
        if (!td.ParseFromString(f)) continue;
        for (const auto& rs : td.resource_spans()) {
          if (scope == AttrScope::kResource) {
            for (const auto& kv : rs.resource().attributes()) {
              if (kv.key() == key) add(kv.value());
            }
            continue;
          }
          for (const auto& ss : rs.scope_spans()) {
            for (const auto& s : ss.spans()) {
              for (const auto& kv : s.attributes()) {
                if (kv.key() == key) add(kv.value());
              }
            }
          }
        }
      }
    }
  }
  for (const auto& b : BlocksSnapshot()) {
    const SpanColumns& c = b->columns();
    int64_t k = c.Find(key);
    if (k < 0) continue;
    for (size_t i = 0; i < c.num_spans(); ++i) {
      for (const ColumnAttr& a : c.attrs(i)) {
        if (a.scope == scope && a.key == static_cast<uint32_t>(k) && a.type != ValueType::kOther) {
          out.insert(TagValue{a.type, std::string(c.Str(a.value))});
        }
      }
    }
  }
  return {out.begin(), out.end()};
}

std::vector<std::string> TraceStore::SpanNames() const {
  std::set<std::string> out;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [id, t] : head_) {
      for (const std::string& f : t.fragments) {
        otlp::trace::v1::TracesData td;
        if (!td.ParseFromString(f)) continue;
        for (const auto& rs : td.resource_spans()) {
          for (const auto& ss : rs.scope_spans()) {
            for (const auto& s : ss.spans()) out.insert(s.name());
          }
        }
      }
    }
  }
  for (const auto& b : BlocksSnapshot()) {
    const SpanColumns& c = b->columns();
    for (size_t i = 0; i < c.num_spans(); ++i) out.insert(std::string(c.Str(c.name(i))));
  }
  return {out.begin(), out.end()};
}

Status TraceStore::CutHead(int64_t now_ms) {
  std::lock_guard<std::mutex> cut(cut_mu_);
  std::shared_ptr<const Head> head;
  int segment = 0;
  uint64_t seq = 0;
  {
    std::unique_lock<std::shared_mutex> gate(commit_);
    std::lock_guard<std::mutex> l(mu_);
    if (head_.empty()) return Status::OK();
    ASSIGN_OR_RETURN(segment, wal_->NextSegment());
    head = std::make_shared<const Head>(std::move(head_));
    head_ = Head();
    head_bytes_ = 0;
    cutting_ = head;
    seq = block_seq_++;
  }
  std::vector<BlockTrace> traces;
  traces.reserve(head->size());
  for (const auto& [id, t] : *head) {
    BlockTrace bt;
    bt.trace_id = id;
    for (const std::string& f : t.fragments) bt.traces_data += f;
    traces.push_back(std::move(bt));
  }
  std::string dir = fmt::format("{}/blocks/{:016x}{:08x}", dir_, static_cast<uint64_t>(now_ms), seq);
  Status st = WriteBlock(dir, std::move(traces), static_cast<uint64_t>(segment));
  Result<std::unique_ptr<Block>> b = st.ok() ? Block::Open(dir) : Result<std::unique_ptr<Block>>(st);
  std::lock_guard<std::mutex> l(mu_);
  if (!b.ok()) {
    // Keep the spans readable and in the WAL: put them back into the head.
    for (const auto& [id, t] : *head) {
      LiveTrace& live = head_[id];
      live.fragments.insert(live.fragments.begin(), t.fragments.begin(), t.fragments.end());
      live.bytes += t.bytes;
      live.start_unix_nano = std::min(live.start_unix_nano, t.start_unix_nano);
      live.end_unix_nano = std::max(live.end_unix_nano, t.end_unix_nano);
      if (live.root_name.empty()) {
        live.root_name = t.root_name;
        live.root_service = t.root_service;
      }
      live.first_append_ms = t.first_append_ms;
      head_bytes_ += t.bytes;
    }
    cutting_.reset();
    return b.status().WithContext("cutting the trace head");
  }
  blocks_.push_back(std::move(*b));
  cutting_.reset();
  head_oldest_ms_ = head_.empty() ? 0 : now_ms;
  return wal_->TruncateBefore(segment);
}

Status TraceStore::ApplyRetention(int64_t now_ms) {
  if (opts_.retention_ms == 0) return Status::OK();
  uint64_t cutoff_ns = static_cast<uint64_t>(std::max<int64_t>(0, now_ms - opts_.retention_ms)) * 1000000ULL;
  std::vector<std::shared_ptr<const Block>> expired;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto keep = std::stable_partition(blocks_.begin(), blocks_.end(), [&](const auto& b) {
      return b->meta().max_time_unix_nano >= cutoff_ns;
    });
    expired.assign(keep, blocks_.end());
    blocks_.erase(keep, blocks_.end());
  }
  for (const auto& b : expired) {
    RETURN_IF_ERROR(DeleteBlockDir(b->dir()));
    spdlog::info("trace store: deleted block {} past retention", b->dir());
  }
  return Status::OK();
}

Status TraceStore::Maintain(int64_t now_ms, bool force) {
  bool cut = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return Status::OK();
    cut = !head_.empty() && (force || head_bytes_ >= opts_.max_head_bytes ||
                             now_ms - head_oldest_ms_ >= opts_.max_head_age_ms);
  }
  if (cut) RETURN_IF_ERROR(CutHead(now_ms));
  RETURN_IF_ERROR(Compact(now_ms).status());
  return ApplyRetention(now_ms);
}

Result<bool> TraceStore::Compact(int64_t now_ms) {
  if (opts_.compaction_max_bytes == 0 || opts_.compaction_max_blocks < 2) return false;
  std::lock_guard<std::mutex> one(compact_mu_);
  std::vector<std::shared_ptr<const Block>> blocks = BlocksSnapshot();
  const uint64_t window_ns = static_cast<uint64_t>(std::max<int64_t>(1, opts_.compaction_window_ms)) * 1'000'000ULL;
  std::map<uint64_t, std::vector<std::shared_ptr<const Block>>> windows;
  for (const auto& b : blocks) {
    if (b->meta().data_bytes < opts_.compaction_max_bytes) {
      windows[b->meta().min_time_unix_nano / window_ns].push_back(b);
    }
  }
  std::vector<std::shared_ptr<const Block>> group;
  for (auto& [w, in_window] : windows) {
    std::stable_sort(in_window.begin(), in_window.end(), [](const auto& a, const auto& b) {
      return a->meta().data_bytes < b->meta().data_bytes;  // smallest first: most merged
    });
    uint64_t bytes = 0;
    group.clear();
    for (const auto& b : in_window) {
      if (group.size() == opts_.compaction_max_blocks || bytes + b->meta().data_bytes > opts_.compaction_max_bytes) break;
      bytes += b->meta().data_bytes;
      group.push_back(b);
    }
    if (group.size() >= 2) break;
  }
  if (group.size() < 2) return false;

  std::vector<BlockTrace> traces;
  std::vector<std::string> names;
  uint64_t wal_segment = 0;
  for (const auto& b : group) {
    for (size_t i = 0; i < b->num_traces(); ++i) {
      IndexEntry e = b->Entry(i);
      BlockTrace t;
      t.trace_id = std::string(e.trace_id);
      ASSIGN_OR_RETURN(t.traces_data, b->ReadTrace(e));
      traces.push_back(std::move(t));
    }
    names.push_back(b->dir().substr(b->dir().find_last_of('/') + 1));
    wal_segment = std::max(wal_segment, b->meta().wal_segment);
  }
  uint64_t seq = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    seq = block_seq_++;
  }
  std::string dir = fmt::format("{}/blocks/{:016x}{:08x}", dir_, static_cast<uint64_t>(now_ms), seq);
  RETURN_IF_ERROR(WriteBlock(dir, std::move(traces), wal_segment, names));
  ASSIGN_OR_RETURN(std::unique_ptr<Block> merged, Block::Open(dir));
  {
    std::lock_guard<std::mutex> l(mu_);
    std::erase_if(blocks_, [&](const auto& b) {
      return std::find(group.begin(), group.end(), b) != group.end();
    });
    blocks_.push_back(std::move(merged));
    ++compactions_;
  }
  spdlog::info("trace store: compacted {} blocks into {}", group.size(), dir);
  for (const auto& b : group) RETURN_IF_ERROR(DeleteBlockDir(b->dir()));
  return true;
}

void TraceStore::MaintenanceLoop() {
  std::unique_lock<std::mutex> l(stop_mu_);
  while (!stop_) {
    stop_cv_.wait_for(l, std::chrono::milliseconds(opts_.maintenance_interval_ms));
    if (stop_) break;
    l.unlock();
    Status st = Maintain(NowMs(), false);
    if (!st.ok()) spdlog::error("trace store maintenance: {}", st.ToString());
    l.lock();
  }
}

Status TraceStore::Close() {
  {
    std::lock_guard<std::mutex> l(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_ || !wal_) return Status::OK();
  }
  Status cut = CutHead(NowMs());
  {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
  }
  Status wal = wal_->Close();
  return cut.ok() ? wal : cut;
}

TraceStoreStats TraceStore::stats() const {
  std::lock_guard<std::mutex> l(mu_);
  TraceStoreStats s = stats_;
  s.live_traces = head_.size();
  s.head_bytes = head_bytes_;
  s.blocks = blocks_.size();
  s.compactions = compactions_;
  for (const auto& b : blocks_) s.block_traces += b->num_traces();
  return s;
}

}  // namespace argus::tracestore
