#include "tsdb/head.h"

#include <algorithm>
#include <optional>
#include <set>

namespace argus::tsdb {

namespace {

constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();

// The end (exclusive) of the range of width `range_ms` aligned to 0 that contains t_ms.
int64_t RangeEnd(int64_t t_ms, int64_t range_ms) {
  if (range_ms <= 0) return kMaxTime;
  int64_t q = t_ms / range_ms;
  if (t_ms % range_ms != 0 && t_ms < 0) --q;  // floor division
  if (q >= kMaxTime / range_ms) return kMaxTime;
  return (q + 1) * range_ms;
}

bool SameSample(double a, double b) { return DoubleBits(a) == DoubleBits(b); }

bool SameExemplar(const Exemplar& a, const Exemplar& b) {
  return a.t_ms == b.t_ms && SameSample(a.value, b.value) && a.labels == b.labels;
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Appends the samples of `bytes` in [mint_ms, maxt_ms] to `out`.
void DecodeRange(std::string_view bytes, int64_t mint_ms, int64_t maxt_ms,
                 std::vector<Sample>* out) {
  XorIterator it(bytes);
  while (it.Next()) {
    Sample s = it.At();
    if (s.t_ms > maxt_ms) break;
    if (s.t_ms >= mint_ms) out->push_back(s);
  }
}

}  // namespace

struct Head::MemSeries {
  MemSeries(uint64_t r, Labels l, uint64_t h) : ref(r), labels(std::move(l)), hash(h) {}

  const uint64_t ref;
  const Labels labels;
  const uint64_t hash;
  std::atomic<int> pins{0};         // appenders holding the ref; no GC while > 0
  std::atomic<bool> logged{false};  // its series record is in the WAL

  mutable std::mutex mu;
  std::vector<std::shared_ptr<const XorChunk>> sealed;  // GUARDED_BY(mu), time-ordered
  XorChunk open;                                        // GUARDED_BY(mu)
  int64_t open_end_ms = kMaxTime;  // a sample at or past this starts a new chunk. GUARDED_BY(mu)
  int64_t max_t = kMinTime;        // newest in-order sample. GUARDED_BY(mu)
  double last_v = 0;               // its value. GUARDED_BY(mu)
  std::vector<Sample> ooo;         // out-of-order samples, sorted, unique. GUARDED_BY(mu)
  // Start timestamps, created when the first sample with one arrives (a series without
  // them pays one pointer): of the in-order samples, and of the out-of-order ones (sorted by
  // t_ms). GUARDED_BY(mu)
  struct StartTimes {
    StColumn in_order;
    std::vector<SampleST> ooo;
  };
  std::unique_ptr<StartTimes> st;

  // Native histograms. GUARDED_BY(mu)
  std::vector<std::shared_ptr<const HistogramChunk>> h_sealed;  // time-ordered
  HistogramChunk h_open;
  int64_t h_open_end_ms = kMaxTime;
  int64_t h_max_t = kMinTime;  // newest histogram sample
  std::string h_last_body;     // its encoded body, for the duplicate check

