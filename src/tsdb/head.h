// The head: the in-memory part of the metrics engine holding the most recent samples of every
// series until they are cut into an on-disk block (db.h). In the spirit of Prometheus' TSDB
// head (tsdb/head.go); the in-memory layout is described in docs/format/head.md.
//
// Each series (identified by a 64-bit ref, found by label hash with collisions resolved by
// comparing labels) keeps:
//   - sealed XorChunks (immutable, shared with running queries), cut at
//     HeadOptions::samples_per_chunk samples or when a sample crosses a multiple of
//     chunk_range_ms, so that no chunk spans two blocks;
//   - one open XorChunk receiving in-order samples;
//   - an out-of-order buffer: samples older than the series' newest sample by at most
//     ooo_window_ms, kept sorted and merged into query results;
//   - only once a sample with a start timestamp arrives: a StColumn (st_column.h) with the
//     start timestamps of its in-order samples, and those of its out-of-order ones;
//   - up to max_exemplars_per_series exemplars (oldest evicted; the head-wide total is capped
//     at max_exemplars, evicting the oldest exemplar of the head).
// A postings index (postings.h) maps label pairs to refs for Select.
//
// Append rules (Prometheus' head appender): t older than min_valid_time() (data already cut
// into blocks) => OutOfOrder("out of bounds"); t older than the newest sample by more than the
// OOO window => OutOfOrder("out of order sample"); an existing timestamp with different value
// bits => OutOfOrder("duplicate sample for timestamp"); with identical bits => OK, no change.
//
// Example:
//   Head head(HeadOptions{});
//   bool created;
//   ASSIGN_OR_RETURN(uint64_t ref, head.GetOrCreate(labels, &created));  // pins the series
//   RETURN_IF_ERROR(head.Append(ref, t_ms, v));
//   head.Unpin(ref);
//   std::unique_ptr<Querier> q = head.NewQuerier(mint_ms, maxt_ms);
//
// Thread-safety: every method may be called concurrently, except that Truncate must not run
// concurrently with appends (the DB holds its commit gate exclusively around it). The series
// maps are split into 16 lock stripes by label hash and by ref; each series has its own
// mutex; postings have a shared mutex; exemplars and metadata one mutex each.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "model/labels.h"
#include "model/matcher.h"
#include "model/sample.h"
#include "tsdb/chunk.h"
#include "tsdb/histogram_chunk.h"
#include "tsdb/postings.h"
#include "tsdb/st_column.h"
#include "tsdb/storage.h"
#include "util/status.h"

namespace argus::tsdb {

struct HeadOptions {
  // Chunks never span a multiple of this (ms); the DB sets it to the block range. Default 2h.
  int64_t chunk_range_ms = 2 * 3600 * 1000;
  // Samples per chunk before a new one is cut. Default 120 (Prometheus).
  int samples_per_chunk = 120;
  // How far behind a series' newest sample a sample may be and still be accepted (ms).
  // Default 10 minutes; 0 rejects every out-of-order sample.
  int64_t ooo_window_ms = 10 * 60 * 1000;
  // Exemplars kept per series (newest win), default 10, and in the whole head, default 100000.
  int max_exemplars_per_series = 10;
  size_t max_exemplars = 100000;
};

// One encoded chunk exported for a block: XorChunk or HistogramChunk bytes (per `encoding`)
// and its first/last sample times.
struct HeadChunk {
  int64_t min_time_ms = 0, max_time_ms = 0;
  std::string bytes;
  ChunkEncoding encoding = ChunkEncoding::kXor;
};

struct HeadSeriesChunks {
  Labels labels;
  std::vector<HeadChunk> chunks;  // time-ordered, non-overlapping
};

class Head {
 public:
  explicit Head(HeadOptions opts = {});
  ~Head();
  Head(const Head&) = delete;
  Head& operator=(const Head&) = delete;

  // InvalidArgument unless `labels` is non-empty, has a `__name__`, has strictly sorted
  // non-empty names, and all names and values are valid UTF-8.
  static Status ValidateLabels(const Labels& labels);

  // The ref of the series `labels`, created (after ValidateLabels) if missing; `*created`
  // says which. The series is pinned: it is not garbage-collected by Truncate until Unpin(ref)
  // is called once per GetOrCreate. Errors: InvalidArgument from ValidateLabels.
  Result<uint64_t> GetOrCreate(const Labels& labels, bool* created);
  // The same for a borrowed label set: copied into the head only when the series is created.
  Result<uint64_t> GetOrCreate(const LabelsView& labels, bool* created);
  void Unpin(uint64_t ref);

