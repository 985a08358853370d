#include "tracestore/trace_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tracestore/test_util.h"

namespace argus::tracestore {
namespace {

using testing::Id;
using testing::OneSpan;
namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  std::string d = ::testing::TempDir() + "/tracestore_" + name;
  fs::remove_all(d);
  return d;
}

TraceStoreOptions TestOptions() {
  TraceStoreOptions o;
  o.wal_sync = wal::SyncPolicy::kNone;
  o.maintenance_interval_ms = 0;
  o.retention_ms = 0;
  o.compaction_settle_ms = 0;  // merge any two blocks at once; the waiting has its own test
  return o;
}

std::vector<TraceBatch> Batch(int trace, int span, int parent, const std::string& service,
                              uint64_t start) {
  std::vector<TraceBatch> v(1);
  v[0].trace_id = Id(trace);
  v[0].spans = OneSpan(Id(trace), span, parent, service, "op" + std::to_string(span), start,
                       start + 100).SerializeAsString();
  return v;
}

int SpanCount(const std::string& traces_data) {
  opentelemetry::proto::trace::v1::TracesData td;
  EXPECT_TRUE(td.ParseFromString(traces_data));
  int n = 0;
  for (const auto& rs : td.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) n += ss.spans_size();
  }
  return n;
}

TEST(TraceStoreTest, TraceByIdAcrossHeadAndBlocks) {
  std::string dir = TempDir("byid");
  auto s = TraceStore::Open(dir, TestOptions());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_TRUE((*s)->Append(Batch(1, 1, -1, "front", 1000)).ok());
  ASSERT_TRUE((*s)->Append(Batch(2, 1, -1, "back", 5000)).ok());
  ASSERT_TRUE((*s)->Maintain(NowMs(), true).ok());
  EXPECT_EQ((*s)->stats().blocks, 1u);
  EXPECT_EQ((*s)->stats().live_traces, 0u);
  // More spans of trace 1 arrive after the cut: both parts come back.
  ASSERT_TRUE((*s)->Append(Batch(1, 2, 1, "back", 1100)).ok());
  auto t = (*s)->FindTrace(Id(1));
  ASSERT_TRUE(t.ok() && t->has_value());
  EXPECT_EQ(SpanCount(**t), 2);
  auto missing = (*s)->FindTrace(Id(99));
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  ASSERT_TRUE((*s)->Close().ok());
  EXPECT_EQ((*s)->Append(Batch(3, 1, -1, "x", 1)).status().code(), StatusCode::kUnavailable);
}

TEST(TraceStoreTest, ReplayRestoresTheHeadWithoutDuplicates) {
  std::string dir = TempDir("replay"), copy = TempDir("replay_copy");
  {
    auto s = TraceStore::Open(dir, TestOptions());
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Append(Batch(1, 1, -1, "a", 1000)).ok());
    ASSERT_TRUE((*s)->Maintain(NowMs(), true).ok());   // trace 1 now in a block
    ASSERT_TRUE((*s)->Append(Batch(2, 1, -1, "b", 2000)).ok());
    ASSERT_TRUE((*s)->Append(Batch(2, 2, 1, "b", 2100)).ok());
    // A crash: the directory as it is on disk while the store runs.
    fs::copy(dir, copy, fs::copy_options::recursive);
  }
  auto s = TraceStore::Open(copy, TestOptions());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->stats().replayed_records, 2u);
  EXPECT_EQ((*s)->stats().live_traces, 1u);
  auto t1 = (*s)->FindTrace(Id(1));
  ASSERT_TRUE(t1.ok() && t1->has_value());
  EXPECT_EQ(SpanCount(**t1), 1);  // from the block only, not replayed again
  auto t2 = (*s)->FindTrace(Id(2));
  ASSERT_TRUE(t2.ok() && t2->has_value());
  EXPECT_EQ(SpanCount(**t2), 2);
  ASSERT_TRUE((*s)->Close().ok());
  // Close cut the head: everything is in blocks and survives a reopen.
  auto again = TraceStore::Open(copy, TestOptions());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->stats().replayed_records, 0u);
  EXPECT_EQ((*again)->stats().blocks, 2u);
  auto t2b = (*again)->FindTrace(Id(2));
  ASSERT_TRUE(t2b.ok() && t2b->has_value());
  EXPECT_EQ(SpanCount(**t2b), 2);
}