  // REQUIRES: mu held.
  bool Empty() const { return max_t == kMinTime && ooo.empty() && h_max_t == kMinTime; }
  int64_t MinTimeLocked() const {
    int64_t t = kMaxTime;
    if (!sealed.empty()) {
      t = sealed.front()->min_time_ms();
    } else if (open.num_samples() > 0) {
      t = open.min_time_ms();
    }
    if (!ooo.empty()) t = std::min(t, ooo.front().t_ms);
    if (!h_sealed.empty()) {
      t = std::min(t, h_sealed.front()->min_time_ms());
    } else if (h_open.num_samples() > 0) {
      t = std::min(t, h_open.min_time_ms());
    }
    return t;
  }
  int64_t MaxTimeLocked() const {
    int64_t t = max_t;
    if (!ooo.empty()) t = std::max(t, ooo.back().t_ms);
    return std::max(t, h_max_t);
  }
  // The value of the in-order sample at t_ms, if there is one.
  bool FindInOrder(int64_t t_ms, double* v) const {
    const XorChunk* c = nullptr;
    if (open.num_samples() > 0 && open.min_time_ms() <= t_ms) {
      c = &open;
    } else {
      auto it = std::lower_bound(
          sealed.begin(), sealed.end(), t_ms,
          [](const std::shared_ptr<const XorChunk>& ch, int64_t t) { return ch->max_time_ms() < t; });
      if (it != sealed.end() && (*it)->min_time_ms() <= t_ms) c = it->get();
    }
    if (c == nullptr) return false;
    for (XorIterator it = c->Iterator(); it.Next();) {
      if (it.At().t_ms == t_ms) {
        *v = it.At().v;
        return true;
      }
      if (it.At().t_ms > t_ms) break;
    }
    return false;
  }
};

Head::Head(HeadOptions opts) : opts_(std::move(opts)) {}
Head::~Head() = default;

Status Head::ValidateLabels(const Labels& labels) {
  if (labels.empty()) return Status::InvalidArgument("empty label set");
  if (labels.MetricName().empty()) {
    return Status::InvalidArgument("series " + labels.ToString() + " has no __name__ label");
  }
  const Label* prev = nullptr;
  for (const auto& l : labels) {
    if (l.name.empty()) return Status::InvalidArgument("empty label name in " + labels.ToString());
    if (l.value.empty()) {
      return Status::InvalidArgument("empty value of label \"" + l.name + "\"");
    }
    if (prev != nullptr && prev->name >= l.name) {
      return Status::InvalidArgument("label names not sorted or duplicated: \"" + l.name + "\"");
    }
    if (!IsValidUtf8(l.name)) return Status::InvalidArgument("invalid UTF-8 in a label name");
    if (!IsValidUtf8(l.value)) {
      return Status::InvalidArgument("invalid UTF-8 in the value of label \"" + l.name + "\"");
    }
    prev = &l;
  }
  return Status::OK();
}

std::shared_ptr<Head::MemSeries> Head::GetByRef(uint64_t ref) const {
  const RefStripe& rs = ref_stripes_[ref % kStripes];
  std::lock_guard lock(rs.mu);
  auto it = rs.by_ref.find(ref);
  return it == rs.by_ref.end() ? nullptr : it->second;
}

std::shared_ptr<Head::MemSeries> Head::GetByLabels(const Labels& labels, uint64_t hash) const {
  const HashStripe& hs = hash_stripes_[hash % kStripes];
  std::lock_guard lock(hs.mu);
  auto it = hs.by_hash.find(hash);
  if (it == hs.by_hash.end()) return nullptr;
  for (const auto& s : it->second) {
    if (s->labels == labels) return s;
  }
  return nullptr;
}

std::vector<std::shared_ptr<Head::MemSeries>> Head::AllSeries() const {
  std::vector<std::shared_ptr<MemSeries>> out;
  out.reserve(num_series_.load(std::memory_order_relaxed));
  for (const auto& rs : ref_stripes_) {
    std::lock_guard lock(rs.mu);
    for (const auto& [ref, s] : rs.by_ref) out.push_back(s);
  }
  return out;
}

std::shared_ptr<Head::MemSeries> Head::CreateLocked(HashStripe& hs, uint64_t ref,
                                                    const Labels& labels, uint64_t hash) {
  auto s = std::make_shared<MemSeries>(ref, labels, hash);
  hs.by_hash[hash].push_back(s);
  {
    RefStripe& rs = ref_stripes_[ref % kStripes];
    std::lock_guard lock(rs.mu);
    rs.by_ref.emplace(ref, s);
  }
  postings_.Add(ref, labels);
  num_series_.fetch_add(1, std::memory_order_relaxed);
  return s;
}

namespace {

const Labels& Owned(const Labels& labels) { return labels; }
Labels Owned(const LabelsView& labels) { return labels.ToLabels(); }

}  // namespace

template <class LabelSet>
Result<uint64_t> Head::GetOrCreateImpl(const LabelSet& labels, uint64_t hash, bool* created) {
  HashStripe& hs = hash_stripes_[hash % kStripes];
  std::lock_guard lock(hs.mu);
  auto it = hs.by_hash.find(hash);
  if (it != hs.by_hash.end()) {
    for (const auto& s : it->second) {
      if (labels == s->labels) {
        s->pins.fetch_add(1, std::memory_order_relaxed);
        *created = false;
        return s->ref;
      }
    }
  }
  decltype(auto) owned = Owned(labels);
  RETURN_IF_ERROR(ValidateLabels(owned));
  const uint64_t ref = next_ref_.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<MemSeries> s = CreateLocked(hs, ref, owned, hash);
  s->pins.fetch_add(1, std::memory_order_relaxed);
  *created = true;
  return ref;
}

Result<uint64_t> Head::GetOrCreate(const Labels& labels, bool* created) {
  return GetOrCreateImpl(labels, labels.Hash(), created);
}

Result<uint64_t> Head::GetOrCreate(const LabelsView& labels, bool* created) {
  return GetOrCreateImpl(labels, labels.Hash(), created);
}

void Head::Unpin(uint64_t ref) {
  // Pins are changed under the hash stripe lock so that Truncate's check-and-remove (also
  // under it) never races with a new pin.
  std::shared_ptr<MemSeries> s = GetByRef(ref);
  if (s == nullptr) return;
  HashStripe& hs = hash_stripes_[s->hash % kStripes];
  std::lock_guard lock(hs.mu);
  s->pins.fetch_sub(1, std::memory_order_relaxed);
}

Result<uint64_t> Head::CreateWithRef(uint64_t ref, const Labels& labels) {
  RETURN_IF_ERROR(ValidateLabels(labels));
  const uint64_t hash = labels.Hash();
  HashStripe& hs = hash_stripes_[hash % kStripes];
  std::lock_guard lock(hs.mu);
  auto it = hs.by_hash.find(hash);
  if (it != hs.by_hash.end()) {
    for (const auto& s : it->second) {
      if (s->labels == labels) return s->ref;
    }
  }
  if (std::shared_ptr<MemSeries> other = GetByRef(ref)) {
    return Status::Corruption("series ref " + std::to_string(ref) + " of " +
                              labels.ToString() + " already used by " + other->labels.ToString());
  }
  std::shared_ptr<MemSeries> s = CreateLocked(hs, ref, labels, hash);
  s->logged.store(true, std::memory_order_release);
  // Keep new refs above every replayed one.
  uint64_t next = next_ref_.load(std::memory_order_relaxed);
  while (next <= ref && !next_ref_.compare_exchange_weak(next, ref + 1)) {
  }
  return ref;
}

bool Head::SeriesNeedsRecord(uint64_t ref) const {
  std::shared_ptr<MemSeries> s = GetByRef(ref);
  return s != nullptr && !s->logged.load(std::memory_order_acquire);
}

void Head::MarkSeriesLogged(uint64_t ref) {
  if (std::shared_ptr<MemSeries> s = GetByRef(ref)) {
    s->logged.store(true, std::memory_order_release);
  }
}

Result<Labels> Head::SeriesLabels(uint64_t ref) const {
  std::shared_ptr<MemSeries> s = GetByRef(ref);
  if (s == nullptr) return Status::NotFound("no series with ref " + std::to_string(ref));
  return s->labels;
}

bool Head::HasSeries(uint64_t ref, const Labels& labels) const {
  if (GetByRef(ref) != nullptr) return true;
  return GetByLabels(labels, labels.Hash()) != nullptr;
}

Result<Head::AppendKind> Head::Classify(const MemSeries& s, int64_t t_ms, double v) const {
  if (t_ms < min_valid_time()) return Status::OutOfOrder("out of bounds");
  if (s.max_t == kMinTime || t_ms > s.max_t) return AppendKind::kInOrder;
  if (t_ms == s.max_t) {
    if (SameSample(v, s.last_v)) return AppendKind::kNoop;
    return Status::OutOfOrder("duplicate sample for timestamp");
  }
  const uint64_t behind_ms = static_cast<uint64_t>(s.max_t) - static_cast<uint64_t>(t_ms);
  if (opts_.ooo_window_ms <= 0 || behind_ms > static_cast<uint64_t>(opts_.ooo_window_ms)) {
    return Status::OutOfOrder("out of order sample");
  }
  double existing;
  bool found = false;
  auto it = std::lower_bound(s.ooo.begin(), s.ooo.end(), t_ms,
                             [](const Sample& a, int64_t t) { return a.t_ms < t; });
  if (it != s.ooo.end() && it->t_ms == t_ms) {
    existing = it->v;
    found = true;
  } else {
    found = s.FindInOrder(t_ms, &existing);
  }
  if (found) {
    if (SameSample(v, existing)) return AppendKind::kNoop;
    return Status::OutOfOrder("duplicate sample for timestamp");
  }
  return AppendKind::kOutOfOrder;
}

int64_t Head::AppendableMinTime() const {
  const int64_t max_t = MaxTime();
  if (max_t == kMinTime) return min_valid_time();
  const int64_t window_ms = std::max(opts_.chunk_range_ms / 2, opts_.ooo_window_ms);
  const int64_t bound = max_t < kMinTime + window_ms ? kMinTime : max_t - window_ms;
  return std::max(min_valid_time(), bound);
}

Status Head::CheckSample(uint64_t ref, int64_t t_ms, double v) const {
  std::shared_ptr<MemSeries> s = GetByRef(ref);
  if (s == nullptr) return Status::NotFound("no series with ref " + std::to_string(ref));
  std::lock_guard lock(s->mu);
  return Classify(*s, t_ms, v).status();
}

void Head::UpdateTimeBounds(int64_t t_ms) {
  int64_t cur = min_time_.load(std::memory_order_relaxed);
  while (t_ms < cur && !min_time_.compare_exchange_weak(cur, t_ms)) {
  }
  cur = max_time_.load(std::memory_order_relaxed);
  while (t_ms > cur && !max_time_.compare_exchange_weak(cur, t_ms)) {
  }
}

Status Head::Append(uint64_t ref, int64_t t_ms, double v, int64_t st_ms) {
  std::shared_ptr<MemSeries> s = GetByRef(ref);
  if (s == nullptr) return Status::NotFound("no series with ref " + std::to_string(ref));
  {
    std::lock_guard lock(s->mu);
    ASSIGN_OR_RETURN(AppendKind kind, Classify(*s, t_ms, v));
    switch (kind) {
      case AppendKind::kNoop:
        return Status::OK();
      case AppendKind::kInOrder: {
        const int n = s->open.num_samples();
        if (n > 0 && (n >= opts_.samples_per_chunk || t_ms >= s->open_end_ms)) {
          s->sealed.push_back(std::make_shared<const XorChunk>(std::move(s->open)));
          s->open = XorChunk();
        }
        if (s->open.num_samples() == 0) {
          s->open_end_ms = RangeEnd(t_ms, opts_.chunk_range_ms);
          num_chunks_.fetch_add(1, std::memory_order_relaxed);
        }
        s->open.Append(t_ms, v);
        s->max_t = t_ms;
        s->last_v = v;
        if (st_ms != 0) {
          if (s->st == nullptr) s->st = std::make_unique<MemSeries::StartTimes>();
          s->st->in_order.Append(t_ms, st_ms);
        }
        break;
      }
      case AppendKind::kOutOfOrder: {
        auto it = std::lower_bound(s->ooo.begin(), s->ooo.end(), t_ms,
                                   [](const Sample& a, int64_t t) { return a.t_ms < t; });
        s->ooo.insert(it, Sample{t_ms, v});
        if (st_ms != 0) {
          if (s->st == nullptr) s->st = std::make_unique<MemSeries::StartTimes>();
          std::vector<SampleST>& ooo_st = s->st->ooo;
          auto sit = std::lower_bound(ooo_st.begin(), ooo_st.end(), t_ms,
                                      [](const SampleST& a, int64_t t) { return a.t_ms < t; });
          ooo_st.insert(sit, SampleST{t_ms, st_ms});
        }
        ooo_samples_appended_.fetch_add(1, std::memory_order_relaxed);
        break;
      }
    }
  }
  samples_appended_.fetch_add(1, std::memory_order_relaxed);
  UpdateTimeBounds(t_ms);
  return Status::OK();
}

Result<Head::AppendKind> Head::ClassifyHistogram(const MemSeries& s, int64_t t_ms,
                                                 std::string_view body) const {
  if (t_ms < min_valid_time()) return Status::OutOfOrder("out of bounds");
  if (s.h_max_t == kMinTime || t_ms > s.h_max_t) return AppendKind::kInOrder;
  if (t_ms == s.h_max_t) {
    if (body == s.h_last_body) return AppendKind::kNoop;
    return Status::OutOfOrder("duplicate sample for timestamp");
  }
  return Status::OutOfOrder("out of order sample");
}

Status Head::CheckHistogram(uint64_t ref, const HistogramSample& hs) const {
  std::shared_ptr<MemSeries> s = GetByRef(ref);
  if (s == nullptr) return Status::NotFound("no series with ref " + std::to_string(ref));
  std::string body;
  EncodeHistogramBody(hs.value, &body);
  std::lock_guard lock(s->mu);
  return ClassifyHistogram(*s, hs.t_ms, body).status();
}

Status Head::AppendHistogram(uint64_t ref, const HistogramSample& hs) {
  std::shared_ptr<MemSeries> s = GetByRef(ref);
  if (s == nullptr) return Status::NotFound("no series with ref " + std::to_string(ref));
  std::string body;
  EncodeHistogramBody(hs.value, &body);
  {
    std::lock_guard lock(s->mu);
    ASSIGN_OR_RETURN(AppendKind kind, ClassifyHistogram(*s, hs.t_ms, body));
    if (kind == AppendKind::kNoop) return Status::OK();
    const int n = s->h_open.num_samples();
    if (n > 0 && (n >= opts_.samples_per_chunk || hs.t_ms >= s->h_open_end_ms ||
                  s->h_open.is_float() != hs.is_float())) {
      s->h_sealed.push_back(std::make_shared<const HistogramChunk>(std::move(s->h_open)));
      s->h_open = HistogramChunk(hs.is_float());
    }
    if (s->h_open.num_samples() == 0) {
      s->h_open = HistogramChunk(hs.is_float());
      s->h_open_end_ms = RangeEnd(hs.t_ms, opts_.chunk_range_ms);
      num_chunks_.fetch_add(1, std::memory_order_relaxed);
    }
    s->h_open.Append(hs);
    s->h_max_t = hs.t_ms;
    s->h_last_body = std::move(body);
  }
  samples_appended_.fetch_add(1, std::memory_order_relaxed);
  UpdateTimeBounds(hs.t_ms);
  return Status::OK();
}

Status Head::CheckExemplar(uint64_t ref, const Exemplar& e) const {
  size_t chars = 0;
  for (const auto& l : e.labels) chars += Utf8Length(l.name) + Utf8Length(l.value);
  if (chars > 128) {
    return Status::InvalidArgument("exemplar label set is longer than 128 UTF-8 characters");
  }
  if (GetByRef(ref) == nullptr) return Status::NotFound("no series with ref " + std::to_string(ref));
  std::lock_guard lock(exemplar_mu_);
  auto it = exemplars_.find(ref);
  if (it == exemplars_.end() || it->second.empty()) return Status::OK();
  const Exemplar& newest = it->second.back();
  if (SameExemplar(newest, e)) return Status::OK();
  if (e.t_ms < newest.t_ms) return Status::OutOfOrder("out of order exemplar");
  return Status::OK();
}

Status Head::AppendExemplar(uint64_t ref, const Exemplar& e) {
  RETURN_IF_ERROR(CheckExemplar(ref, e));
  if (opts_.max_exemplars_per_series <= 0 || opts_.max_exemplars == 0) return Status::OK();
  std::lock_guard lock(exemplar_mu_);
  std::deque<Exemplar>& ring = exemplars_[ref];
  if (!ring.empty() && SameExemplar(ring.back(), e)) return Status::OK();
  ring.push_back(e);
  exemplar_order_.push_back(ref);
  ++num_exemplars_;
  if (ring.size() > static_cast<size_t>(opts_.max_exemplars_per_series)) {
    ring.pop_front();
    --num_exemplars_;
  }
  // Head-wide cap: evict the oldest exemplars. exemplar_order_ may hold refs whose exemplar
  // was already evicted per series; popping such an entry evicts that series' oldest one,
  // which is close enough to global age order for a cache of recent exemplars.
  while (num_exemplars_ > opts_.max_exemplars && !exemplar_order_.empty()) {
    uint64_t victim = exemplar_order_.front();
    exemplar_order_.pop_front();
    auto it = exemplars_.find(victim);
    if (it == exemplars_.end() || it->second.empty()) continue;
    it->second.pop_front();
    --num_exemplars_;
    if (it->second.empty()) exemplars_.erase(it);
  }
  // Bound the bookkeeping: rebuild the order from the rings when it has grown stale.
  if (exemplar_order_.size() > 2 * opts_.max_exemplars + 1024) {
    std::vector<std::pair<int64_t, uint64_t>> live;
    live.reserve(num_exemplars_);
    for (const auto& [r, q] : exemplars_) {
      for (const auto& x : q) live.emplace_back(x.t_ms, r);
    }
    std::sort(live.begin(), live.end());
    exemplar_order_.clear();
    for (const auto& [t, r] : live) exemplar_order_.push_back(r);
  }
  return Status::OK();
}

void Head::SetMetadata(const MetricMetadata& md) {
  std::lock_guard lock(metadata_mu_);
  metadata_[md.metric_family] = md;
}

std::vector<MetricMetadata> Head::Metadata(std::string_view metric, int limit) const {
  std::lock_guard lock(metadata_mu_);
  std::vector<MetricMetadata> out;
  if (!metric.empty()) {
    auto it = metadata_.find(metric);
    if (it != metadata_.end() && limit != 0) out.push_back(it->second);
    return out;
  }
  for (const auto& [name, md] : metadata_) {
    if (limit >= 0 && out.size() >= static_cast<size_t>(limit)) break;
    out.push_back(md);
  }
  return out;
}

std::vector<Sample> Head::SeriesSamples(const MemSeries& s, int64_t mint_ms, int64_t maxt_ms) {
  // Snapshot under the lock (sealed chunks are shared, the open one copied), decode outside.
  std::vector<std::shared_ptr<const XorChunk>> sealed;
  std::string open;
  std::vector<Sample> ooo;
  {
    std::lock_guard lock(s.mu);
    for (const auto& c : s.sealed) {
      if (c->max_time_ms() >= mint_ms && c->min_time_ms() <= maxt_ms) sealed.push_back(c);
    }
    if (s.open.num_samples() > 0 && s.open.max_time_ms() >= mint_ms &&
        s.open.min_time_ms() <= maxt_ms) {
      open.assign(s.open.bytes());
    }
    auto lo = std::lower_bound(s.ooo.begin(), s.ooo.end(), mint_ms,
                               [](const Sample& a, int64_t t) { return a.t_ms < t; });
    for (auto it = lo; it != s.ooo.end() && it->t_ms <= maxt_ms; ++it) ooo.push_back(*it);
  }
  std::vector<Sample> out;
  for (const auto& c : sealed) DecodeRange(c->bytes(), mint_ms, maxt_ms, &out);
  if (!open.empty()) DecodeRange(open, mint_ms, maxt_ms, &out);
  return MergeByTime(std::move(out), ooo);
}

std::vector<SampleST> Head::SeriesSampleSTs(const MemSeries& s, int64_t mint_ms,
                                            int64_t maxt_ms) {
  std::vector<SampleST> in_order, ooo;
  std::lock_guard lock(s.mu);
  if (s.st == nullptr) return in_order;
  s.st->in_order.Collect(mint_ms, maxt_ms, &in_order);
  for (const SampleST& e : s.st->ooo) {
    if (e.t_ms >= mint_ms && e.t_ms <= maxt_ms) ooo.push_back(e);
  }
  return MergeByTime(std::move(in_order), ooo);
}

std::vector<HistogramSample> Head::SeriesHistograms(const MemSeries& s, int64_t mint_ms,
                                                    int64_t maxt_ms) {
  std::vector<std::shared_ptr<const HistogramChunk>> sealed;
  std::string open;
  {
    std::lock_guard lock(s.mu);
    for (const auto& c : s.h_sealed) {
      if (c->max_time_ms() >= mint_ms && c->min_time_ms() <= maxt_ms) sealed.push_back(c);
    }
    if (s.h_open.num_samples() > 0 && s.h_open.max_time_ms() >= mint_ms &&
        s.h_open.min_time_ms() <= maxt_ms) {
      open.assign(s.h_open.bytes());
    }
  }
  std::vector<HistogramSample> out;
  // Head chunks were encoded by this process: a decoding error would be a bug; keep what
  // decoded.
  for (const auto& c : sealed) DecodeHistogramChunk(c->bytes(), mint_ms, maxt_ms, &out).IgnoreError();
  if (!open.empty()) DecodeHistogramChunk(open, mint_ms, maxt_ms, &out).IgnoreError();
  return out;
}

bool Head::SeriesOverlaps(const MemSeries& s, int64_t mint_ms, int64_t maxt_ms) {
  std::lock_guard lock(s.mu);
  for (const auto& c : s.h_sealed) {
    if (c->max_time_ms() >= mint_ms && c->min_time_ms() <= maxt_ms) return true;
  }
  if (s.h_open.num_samples() > 0 && s.h_open.max_time_ms() >= mint_ms &&
      s.h_open.min_time_ms() <= maxt_ms) {
    return true;
  }
  for (const auto& c : s.sealed) {
    if (c->max_time_ms() >= mint_ms && c->min_time_ms() <= maxt_ms) return true;
  }
  if (s.open.num_samples() > 0 && s.open.max_time_ms() >= mint_ms &&
      s.open.min_time_ms() <= maxt_ms) {
    return true;
  }
  auto lo = std::lower_bound(s.ooo.begin(), s.ooo.end(), mint_ms,
                             [](const Sample& a, int64_t t) { return a.t_ms < t; });
  return lo != s.ooo.end() && lo->t_ms <= maxt_ms;
}

class Head::HeadQuerier : public Querier {
 public:
  HeadQuerier(Head* head, int64_t mint_ms, int64_t maxt_ms)
      : head_(head), mint_ms_(mint_ms), maxt_ms_(maxt_ms) {}

