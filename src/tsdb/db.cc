#include "tsdb/db.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <limits>
#include <set>

#include <spdlog/spdlog.h>

#include "tsdb/compact.h"
#include "tsdb/st_column.h"
#include "tsdb/wal_records.h"
#include "util/file.h"

namespace argus::tsdb {

namespace {

constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

int64_t FloorTo(int64_t t, int64_t range) {
  int64_t q = t / range;
  if (t % range != 0 && t < 0) --q;
  return q * range;
}

// Merges the samples of series with equal labels: sorted by time, first source wins ties.
std::vector<Sample> MergeSampleLists(std::vector<std::vector<Sample>> lists) {
  if (lists.size() == 1) return std::move(lists[0]);
  std::vector<Sample> all;
  for (auto& l : lists) all.insert(all.end(), l.begin(), l.end());
  std::stable_sort(all.begin(), all.end(),
                   [](const Sample& a, const Sample& b) { return a.t_ms < b.t_ms; });
  auto last = std::unique(all.begin(), all.end(),
                          [](const Sample& a, const Sample& b) { return a.t_ms == b.t_ms; });
  all.erase(last, all.end());
  return all;
}

// The same for histogram samples.
std::vector<HistogramSample> MergeHistogramLists(std::vector<std::vector<HistogramSample>> lists) {
  std::vector<HistogramSample> all;
  for (auto& l : lists) {
    for (auto& h : l) all.push_back(std::move(h));
  }
  std::stable_sort(all.begin(), all.end(), [](const HistogramSample& a, const HistogramSample& b) {
    return a.t_ms < b.t_ms;
  });
  auto last = std::unique(all.begin(), all.end(), [](const HistogramSample& a,
                                                     const HistogramSample& b) {
    return a.t_ms == b.t_ms;
  });
  all.erase(last, all.end());
  return all;
}

std::vector<std::string> UnionSorted(std::vector<std::vector<std::string>> lists) {
  std::set<std::string> s;
  for (auto& l : lists) s.insert(std::make_move_iterator(l.begin()), std::make_move_iterator(l.end()));
  return {s.begin(), s.end()};
}

// A Querier over the head and a set of blocks. Holds the blocks (shared) so that deleting
// them from the DB does not invalidate a running query.
class MergeQuerier : public Querier {
 public:
  MergeQuerier(std::vector<std::unique_ptr<Querier>> queriers,
               std::vector<std::shared_ptr<Block>> blocks)
      : queriers_(std::move(queriers)), blocks_(std::move(blocks)) {}

  Result<std::vector<Series>> Select(const std::vector<Matcher>& matchers,
                                     const SelectHints& hints) override {
    if (queriers_.size() == 1) return queriers_[0]->Select(matchers, hints);
    std::vector<Series> all;
    for (auto& q : queriers_) {
      ASSIGN_OR_RETURN(std::vector<Series> ss, q->Select(matchers, hints));
      for (auto& s : ss) all.push_back(std::move(s));
    }
    // Stable: for equal labels the earlier querier (older block, head last) comes first.
    std::stable_sort(all.begin(), all.end(),
                     [](const Series& a, const Series& b) { return a.labels < b.labels; });
    std::vector<Series> out;
    for (size_t i = 0; i < all.size();) {
      size_t j = i + 1;
      while (j < all.size() && all[j].labels == all[i].labels) ++j;
      if (j == i + 1) {
        out.push_back(std::move(all[i]));
      } else {
        std::vector<std::vector<Sample>> lists;
        std::vector<std::vector<HistogramSample>> hlists;
        std::vector<SampleST> sts;
        for (size_t k = i; k < j; ++k) {
          lists.push_back(std::move(all[k].samples));
          hlists.push_back(std::move(all[k].histograms));
          sts = MergeByTime(std::move(sts), all[k].sample_st);
        }
        out.push_back(Series{std::move(all[i].labels), MergeSampleLists(std::move(lists)),
                             MergeHistogramLists(std::move(hlists)), std::move(sts)});
      }
      i = j;
    }
    return out;
  }

