#include "promql/memory_storage.h"

#include <algorithm>
#include <optional>
#include <set>

namespace argus::promql {

namespace {

// The counter-reset hints Prometheus' chunks give back: the first histogram of a series (and
// the first after a stale marker) keeps its own hint (unknown unless stated), a stated
// reset stays a reset, a gauge stays a gauge, and every other one is either "unknown" where a
// reset is detected (the appender cuts a new chunk whose first sample reads back as unknown,
// as promqltest's expectations show) or "not a reset".
std::vector<tsdb::HistogramSample> WithChunkHints(const std::vector<tsdb::HistogramSample>& in) {
  std::vector<tsdb::HistogramSample> out;
  out.reserve(in.size());
  std::optional<FloatHistogram> prev;
  for (const auto& smp : in) {
    FloatHistogram h = smp.ToFloat();
    if (IsStaleNaN(h.sum)) {
      prev.reset();
      out.push_back(smp);
      continue;
    }
    if (prev && h.counter_reset_hint != CounterResetHint::kGauge &&
        h.counter_reset_hint != CounterResetHint::kCounterReset) {
      bool reset = h.counter_reset_hint == CounterResetHint::kUnknown && h.DetectReset(*prev);
      h.counter_reset_hint = reset ? CounterResetHint::kUnknown
                                   : CounterResetHint::kNotCounterReset;
    }
    prev = h;
    out.push_back({smp.t_ms, std::move(h), smp.st_ms});
  }
  return out;
}

class MemoryQuerier : public tsdb::Querier {
 public:
  MemoryQuerier(const std::map<Labels, MemoryStorage::Data>* series, int64_t mint, int64_t maxt)
      : series_(series), mint_(mint), maxt_(maxt) {}

  Result<std::vector<tsdb::Series>> Select(const std::vector<Matcher>& matchers,
                                           const tsdb::SelectHints& hints) override {
    std::vector<tsdb::Series> out;
    for (const auto& [ls, data] : *series_) {
      if (!MatchesAll(matchers, ls)) continue;
      tsdb::Series s;
      s.labels = ls;
      const auto& samples = data.samples;
      auto lo = std::lower_bound(samples.begin(), samples.end(), mint_,
                                 [](const Sample& a, int64_t t) { return a.t_ms < t; });
      for (auto it = lo; it != samples.end() && it->t_ms <= maxt_; ++it) s.samples.push_back(*it);
      for (const auto& st : data.sample_st) {
        if (st.t_ms >= mint_ && st.t_ms <= maxt_) s.sample_st.push_back(st);
      }
      const std::vector<tsdb::HistogramSample> hs = WithChunkHints(data.histograms);
      auto hlo = std::lower_bound(hs.begin(), hs.end(), mint_,
                                  [](const tsdb::HistogramSample& a, int64_t t) { return a.t_ms < t; });
      for (auto it = hlo; it != hs.end() && it->t_ms <= maxt_; ++it) s.histograms.push_back(*it);
      if (s.samples.empty() && s.histograms.empty() && !hints.series_only) continue;
      out.push_back(std::move(s));
    }
    return out;
  }

  Result<std::vector<std::string>> LabelNames(const std::vector<Matcher>& matchers) override {
    std::set<std::string> names;
    for (const auto& [ls, samples] : *series_) {
      if (!matchers.empty() && !MatchesAll(matchers, ls)) continue;
      for (const auto& l : ls) names.insert(l.name);
    }
    return std::vector<std::string>(names.begin(), names.end());
  }

  Result<std::vector<std::string>> LabelValues(std::string_view name,
                                               const std::vector<Matcher>& matchers) override {
    std::set<std::string> values;
    for (const auto& [ls, samples] : *series_) {
      if (!matchers.empty() && !MatchesAll(matchers, ls)) continue;
      std::string_view v = ls.Get(name);
      if (!v.empty()) values.insert(std::string(v));
    }
    return std::vector<std::string>(values.begin(), values.end());
  }

 private:
  const std::map<Labels, MemoryStorage::Data>* series_;
  int64_t mint_, maxt_;
};

}  // namespace

void MemoryStorage::Add(const Labels& labels, const std::vector<Sample>& samples) {
  Add(labels, samples, std::vector<int64_t>(samples.size(), 0));
}

void MemoryStorage::Add(const Labels& labels, const std::vector<Sample>& samples,
                        const std::vector<int64_t>& st_ms) {
  Data& d = series_[labels];
  auto& dst = d.samples;
  auto& sts = d.sample_st;
  for (size_t k = 0; k < samples.size(); ++k) {
    const Sample& s = samples[k];
    auto it = std::lower_bound(dst.begin(), dst.end(), s.t_ms,
                               [](const Sample& a, int64_t t) { return a.t_ms < t; });
    if (it != dst.end() && it->t_ms == s.t_ms) {
      *it = s;
    } else {
      dst.insert(it, s);
    }
    int64_t st = k < st_ms.size() ? st_ms[k] : 0;
    auto sit = std::lower_bound(sts.begin(), sts.end(), s.t_ms,
                                [](const tsdb::SampleST& a, int64_t t) { return a.t_ms < t; });
    bool present = sit != sts.end() && sit->t_ms == s.t_ms;
    if (st != 0 && present) {
      sit->st_ms = st;
    } else if (st != 0) {
      sts.insert(sit, {s.t_ms, st});
    } else if (present) {
      sts.erase(sit);
    }
  }
}

void MemoryStorage::AddHistograms(const Labels& labels,
                                  const std::vector<tsdb::HistogramSample>& samples) {
  auto& dst = series_[labels].histograms;
  for (const auto& s : samples) {
    auto it = std::lower_bound(dst.begin(), dst.end(), s.t_ms,
                               [](const tsdb::HistogramSample& a, int64_t t) { return a.t_ms < t; });
    if (it != dst.end() && it->t_ms == s.t_ms) {
      *it = s;
    } else {
      dst.insert(it, s);
    }
  }
}

Result<std::unique_ptr<tsdb::Querier>> MemoryStorage::NewQuerier(int64_t mint_ms, int64_t maxt_ms) {
  return std::unique_ptr<tsdb::Querier>(new MemoryQuerier(&series_, mint_ms, maxt_ms));
}

}  // namespace argus::promql