  Result<std::vector<Series>> Select(const std::vector<Matcher>& matchers,
                                     const SelectHints& hints) override {
    std::vector<Series> out;
    ::Roaring64Map refs = head_->postings_.Select(matchers);
    for (uint64_t ref : refs) {
      std::shared_ptr<MemSeries> s = head_->GetByRef(ref);
      if (s == nullptr) continue;
      if (hints.series_only) {
        if (SeriesOverlaps(*s, mint_ms_, maxt_ms_)) out.push_back(Series{s->labels, {}});
        continue;
      }
      std::vector<Sample> samples = SeriesSamples(*s, mint_ms_, maxt_ms_);
      std::vector<HistogramSample> hists = SeriesHistograms(*s, mint_ms_, maxt_ms_);
      if (!samples.empty() || !hists.empty()) {
        out.push_back(Series{s->labels, std::move(samples), std::move(hists),
                             SeriesSampleSTs(*s, mint_ms_, maxt_ms_)});
      }
    }
    std::sort(out.begin(), out.end(),
              [](const Series& a, const Series& b) { return a.labels < b.labels; });
    return out;
  }

  Result<std::vector<std::string>> LabelNames(const std::vector<Matcher>& matchers) override {
    if (matchers.empty()) {
      if (!OverlapsHead()) return std::vector<std::string>{};
      return head_->postings_.LabelNames();
    }
    std::set<std::string> names;
    for (const auto& ls : MatchingLabels(matchers)) {
      for (const auto& l : ls) names.insert(l.name);
    }
    return std::vector<std::string>(names.begin(), names.end());
  }