  Result<std::vector<std::string>> LabelNames(const std::vector<Matcher>& matchers) override {
    std::vector<std::vector<std::string>> lists;
    for (auto& q : queriers_) {
      ASSIGN_OR_RETURN(std::vector<std::string> l, q->LabelNames(matchers));
      lists.push_back(std::move(l));
    }
    return UnionSorted(std::move(lists));
  }

  Result<std::vector<std::string>> LabelValues(std::string_view name,
                                               const std::vector<Matcher>& matchers) override {
    std::vector<std::vector<std::string>> lists;
    for (auto& q : queriers_) {
      ASSIGN_OR_RETURN(std::vector<std::string> l, q->LabelValues(name, matchers));
      lists.push_back(std::move(l));
    }
    return UnionSorted(std::move(lists));
  }

 private:
  std::vector<std::unique_ptr<Querier>> queriers_;
  std::vector<std::shared_ptr<Block>> blocks_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Appender

class DB::DbAppender : public Appender {
 public:
  explicit DbAppender(DB* db) : db_(db) {}
  ~DbAppender() override { Rollback(); }

  Status Append(const Labels& labels, int64_t t_ms, double v) override {
    return AppendSample(labels, t_ms, v);
  }

  Status AppendBorrowed(const LabelsView& labels, int64_t t_ms, double v) override {
    return AppendSample(labels, t_ms, v);
  }

  Status AppendWithST(const Labels& labels, int64_t st_ms, int64_t t_ms, double v) override {
    return AppendSample(labels, t_ms, v, st_ms);
  }

  Status AppendBorrowedWithST(const LabelsView& labels, int64_t st_ms, int64_t t_ms,
                              double v) override {
    return AppendSample(labels, t_ms, v, st_ms);
  }

  Status AppendHistogram(const Labels& labels, const HistogramSample& s) override {
    if (done_) return Status::Internal("appender used after Commit or Rollback");
    Status valid = std::visit([](const auto& h) { return h.Validate(); }, s.value);
    if (!valid.ok()) {
      return Status::InvalidArgument("invalid histogram for series " + labels.ToString() + ": " +
                                     valid.message());
    }
    if (s.t_ms < db_->head_->AppendableMinTime()) return Status::OutOfOrder("out of bounds");
    ASSIGN_OR_RETURN(uint64_t ref, Ref(labels));
    RETURN_IF_ERROR(db_->head_->CheckHistogram(ref, s));
    histograms_.push_back(RefHistogramSample{ref, s});
    return Status::OK();
  }

  Status AppendExemplar(const Labels& labels, const Exemplar& e) override {
    if (done_) return Status::Internal("appender used after Commit or Rollback");
    ASSIGN_OR_RETURN(uint64_t ref, Ref(labels));
    RETURN_IF_ERROR(db_->head_->CheckExemplar(ref, e));
    exemplars_.push_back(RefExemplar{ref, e});
    return Status::OK();
  }

  Status UpdateMetadata(const MetricMetadata& md) override {
    if (done_) return Status::Internal("appender used after Commit or Rollback");
    if (md.metric_family.empty()) return Status::InvalidArgument("metadata without a metric name");
    metadata_.push_back(md);
    return Status::OK();
  }

  Status Commit() override {
    if (done_) return Status::Internal("appender used after Commit or Rollback");
    Status st = CommitLocked();
    Rollback();  // releases the pins; the batch is applied or dropped by now
    return st;
  }

  void Rollback() override {
    if (done_) return;
    done_ = true;
    for (uint64_t ref : pinned_) db_->head_->Unpin(ref);
    pinned_.clear();
    samples_.clear();
    with_st_ = false;
    histograms_.clear();
    exemplars_.clear();
    metadata_.clear();
  }