  // WAL replay: creates the series with the given ref. If a series with these labels exists
  // already (under another ref) that one's ref is returned and samples of `ref` should be
  // applied to it. Errors: Corruption if `ref` is taken by other labels; InvalidArgument
  // from ValidateLabels. The series counts as logged (SeriesNeedsRecord is false).
  Result<uint64_t> CreateWithRef(uint64_t ref, const Labels& labels);

  // Whether the series' creation still has to be written to the WAL, and marking it done.
  bool SeriesNeedsRecord(uint64_t ref) const;
  void MarkSeriesLogged(uint64_t ref);
  // The labels of `ref`; NotFound if no such series.
  Result<Labels> SeriesLabels(uint64_t ref) const;
  // Whether the head holds the series `ref` or a series with `labels` (checkpoint filter).
  bool HasSeries(uint64_t ref, const Labels& labels) const;

  // OK if Append(ref, t_ms, v) would be accepted (or be a no-op duplicate); the errors of
  // Append otherwise. NotFound for an unknown ref.
  Status CheckSample(uint64_t ref, int64_t t_ms, double v) const;
  // Appends one sample (see the rules above). NotFound for an unknown ref. A non-zero
  // `st_ms` is kept as the sample's start timestamp (in the series' StColumn, created on the
  // first one; st_column.h); a no-op duplicate keeps the start timestamp it had.
  Status Append(uint64_t ref, int64_t t_ms, double v, int64_t st_ms = 0);

  // Native histograms live beside the float samples of a series, in HistogramChunks cut like
  // the XOR chunks (and also when the kind changes between integer and float). They must be
  // in order: t_ms older than the series' newest histogram is OutOfOrder("out of order
  // sample"); an equal timestamp is a no-op for an identical histogram and OutOfOrder
  // ("duplicate sample for timestamp") otherwise; older than min_valid_time() is "out of
  // bounds". The histogram is not validated here (the appender does). NotFound for an
  // unknown ref.
  Status CheckHistogram(uint64_t ref, const HistogramSample& s) const;
  Status AppendHistogram(uint64_t ref, const HistogramSample& s);

  // Adds an exemplar to `ref`. An exemplar equal to the newest one of the series is a no-op;
  // one older than it is OutOfOrder("out of order exemplar"); labels longer than 128 UTF-8
  // characters in total (OpenMetrics) are InvalidArgument. NotFound for an unknown ref.
  Status CheckExemplar(uint64_t ref, const Exemplar& e) const;
  Status AppendExemplar(uint64_t ref, const Exemplar& e);

  // Records metadata for a metric family; the newest wins.
  void SetMetadata(const MetricMetadata& md);
  // All metadata sorted by family (or that of `metric` only), at most `limit` entries if >= 0.
  std::vector<MetricMetadata> Metadata(std::string_view metric = "", int limit = -1) const;

  // A Querier over [mint_ms, maxt_ms] (inclusive). REQUIRES: the head outlives it.
  std::unique_ptr<Querier> NewQuerier(int64_t mint_ms, int64_t maxt_ms);

  // Exemplars in [mint_ms, maxt_ms] of the series matching any matcher set, sorted by labels.
  std::vector<std::pair<Labels, std::vector<Exemplar>>> QueryExemplars(
      int64_t mint_ms, int64_t maxt_ms, const std::vector<std::vector<Matcher>>& matcher_sets)
      const;

  // Every series with samples in [mint_ms, maxt_ms) (maxt exclusive) and those samples as
  // chunks, sorted by labels: chunks lying wholly inside the range are copied as they are,
  // others (and series with out-of-order samples in range, and series with start
  // timestamps, which become ChunkEncoding::kXorST chunks) are re-encoded.
  std::vector<HeadSeriesChunks> ChunksInRange(int64_t mint_ms, int64_t maxt_ms) const;

  // Drops all samples older than `mint_ms`, raises min_valid_time() to it, and removes
  // series left empty that are not pinned. REQUIRES: no concurrent Append.
  void Truncate(int64_t mint_ms);

  // Samples older than this are rejected as "out of bounds". Default: no limit.
  int64_t min_valid_time() const { return min_valid_time_.load(std::memory_order_acquire); }
  void SetMinValidTime(int64_t t_ms);

  // The oldest timestamp a new write may carry (Prometheus' appendableMinValidTime): the
  // larger of min_valid_time() and MaxTime() minus the larger of half the chunk range and the
  // OOO window; no limit while the head is empty. Older samples are refused at ingest with
  // OutOfOrder("out of bounds") even for a new series, so one stray old timestamp cannot
  // reopen time ranges already written. WAL replay does not apply it (it restores what was
  // accepted).
  int64_t AppendableMinTime() const;

  // Oldest and newest sample time in the head; INT64_MAX / INT64_MIN when empty.
  int64_t MinTime() const { return min_time_.load(std::memory_order_acquire); }
  int64_t MaxTime() const { return max_time_.load(std::memory_order_acquire); }