TEST(TraceStoreTest, CorruptInputIsSkippedNotFatal) {
  std::string dir = TempDir("corrupt");
  {
    // A WAL record with a valid frame but bytes that are not spans.
    auto w = wal::Wal::Open(dir + "/wal", wal::WalOptions{});
    ASSERT_TRUE(w.ok());
    std::string rec = std::string(1, '\x01') + Id(5) + "\xff\xff\xff\xff";
    ASSERT_TRUE((*w)->Log({std::string_view(rec), std::string_view("\x09")}).ok());
    ASSERT_TRUE((*w)->Close().ok());
  }
  fs::create_directories(dir + "/blocks/0000000000000001000000aa");  // no meta.json
  fs::create_directories(dir + "/blocks/0000000000000002000000bb.tmp");
  auto s = TraceStore::Open(dir, TestOptions());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->stats().skipped_records, 2u);
  EXPECT_EQ((*s)->stats().blocks, 0u);
  EXPECT_FALSE(fs::exists(dir + "/blocks/0000000000000002000000bb.tmp"));
  EXPECT_EQ((*s)->Append({{"short", {}}}).status().code(), StatusCode::kInvalidArgument);
}

TEST(TraceStoreTest, Limits) {
  std::string dir = TempDir("limits");
  TraceStoreOptions o = TestOptions();
  o.max_live_traces = 2;
  auto first = Batch(1, 1, -1, "a", 1);
  o.max_bytes_per_trace = first[0].spans.size() * 2 + 20;  // room for two spans, not three
  auto s = TraceStore::Open(dir, o);
  ASSERT_TRUE(s.ok());
  auto r = (*s)->Append(std::move(first));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->accepted_spans, 1u);
  EXPECT_EQ(r->accepted, std::vector<size_t>{0});
  auto second = (*s)->Append(Batch(1, 2, 1, "a", 2));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->accepted_spans, 1u);
  auto big = (*s)->Append(Batch(1, 3, 1, "a", 3));
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->rejected_spans, 1u);
  EXPECT_NE(big->error.find("trace too large"), std::string::npos);
  ASSERT_TRUE((*s)->Append(Batch(2, 1, -1, "a", 1)).ok());
  auto third = (*s)->Append(Batch(3, 1, -1, "a", 1));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->rejected_spans, 1u);
  EXPECT_TRUE(third->accepted.empty());
  EXPECT_NE(third->error.find("live traces"), std::string::npos);
  auto t1 = (*s)->FindTrace(Id(1));
  ASSERT_TRUE(t1.ok() && t1->has_value());
  EXPECT_EQ(SpanCount(**t1), 2);
}

TEST(TraceStoreTest, RetentionDeletesOldBlocks) {
  std::string dir = TempDir("retention");
  TraceStoreOptions o = TestOptions();
  o.retention_ms = 3600 * 1000;
  auto s = TraceStore::Open(dir, o);
  ASSERT_TRUE(s.ok());
  int64_t now = NowMs();
  uint64_t old_ns = static_cast<uint64_t>(now - 2 * 3600 * 1000) * 1000000;
  uint64_t new_ns = static_cast<uint64_t>(now - 60 * 1000) * 1000000;
  ASSERT_TRUE((*s)->Append(Batch(1, 1, -1, "a", old_ns)).ok());
  ASSERT_TRUE((*s)->Maintain(now, true).ok());
  // The block with the old trace was cut and, being past retention, deleted at once.
  EXPECT_EQ((*s)->stats().blocks, 0u);
  ASSERT_TRUE((*s)->Append(Batch(2, 1, -1, "a", new_ns)).ok());
  ASSERT_TRUE((*s)->Maintain(now, true).ok());
  EXPECT_EQ((*s)->stats().blocks, 1u);
  auto t1 = (*s)->FindTrace(Id(1));
  ASSERT_TRUE(t1.ok());
  EXPECT_FALSE(t1->has_value());
  size_t dirs = 0;
  for (const auto& e : fs::directory_iterator(dir + "/blocks")) dirs += e.is_directory() ? 1 : 0;
  EXPECT_EQ(dirs, 1u);
}