 private:
  // The series ref for `labels`, from the head (created if new), pinned until the batch ends.
  // A series named twice in a batch is pinned twice; each pin is released once.
  template <class LabelSet>
  Status AppendSample(const LabelSet& labels, int64_t t_ms, double v, int64_t st_ms = 0) {
    if (done_) return Status::Internal("appender used after Commit or Rollback");
    if (t_ms < db_->head_->AppendableMinTime()) return Status::OutOfOrder("out of bounds");
    ASSIGN_OR_RETURN(uint64_t ref, Ref(labels));
    RETURN_IF_ERROR(db_->head_->CheckSample(ref, t_ms, v));
    samples_.push_back(RefSample{ref, t_ms, v, st_ms});
    if (st_ms != 0) with_st_ = true;
    return Status::OK();
  }

  template <class LabelSet>
  Result<uint64_t> Ref(const LabelSet& labels) {
    bool created;
    ASSIGN_OR_RETURN(uint64_t ref, db_->head_->GetOrCreate(labels, &created));
    pinned_.push_back(ref);
    return ref;
  }

  Status CommitLocked() {
    std::shared_lock gate(db_->commit_gate_);
    if (db_->closed_.load()) return Status::Unavailable("the TSDB is closed");
    Head& head = *db_->head_;
    // Re-check: another commit may have made a sample out of order since Append. Such
    // samples are dropped here, before the WAL, so that replay sees what the head keeps.
    std::erase_if(samples_, [&](const RefSample& s) {
      return !head.CheckSample(s.ref, s.t_ms, s.v).ok();
    });
    std::erase_if(histograms_, [&](const RefHistogramSample& s) {
      return !head.CheckHistogram(s.ref, s.sample).ok();
    });
    std::vector<RefSeries> new_series;
    std::vector<uint64_t> refs = pinned_;
    std::sort(refs.begin(), refs.end());
    refs.erase(std::unique(refs.begin(), refs.end()), refs.end());
    for (uint64_t ref : refs) {
      if (!head.SeriesNeedsRecord(ref)) continue;
      Result<Labels> ls = head.SeriesLabels(ref);
      if (ls.ok()) new_series.push_back(RefSeries{ref, std::move(*ls)});
    }
    std::vector<std::string> recs;
    if (!new_series.empty()) EncodeSeriesRecord(new_series, &recs.emplace_back());
    if (!with_st_) {
      if (!samples_.empty()) EncodeSamplesRecord(samples_, &recs.emplace_back());
    } else {
      // Samples with a start timestamp go to their own record type (wal_records.h).
      std::vector<RefSample> plain, st;
      for (const auto& smp : samples_) (smp.st_ms != 0 ? st : plain).push_back(smp);
      if (!plain.empty()) EncodeSamplesRecord(plain, &recs.emplace_back());
      if (!st.empty()) EncodeSamplesWithSTRecord(st, &recs.emplace_back());
    }
    if (!histograms_.empty()) EncodeHistogramSamplesRecord(histograms_, &recs.emplace_back());
    if (!exemplars_.empty()) EncodeExemplarsRecord(exemplars_, &recs.emplace_back());
    if (!metadata_.empty()) EncodeMetadataRecord(metadata_, &recs.emplace_back());
    if (recs.empty()) return Status::OK();
    std::vector<std::string_view> views(recs.begin(), recs.end());
    RETURN_IF_ERROR(db_->wal_->Log(views).WithContext("writing the WAL"));
    for (const auto& s : new_series) head.MarkSeriesLogged(s.ref);
    for (const auto& s : samples_) head.Append(s.ref, s.t_ms, s.v, s.st_ms).IgnoreError();  // raced: dropped
    for (const auto& h : histograms_) head.AppendHistogram(h.ref, h.sample).IgnoreError();
    for (const auto& e : exemplars_) head.AppendExemplar(e.ref, e.exemplar).IgnoreError();
    for (const auto& md : metadata_) head.SetMetadata(md);
    return Status::OK();
  }

