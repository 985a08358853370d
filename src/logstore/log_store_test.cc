#include "logstore/log_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace argus::logstore {
namespace {

constexpr int64_t kSec = 1'000'000'000;

class LogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/argus_logstore_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    opts_.wal.sync = wal::SyncPolicy::kNone;
    opts_.block_size_bytes = 256;  // small blocks: exercise sealing and block skipping
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<LogStore> OpenStore() {
    auto s = LogStore::Open(dir_, opts_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  static std::vector<std::pair<Labels, std::vector<LogEntry>>> All(const LogStore& s, std::vector<Matcher> ms,
                                                                  int64_t lo = 0, int64_t hi = INT64_MAX) {
    std::vector<std::pair<Labels, std::vector<LogEntry>>> out;
    EXPECT_TRUE(s.Select(ms, lo, hi, [&](const Labels& ls, std::span<const LogEntry> es) {
                   // Select passes a stream's entries batch by batch, in a row.
                   if (out.empty() || out.back().first != ls) out.emplace_back(ls, std::vector<LogEntry>());
                   out.back().second.insert(out.back().second.end(), es.begin(), es.end());
                   return Status::OK();
                 }).ok());
    return out;
  }

  static Matcher Eq(const std::string& n, const std::string& v) { return *Matcher::Make(MatchType::kEqual, n, v); }

  std::string dir_;
  LogStoreOptions opts_;
};

TEST_F(LogStoreTest, PushSelectAcrossBlocksAndHead) {
  auto s = OpenStore();
  std::vector<LogEntry> es;
  for (int i = 0; i < 100; ++i) es.push_back({i * kSec, "line " + std::to_string(i), {}});
  ASSERT_TRUE(s->Push({{Labels::FromMap({{"app", "a"}}), es}, {Labels::FromMap({{"app", "b"}}), {{5 * kSec, "b", {}}}}}).ok());
  EXPECT_GT(s->stats().blocks, 1u);
  auto got = All(*s, {Eq("app", "a")}, 10 * kSec, 19 * kSec);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].second.size(), 10u);
  EXPECT_EQ(got[0].second.front().line, "line 10");
  EXPECT_EQ(got[0].second.back().line, "line 19");
  EXPECT_EQ(All(*s, {*Matcher::Make(MatchType::kRegexMatch, "app", ".+")}).size(), 2u);
  EXPECT_EQ(s->LabelValues("app", {}, 0, INT64_MAX), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s->LabelNames({}, 0, INT64_MAX), std::vector<std::string>{"app"});
  EXPECT_EQ(s->Series({Eq("app", "b")}, 0, 4 * kSec).size(), 0u);  // no entry before 5s
}

TEST_F(LogStoreTest, LineHintsSkipBlocksWithoutTheNeedle) {
  auto s = OpenStore();
  std::vector<LogEntry> es;
  for (int i = 0; i < 200; ++i) es.push_back({i * kSec, i == 150 ? "found the needle" : "hay " + std::to_string(i), {}});
  ASSERT_TRUE(s->Push({{Labels::FromMap({{"app", "a"}}), es}}).ok());
  ASSERT_GT(s->stats().blocks, 2u);
  SelectHints h{{"needle"}};
  std::vector<LogEntry> got;
  ASSERT_TRUE(s->Select({Eq("app", "a")}, 0, INT64_MAX, [&](const Labels&, std::span<const LogEntry> xs) {
                 got.assign(xs.begin(), xs.end());
                 return Status::OK();
               }, &h).ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].ts_ns, 150 * kSec);
  // Every block but the needle's was skipped by its trigram filter, undecompressed.
  LogStoreStats st = s->stats();
  EXPECT_LE(st.blocks_decoded, 1u);
  EXPECT_GE(st.blocks_filtered, st.blocks - 1);
}