TEST(TraceStoreTest, SearchAndTags) {
  std::string dir = TempDir("search");
  auto s = TraceStore::Open(dir, TestOptions());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Append(Batch(1, 1, -1, "front", 1000)).ok());
  ASSERT_TRUE((*s)->Maintain(NowMs(), true).ok());
  ASSERT_TRUE((*s)->Append(Batch(2, 1, -1, "back", 5000)).ok());
  std::vector<std::string> roots;
  ASSERT_TRUE((*s)->ForEachTrace(0, 0, nullptr,
                                 [&](const TraceSummary& t, const std::string& data) -> Result<bool> {
                                   EXPECT_EQ(SpanCount(data), 1);
                                   roots.push_back(t.root_service + "/" + t.root_name);
                                   return true;
                                 }).ok());
  EXPECT_EQ(roots, (std::vector<std::string>{"back/op1", "front/op1"}));  // head first
  roots.clear();
  ASSERT_TRUE((*s)->ForEachTrace(900, 1200, nullptr,
                                 [&](const TraceSummary& t, const std::string&) -> Result<bool> {
                                   roots.push_back(t.root_service);
                                   return true;
                                 }).ok());
  EXPECT_EQ(roots, (std::vector<std::string>{"front"}));
  // Column filters skip block traces that cannot match; head traces are always visited.
  ColumnFilter only_front;
  SpanCondition front;
  front.scope = AttrScope::kResource;
  front.key = "service.name";
  front.value = "front";
  only_front.required.push_back({front});
  ASSERT_TRUE((*s)->Maintain(NowMs(), true).ok());  // both traces in blocks now
  roots.clear();
  ASSERT_TRUE((*s)->ForEachTrace(0, 0, nullptr,
                                 [&](const TraceSummary& t, const std::string&) -> Result<bool> {
                                   roots.push_back(t.root_service);
                                   return true;
                                 }, &only_front).ok());
  EXPECT_EQ(roots, (std::vector<std::string>{"front"}));
  front.value = "nowhere";
  ColumnFilter none;
  none.required.push_back({front});
  SpanCondition get;
  get.field = SpanCondition::Field::kName;
  get.value = "op1";
  ColumnFilter by_name;
  by_name.required.push_back({get});
  int visited = 0;
  auto count = [&](const TraceSummary&, const std::string&) -> Result<bool> {
    ++visited;
    return true;
  };
  ASSERT_TRUE((*s)->ForEachTrace(0, 0, nullptr, count, &none).ok());
  EXPECT_EQ(visited, 0);
  ASSERT_TRUE((*s)->ForEachTrace(0, 0, nullptr, count, &by_name).ok());
  EXPECT_EQ(visited, 2);
  EXPECT_EQ((*s)->TagNames(AttrScope::kSpan),
            (std::vector<std::string>{"http.method", "http.status_code"}));
  EXPECT_EQ((*s)->TagNames(AttrScope::kResource), (std::vector<std::string>{"service.name"}));
  auto services = (*s)->TagValues(AttrScope::kResource, "service.name");
  ASSERT_EQ(services.size(), 2u);
  EXPECT_EQ(services[0].value, "back");
  EXPECT_EQ(services[1].value, "front");
  auto codes = (*s)->TagValues(AttrScope::kSpan, "http.status_code");
  ASSERT_EQ(codes.size(), 1u);  // the same value in head and block
  EXPECT_EQ(codes[0].type, ValueType::kInt);
  EXPECT_EQ(codes[0].value, "200");
  EXPECT_EQ((*s)->SpanNames(), (std::vector<std::string>{"op1"}));
}


// Blocks on disk (directories that are complete block names).
int BlockDirs(const std::string& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir + "/blocks")) {
    std::string name = e.path().filename().string();
    n += e.is_directory() && name.find('.') == std::string::npos ? 1 : 0;
  }
  return n;
}

