// Encode and decode throughput of XOR chunks, in samples per second, for a regular scrape
// series (15 s interval with jitter, slowly changing gauge) and for random values.

#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include "tsdb/chunk.h"

namespace argus::tsdb {
namespace {

constexpr int kSamplesPerChunk = 120;

std::vector<Sample> MakeSamples(bool random_values) {
  std::mt19937_64 rng(1);
  std::vector<Sample> s;
  int64_t t = 1700000000000;
  double v = 100;
  for (int i = 0; i < kSamplesPerChunk; ++i) {
    t += 15000 + static_cast<int64_t>(rng() % 20) - 10;
    v = random_values ? static_cast<double>(rng()) / 7 : v + static_cast<double>(rng() % 4);
    s.push_back({t, v});
  }
  return s;
}

void BM_Encode(benchmark::State& state) {
  const std::vector<Sample> s = MakeSamples(state.range(0) != 0);
  for (auto _ : state) {
    XorChunk c;
    for (const auto& x : s) c.Append(x.t_ms, x.v);
    benchmark::DoNotOptimize(c.bytes().data());
  }
  state.SetItemsProcessed(state.iterations() * kSamplesPerChunk);
}
BENCHMARK(BM_Encode)->Arg(0)->Arg(1)->ArgNames({"random"});

void BM_Decode(benchmark::State& state) {
  const std::vector<Sample> s = MakeSamples(state.range(0) != 0);
  XorChunk c;
  for (const auto& x : s) c.Append(x.t_ms, x.v);
  state.counters["bytes_per_sample"] =
      static_cast<double>(c.bytes().size()) / kSamplesPerChunk;
  for (auto _ : state) {
    double sum = 0;
    for (XorIterator it = c.Iterator(); it.Next();) sum += it.At().v;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * kSamplesPerChunk);
}
BENCHMARK(BM_Decode)->Arg(0)->Arg(1)->ArgNames({"random"});

}  // namespace
}  // namespace argus::tsdb