// Out-of-order pushes make a stream's blocks overlap in time; cursors still return one time
// order (equal timestamps in arrival order), forward and, reversed exactly, backward.
TEST_F(LogStoreTest, OverlappingBlocksComeOutInTimeOrderBothWays) {
  auto s = OpenStore();
  Labels ls = Labels::FromMap({{"app", "a"}});
  std::vector<LogEntry> es;
  for (int i = 0; i < 100; ++i) es.push_back({i * kSec, "line " + std::to_string(i), {}});
  ASSERT_TRUE(s->Push({{ls, es}}).ok());
  es.clear();
  for (int i = 40; i < 60; ++i) es.push_back({i * kSec + kSec / 2, "late " + std::to_string(i), {}});
  es.push_back({50 * kSec, "dup 50", {}});
  ASSERT_TRUE(s->Push({{ls, es}}).ok());
  ASSERT_TRUE(s->Push({{ls, {{70 * kSec, "dup 70", {}}}}}).ok());  // stays in the head
  ASSERT_GT(s->stats().blocks, 4u);
  auto got = All(*s, {Eq("app", "a")});
  ASSERT_EQ(got.size(), 1u);
  const std::vector<LogEntry>& fwd = got[0].second;
  ASSERT_EQ(fwd.size(), 122u);
  for (size_t i = 1; i < fwd.size(); ++i) ASSERT_LE(fwd[i - 1].ts_ns, fwd[i].ts_ns) << i;
  auto at = [&](const std::string& line) {
    return std::find_if(fwd.begin(), fwd.end(), [&](const LogEntry& e) { return e.line == line; }) - fwd.begin();
  };
  EXPECT_EQ(at("dup 50"), at("line 50") + 1);
  EXPECT_EQ(at("late 50"), at("dup 50") + 1);
  EXPECT_EQ(at("dup 70"), at("line 70") + 1);

  auto cursors = s->Open({Eq("app", "a")}, 0, INT64_MAX, Order::kBackward);
  ASSERT_TRUE(cursors.ok());
  ASSERT_EQ(cursors->size(), 1u);
  std::vector<LogEntry> bwd;
  while (true) {
    auto b = (*cursors)[0].cursor->Next();
    ASSERT_TRUE(b.ok());
    if (b->empty()) break;
    for (size_t i = b->size(); i-- > 0;) bwd.push_back((*b)[i]);
  }
  ASSERT_EQ(bwd.size(), fwd.size());
  for (size_t i = 0; i < fwd.size(); ++i) EXPECT_EQ(bwd[bwd.size() - 1 - i].line, fwd[i].line) << i;
}

TEST_F(LogStoreTest, OutOfOrderWindow) {
  opts_.ooo_window_ns = 10 * kSec;
  auto s = OpenStore();
  Labels ls = Labels::FromMap({{"app", "a"}});
  ASSERT_TRUE(s->Push({{ls, {{100 * kSec, "new", {}}}}}).ok());
  ASSERT_TRUE(s->Push({{ls, {{95 * kSec, "late but inside", {}}}}}).ok());
  Status st = s->Push({{ls, {{50 * kSec, "too old", {}}, {101 * kSec, "fine", {}}}}});
  EXPECT_EQ(st.code(), StatusCode::kOutOfOrder);
  auto got = All(*s, {Eq("app", "a")});
  ASSERT_EQ(got[0].second.size(), 3u);  // the valid entry of the rejected push is kept
  EXPECT_EQ(got[0].second[0].line, "late but inside");
  EXPECT_EQ(got[0].second[2].line, "fine");
}

TEST_F(LogStoreTest, WalReplayAfterCrashAndSnapshotAfterClose) {
  {
    auto s = OpenStore();
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(s->Push({{Labels::FromMap({{"app", "a"}}), {{i * kSec, "e" + std::to_string(i), {{"k", "v"}}}}}}).ok());
    }
    // Simulate a crash: copy the directory as it is on disk while the store is open (no
    // Close, no snapshot), and reopen the copy.
    std::filesystem::copy(dir_, dir_ + "_crash", std::filesystem::copy_options::recursive);
    ASSERT_TRUE(s->Close().ok());
  }
  std::filesystem::remove_all(dir_);
  std::filesystem::rename(dir_ + "_crash", dir_);
  {
    auto s = OpenStore();
    auto got = All(*s, {Eq("app", "a")});
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(got[0].second.size(), 50u);
    EXPECT_EQ(got[0].second[49].metadata[0].value, "v");
    ASSERT_TRUE(s->Push({{Labels::FromMap({{"app", "c"}}), {{60 * kSec, "after", {}}}}}).ok());
    ASSERT_TRUE(s->Close().ok());
  }
  bool has_snapshot = false;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    has_snapshot |= e.path().filename().string().rfind("snapshot.", 0) == 0;
  }
  EXPECT_TRUE(has_snapshot);
  auto s = OpenStore();
  EXPECT_EQ(All(*s, {Eq("app", "a")})[0].second.size(), 50u);
  EXPECT_EQ(All(*s, {Eq("app", "c")})[0].second[0].line, "after");
}

