#include "logstore/log_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>

#include "logstore/block.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/file.h"

namespace argus::logstore {

namespace {

constexpr char kStreamRecord = 0x01;
constexpr char kEntriesRecord = 0x02;
constexpr char kBlockRecord = 0x03;
constexpr uint32_t kSnapshotMagic = 0x534c5241;  // "ARLS" little-endian

void PutEntry(std::string* out, const LogEntry& e) {
  PutVarsint64(out, e.ts_ns);
  PutLengthPrefixed(out, e.line);
  PutVarint64(out, e.metadata.size());
  for (const Label& m : e.metadata) {
    PutLengthPrefixed(out, m.name);
    PutLengthPrefixed(out, m.value);
  }
}

bool GetEntry(std::string_view* in, LogEntry* e) {
  std::string_view line;
  uint64_t n;
  if (!GetVarsint64(in, &e->ts_ns) || !GetLengthPrefixed(in, &line) || !GetVarint64(in, &n) || n > in->size()) {
    return false;
  }
  e->line = std::string(line);
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view k, v;
    if (!GetLengthPrefixed(in, &k) || !GetLengthPrefixed(in, &v)) return false;
    e->metadata.push_back({std::string(k), std::string(v)});
  }
  return true;
}

std::string StreamRecord(uint64_t id, const Labels& ls) {
  std::string r(1, kStreamRecord);
  PutVarint64(&r, id);
  PutVarint64(&r, ls.size());
  for (const Label& l : ls) {
    PutLengthPrefixed(&r, l.name);
    PutLengthPrefixed(&r, l.value);
  }
  return r;
}

size_t EntryBytes(const LogEntry& e) {
  size_t n = e.line.size();
  for (const Label& m : e.metadata) n += m.name.size() + m.value.size();
  return n;
}

std::string SnapshotName(int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "snapshot.%08d", n);
  return buf;
}

}  // namespace

LogStore::LogStore(std::string dir, LogStoreOptions opts) : dir_(std::move(dir)), opts_(std::move(opts)) {}

LogStore::~LogStore() { Close().IgnoreError(); }

Result<std::unique_ptr<LogStore>> LogStore::Open(const std::string& dir, const LogStoreOptions& opts) {
  RETURN_IF_ERROR(CreateDirs(dir));
  std::unique_ptr<LogStore> s(new LogStore(dir, opts));
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
  int snap = -1;
  for (const std::string& n : names) {
    if (n.rfind("snapshot.", 0) == 0 && n.size() == 17 && n.find(".tmp") == std::string::npos) {
      snap = std::max(snap, std::atoi(n.c_str() + 9));
    }
  }
  if (snap >= 0) RETURN_IF_ERROR(s->LoadSnapshot(dir + "/" + SnapshotName(snap)).WithContext("log store snapshot"));
  const std::string wal_dir = dir + "/wal";
  wal::ReplayStats rs;
  if (std::filesystem::exists(wal_dir)) {
    RETURN_IF_ERROR(wal::Replay(wal_dir, snap + 1, [&](std::string_view rec) { return s->ApplyRecord(rec); }, &rs)
                        .WithContext("log store WAL replay"));
  }
  ASSIGN_OR_RETURN(s->wal_, wal::Wal::Open(wal_dir, opts.wal));
  if (rs.records > 0) spdlog::info("logs: replayed {} WAL records, {} streams", rs.records, s->by_labels_.size());
  return s;
}

LogStore::Stream* LogStore::GetOrCreateLocked(const Labels& ls, bool* created) {
  auto it = by_labels_.find(ls);
  if (it != by_labels_.end()) {
    *created = false;
    return streams_[it->second].get();
  }
  *created = true;
  uint64_t id = streams_.size();
  auto st = std::make_unique<Stream>();
  st->id = id;
  st->labels = ls;
  by_labels_[ls] = id;
  for (const Label& l : ls) postings_[l.name][l.value].push_back(id);
  streams_.push_back(std::move(st));
  return streams_.back().get();
}

