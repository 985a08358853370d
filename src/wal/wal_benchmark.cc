// WAL throughput. The figure to watch is BM_Log/batch: records/s for batches of 100 records of
// 100 bytes under the default kBatch policy (the ingest path). BM_Log/always shows what group
// commit buys when several threads wait for fsync; BM_Replay is the startup recovery rate.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>

#include "wal/wal.h"

namespace argus::wal {
namespace {

constexpr int kRecordsPerBatch = 100;
constexpr size_t kRecordBytes = 100;

std::string MakeTempDir() {
  char tmpl[] = "/tmp/argus_wal_bench_XXXXXX";
  return ::mkdtemp(tmpl) != nullptr ? std::string(tmpl) : std::string();
}

// Shared by the threads of one run: set up and torn down by thread 0 (Google Benchmark holds
// the other threads at the start and end of the timed loop).
std::string g_dir;
std::unique_ptr<Wal> g_wal;

void BM_Log(benchmark::State& state, SyncPolicy policy) {
  if (state.thread_index() == 0) {
    g_dir = MakeTempDir();
    WalOptions o;
    o.sync = policy;
    auto w = Wal::Open(g_dir, o);
    if (!w.ok()) {
      state.SkipWithError(w.status().ToString().c_str());
      return;
    }
    g_wal = std::move(*w);
  }
  const std::string rec(kRecordBytes, 'r');
  const std::vector<std::string_view> batch(kRecordsPerBatch, rec);
  for (auto _ : state) {
    if (!g_wal->Log(batch).ok()) {
      state.SkipWithError("log failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * kRecordsPerBatch);
  state.SetBytesProcessed(state.iterations() * kRecordsPerBatch * kRecordBytes);
  if (state.thread_index() == 0) {
    state.counters["fsyncs"] = static_cast<double>(g_wal->stats().fsyncs);
    g_wal->Close().IgnoreError();  // the timed part is over; nothing to report it to
    g_wal.reset();
    std::filesystem::remove_all(g_dir);
  }
}
BENCHMARK_CAPTURE(BM_Log, batch, SyncPolicy::kBatch)->ThreadRange(1, 4)->UseRealTime();
BENCHMARK_CAPTURE(BM_Log, always, SyncPolicy::kAlways)->ThreadRange(1, 4)->UseRealTime();
BENCHMARK_CAPTURE(BM_Log, none, SyncPolicy::kNone)->UseRealTime();

// Replays 64 MiB of 100-byte records.
void BM_Replay(benchmark::State& state) {
  const std::string dir = MakeTempDir();
  const std::string rec(kRecordBytes, 'r');
  const std::vector<std::string_view> batch(kRecordsPerBatch, rec);
  constexpr int kBatches = (64 << 20) / (kRecordsPerBatch * kRecordBytes);
  {
    WalOptions o;
    o.sync = SyncPolicy::kNone;
    auto w = Wal::Open(dir, o);
    for (int i = 0; i < kBatches && w.ok(); ++i) (*w)->Log(batch).IgnoreError();
  }
  uint64_t records = 0;
  for (auto _ : state) {
    ReplayStats st;
    Status s = Replay(
        dir, 0,
        [](std::string_view r) {
          benchmark::DoNotOptimize(r.data());
          return Status::OK();
        },
        &st);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
    records += st.records;
  }
  state.SetItemsProcessed(static_cast<int64_t>(records));
  state.SetBytesProcessed(static_cast<int64_t>(records * kRecordBytes));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_Replay)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace argus::wal
