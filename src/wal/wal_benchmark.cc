#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "wal/wal.h"

namespace argus::wal {
namespace {

// Batches of 100 records of 100 bytes each, kBatch policy: records/s is the figure to watch.
void BM_LogBatch(benchmark::State& state) {
  char tmpl[] = "/tmp/argus_wal_bench_XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  auto w = Wal::Open(dir, WalOptions{});
  std::string rec(100, 'r');
  std::vector<std::string_view> batch(100, rec);
  for (auto _ : state) {
    if (!(*w)->Log(batch).ok()) state.SkipWithError("log failed");
  }
  state.SetItemsProcessed(state.iterations() * 100);
  state.SetBytesProcessed(state.iterations() * 100 * 100);
  (*w)->Close().IgnoreError();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_LogBatch);

}  // namespace
}  // namespace argus::wal