  DB* db_;
  bool done_ = false;
  std::vector<RefSample> samples_;
  bool with_st_ = false;  // some sample of samples_ has a start timestamp
  std::vector<RefHistogramSample> histograms_;
  std::vector<RefExemplar> exemplars_;
  std::vector<MetricMetadata> metadata_;
  std::vector<uint64_t> pinned_;
};

// ---------------------------------------------------------------------------------------------
// Open, replay, close

DB::DB(std::string dir, DbOptions opts) : dir_(std::move(dir)), opts_(std::move(opts)) {
  HeadOptions ho;
  ho.chunk_range_ms = opts_.block_range_ms;
  ho.ooo_window_ms = opts_.ooo_window_ms;
  head_ = std::make_unique<Head>(ho);
}

DB::~DB() {
  Close().IgnoreError();  // destructors cannot report; callers wanting the error call Close
}

Result<std::unique_ptr<DB>> DB::Open(const std::string& dir, const DbOptions& opts) {
  if (opts.block_range_ms <= 0) return Status::InvalidArgument("block range must be positive");
  RETURN_IF_ERROR(CreateDirs(dir));
  std::unique_ptr<DB> db(new DB(dir, opts));
  RETURN_IF_ERROR(db->Lock());
  RETURN_IF_ERROR(db->LoadBlocks());
  RETURN_IF_ERROR(db->ReplayWal());
  ASSIGN_OR_RETURN(db->wal_, wal::Wal::Open(dir + "/wal", opts.wal));
  return db;
}

Status DB::Lock() {
  const std::string path = dir_ + "/lock";
  lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return Status::FromErrno("opening " + path, errno);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Status::Unavailable("the data directory " + dir_ + " is in use by another process");
  }
  return Status::OK();
}

Status DB::LoadBlocks() {
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir_));
  std::vector<std::shared_ptr<Block>> blocks;
  for (const auto& name : names) {
    const std::string path = dir_ + "/" + name;
    if (EndsWith(name, ".tmp") || EndsWith(name, ".deleted")) {
      // An interrupted block write or deletion.
      RETURN_IF_ERROR(RemoveAll(path));
      continue;
    }
    if (!IsUlid(name)) continue;
    Result<std::shared_ptr<Block>> b = Block::Open(path);
    if (!b.ok()) return b.status().WithContext("opening block " + path);
    blocks.push_back(std::move(*b));
  }
  // A compaction that crashed after writing its output but before deleting its inputs leaves
  // blocks whose sources are all covered by a bigger block: they are duplicates.
  std::vector<std::shared_ptr<Block>> keep;
  for (const auto& b : blocks) {
    std::set<std::string> srcs(b->meta().sources.begin(), b->meta().sources.end());
    if (srcs.empty()) srcs.insert(b->meta().ulid);
    bool covered = false;
    for (const auto& other : blocks) {
      if (other == b || other->meta().sources.size() <= srcs.size()) continue;
      std::set<std::string> osrcs(other->meta().sources.begin(), other->meta().sources.end());
      if (std::includes(osrcs.begin(), osrcs.end(), srcs.begin(), srcs.end())) covered = true;
    }
    if (covered) {
      spdlog::info("tsdb: deleting block {} already merged into a compacted block",
                   b->meta().ulid);
      RETURN_IF_ERROR(DeleteBlockDir(b));
    } else {
      keep.push_back(b);
    }
  }
  std::sort(keep.begin(), keep.end(), [](const auto& a, const auto& b) {
    return a->meta().min_time_ms < b->meta().min_time_ms;
  });
  int64_t max_block_time = kMinTime;
  for (const auto& b : keep) max_block_time = std::max(max_block_time, b->meta().max_time_ms);
  if (max_block_time != kMinTime) head_->SetMinValidTime(max_block_time);
  std::lock_guard lock(blocks_mu_);
  blocks_ = std::move(keep);
  return Status::OK();
}