  Result<std::vector<std::string>> LabelValues(std::string_view name,
                                               const std::vector<Matcher>& matchers) override {
    if (matchers.empty()) {
      if (!OverlapsHead()) return std::vector<std::string>{};
      return head_->postings_.LabelValues(name);
    }
    std::set<std::string> values;
    for (const auto& ls : MatchingLabels(matchers)) {
      std::string_view v = ls.Get(name);
      if (!v.empty()) values.emplace(v);
    }
    return std::vector<std::string>(values.begin(), values.end());
  }

 private:
  bool OverlapsHead() const {
    return head_->MinTime() <= maxt_ms_ && head_->MaxTime() >= mint_ms_;
  }
  std::vector<Labels> MatchingLabels(const std::vector<Matcher>& matchers) const {
    std::vector<Labels> out;
    for (uint64_t ref : head_->postings_.Select(matchers)) {
      std::shared_ptr<MemSeries> s = head_->GetByRef(ref);
      if (s != nullptr && SeriesOverlaps(*s, mint_ms_, maxt_ms_)) out.push_back(s->labels);
    }
    return out;
  }

  Head* head_;
  int64_t mint_ms_, maxt_ms_;
};

std::unique_ptr<Querier> Head::NewQuerier(int64_t mint_ms, int64_t maxt_ms) {
  return std::make_unique<HeadQuerier>(this, mint_ms, maxt_ms);
}

std::vector<std::pair<Labels, std::vector<Exemplar>>> Head::QueryExemplars(
    int64_t mint_ms, int64_t maxt_ms, const std::vector<std::vector<Matcher>>& matcher_sets) const {
  ::Roaring64Map refs;
  for (const auto& ms : matcher_sets) refs |= postings_.Select(ms);
  std::vector<std::pair<Labels, std::vector<Exemplar>>> out;
  for (uint64_t ref : refs) {
    std::shared_ptr<MemSeries> s = GetByRef(ref);
    if (s == nullptr) continue;
    std::vector<Exemplar> es;
    {
      std::lock_guard lock(exemplar_mu_);
      auto it = exemplars_.find(ref);
      if (it == exemplars_.end()) continue;
      for (const auto& e : it->second) {
        if (e.t_ms >= mint_ms && e.t_ms <= maxt_ms) es.push_back(e);
      }
    }
    if (!es.empty()) out.emplace_back(s->labels, std::move(es));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

std::vector<HeadSeriesChunks> Head::ChunksInRange(int64_t mint_ms, int64_t maxt_ms) const {
  const int64_t last_ms = maxt_ms - 1;  // inclusive
  std::vector<HeadSeriesChunks> out;
  for (const auto& s : AllSeries()) {
    HeadSeriesChunks sc;
    bool reencode = false;
    bool h_reencode = false;
    std::vector<HeadChunk> hc;  // histogram chunks
    {
      std::lock_guard lock(s->mu);
      auto add = [&](const XorChunk& c) {
        if (c.num_samples() == 0 || c.max_time_ms() < mint_ms || c.min_time_ms() > last_ms) return;
        if (c.min_time_ms() < mint_ms || c.max_time_ms() > last_ms) reencode = true;
        sc.chunks.push_back(HeadChunk{c.min_time_ms(), c.max_time_ms(), std::string(c.bytes())});
      };
      for (const auto& c : s->sealed) add(*c);
      add(s->open);
      auto lo = std::lower_bound(s->ooo.begin(), s->ooo.end(), mint_ms,
                                 [](const Sample& a, int64_t t) { return a.t_ms < t; });
      if (lo != s->ooo.end() && lo->t_ms <= last_ms) reencode = true;
      // Start timestamps travel in kXorST chunks, built by the re-encoding below.
      if (s->st != nullptr) reencode = true;
      auto add_h = [&](const HistogramChunk& c) {
        if (c.num_samples() == 0 || c.max_time_ms() < mint_ms || c.min_time_ms() > last_ms) return;
        if (c.min_time_ms() < mint_ms || c.max_time_ms() > last_ms) h_reencode = true;
        hc.push_back(HeadChunk{c.min_time_ms(), c.max_time_ms(), std::string(c.bytes()),
                               c.encoding()});
      };
      for (const auto& c : s->h_sealed) add_h(*c);
      add_h(s->h_open);
    }
    if (h_reencode) {
      hc.clear();
      std::vector<HistogramSample> hs = SeriesHistograms(*s, mint_ms, last_ms);
      std::optional<HistogramChunk> c;
      auto flush = [&] {
        if (c && c->num_samples() > 0) {
          hc.push_back(HeadChunk{c->min_time_ms(), c->max_time_ms(), std::string(c->bytes()),
                                 c->encoding()});
        }
        c.reset();
      };
      for (const auto& x : hs) {
        if (c && (c->num_samples() >= opts_.samples_per_chunk || c->is_float() != x.is_float())) {
          flush();
        }
        if (!c) c.emplace(x.is_float());
        c->Append(x);
      }
      flush();
    }
    if (reencode) {
      std::vector<Sample> samples = SeriesSamples(*s, mint_ms, last_ms);
      std::vector<SampleST> sts = SeriesSampleSTs(*s, mint_ms, last_ms);
      sc.chunks.clear();
      XorChunk c;
      size_t st_next = 0;
      auto flush = [&] {
        if (c.num_samples() == 0) return;
        std::vector<SampleST> part;
        while (st_next < sts.size() && sts[st_next].t_ms <= c.max_time_ms()) {
          if (sts[st_next].t_ms >= c.min_time_ms()) part.push_back(sts[st_next]);
          ++st_next;
        }
        HeadChunk hc{c.min_time_ms(), c.max_time_ms(), std::string(c.bytes())};
        if (!part.empty()) {
          hc.bytes = EncodeXorSTChunk(hc.bytes, part);
          hc.encoding = ChunkEncoding::kXorST;
        }
        sc.chunks.push_back(std::move(hc));
        c = XorChunk();
      };
      for (const auto& x : samples) {
        if (c.num_samples() >= opts_.samples_per_chunk) flush();
        c.Append(x.t_ms, x.v);
      }
      flush();
    }
    for (HeadChunk& c : hc) sc.chunks.push_back(std::move(c));
    if (sc.chunks.empty()) continue;
    std::stable_sort(sc.chunks.begin(), sc.chunks.end(), [](const HeadChunk& a, const HeadChunk& b) {
      return a.min_time_ms < b.min_time_ms;
    });
    sc.labels = s->labels;
    out.push_back(std::move(sc));
  }
  std::sort(out.begin(), out.end(),
            [](const HeadSeriesChunks& a, const HeadSeriesChunks& b) { return a.labels < b.labels; });
  return out;
}

void Head::SetMinValidTime(int64_t t_ms) {
  int64_t cur = min_valid_time_.load(std::memory_order_relaxed);
  while (t_ms > cur && !min_valid_time_.compare_exchange_weak(cur, t_ms)) {
  }
}

void Head::Truncate(int64_t mint_ms) {
  SetMinValidTime(mint_ms);
  int64_t new_min = kMaxTime;
  std::vector<std::shared_ptr<MemSeries>> empty;
  for (const auto& s : AllSeries()) {
    std::lock_guard lock(s->mu);
    size_t drop = 0;
    while (drop < s->sealed.size() && s->sealed[drop]->max_time_ms() < mint_ms) ++drop;
    if (drop > 0) {
      s->sealed.erase(s->sealed.begin(), s->sealed.begin() + static_cast<ptrdiff_t>(drop));
      num_chunks_.fetch_sub(static_cast<int64_t>(drop), std::memory_order_relaxed);
    }
    if (s->open.num_samples() > 0 && s->open.max_time_ms() < mint_ms) {
      s->open = XorChunk();
      s->open_end_ms = kMaxTime;
      s->max_t = kMinTime;
      num_chunks_.fetch_sub(1, std::memory_order_relaxed);
    }
    auto lo = std::lower_bound(s->ooo.begin(), s->ooo.end(), mint_ms,
                               [](const Sample& a, int64_t t) { return a.t_ms < t; });
    s->ooo.erase(s->ooo.begin(), lo);
    if (s->st != nullptr) {
      // In-order start timestamps go with the chunks that held their samples (a chunk that
      // reaches past mint_ms keeps all of its samples, older ones included).
      int64_t keep_from = kMaxTime;
      if (!s->sealed.empty()) {
        keep_from = s->sealed.front()->min_time_ms();
      } else if (s->open.num_samples() > 0) {
        keep_from = s->open.min_time_ms();
      }
      s->st->in_order.Truncate(keep_from);
      std::erase_if(s->st->ooo, [&](const SampleST& e) { return e.t_ms < mint_ms; });
      if (s->st->in_order.empty() && s->st->ooo.empty()) s->st.reset();
    }
    size_t h_drop = 0;
    while (h_drop < s->h_sealed.size() && s->h_sealed[h_drop]->max_time_ms() < mint_ms) ++h_drop;
    if (h_drop > 0) {
      s->h_sealed.erase(s->h_sealed.begin(), s->h_sealed.begin() + static_cast<ptrdiff_t>(h_drop));
      num_chunks_.fetch_sub(static_cast<int64_t>(h_drop), std::memory_order_relaxed);
    }
    if (s->h_open.num_samples() > 0 && s->h_open.max_time_ms() < mint_ms) {
      s->h_open = HistogramChunk();
      s->h_open_end_ms = kMaxTime;
      s->h_max_t = kMinTime;
      s->h_last_body.clear();
      num_chunks_.fetch_sub(1, std::memory_order_relaxed);
    }
    if (s->Empty()) {
      empty.push_back(s);
    } else {
      new_min = std::min(new_min, s->MinTimeLocked());
    }
  }
  for (const auto& s : empty) {
    HashStripe& hs = hash_stripes_[s->hash % kStripes];
    {
      std::lock_guard hash_lock(hs.mu);
      {
        std::lock_guard lock(s->mu);
        if (!s->Empty() || s->pins.load(std::memory_order_relaxed) > 0) continue;
      }
      auto it = hs.by_hash.find(s->hash);
      if (it != hs.by_hash.end()) {
        std::erase(it->second, s);
        if (it->second.empty()) hs.by_hash.erase(it);
      }
      RefStripe& rs = ref_stripes_[s->ref % kStripes];
      std::lock_guard ref_lock(rs.mu);
      rs.by_ref.erase(s->ref);
    }
    postings_.Delete(s->ref, s->labels);
    num_series_.fetch_sub(1, std::memory_order_relaxed);
    std::lock_guard lock(exemplar_mu_);
    auto it = exemplars_.find(s->ref);
    if (it != exemplars_.end()) {
      num_exemplars_ -= it->second.size();
      exemplars_.erase(it);
    }
  }
  min_time_.store(new_min, std::memory_order_release);
  if (new_min == kMaxTime) max_time_.store(kMinTime, std::memory_order_release);
}

Head::Stats Head::GetStats() const {
  Stats st;
  st.num_series = num_series_.load(std::memory_order_relaxed);
  st.samples_appended = samples_appended_.load(std::memory_order_relaxed);
  st.ooo_samples_appended = ooo_samples_appended_.load(std::memory_order_relaxed);
  st.num_chunks = static_cast<uint64_t>(std::max<int64_t>(0, num_chunks_.load()));
  {
    std::lock_guard lock(exemplar_mu_);
    st.num_exemplars = num_exemplars_;
  }
  st.min_time_ms = MinTime();
  st.max_time_ms = MaxTime();
  return st;
}

}  // namespace argus::tsdb
