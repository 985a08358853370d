#include "wal/wal.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "wal/test_util.h"

namespace argus::wal {
namespace {

using Strings = std::vector<std::string>;

class WalTest : public testing::TempDirTest {};

// Polls `cond` for up to 5 s.
template <typename F>
bool Eventually(F cond) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return cond();
}

TEST_F(WalTest, RoundTripAcrossSegments) {
  WalOptions o;
  o.segment_size_bytes = 200;
  {
    auto w = Wal::Open(dir_, o);
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 50; ++i) ASSERT_TRUE((*w)->Log("record-" + std::to_string(i)).ok());
    EXPECT_EQ((*w)->Segments().first, 0);
    EXPECT_GE((*w)->Segments().second, 3);
    EXPECT_EQ((*w)->size_bytes(), testing::SegmentBytesOnDisk(dir_));
    EXPECT_EQ((*w)->stats().batches, 50u);
    ASSERT_TRUE((*w)->Close().ok());
  }
  auto segments = ListSegments(dir_);
  ASSERT_TRUE(segments.ok());
  for (int s : *segments) EXPECT_LE(testing::FileSizeOf(SegmentPath(s)), 200u) << s;
  Strings recs = testing::ReadAll(dir_);
  ASSERT_EQ(recs.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(recs[i], "record-" + std::to_string(i));
}

TEST_F(WalTest, RecordsLargerThanASegmentGetTheirOwn) {
  WalOptions o;
  o.segment_size_bytes = 1024;
  const std::string big(10000, 'x');
  {
    auto w = Wal::Open(dir_, o);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Log("small").ok());
    ASSERT_TRUE((*w)->Log({"a", big, "b"}).ok());
    ASSERT_TRUE((*w)->Log(std::string_view("")).ok());
    EXPECT_EQ((*w)->Segments(), std::make_pair(0, 2));
  }
  EXPECT_GT(testing::FileSizeOf(SegmentPath(1)), big.size());
  EXPECT_LT(testing::FileSizeOf(SegmentPath(2)), 100u);
  EXPECT_EQ(testing::ReadAll(dir_), (Strings{"small", "a", big, "b", ""}));
}

TEST_F(WalTest, EmptyBatchWritesNothing) {
  auto w = Wal::Open(dir_, {});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Log(std::vector<std::string_view>{}).ok());
  EXPECT_EQ((*w)->size_bytes(), 0u);
  EXPECT_EQ((*w)->stats().batches, 0u);
}

TEST_F(WalTest, ReopenAppendsToANewSegment) {
  {
    auto w = Wal::Open(dir_, {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Log("one").ok());
    EXPECT_EQ((*w)->Segments(), std::make_pair(0, 0));
  }
  auto w = Wal::Open(dir_, {});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->Segments(), std::make_pair(0, 1));
  EXPECT_EQ((*w)->size_bytes(), testing::FileSizeOf(SegmentPath(0)));
  ASSERT_TRUE((*w)->Log("two").ok());
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ(testing::ReadAll(dir_), (Strings{"one", "two"}));
}

TEST_F(WalTest, ClosedWalRefusesWrites) {
  auto w = Wal::Open(dir_, {});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Log("x").ok());
  ASSERT_TRUE((*w)->Close().ok());
  ASSERT_TRUE((*w)->Close().ok());  // idempotent
  EXPECT_EQ((*w)->Log("y").code(), StatusCode::kUnavailable);
  EXPECT_EQ((*w)->NextSegment().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ((*w)->size_bytes(), testing::SegmentBytesOnDisk(dir_));
  EXPECT_EQ(testing::ReadAll(dir_), Strings{"x"});
}

TEST_F(WalTest, RejectsBadOptions) {
  WalOptions zero_size;
  zero_size.segment_size_bytes = 0;
  EXPECT_EQ(Wal::Open(dir_, zero_size).status().code(), StatusCode::kInvalidArgument);
  WalOptions zero_interval;
  zero_interval.sync_interval_ms = 0;
  EXPECT_EQ(Wal::Open(dir_, zero_interval).status().code(), StatusCode::kInvalidArgument);
  zero_interval.sync = SyncPolicy::kNone;  // the interval only matters for kBatch
  EXPECT_TRUE(Wal::Open(dir_, zero_interval).ok());
}