Status DB::ReplayRecord(std::string_view rec) {
  ASSIGN_OR_RETURN(WalRecordType type, WalRecordTypeOf(rec));
  auto resolve = [this](uint64_t ref) {
    auto it = replay_alias_.find(ref);
    return it == replay_alias_.end() ? ref : it->second;
  };
  switch (type) {
    case WalRecordType::kSeries: {
      std::vector<RefSeries> series;
      RETURN_IF_ERROR(DecodeSeriesRecord(rec, &series));
      for (auto& s : series) {
        Result<uint64_t> ref = head_->CreateWithRef(s.ref, s.labels);
        if (!ref.ok()) {
          ++replay_stats_.series_conflicts;
          spdlog::warn("tsdb: WAL replay skipped a series record: {}", ref.status().ToString());
          continue;
        }
        if (*ref != s.ref) replay_alias_[s.ref] = *ref;
        ++replay_stats_.series;
      }
      break;
    }
    case WalRecordType::kSamples: {
      std::vector<RefSample> samples;
      RETURN_IF_ERROR(DecodeSamplesRecord(rec, &samples));
      for (const auto& s : samples) {
        if (head_->Append(resolve(s.ref), s.t_ms, s.v).ok()) {
          ++replay_stats_.samples;
        } else {
          ++replay_stats_.samples_skipped;
        }
      }
      break;
    }
    case WalRecordType::kSamplesWithST: {
      std::vector<RefSample> samples;
      RETURN_IF_ERROR(DecodeSamplesWithSTRecord(rec, &samples));
      for (const auto& s : samples) {
        if (head_->Append(resolve(s.ref), s.t_ms, s.v, s.st_ms).ok()) {
          ++replay_stats_.samples;
        } else {
          ++replay_stats_.samples_skipped;
        }
      }
      break;
    }
    case WalRecordType::kHistogramSamples: {
      std::vector<RefHistogramSample> samples;
      RETURN_IF_ERROR(DecodeHistogramSamplesRecord(rec, &samples));
      for (const auto& s : samples) {
        if (head_->AppendHistogram(resolve(s.ref), s.sample).ok()) {
          ++replay_stats_.samples;
        } else {
          ++replay_stats_.samples_skipped;
        }
      }
      break;
    }
    case WalRecordType::kExemplars: {
      std::vector<RefExemplar> exemplars;
      RETURN_IF_ERROR(DecodeExemplarsRecord(rec, &exemplars));
      for (const auto& e : exemplars) {
        if (head_->AppendExemplar(resolve(e.ref), e.exemplar).ok()) ++replay_stats_.exemplars;
      }
      break;
    }
    case WalRecordType::kMetadata: {
      std::vector<MetricMetadata> metadata;
      RETURN_IF_ERROR(DecodeMetadataRecord(rec, &metadata));
      for (const auto& md : metadata) head_->SetMetadata(md);
      replay_stats_.metadata += metadata.size();
      break;
    }
  }
  return Status::OK();
}

Status DB::ReplayWal() {
  const std::string wal_dir = dir_ + "/wal";
  RETURN_IF_ERROR(CreateDirs(wal_dir));
  auto fn = [this](std::string_view rec) { return ReplayRecord(rec); };
  int from = 0;
  ASSIGN_OR_RETURN(auto ckpt, wal::LastCheckpoint(wal_dir));
  if (ckpt.has_value()) {
    wal::ReplayStats rs;
    RETURN_IF_ERROR(wal::Replay(ckpt->first, 0, fn, &rs).WithContext("replaying " + ckpt->first));
    from = ckpt->second + 1;
  }
  wal::ReplayStats rs;
  RETURN_IF_ERROR(wal::Replay(wal_dir, from, fn, &rs).WithContext("replaying " + wal_dir));
  replay_alias_.clear();
  spdlog::info("tsdb: replayed the WAL: {} series, {} samples ({} skipped), {} exemplars",
               replay_stats_.series, replay_stats_.samples, replay_stats_.samples_skipped,
               replay_stats_.exemplars);
  return Status::OK();
}