void LogStore::AppendLocked(Stream* s, LogEntry e) {
  s->head_bytes += EntryBytes(e) + 16;
  s->max_ts_ns = std::max(s->max_ts_ns, e.ts_ns);
  if (s->head.empty() || s->head.back().ts_ns <= e.ts_ns) {
    s->head.push_back(std::move(e));
  } else {
    auto pos = std::upper_bound(s->head.begin(), s->head.end(), e.ts_ns,
                                [](int64_t t, const LogEntry& x) { return t < x.ts_ns; });
    s->head.insert(pos, std::move(e));
  }
  if (s->head_bytes >= opts_.block_size_bytes) SealLocked(s);
}

void LogStore::SealLocked(Stream* s) {
  if (s->head.empty()) return;
  BlockBuilder b;
  for (const LogEntry& e : s->head) b.Add(e);
  Block blk{s->head.front().ts_ns, s->head.back().ts_ns, s->head.size(),
            std::make_shared<const std::string>(b.Finish(opts_.zstd_level))};
  s->blocks.push_back(std::move(blk));
  s->head.clear();
  s->head_bytes = 0;
}

Status LogStore::ApplyRecord(std::string_view rec) {
  if (rec.empty()) return Status::Corruption("empty log record");
  char type = rec[0];
  rec.remove_prefix(1);
  uint64_t id;
  if (!GetVarint64(&rec, &id) || id > (1u << 30)) return Status::Corruption("log record: bad stream id");
  if (type == kStreamRecord) {
    uint64_t n;
    if (!GetVarint64(&rec, &n) || n > rec.size()) return Status::Corruption("log stream record: bad count");
    std::vector<Label> ls;
    for (uint64_t i = 0; i < n; ++i) {
      std::string_view k, v;
      if (!GetLengthPrefixed(&rec, &k) || !GetLengthPrefixed(&rec, &v)) return Status::Corruption("log stream record: bad label");
      ls.push_back({std::string(k), std::string(v)});
    }
    auto labels = Labels::FromUnsorted(std::move(ls));
    if (!labels.ok()) return Status::Corruption("log stream record: " + labels.status().message());
    if (streams_.size() <= id) streams_.resize(id + 1);
    if (!streams_[id]) {
      auto st = std::make_unique<Stream>();
      st->id = id;
      st->labels = *labels;
      by_labels_[*labels] = id;
      for (const Label& l : *labels) postings_[l.name][l.value].push_back(id);
      streams_[id] = std::move(st);
    }
    return Status::OK();
  }
  if (id >= streams_.size() || !streams_[id]) return Status::Corruption("log record for an unknown stream");
  Stream* s = streams_[id].get();
  if (type == kEntriesRecord) {
    uint64_t n;
    if (!GetVarint64(&rec, &n) || n > rec.size()) return Status::Corruption("log entries record: bad count");
    for (uint64_t i = 0; i < n; ++i) {
      LogEntry e;
      if (!GetEntry(&rec, &e)) return Status::Corruption("log entries record: bad entry");
      AppendLocked(s, std::move(e));
    }
    return Status::OK();
  }
  if (type == kBlockRecord) {
    ASSIGN_OR_RETURN(BlockHeader h, ReadBlockHeader(rec));
    s->blocks.push_back({h.min_ts_ns, h.max_ts_ns, h.count,
                         std::make_shared<const std::string>(rec.substr(0, h.size_bytes))});
    s->max_ts_ns = std::max(s->max_ts_ns, h.max_ts_ns);
    return Status::OK();
  }
  return Status::Corruption("unknown log record type");
}