TEST(TraceStoreTest, CompactionMergesSmallBlocks) {
  std::string dir = TempDir("compact");
  TraceStoreOptions o = TestOptions();
  o.compaction_max_blocks = 3;
  TraceStoreOptions no_compaction = TestOptions();
  no_compaction.compaction_max_bytes = 0;
  auto s = TraceStore::Open(dir, no_compaction);
  ASSERT_TRUE(s.ok());
  // Four cuts in one window; trace 1 has a span in the first and in the last block.
  for (int k = 0; k < 4; ++k) {
    ASSERT_TRUE((*s)->Append(Batch(10 + k, 1, -1, "svc" + std::to_string(k), 1000 + k)).ok());
    if (k == 0 || k == 3) {
      ASSERT_TRUE((*s)->Append(Batch(1, 1 + k, k ? 1 : -1, "front", 1000 + k)).ok());
    }
    ASSERT_TRUE((*s)->Maintain(NowMs(), true).ok());
  }
  EXPECT_EQ((*s)->stats().blocks, 4u);
  ASSERT_TRUE((*s)->Close().ok());
  s = TraceStore::Open(dir, o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->stats().blocks, 4u);
  auto merged = (*s)->Compact(NowMs());
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_TRUE(*merged);
  EXPECT_EQ((*s)->stats().blocks, 2u);  // three merged (the maximum), one left
  merged = (*s)->Compact(NowMs());
  ASSERT_TRUE(merged.ok() && *merged);
  EXPECT_EQ((*s)->stats().blocks, 1u);
  EXPECT_EQ((*s)->stats().compactions, 2u);
  merged = (*s)->Compact(NowMs());
  ASSERT_TRUE(merged.ok());
  EXPECT_FALSE(*merged);  // one block: nothing to merge
  EXPECT_EQ(BlockDirs(dir), 1);

  auto check = [&](TraceStore* st) {
    auto t1 = st->FindTrace(Id(1));
    ASSERT_TRUE(t1.ok() && t1->has_value());
    EXPECT_EQ(SpanCount(**t1), 2);  // both fragments, once each
    for (int k = 0; k < 4; ++k) {
      auto t = st->FindTrace(Id(10 + k));
      ASSERT_TRUE(t.ok() && t->has_value()) << k;
      EXPECT_EQ(SpanCount(**t), 1);
    }
    int visited = 0;
    ASSERT_TRUE(st->ForEachTrace(0, 0, nullptr, [&](const TraceSummary&, const std::string&) -> Result<bool> {
                  ++visited;
                  return true;
                }).ok());
    EXPECT_EQ(visited, 5);
    EXPECT_EQ(st->TagValues(AttrScope::kResource, "service.name").size(), 5u);
  };
  check(s->get());
  // The compacted block keeps the block invariants: sorted index, bloom over every ID.
  std::string block_dir;
  for (const auto& e : fs::directory_iterator(dir + "/blocks")) block_dir = e.path().string();
  auto b = Block::Open(block_dir);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ((*b)->num_traces(), 5u);
  for (size_t i = 1; i < (*b)->num_traces(); ++i) EXPECT_LT((*b)->Entry(i - 1).trace_id, (*b)->Entry(i).trace_id);
  for (int id : {1, 10, 11, 12, 13}) EXPECT_TRUE((*b)->MayContain(Id(id)));
  EXPECT_EQ((*b)->meta().compacted_from.size(), 2u);  // the first compaction's block and one more
  ASSERT_TRUE((*s)->Close().ok());
  auto again = TraceStore::Open(dir, o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->stats().blocks, 1u);
  check(again->get());
}