Status DB::Close() {
  std::lock_guard maintain_lock(maintain_mu_);  // let a running Maintain finish first
  std::lock_guard lock(close_mu_);
  if (closed_.exchange(true)) return Status::OK();
  // Wait for in-flight commits so none writes to a closed WAL.
  std::unique_lock gate(commit_gate_);
  Status st = wal_ != nullptr ? wal_->Close() : Status::OK();
  if (lock_fd_ >= 0) {  // another DB may open the directory now
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
  return st;
}

// ---------------------------------------------------------------------------------------------
// Reads

std::unique_ptr<Appender> DB::NewAppender() { return std::make_unique<DbAppender>(this); }

std::vector<std::shared_ptr<Block>> DB::Blocks() const {
  std::lock_guard lock(blocks_mu_);
  return blocks_;
}

Result<std::unique_ptr<Querier>> DB::NewQuerier(int64_t mint_ms, int64_t maxt_ms) {
  std::vector<std::unique_ptr<Querier>> queriers;
  std::vector<std::shared_ptr<Block>> used;
  for (const auto& b : Blocks()) {
    // Block ranges are [min, max): overlap with the inclusive [mint, maxt].
    if (b->meta().min_time_ms > maxt_ms || b->meta().max_time_ms <= mint_ms) continue;
    ASSIGN_OR_RETURN(std::unique_ptr<Querier> q, b->NewQuerier(mint_ms, maxt_ms));
    queriers.push_back(std::move(q));
    used.push_back(b);
  }
  queriers.push_back(head_->NewQuerier(mint_ms, maxt_ms));
  return std::unique_ptr<Querier>(
      std::make_unique<MergeQuerier>(std::move(queriers), std::move(used)));
}

Result<std::vector<std::pair<Labels, std::vector<Exemplar>>>> DB::QueryExemplars(
    int64_t mint_ms, int64_t maxt_ms, const std::vector<std::vector<Matcher>>& matcher_sets) {
  return head_->QueryExemplars(mint_ms, maxt_ms, matcher_sets);
}

std::vector<MetricMetadata> DB::Metadata(std::string_view metric, int limit) const {
  return head_->Metadata(metric, limit);
}

DB::Stats DB::GetStats() const {
  Stats st;
  Head::Stats hs = head_->GetStats();
  st.head_series = hs.num_series;
  st.head_samples_appended = hs.samples_appended;
  st.head_chunks = hs.num_chunks;
  st.min_time_ms = hs.min_time_ms;
  st.max_time_ms = hs.max_time_ms;
  for (const auto& b : Blocks()) {
    ++st.blocks;
    st.block_bytes += b->size_bytes();
    st.min_time_ms = std::min(st.min_time_ms, b->meta().min_time_ms);
    st.max_time_ms = std::max(st.max_time_ms, b->meta().max_time_ms - 1);
  }
  if (wal_ != nullptr) st.wal_bytes = wal_->size_bytes();
  return st;
}

// ---------------------------------------------------------------------------------------------
// Maintenance

Status DB::Maintain() {
  std::lock_guard lock(maintain_mu_);
  if (closed_.load()) return Status::Unavailable("the TSDB is closed");
  const int64_t range = opts_.block_range_ms;
  int64_t truncated_to = kMinTime;
  // Prometheus' rule: the head is compactable when it spans more than 1.5 block ranges; its
  // oldest aligned range then becomes a block, which leaves at least half a range (more than
  // the OOO window by default) of recent data in the head.
  while (true) {
    const int64_t hmin = head_->MinTime(), hmax = head_->MaxTime();
    if (hmin == kMaxTime || hmax == kMinTime) break;
    if (static_cast<uint64_t>(hmax) - static_cast<uint64_t>(hmin) <=
        static_cast<uint64_t>(range / 2 * 3)) {
      break;
    }
    const int64_t mint = FloorTo(hmin, range);
    const int64_t maxt = mint + range;
    RETURN_IF_ERROR(CutBlock(mint, maxt));
    truncated_to = maxt;
  }
  if (truncated_to != kMinTime) RETURN_IF_ERROR(TruncateWal(truncated_to));
  RETURN_IF_ERROR(Compact());
  return ApplyRetention();
}

Status DB::CutBlock(int64_t mint_ms, int64_t maxt_ms) {
  // From here on the head refuses samples below maxt_ms; waiting for the commit gate makes
  // sure no commit that checked before is still applying one.
  head_->SetMinValidTime(maxt_ms);
  { std::unique_lock gate(commit_gate_); }
  std::vector<HeadSeriesChunks> head_series = head_->ChunksInRange(mint_ms, maxt_ms);
  if (!head_series.empty()) {
    std::vector<BlockSeries> series;
    series.reserve(head_series.size());
    for (auto& hs : head_series) {
      BlockSeries bs;
      bs.labels = std::move(hs.labels);
      for (auto& c : hs.chunks) {
        bs.chunks.push_back(ChunkData{c.min_time_ms, c.max_time_ms, std::move(c.bytes), c.encoding});
      }
      series.push_back(std::move(bs));
    }
    ASSIGN_OR_RETURN(BlockMeta meta, WriteBlock(dir_, mint_ms, maxt_ms, 1, {}, std::move(series)));
    ASSIGN_OR_RETURN(std::shared_ptr<Block> b, Block::Open(dir_ + "/" + meta.ulid));
    spdlog::info("tsdb: cut block {} [{}, {}) with {} series, {} samples", meta.ulid, mint_ms,
                 maxt_ms, meta.num_series, meta.num_samples);
    std::lock_guard lock(blocks_mu_);
    blocks_.push_back(std::move(b));
    std::sort(blocks_.begin(), blocks_.end(), [](const auto& a, const auto& c) {
      return a->meta().min_time_ms < c->meta().min_time_ms;
    });
  }
  std::unique_lock gate(commit_gate_);
  head_->Truncate(maxt_ms);
  return Status::OK();
}

Status DB::TruncateWal(int64_t mint_ms) {
  // Everything before the segment started now is checkpointed: series still in the head
  // (by ref or labels), samples and exemplars not yet in blocks, all metadata.
  ASSIGN_OR_RETURN(int next, wal_->NextSegment());
  const int first = wal_->Segments().first;
  if (first >= next) return Status::OK();
  auto filter = [this, mint_ms](std::string_view rec, std::string* out) -> bool {
    Result<WalRecordType> type = WalRecordTypeOf(rec);
    if (!type.ok()) return false;
    switch (*type) {
      case WalRecordType::kSeries: {
        std::vector<RefSeries> in, keep;
        if (!DecodeSeriesRecord(rec, &in).ok()) return false;
        for (auto& s : in) {
          if (head_->HasSeries(s.ref, s.labels)) keep.push_back(std::move(s));
        }
        if (keep.empty()) return false;
        EncodeSeriesRecord(keep, out);
        return true;
      }
      case WalRecordType::kSamples:
      case WalRecordType::kSamplesWithST: {
        // Kept in the record type they came in, so start timestamps stay with their samples.
        const bool with_st = *type == WalRecordType::kSamplesWithST;
        std::vector<RefSample> in, keep;
        if (!(with_st ? DecodeSamplesWithSTRecord : DecodeSamplesRecord)(rec, &in).ok()) return false;
        for (const auto& s : in) {
          if (s.t_ms >= mint_ms) keep.push_back(s);
        }
        if (keep.empty()) return false;
        (with_st ? EncodeSamplesWithSTRecord : EncodeSamplesRecord)(keep, out);
        return true;
      }
      case WalRecordType::kHistogramSamples: {
        std::vector<RefHistogramSample> in, keep;
        if (!DecodeHistogramSamplesRecord(rec, &in).ok()) return false;
        for (auto& s : in) {
          if (s.sample.t_ms >= mint_ms) keep.push_back(std::move(s));
        }
        if (keep.empty()) return false;
        EncodeHistogramSamplesRecord(keep, out);
        return true;
      }
      case WalRecordType::kExemplars: {
        std::vector<RefExemplar> in, keep;
        if (!DecodeExemplarsRecord(rec, &in).ok()) return false;
        for (auto& e : in) {
          if (head_->SeriesLabels(e.ref).ok()) keep.push_back(std::move(e));
        }
        if (keep.empty()) return false;
        EncodeExemplarsRecord(keep, out);
        return true;
      }
      case WalRecordType::kMetadata:
        out->assign(rec);
        return true;
    }
    return false;
  };
  RETURN_IF_ERROR(wal::Checkpoint(dir_ + "/wal", first, next - 1, filter)
                      .WithContext("checkpointing the WAL"));
  return wal_->TruncateBefore(next);
}

Status DB::Compact() {
  // Bounded: each round merges at least two blocks into one.
  for (int round = 0; round < 64; ++round) {
    auto groups = PlanCompaction(Blocks(), opts_.block_range_ms);
    if (groups.empty()) return Status::OK();
    for (const auto& group : groups) {
      ASSIGN_OR_RETURN(BlockMeta meta, CompactBlocks(dir_, group));
      ASSIGN_OR_RETURN(std::shared_ptr<Block> merged, Block::Open(dir_ + "/" + meta.ulid));
      spdlog::info("tsdb: compacted {} blocks into {} [{}, {}) level {}", group.size(), meta.ulid,
                   meta.min_time_ms, meta.max_time_ms, meta.level);
      {
        std::lock_guard lock(blocks_mu_);
        std::erase_if(blocks_, [&](const std::shared_ptr<Block>& b) {
          return std::find(group.begin(), group.end(), b) != group.end();
        });
        blocks_.push_back(std::move(merged));
        std::sort(blocks_.begin(), blocks_.end(), [](const auto& a, const auto& c) {
          return a->meta().min_time_ms < c->meta().min_time_ms;
        });
      }
      for (const auto& b : group) RETURN_IF_ERROR(DeleteBlockDir(b));
    }
  }
  return Status::OK();
}

Status DB::ApplyRetention() {
  std::vector<std::shared_ptr<Block>> doomed =
      BlocksBeyondRetention(Blocks(), opts_.retention_time_ms, opts_.retention_size_bytes);
  if (doomed.empty()) return Status::OK();
  {
    std::lock_guard lock(blocks_mu_);
    std::erase_if(blocks_, [&](const std::shared_ptr<Block>& b) {
      return std::find(doomed.begin(), doomed.end(), b) != doomed.end();
    });
  }
  for (const auto& b : doomed) {
    spdlog::info("tsdb: retention deletes block {} [{}, {})", b->meta().ulid,
                 b->meta().min_time_ms, b->meta().max_time_ms);
    RETURN_IF_ERROR(DeleteBlockDir(b));
  }
  return Status::OK();
}

Status DB::DeleteBlockDir(const std::shared_ptr<Block>& b) {
  // Renaming first makes the deletion atomic for Open: a half-removed directory is never
  // mistaken for a block. Mapped files stay readable for running queries (POSIX unlink).
  const std::string& from = b->dir();
  const std::string to = from + ".deleted";
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    return Status::FromErrno("renaming " + from, errno);
  }
  RETURN_IF_ERROR(SyncDir(dir_));
  return RemoveAll(to);
}

}  // namespace argus::tsdb
