// Select and label lookups on a block of 10,000 series (10 metrics x 1,000 instances, 2 hours
// at a 15 s interval: 4.8 M samples), written once to a temporary directory.

#include <stdlib.h>

#include <benchmark/benchmark.h>

#include "tsdb/block.h"
#include "util/file.h"

namespace argus::tsdb {
namespace {

constexpr int kMetrics = 10;
constexpr int kInstances = 1000;
constexpr int64_t kRangeMs = 2 * 3600 * 1000;
constexpr int64_t kStepMs = 15000;

class BenchBlock {
 public:
  static BenchBlock& Get() {
    static BenchBlock b;
    return b;
  }
  ~BenchBlock() { RemoveAll(dir_).IgnoreError(); }
  const std::shared_ptr<Block>& block() const { return block_; }

 private:
  BenchBlock() {
    std::string tmpl = "/tmp/argus_block_bench.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir_ = tmpl;
    std::vector<BlockSeries> series;
    for (int m = 0; m < kMetrics; ++m) {
      for (int i = 0; i < kInstances; ++i) {
        BlockSeries s{Labels::FromMap({{"__name__", "metric_" + std::to_string(m)},
                                       {"instance", "host-" + std::to_string(i)},
                                       {"job", "job-" + std::to_string(i % 10)}}),
                      {}};
        XorChunk c;
        double v = i;
        for (int64_t t = 0; t < kRangeMs; t += kStepMs) {
          if (c.num_samples() == 120) {
            s.chunks.push_back({c.min_time_ms(), c.max_time_ms(), std::string(c.bytes())});
            c = XorChunk();
          }
          v += (t / kStepMs) % 3;
          c.Append(t, v);
        }
        s.chunks.push_back({c.min_time_ms(), c.max_time_ms(), std::string(c.bytes())});
        series.push_back(std::move(s));
      }
    }
    std::sort(series.begin(), series.end(),
              [](const BlockSeries& a, const BlockSeries& b) { return a.labels < b.labels; });
    auto meta = WriteBlock(dir_, 0, kRangeMs, 1, {}, std::move(series));
    if (!meta.ok()) std::abort();
    auto b = Block::Open(dir_ + "/" + meta->ulid);
    if (!b.ok()) std::abort();
    block_ = *b;
  }
  std::string dir_;
  std::shared_ptr<Block> block_;
};

Matcher M(MatchType t, const char* name, const char* value) {
  return *Matcher::Make(t, name, value);
}

void RunSelect(benchmark::State& state, const std::vector<Matcher>& ms, int64_t mint,
               int64_t maxt) {
  const auto& block = BenchBlock::Get().block();
  size_t series = 0, samples = 0;
  for (auto _ : state) {
    auto q = block->NewQuerier(mint, maxt);
    auto r = (*q)->Select(ms, {});
    if (!r.ok()) state.SkipWithError("select failed");
    series = r->size();
    samples = 0;
    for (const auto& s : *r) samples += s.samples.size();
    benchmark::DoNotOptimize(r);
  }
  state.counters["series"] = static_cast<double>(series);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * samples));
}

void BM_SelectOneSeries(benchmark::State& state) {
  RunSelect(state,
            {M(MatchType::kEqual, "__name__", "metric_3"),
             M(MatchType::kEqual, "instance", "host-123")},
            0, kRangeMs);
}
BENCHMARK(BM_SelectOneSeries);

void BM_SelectMetricAndJobLast30m(benchmark::State& state) {
  RunSelect(state,
            {M(MatchType::kEqual, "__name__", "metric_3"), M(MatchType::kEqual, "job", "job-7")},
            kRangeMs - 1800 * 1000, kRangeMs);
}
BENCHMARK(BM_SelectMetricAndJobLast30m);

void BM_SelectRegexInstances(benchmark::State& state) {
  RunSelect(state,
            {M(MatchType::kEqual, "__name__", "metric_1"),
             M(MatchType::kRegexMatch, "instance", "host-1.*")},
            0, kRangeMs);
}
BENCHMARK(BM_SelectRegexInstances);

void BM_SelectWholeMetric(benchmark::State& state) {
  RunSelect(state, {M(MatchType::kEqual, "__name__", "metric_5")}, 0, kRangeMs);
}
BENCHMARK(BM_SelectWholeMetric);

void BM_SelectNegativeMatcher(benchmark::State& state) {
  RunSelect(state,
            {M(MatchType::kEqual, "__name__", "metric_5"),
             M(MatchType::kNotEqual, "job", "job-1")},
            kRangeMs - 300 * 1000, kRangeMs);
}
BENCHMARK(BM_SelectNegativeMatcher);

void BM_LabelValuesWithMatcher(benchmark::State& state) {
  const auto& block = BenchBlock::Get().block();
  std::vector<Matcher> ms = {M(MatchType::kEqual, "job", "job-3")};
  for (auto _ : state) {
    auto q = block->NewQuerier(0, kRangeMs);
    auto r = (*q)->LabelValues("instance", ms);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_LabelValuesWithMatcher);

}  // namespace
}  // namespace argus::tsdb
