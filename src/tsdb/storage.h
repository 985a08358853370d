// The storage interfaces of the metrics path: how ingest writes samples (Appender) and how
// PromQL and the HTTP API read them (Queryable / Querier). The DB (db.h) implements both over
// the head and the on-disk blocks; tests may implement them over plain memory.
//
// Shapes follow Prometheus' `storage` package: an Appender batches samples and makes them
// durable and visible on Commit; a Querier is a read view over [mint_ms, maxt_ms] (inclusive
// bounds, milliseconds since the Unix epoch).
//
// Example:
//   std::unique_ptr<Appender> app = db.NewAppender();
//   Status st = app->Append(Labels::FromMap({{"__name__", "up"}}), now_ms, 1);
//   RETURN_IF_ERROR(app->Commit());          // durable in the WAL when this returns
//   ASSIGN_OR_RETURN(auto q, db.NewQuerier(now_ms - 300000, now_ms));
//   ASSIGN_OR_RETURN(std::vector<Series> ss, q->Select(matchers, {}));
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "model/histogram.h"
#include "model/labels.h"
#include "model/labels_view.h"
#include "model/matcher.h"
#include "model/sample.h"
#include "util/status.h"

namespace argus::tsdb {

// A native histogram value: integer counts (as ingested from remote_write and OTLP) or float
// counts (as PromQL and recording rules produce them).
using HistogramValue = std::variant<IntHistogram, FloatHistogram>;

// One native-histogram sample. A stale marker is a histogram whose sum is the StaleNaN
// (Prometheus' convention). `st_ms` is the sample's start timestamp (OTLP
// `start_time_unix_nano`, remote_write 2 `created_timestamp`): when the counter it belongs
// to started counting, in ms; 0 means unknown.
struct HistogramSample {
  int64_t t_ms = 0;
  HistogramValue value;
  int64_t st_ms = 0;