TEST(TraceStoreTest, CompactionWaitsForAFullOrSettledGroup) {
  std::string dir = TempDir("compact_wait");
  TraceStoreOptions o = TestOptions();
  o.compaction_max_blocks = 3;
  o.compaction_settle_ms = 60'000;
  auto s = TraceStore::Open(dir, o);
  ASSERT_TRUE(s.ok());
  const int64_t t0 = NowMs();
  auto cut = [&](int trace, int64_t now_ms) {
    ASSERT_TRUE((*s)->Append(Batch(trace, 1, -1, "svc", 1000 + trace)).ok());
    ASSERT_TRUE((*s)->Maintain(now_ms, true).ok());
  };
  cut(1, t0);
  cut(2, t0);
  EXPECT_EQ((*s)->stats().blocks, 2u);  // two of three, cut just now: waits
  auto merged = (*s)->Compact(t0 + 59'999);
  ASSERT_TRUE(merged.ok());
  EXPECT_FALSE(*merged);
  merged = (*s)->Compact(t0 + 60'000);  // settled
  ASSERT_TRUE(merged.ok() && *merged);
  EXPECT_EQ((*s)->stats().blocks, 1u);
  // A new cut is not merged into the bigger block at once ...
  cut(3, t0 + 70'000);
  EXPECT_EQ((*s)->stats().blocks, 2u);
  EXPECT_EQ((*s)->stats().compactions, 1u);
  // ... but the cut that fills the group (three blocks) is.
  cut(4, t0 + 71'000);
  EXPECT_EQ((*s)->stats().blocks, 1u);
  EXPECT_EQ((*s)->stats().compactions, 2u);
  for (int id = 1; id <= 4; ++id) {
    auto t = (*s)->FindTrace(Id(id));
    ASSERT_TRUE(t.ok() && t->has_value()) << id;
    EXPECT_EQ(SpanCount(**t), 1);
  }
}

TEST(TraceStoreTest, CompactionCrashBeforeDeletingInputsLeavesNoDuplicates) {
  std::string dir = TempDir("compact_crash"), saved = TempDir("compact_crash_saved");
  auto s = TraceStore::Open(dir, TestOptions());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Append(Batch(1, 1, -1, "a", 1000)).ok());
  ASSERT_TRUE((*s)->Maintain(NowMs(), true).ok());
  ASSERT_TRUE((*s)->Append(Batch(1, 2, 1, "b", 1100)).ok());
  ASSERT_TRUE((*s)->Append(Batch(2, 1, -1, "b", 1200)).ok());
  ASSERT_TRUE((*s)->Close().ok());  // the head is cut into a second block
  fs::copy(dir + "/blocks", saved, fs::copy_options::recursive);
  s = TraceStore::Open(dir, TestOptions());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->stats().blocks, 2u);
  auto merged = (*s)->Compact(NowMs());
  ASSERT_TRUE(merged.ok() && *merged);
  ASSERT_TRUE((*s)->Close().ok());
  // The crash: the inputs are still there next to the compacted block.
  fs::copy(saved, dir + "/blocks", fs::copy_options::recursive);
  EXPECT_EQ(BlockDirs(dir), 3);
  auto again = TraceStore::Open(dir, TestOptions());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->stats().blocks, 1u);
  EXPECT_EQ(BlockDirs(dir), 1);
  auto t1 = (*again)->FindTrace(Id(1));
  ASSERT_TRUE(t1.ok() && t1->has_value());
  EXPECT_EQ(SpanCount(**t1), 2);
}

TEST(TraceStoreTest, CompactionKeepsWindowsApartAndRetentionStillApplies) {
  std::string dir = TempDir("compact_window");
  TraceStoreOptions o = TestOptions();
  o.compaction_window_ms = 1000;  // 1 s windows
  auto s = TraceStore::Open(dir, o);
  ASSERT_TRUE(s.ok());
  const uint64_t sec = 1'000'000'000ULL;
  ASSERT_TRUE((*s)->Append(Batch(1, 1, -1, "a", 10 * sec)).ok());
  ASSERT_TRUE((*s)->Maintain(NowMs(), true).ok());
  ASSERT_TRUE((*s)->Append(Batch(2, 1, -1, "a", 20 * sec)).ok());
  ASSERT_TRUE((*s)->Maintain(NowMs(), true).ok());
  EXPECT_EQ((*s)->stats().blocks, 2u);  // different windows: not merged
  ASSERT_TRUE((*s)->Append(Batch(3, 1, -1, "a", 10 * sec + 5)).ok());
  ASSERT_TRUE((*s)->Maintain(NowMs(), true).ok());  // same window as trace 1: merged
  EXPECT_EQ((*s)->stats().blocks, 2u);
  EXPECT_EQ((*s)->stats().compactions, 1u);
  ASSERT_TRUE((*s)->Close().ok());
  o.retention_ms = 1000;
  auto r = TraceStore::Open(dir, o);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE((*r)->Maintain(NowMs(), false).ok());  // spans from 1970: past retention
  EXPECT_EQ((*r)->stats().blocks, 0u);
  EXPECT_EQ(BlockDirs(dir), 0);
}

}  // namespace
}  // namespace argus::tracestore