TEST_F(WalTest, NextSegmentAndTruncateBefore) {
  auto w = Wal::Open(dir_, {});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Log("s0").ok());
  auto n1 = (*w)->NextSegment();
  ASSERT_TRUE(n1.ok());
  EXPECT_EQ(*n1, 1);
  ASSERT_TRUE((*w)->Log("s1").ok());
  auto n2 = (*w)->NextSegment();
  ASSERT_TRUE(n2.ok());
  EXPECT_EQ(*n2, 2);
  ASSERT_TRUE((*w)->Log("s2").ok());
  EXPECT_EQ((*w)->Segments(), std::make_pair(0, 2));

  ASSERT_TRUE((*w)->TruncateBefore(1).ok());
  EXPECT_EQ((*w)->Segments(), std::make_pair(1, 2));
  EXPECT_FALSE(std::filesystem::exists(SegmentPath(0)));
  EXPECT_EQ((*w)->size_bytes(), testing::SegmentBytesOnDisk(dir_));
  EXPECT_EQ(testing::ReadAll(dir_), (Strings{"s1", "s2"}));

  // Never deletes the segment being written.
  ASSERT_TRUE((*w)->TruncateBefore(100).ok());
  EXPECT_EQ((*w)->Segments(), std::make_pair(2, 2));
  ASSERT_TRUE((*w)->Log("s2b").ok());
  EXPECT_EQ((*w)->size_bytes(), testing::SegmentBytesOnDisk(dir_));
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ(testing::ReadAll(dir_), (Strings{"s2", "s2b"}));
}

// Four writers, each logging two-record batches: every record arrives exactly once and the two
// records of a batch are adjacent, under every policy.
TEST_F(WalTest, ConcurrentWritersUnderEachPolicy) {
  for (SyncPolicy p : {SyncPolicy::kAlways, SyncPolicy::kBatch, SyncPolicy::kNone}) {
    std::filesystem::remove_all(dir_);
    WalOptions o;
    o.sync = p;
    o.sync_interval_ms = 5;
    o.segment_size_bytes = 4096;
    constexpr int kThreads = 4, kBatches = 200;
    {
      auto w = Wal::Open(dir_, o);
      ASSERT_TRUE(w.ok());
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          for (int i = 0; i < kBatches; ++i) {
            std::string a = std::to_string(t) + ":" + std::to_string(i);
            std::string b = a + "+";
            EXPECT_TRUE((*w)->Log({a, b}).ok());
          }
        });
      }
      for (auto& t : threads) t.join();
      WalStats s = (*w)->stats();
      EXPECT_EQ(s.batches, uint64_t{kThreads * kBatches});
      EXPECT_EQ(s.records, uint64_t{2 * kThreads * kBatches});
      EXPECT_GT(s.segments_created, 2u);
      if (p == SyncPolicy::kNone) {
        EXPECT_EQ(s.fsyncs, 0u);
      }
      ASSERT_TRUE((*w)->Close().ok());
    }
    Strings recs = testing::ReadAll(dir_);
    ASSERT_EQ(recs.size(), size_t{2 * kThreads * kBatches});
    std::set<std::string> uniq;
    std::map<int, int> next_per_thread;
    for (size_t i = 0; i < recs.size(); i += 2) {
      ASSERT_EQ(recs[i + 1], recs[i] + "+");
      uniq.insert(recs[i]);
      // A thread's batches appear in the order it logged them.
      int t = std::stoi(recs[i]);
      int n = std::stoi(recs[i].substr(recs[i].find(':') + 1));
      EXPECT_EQ(n, next_per_thread[t]++);
    }
    EXPECT_EQ(uniq.size(), size_t{kThreads * kBatches});
  }
}

TEST_F(WalTest, AlwaysSyncsBeforeReturningAndSharesSyncs) {
  WalOptions o;
  o.sync = SyncPolicy::kAlways;
  auto w = Wal::Open(dir_, o);
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE((*w)->Log("r").ok());
    EXPECT_EQ((*w)->stats().fsyncs, uint64_t(i + 1));  // one sync per lone Log
  }
  // Concurrent writers: a sync started by one covers the batches of the others.
  const uint64_t before = (*w)->stats().fsyncs;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) EXPECT_TRUE((*w)->Log("c").ok());
    });
  }
  for (auto& t : threads) t.join();
  const uint64_t syncs = (*w)->stats().fsyncs - before;
  EXPECT_GT(syncs, 0u);
  EXPECT_LT(syncs, 800u);
}