Status LogStore::Push(const std::vector<PushStream>& push) {
  std::unique_lock lock(mu_);
  if (closed_ || !wal_) return Status::Unavailable("log store is closed");
  std::vector<std::string> records;
  struct Planned {
    const Labels* labels;
    std::vector<const LogEntry*> entries;
  };
  std::vector<Planned> plan;
  std::map<Labels, uint64_t> new_ids;
  uint64_t next_id = streams_.size();
  size_t rejected = 0;
  std::string first_reject;
  for (const PushStream& ps : push) {
    if (ps.entries.empty()) continue;
    uint64_t id;
    int64_t newest = INT64_MIN;
    auto it = by_labels_.find(ps.labels);
    if (it != by_labels_.end()) {
      id = it->second;
      newest = streams_[id]->max_ts_ns;
    } else {
      auto n = new_ids.find(ps.labels);
      if (n == new_ids.end()) {
        id = next_id++;
        new_ids[ps.labels] = id;
        records.push_back(StreamRecord(id, ps.labels));
      } else {
        id = n->second;
      }
    }
    Planned p{&ps.labels, {}};
    std::vector<const LogEntry*> sorted;
    for (const LogEntry& e : ps.entries) sorted.push_back(&e);
    std::stable_sort(sorted.begin(), sorted.end(), [](const LogEntry* a, const LogEntry* b) { return a->ts_ns < b->ts_ns; });
    int64_t max_in_push = sorted.back()->ts_ns;
    int64_t ref = std::max(newest, max_in_push);
    std::string rec(1, kEntriesRecord);
    PutVarint64(&rec, id);
    std::string body;
    for (const LogEntry* e : sorted) {
      if (opts_.ooo_window_ns > 0 && ref != INT64_MIN && e->ts_ns < ref - opts_.ooo_window_ns) {
        if (rejected++ == 0) {
          first_reject = "entry for stream '" + ps.labels.ToString() + "' has timestamp too old: " +
                         std::to_string(e->ts_ns) + ", oldest acceptable timestamp is: " +
                         std::to_string(ref - opts_.ooo_window_ns);
        }
        continue;
      }
      PutEntry(&body, *e);
      p.entries.push_back(e);
    }
    if (p.entries.empty()) continue;
    PutVarint64(&rec, p.entries.size());
    rec += body;
    records.push_back(std::move(rec));
    plan.push_back(std::move(p));
  }
  if (!records.empty()) {
    std::vector<std::string_view> views(records.begin(), records.end());
    RETURN_IF_ERROR(wal_->Log(views));
  }
  for (const Planned& p : plan) {
    bool created;
    Stream* s = GetOrCreateLocked(*p.labels, &created);
    for (const LogEntry* e : p.entries) AppendLocked(s, *e);
  }
  {
    std::lock_guard tl(tail_mu_);
    for (const Planned& p : plan) {
      std::vector<LogEntry> copy;  // built only when some tailer wants this stream
      for (const auto& [id, t] : tails_) {
        if (!MatchesAll(t.matchers, *p.labels)) continue;
        if (copy.empty()) {
          for (const LogEntry* e : p.entries) copy.push_back(*e);
        }
        t.sink->OnEntries(*p.labels, copy);
      }
    }
  }
  if (rejected > 0) {
    return Status::OutOfOrder(first_reject + (rejected > 1 ? " (and " + std::to_string(rejected - 1) + " more)" : ""));
  }
  return Status::OK();
}

std::vector<const LogStore::Stream*> LogStore::MatchLocked(const std::vector<Matcher>& ms) const {
  std::vector<uint64_t> cand;
  bool have = false;
  for (const Matcher& m : ms) {
    if (m.type() != MatchType::kEqual || m.value().empty()) continue;
    std::vector<uint64_t> ids;
    auto n = postings_.find(m.name());
    if (n != postings_.end()) {
      auto v = n->second.find(m.value());
      if (v != n->second.end()) ids = v->second;
    }
    if (!have) {
      cand = std::move(ids);
      have = true;
    } else {
      std::vector<uint64_t> out;
      std::set_intersection(cand.begin(), cand.end(), ids.begin(), ids.end(), std::back_inserter(out));
      cand = std::move(out);
    }
  }
  std::vector<const Stream*> out;
  if (have) {
    for (uint64_t id : cand) {
      const Stream* s = streams_[id].get();
      if (s && MatchesAll(ms, s->labels)) out.push_back(s);
    }
  } else {
    for (const auto& s : streams_) {
      if (s && MatchesAll(ms, s->labels)) out.push_back(s.get());
    }
  }
  return out;
}

void LogStore::AddResident(int64_t delta_bytes) const {
  int64_t now = resident_bytes_.fetch_add(delta_bytes) + delta_bytes;
  int64_t peak = peak_resident_bytes_.load();
  while (now > peak && !peak_resident_bytes_.compare_exchange_weak(peak, now)) {
  }
}