  bool is_float() const { return std::holds_alternative<FloatHistogram>(value); }
  // The sample as a FloatHistogram (integer histograms converted).
  FloatHistogram ToFloat() const {
    return is_float() ? std::get<FloatHistogram>(value) : std::get<IntHistogram>(value).ToFloat();
  }
  double sum() const {
    return is_float() ? std::get<FloatHistogram>(value).sum : std::get<IntHistogram>(value).sum;
  }
};

// A series and its samples in the queried range, in ascending timestamp order with no
// duplicate timestamps. Stale markers are included (see IsStaleNaN); PromQL skips them.
// Float samples and native-histogram samples are kept apart (a series may switch between
// them over time); each list is sorted on its own.
//
// Start timestamps of the float samples are in `sample_st`: (t_ms, st_ms) for each sample at
// t_ms that has one (st_ms != 0), sorted by t_ms, unique. It is empty when no sample has one,
// so the common case costs nothing, and lists of several sources merge by set union. Histogram
// samples carry theirs in HistogramSample::st_ms.
struct SampleST {
  int64_t t_ms = 0;
  int64_t st_ms = 0;
  friend bool operator==(const SampleST&, const SampleST&) = default;
};
struct Series {
  Labels labels;
  std::vector<Sample> samples;
  std::vector<HistogramSample> histograms{};
  std::vector<SampleST> sample_st{};
};

// Hints from the query engine; a Querier may ignore them (results must stay correct).
struct SelectHints {
  int64_t start_ms = 0;  // first sample time the engine needs (after lookback/range/offset)
  int64_t end_ms = 0;
  bool series_only = false;  // only labels are needed (e.g. /api/v1/series): samples may be empty
};

// A read view of the stored series over a fixed time range. Not thread-safe: use one per query.
class Querier {
 public:
  virtual ~Querier() = default;
  // Series matching every matcher that have at least one sample in the querier's range
  // (or, with hints.series_only, that exist in it), sorted by labels. REQUIRES: at least one
  // matcher. Errors: Corruption/IOError from blocks; Canceled if the query was canceled.
  virtual Result<std::vector<Series>> Select(const std::vector<Matcher>& matchers,
                                             const SelectHints& hints) = 0;
  // Sorted unique label names of the series matching `matchers` (all series if empty).
  virtual Result<std::vector<std::string>> LabelNames(const std::vector<Matcher>& matchers) = 0;
  // Sorted unique values of label `name` over the series matching `matchers`.
  virtual Result<std::vector<std::string>> LabelValues(std::string_view name,
                                                       const std::vector<Matcher>& matchers) = 0;
};

class Queryable {
 public:
  virtual ~Queryable() = default;
  // A Querier over [mint_ms, maxt_ms], both inclusive.
  virtual Result<std::unique_ptr<Querier>> NewQuerier(int64_t mint_ms, int64_t maxt_ms) = 0;
};

// Collects writes and makes them durable and visible on Commit. Not thread-safe: one per
// request. Destroying an Appender without Commit rolls back.
class Appender {
 public:
  virtual ~Appender() = default;
  // Adds one sample. Errors (the sample is skipped; the batch stays usable):
  //   InvalidArgument  empty label set, no __name__, invalid UTF-8, duplicate names
  //   OutOfOrder       older than the series' newest sample by more than the OOO window,
  //                    a different value at an existing timestamp ("duplicate sample"), or
  //                    older than the DB accepts at all, even for a new series ("out of
  //                    bounds": Prometheus' rule, the newest sample minus 1 h or the OOO
  //                    window, whichever is longer)
  virtual Status Append(const Labels& labels, int64_t t_ms, double v) = 0;
  // Append for a label set borrowed from the caller's memory (a decoded request): the
  // appender copies the labels only if it has to create the series, and does not keep the
  // view past this call. Same errors. The default copies and calls Append.
  virtual Status AppendBorrowed(const LabelsView& labels, int64_t t_ms, double v) {
    return Append(labels.ToLabels(), t_ms, v);
  }
  // Append with the sample's start timestamp `st_ms` (when the cumulative counter or the
  // delta interval began, ms; 0 = unknown, which is plain Append). Same errors. The default
  // drops the start timestamp (Appenders whose store keeps none); the DB's keeps it.
  virtual Status AppendWithST(const Labels& labels, int64_t st_ms, int64_t t_ms, double v) {
    (void)st_ms;
    return Append(labels, t_ms, v);
  }
  // AppendWithST for a borrowed label set (see AppendBorrowed). A zero `st_ms` is the same
  // as AppendBorrowed, so series without start timestamps keep its fast path.
  virtual Status AppendBorrowedWithST(const LabelsView& labels, int64_t st_ms, int64_t t_ms,
                                      double v) {
    if (st_ms == 0) return AppendBorrowed(labels, t_ms, v);
    return AppendWithST(labels.ToLabels(), st_ms, t_ms, v);
  }
  // Adds one native-histogram sample (integer or float). Errors as Append, plus
  // InvalidArgument if the histogram does not pass Validate (model/histogram.h). Histogram
  // samples must arrive in order per series: an older one is OutOfOrder("out of order
  // sample"). `s.st_ms` is kept as the sample's start timestamp where the store supports it.
  // The default refuses with Unimplemented (Appenders that store floats only).
  virtual Status AppendHistogram(const Labels& labels, const HistogramSample& s) {
    (void)labels;
    (void)s;
    return Status::Unimplemented("native histograms are not supported by this appender");
  }
  // Adds an exemplar for the series `labels` (created if missing).
  virtual Status AppendExemplar(const Labels& labels, const Exemplar& e) = 0;
  // Records metadata for a metric family (kept in memory and the WAL, newest wins).
  virtual Status UpdateMetadata(const MetricMetadata& md) = 0;
  // Writes the batch to the WAL (fsync per the DB's policy), then applies it to the head.
  // On error nothing of the batch is visible. The Appender may not be used afterwards.
  virtual Status Commit() = 0;
  // Discards the batch.
  virtual void Rollback() = 0;
};

}  // namespace argus::tsdb