TEST_F(LogStoreTest, CorruptSnapshotIsReportedNotLoaded) {
  {
    auto s = OpenStore();
    ASSERT_TRUE(s->Push({{Labels::FromMap({{"app", "a"}}), {{kSec, "x", {}}}}}).ok());
    ASSERT_TRUE(s->Close().ok());
  }
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    if (e.path().filename().string().rfind("snapshot.", 0) != 0) continue;
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(6);
    f.put('\x7f');
  }
  auto s = LogStore::Open(dir_, opts_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kCorruption);
}

TEST_F(LogStoreTest, RetentionDropsOldEntriesAndStreams) {
  opts_.retention_ns = 100 * kSec;
  opts_.ooo_window_ns = 0;
  auto s = OpenStore();
  ASSERT_TRUE(s->Push({{Labels::FromMap({{"app", "old"}}), {{10 * kSec, "x", {}}}},
                       {Labels::FromMap({{"app", "new"}}), {{10 * kSec, "x", {}}, {150 * kSec, "y", {}}}}}).ok());
  ASSERT_TRUE(s->ApplyRetention(200 * kSec).ok());
  EXPECT_EQ(s->LabelValues("app", {}, 0, INT64_MAX), std::vector<std::string>{"new"});
  auto got = All(*s, {Eq("app", "new")});
  ASSERT_EQ(got[0].second.size(), 1u);
  EXPECT_EQ(got[0].second[0].line, "y");
}

}  // namespace
}  // namespace argus::logstore

namespace argus::logstore {
namespace {

struct RecordingSink : TailSink {
  void OnEntries(const Labels& stream, const std::vector<LogEntry>& entries) override {
    for (const LogEntry& e : entries) got.emplace_back(stream.ToString(), e.line);
  }
  std::vector<std::pair<std::string, std::string>> got;
};

TEST_F(LogStoreTest, TailSinksSeeMatchingEntriesAfterTheWal) {
  auto s = OpenStore();
  ASSERT_NE(s, nullptr);
  RecordingSink a, all;
  uint64_t ida = s->AddTailSink({*Matcher::Make(MatchType::kEqual, "app", "a")}, &a);
  s->AddTailSink({}, &all);
  Labels la = Labels::FromMap({{"app", "a"}}), lb = Labels::FromMap({{"app", "b"}});
  ASSERT_TRUE(s->Push({{la, {{2 * kSec, "a2", {}}, {1 * kSec, "a1", {}}}}, {lb, {{1 * kSec, "b1", {}}}}}).ok());
  // Sorted by time within the push; only the matching stream for `a`.
  ASSERT_EQ(a.got.size(), 2u);
  EXPECT_EQ(a.got[0].second, "a1");
  EXPECT_EQ(a.got[1].second, "a2");
  EXPECT_EQ(all.got.size(), 3u);
  s->RemoveTailSink(ida);
  ASSERT_TRUE(s->Push({{la, {{3 * kSec, "a3", {}}}}}).ok());
  EXPECT_EQ(a.got.size(), 2u);  // removed: not called again
  EXPECT_EQ(all.got.size(), 4u);
  // Entries the out-of-order window rejects are not tailed.
  opts_.ooo_window_ns = kSec;
  ASSERT_TRUE(s->Close().ok());
  s.reset();
  auto s2 = OpenStore();
  RecordingSink late;
  s2->AddTailSink({}, &late);
  EXPECT_FALSE(s2->Push({{la, {{0, "too old", {}}, {4 * kSec, "a4", {}}}}}).ok());
  ASSERT_EQ(late.got.size(), 1u);
  EXPECT_EQ(late.got[0].second, "a4");
}

}  // namespace
}  // namespace argus::logstore