// One stream's blocks in [start, end], grouped into clusters of time-overlapping blocks (one
// block each unless out-of-order entries made blocks overlap); the in-range head is the last
// member. Next decodes one cluster into a reused batch, merging a multi-block cluster by time
// (stable: equal timestamps keep block order, which is arrival order).
class LogStore::Cursor : public EntryCursor {
 public:
  struct Member {
    int64_t min_ts_ns, max_ts_ns;
    uint64_t count;
    size_t seq;                                 // arrival order: block index, head last
    std::shared_ptr<const std::string> bytes;  // null: the head copy
  };

  Cursor(const LogStore* store, std::vector<Member> members, std::vector<LogEntry> head, int64_t start_ns,
         int64_t end_ns, Order order, std::vector<std::string> needles)
      : store_(store), head_(std::move(head)), start_(start_ns), end_(end_ns), order_(order),
        needles_(std::move(needles)) {
    std::stable_sort(members.begin(), members.end(),
                     [](const Member& a, const Member& b) { return a.min_ts_ns < b.min_ts_ns; });
    for (Member& m : members) {
      if (clusters_.empty() || m.min_ts_ns > cluster_max_) {
        clusters_.emplace_back();
        cluster_max_ = m.max_ts_ns;
      }
      cluster_max_ = std::max(cluster_max_, m.max_ts_ns);
      clusters_.back().push_back(std::move(m));
    }
    for (auto& c : clusters_) {
      std::sort(c.begin(), c.end(), [](const Member& a, const Member& b) { return a.seq < b.seq; });
    }
    next_ = order_ == Order::kForward ? 0 : clusters_.size();
    resident_ = HeadBytes();
    store_->AddResident(resident_);
  }
  ~Cursor() override { store_->AddResident(-resident_); }

