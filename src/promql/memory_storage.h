// An in-memory tsdb::Queryable for the test-script runner and unit tests: series kept in a
// sorted map, samples in timestamp order. Not a store: no WAL, no limits.
//
// Example:
//   MemoryStorage st;
//   st.Add(Labels::FromMap({{"__name__", "up"}}), {{0, 1}, {15000, 1}});
//   Engine engine({});
//   auto r = engine.InstantQuery(&st, *expr, "up", 15000);
//
// Thread-safety: Add must not run concurrently with queries; queries may run concurrently.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "tsdb/storage.h"

namespace argus::promql {

class MemoryStorage : public tsdb::Queryable {
 public:
  // Appends samples to the series `labels` (created if missing); keeps timestamps sorted and
  // unique (a later sample at the same time replaces the earlier one).
  void Add(const Labels& labels, const std::vector<Sample>& samples);
  // The same with a start timestamp per sample (`st_ms[i]` for samples[i], ms, 0 = unknown;
  // REQUIRES: st_ms.size() == samples.size()). A replaced sample takes the new start time.
  void Add(const Labels& labels, const std::vector<Sample>& samples,
           const std::vector<int64_t>& st_ms);
  // The same for native-histogram samples (kept apart from the float samples; a float and a
  // histogram at the same time both stay, the later Add of the same kind replacing; each
  // sample's HistogramSample::st_ms is kept as its start timestamp). Queries
  // return them with the counter-reset hints Prometheus' chunks would give (see
  // memory_storage.cc: detected resets, "not a reset" after the first sample).
  void AddHistograms(const Labels& labels, const std::vector<tsdb::HistogramSample>& samples);
  void Clear() { series_.clear(); }
  size_t NumSeries() const { return series_.size(); }

  Result<std::unique_ptr<tsdb::Querier>> NewQuerier(int64_t mint_ms, int64_t maxt_ms) override;

  // One series' samples, each kind sorted by time (public for the querier).
  struct Data {
    std::vector<Sample> samples;
    std::vector<tsdb::SampleST> sample_st;  // the samples with a start time, sorted by t_ms
    std::vector<tsdb::HistogramSample> histograms;
  };
 private:
  std::map<Labels, Data> series_;
};

}  // namespace argus::promql