TEST_F(WalTest, BatchSyncsInTheBackground) {
  {
    WalOptions o;
    o.sync = SyncPolicy::kBatch;
    o.sync_interval_ms = 3600 * 1000;  // the timer never fires during this test
    auto w = Wal::Open(dir_, o);
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 10; ++i) ASSERT_TRUE((*w)->Log("r").ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ((*w)->stats().fsyncs, 0u);  // Log never syncs
    ASSERT_TRUE((*w)->NextSegment().ok());
    // The rolled segment is synced promptly, off the write path.
    EXPECT_TRUE(Eventually([&] { return (*w)->stats().fsyncs >= 1; }));
    ASSERT_TRUE((*w)->Close().ok());
    EXPECT_GE((*w)->stats().fsyncs, 2u);
  }
  std::filesystem::remove_all(dir_);
  {
    WalOptions o;
    o.sync = SyncPolicy::kBatch;
    o.sync_interval_ms = 10;
    auto w = Wal::Open(dir_, o);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Log("r").ok());
    EXPECT_TRUE(Eventually([&] { return (*w)->stats().fsyncs >= 1; }));
    // Nothing new written: the timer finds nothing to sync.
    const uint64_t n = (*w)->stats().fsyncs;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ((*w)->stats().fsyncs, n);
  }
}

TEST_F(WalTest, NoneSyncsOnlyOnClose) {
  WalOptions o;
  o.sync = SyncPolicy::kNone;
  o.segment_size_bytes = 100;
  auto w = Wal::Open(dir_, o);
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE((*w)->Log(std::string(30, 'n')).ok());
  EXPECT_GT((*w)->Segments().second, 5);
  EXPECT_EQ((*w)->stats().fsyncs, 0u);
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ((*w)->stats().fsyncs, 1u);
  EXPECT_EQ(testing::ReadAll(dir_).size(), 50u);
}

TEST(WalPolicyTest, ParsesNames) {
  EXPECT_EQ(*ParseSyncPolicy("always"), SyncPolicy::kAlways);
  EXPECT_EQ(*ParseSyncPolicy("batch"), SyncPolicy::kBatch);
  EXPECT_EQ(*ParseSyncPolicy("none"), SyncPolicy::kNone);
  EXPECT_EQ(ParseSyncPolicy("sometimes").status().code(), StatusCode::kInvalidArgument);
}

// A child logs numbered records and reports each acknowledged number through a pipe; the
// parent SIGKILLs it at a random moment. Every acknowledged record must replay, and the WAL
// must reopen after every kill. Rounds alternate kBatch and kAlways.
TEST_F(WalTest, KillNineLosesNothingAcknowledged) {
  std::mt19937 rng(std::random_device{}());
  int64_t next = 0;
  std::set<int64_t> acked;
  for (int round = 0; round < 10; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      WalOptions o;
      o.sync = round % 2 == 0 ? SyncPolicy::kBatch : SyncPolicy::kAlways;
      o.segment_size_bytes = 64 << 10;  // roll now and then too
      auto w = Wal::Open(dir_, o);
      if (!w.ok()) ::_exit(2);
      for (int64_t i = next;; ++i) {
        std::string rec = std::to_string(i) + std::string(i % 300, '.');
        if (!(*w)->Log(rec).ok()) ::_exit(3);
        if (::write(fds[1], &i, sizeof i) != sizeof i) ::_exit(4);
      }
    }
    ::close(fds[1]);
    // Drain acknowledgements until a random deadline, then kill mid-stream.
    const auto deadline =
        std::chrono::steady_clock::now() +
        std::chrono::microseconds(std::uniform_int_distribution<int>(2000, 60000)(rng));
    int64_t v;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{fds[0], POLLIN, 0};
      if (::poll(&pfd, 1, 1) > 0 && ::read(fds[0], &v, sizeof v) == sizeof v) {
        acked.insert(v);
        next = v + 1;
      }
    }
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    while (::read(fds[0], &v, sizeof v) == sizeof v) {
      acked.insert(v);
      next = v + 1;
    }
    ::close(fds[0]);
    int status;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  }
  ASSERT_GT(acked.size(), 100u);
  std::set<int64_t> replayed;
  ReplayStats st;
  for (const auto& r : testing::ReadAll(dir_, &st)) {
    size_t digits = r.find('.');
    int64_t n = std::stoll(r.substr(0, digits));
    ASSERT_EQ(r.size() - std::min(digits, r.size()), size_t(n % 300)) << "damaged record " << n;
    replayed.insert(n);
  }
  for (int64_t a : acked) ASSERT_TRUE(replayed.count(a)) << "acknowledged record " << a << " lost";
  auto w = Wal::Open(dir_, {});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Log("after the crashes").ok());
}

}  // namespace
}  // namespace argus::wal