  Result<std::span<const LogEntry>> Next() override {
    while (order_ == Order::kForward ? next_ < clusters_.size() : next_ > 0) {
      const std::vector<Member>& c = order_ == Order::kForward ? clusters_[next_++] : clusters_[--next_];
      size_t n = 0;
      for (const Member& m : c) {
        if (!m.bytes) {
          for (const LogEntry& e : head_) {
            if (batch_.size() <= n) batch_.resize(n + 1);
            batch_[n++] = e;
          }
          continue;
        }
        ASSIGN_OR_RETURN(BlockHeader h, ReadBlockHeader(*m.bytes));
        if (!needles_.empty() && !BlockMayContain(h, needles_)) {
          store_->blocks_filtered_.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        RETURN_IF_ERROR(DecompressBlock(*m.bytes, h, &raw_));
        store_->blocks_decoded_.fetch_add(1, std::memory_order_relaxed);
        ASSIGN_OR_RETURN(size_t k, ParseRawInto(raw_, m.count, m.min_ts_ns, start_, end_, needles_, &scratch_));
        for (size_t i = 0; i < k; ++i) {
          if (batch_.size() <= n) batch_.resize(n + 1);
          std::swap(batch_[n++], scratch_[i]);
        }
      }
      if (c.size() > 1) {
        std::stable_sort(batch_.begin(), batch_.begin() + static_cast<ptrdiff_t>(n),
                         [](const LogEntry& a, const LogEntry& b) { return a.ts_ns < b.ts_ns; });
      }
      Account(n);
      if (n > 0) return std::span<const LogEntry>(batch_.data(), n);
    }
    return std::span<const LogEntry>();
  }

 private:
  size_t HeadBytes() const {
    size_t b = head_.capacity() * sizeof(LogEntry);
    for (const LogEntry& e : head_) b += e.line.capacity();
    return b;
  }
  // Re-counts what this cursor holds: head copy, decompression buffer, batch strings.
  void Account(size_t n) {
    int64_t now = static_cast<int64_t>(HeadBytes() + raw_.capacity() +
                                       (batch_.capacity() + scratch_.capacity()) * sizeof(LogEntry));
    for (size_t i = 0; i < n; ++i) now += static_cast<int64_t>(batch_[i].line.capacity());
    store_->AddResident(now - resident_);
    resident_ = now;
  }

  const LogStore* store_;
  std::vector<std::vector<Member>> clusters_;
  int64_t cluster_max_ = INT64_MIN;
  std::vector<LogEntry> head_;
  const int64_t start_, end_;
  const Order order_;
  const std::vector<std::string> needles_;
  size_t next_ = 0;
  std::string raw_;                 // decompression buffer, reused
  std::vector<LogEntry> scratch_;   // one block's parsed entries, reused
  std::vector<LogEntry> batch_;     // the cluster's entries, reused
  int64_t resident_ = 0;
};

Result<std::vector<StreamCursor>> LogStore::Open(const std::vector<Matcher>& matchers, int64_t start_ns,
                                                 int64_t end_ns, Order order, const SelectHints* hints) const {
  std::vector<std::string> needles;
  if (hints) needles = hints->line_contains;
  auto wanted = [&](std::string_view line) {
    for (const std::string& n : needles) {
      if (line.find(n) == std::string_view::npos) return false;
    }
    return true;
  };
  std::vector<StreamCursor> out;
  std::shared_lock lock(mu_);
  for (const Stream* s : MatchLocked(matchers)) {
    std::vector<Cursor::Member> members;
    for (size_t i = 0; i < s->blocks.size(); ++i) {
      const Block& b = s->blocks[i];
      if (b.max_ts_ns < start_ns || b.min_ts_ns > end_ns) continue;
      members.push_back({b.min_ts_ns, b.max_ts_ns, b.count, i, b.bytes});
    }
    std::vector<LogEntry> head;
    for (const LogEntry& e : s->head) {
      if (e.ts_ns >= start_ns && e.ts_ns <= end_ns && wanted(e.line)) head.push_back(e);
    }
    if (!head.empty()) members.push_back({head.front().ts_ns, head.back().ts_ns, head.size(), s->blocks.size(), nullptr});
    if (members.empty()) continue;
    out.push_back({s->labels, std::make_unique<Cursor>(this, std::move(members), std::move(head), start_ns, end_ns,
                                                       order, needles)});
  }
  return out;
}

std::vector<Labels> LogStore::Series(const std::vector<Matcher>& ms, int64_t start_ns, int64_t end_ns) const {
  std::shared_lock lock(mu_);
  std::vector<Labels> out;
  for (const Stream* s : MatchLocked(ms)) {
    bool overlap = false;
    for (const Block& b : s->blocks) overlap |= !(b.max_ts_ns < start_ns || b.min_ts_ns > end_ns);
    for (const LogEntry& e : s->head) {
      if (overlap) break;
      overlap = e.ts_ns >= start_ns && e.ts_ns <= end_ns;
    }
    if (overlap) out.push_back(s->labels);
  }
  return out;
}

std::vector<std::string> LogStore::LabelNames(const std::vector<Matcher>& ms, int64_t start_ns, int64_t end_ns) const {
  std::set<std::string> names;
  for (const Labels& ls : Series(ms, start_ns, end_ns)) {
    for (const Label& l : ls) names.insert(l.name);
  }
  return {names.begin(), names.end()};
}

std::vector<std::string> LogStore::LabelValues(const std::string& name, const std::vector<Matcher>& ms,
                                               int64_t start_ns, int64_t end_ns) const {
  std::set<std::string> values;
  for (const Labels& ls : Series(ms, start_ns, end_ns)) {
    std::string_view v = ls.Get(name);
    if (!v.empty()) values.insert(std::string(v));
  }
  return {values.begin(), values.end()};
}

Status LogStore::ApplyRetention(int64_t now_ns) {
  if (opts_.retention_ns <= 0) return Status::OK();
  const int64_t cutoff = now_ns - opts_.retention_ns;
  std::unique_lock lock(mu_);
  for (auto& sp : streams_) {
    if (!sp) continue;
    Stream* s = sp.get();
    std::erase_if(s->blocks, [&](const Block& b) { return b.max_ts_ns < cutoff; });
    std::erase_if(s->head, [&](const LogEntry& e) { return e.ts_ns < cutoff; });
    if (s->blocks.empty() && s->head.empty()) {
      for (const Label& l : s->labels) {
        auto& ids = postings_[l.name][l.value];
        std::erase(ids, s->id);
        if (ids.empty()) postings_[l.name].erase(l.value);
      }
      by_labels_.erase(s->labels);
      sp.reset();
    }
  }
  return Status::OK();
}

std::string LogStore::SerializeLocked() const {
  std::string out;
  PutFixed32(&out, kSnapshotMagic);
  auto put = [&](const std::string& rec) {
    PutVarint64(&out, rec.size());
    out += rec;
  };
  for (const auto& sp : streams_) {
    if (!sp) continue;
    put(StreamRecord(sp->id, sp->labels));
    for (const Block& b : sp->blocks) {
      std::string rec(1, kBlockRecord);
      PutVarint64(&rec, sp->id);
      rec += *b.bytes;
      put(rec);
    }
    if (!sp->head.empty()) {
      std::string rec(1, kEntriesRecord);
      PutVarint64(&rec, sp->id);
      PutVarint64(&rec, sp->head.size());
      for (const LogEntry& e : sp->head) PutEntry(&rec, e);
      put(rec);
    }
  }
  PutFixed32(&out, crc32c::Value(out.data(), out.size()));
  return out;
}

Status LogStore::LoadSnapshot(const std::string& path) {
  ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  if (data.size() < 8 || DecodeFixed32(data.data()) != kSnapshotMagic) return Status::Corruption(path + ": bad magic");
  uint32_t want = DecodeFixed32(data.data() + data.size() - 4);
  if (crc32c::Value(data.data(), data.size() - 4) != want) return Status::Corruption(path + ": checksum mismatch");
  std::string_view in(data.data() + 4, data.size() - 8);
  while (!in.empty()) {
    uint64_t n;
    if (!GetVarint64(&in, &n) || n > in.size()) return Status::Corruption(path + ": bad record length");
    RETURN_IF_ERROR(ApplyRecord(in.substr(0, n)).WithContext(path));
    in.remove_prefix(n);
  }
  return Status::OK();
}

Status LogStore::Snapshot() {
  std::unique_lock lock(mu_);
  if (closed_ || !wal_) return Status::Unavailable("log store is closed");
  for (auto& sp : streams_) {
    if (sp) SealLocked(sp.get());
  }
  ASSIGN_OR_RETURN(int next, wal_->NextSegment());
  const std::string name = SnapshotName(next - 1);
  RETURN_IF_ERROR(WriteFileAtomic(dir_ + "/" + name, SerializeLocked()));
  RETURN_IF_ERROR(wal_->TruncateBefore(next));
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir_));
  for (const std::string& n : names) {
    if (n.rfind("snapshot.", 0) == 0 && n != name) RemoveAll(dir_ + "/" + n).IgnoreError();  // stale: superseded
  }
  return Status::OK();
}