  struct Stats {
    uint64_t num_series = 0;
    uint64_t samples_appended = 0;  // in-order and out-of-order, since the head was created
    uint64_t ooo_samples_appended = 0;
    uint64_t num_chunks = 0;        // sealed and open chunks holding samples
    uint64_t num_exemplars = 0;
    int64_t min_time_ms = std::numeric_limits<int64_t>::max();
    int64_t max_time_ms = std::numeric_limits<int64_t>::min();
  };
  Stats GetStats() const;

  const HeadOptions& options() const { return opts_; }

 private:
  struct MemSeries;
  class HeadQuerier;
  enum class AppendKind { kInOrder, kOutOfOrder, kNoop };

  static constexpr size_t kStripes = 16;
  struct HashStripe {
    mutable std::mutex mu;
    std::unordered_map<uint64_t, std::vector<std::shared_ptr<MemSeries>>> by_hash;  // GUARDED_BY(mu)
  };
  struct RefStripe {
    mutable std::mutex mu;
    std::unordered_map<uint64_t, std::shared_ptr<MemSeries>> by_ref;  // GUARDED_BY(mu)
  };

  // The series `ref` or null. Shared: a query or an appender may hold a series while Truncate
  // removes it from the maps.
  std::shared_ptr<MemSeries> GetByRef(uint64_t ref) const;
  std::shared_ptr<MemSeries> GetByLabels(const Labels& labels, uint64_t hash) const;
  // GetOrCreate for Labels and LabelsView: `labels` hashes to `hash`.
  template <class LabelSet>
  Result<uint64_t> GetOrCreateImpl(const LabelSet& labels, uint64_t hash, bool* created);
  // All series, for scans.
  std::vector<std::shared_ptr<MemSeries>> AllSeries() const;
  // Creates and indexes a series. REQUIRES: the hash stripe of `hash` locked by the caller.
  std::shared_ptr<MemSeries> CreateLocked(HashStripe& hs, uint64_t ref, const Labels& labels,
                                          uint64_t hash);
  // Classifies a sample against a series. REQUIRES: s.mu held.
  Result<AppendKind> Classify(const MemSeries& s, int64_t t_ms, double v) const;
  void UpdateTimeBounds(int64_t t_ms);
  // Classifies a histogram sample against a series. REQUIRES: s.mu held.
  Result<AppendKind> ClassifyHistogram(const MemSeries& s, int64_t t_ms,
                                       std::string_view body) const;
  // Samples of `s` in [mint_ms, maxt_ms], sorted, unique.
  static std::vector<Sample> SeriesSamples(const MemSeries& s, int64_t mint_ms, int64_t maxt_ms);
  // The start timestamps of those samples (only the known ones, sorted by t_ms).
  static std::vector<SampleST> SeriesSampleSTs(const MemSeries& s, int64_t mint_ms,
                                               int64_t maxt_ms);
  // Histogram samples of `s` in [mint_ms, maxt_ms], sorted.
  static std::vector<HistogramSample> SeriesHistograms(const MemSeries& s, int64_t mint_ms,
                                                       int64_t maxt_ms);
  // Whether `s` has any sample in [mint_ms, maxt_ms], from chunk and buffer bounds.
  static bool SeriesOverlaps(const MemSeries& s, int64_t mint_ms, int64_t maxt_ms);

  const HeadOptions opts_;
  std::array<HashStripe, kStripes> hash_stripes_;
  std::array<RefStripe, kStripes> ref_stripes_;
  MemPostings postings_;
  std::atomic<uint64_t> next_ref_{1};

  std::atomic<int64_t> min_valid_time_{std::numeric_limits<int64_t>::min()};
  std::atomic<int64_t> min_time_{std::numeric_limits<int64_t>::max()};
  std::atomic<int64_t> max_time_{std::numeric_limits<int64_t>::min()};
  std::atomic<uint64_t> num_series_{0};
  std::atomic<uint64_t> samples_appended_{0};
  std::atomic<uint64_t> ooo_samples_appended_{0};
  std::atomic<int64_t> num_chunks_{0};

  mutable std::mutex exemplar_mu_;
  std::unordered_map<uint64_t, std::deque<Exemplar>> exemplars_;  // GUARDED_BY(exemplar_mu_)
  std::deque<uint64_t> exemplar_order_;  // refs in insertion order. GUARDED_BY(exemplar_mu_)
  size_t num_exemplars_ = 0;             // GUARDED_BY(exemplar_mu_)

  mutable std::mutex metadata_mu_;
  std::map<std::string, MetricMetadata, std::less<>> metadata_;  // GUARDED_BY(metadata_mu_)
};

}  // namespace argus::tsdb