Status LogStore::Close() {
  {
    std::shared_lock lock(mu_);
    if (closed_ || !wal_) return Status::OK();
  }
  Status st = Snapshot();
  std::unique_lock lock(mu_);
  closed_ = true;
  Status c = wal_->Close();
  return st.ok() ? c : st;
}

uint64_t LogStore::AddTailSink(std::vector<Matcher> matchers, TailSink* sink) {
  std::lock_guard tl(tail_mu_);
  uint64_t id = next_tail_id_++;
  tails_[id] = Tail{std::move(matchers), sink};
  return id;
}

void LogStore::RemoveTailSink(uint64_t id) {
  std::lock_guard tl(tail_mu_);
  tails_.erase(id);
}

LogStoreStats LogStore::stats() const {
  std::shared_lock lock(mu_);
  LogStoreStats st;
  for (const auto& sp : streams_) {
    if (!sp) continue;
    ++st.streams;
    for (const Block& b : sp->blocks) {
      ++st.blocks;
      st.entries += b.count;
      st.compressed_bytes += b.bytes->size();
    }
    st.entries += sp->head.size();
    st.raw_bytes += sp->head_bytes;
  }
  st.blocks_decoded = blocks_decoded_.load();
  st.blocks_filtered = blocks_filtered_.load();
  st.peak_resident_bytes = static_cast<uint64_t>(peak_resident_bytes_.load());
  return st;
}

}  // namespace argus::logstore
