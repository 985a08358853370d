#include "wal/wal.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "util/file.h"

namespace argus::wal {
namespace {

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/argus_wal_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<std::string> ReadAll(const std::string& dir, ReplayStats* st = nullptr) {
    std::vector<std::string> out;
    Status s = Replay(dir, 0, [&](std::string_view r) {
      out.emplace_back(r);
      return Status::OK();
    }, st);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
  std::string dir_;
};

TEST_F(WalTest, RoundTripAcrossSegments) {
  WalOptions o;
  o.segment_size_bytes = 200;
  {
    auto w = Wal::Open(dir_, o);
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 50; ++i) ASSERT_TRUE((*w)->Log("record-" + std::to_string(i)).ok());
    EXPECT_GT((*w)->Segments().second, 2);
    EXPECT_GT((*w)->size_bytes(), 50u * 8);
    ASSERT_TRUE((*w)->Close().ok());
  }
  auto recs = ReadAll(dir_);
  ASSERT_EQ(recs.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(recs[i], "record-" + std::to_string(i));
}

TEST_F(WalTest, BatchesAreAtomicAndRecordsMayBeHuge) {
  WalOptions o;
  o.segment_size_bytes = 1024;
  std::string big(10000, 'x');
  {
    auto w = Wal::Open(dir_, o);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Log({"a", big, "b"}).ok());
    ASSERT_TRUE((*w)->Log(std::string_view("")).ok());
  }
  auto recs = ReadAll(dir_);
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[1], big);
  EXPECT_EQ(recs[3], "");
}

TEST_F(WalTest, ReopenAppendsToANewSegment) {
  int first_last;
  {
    auto w = Wal::Open(dir_, {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Log("one").ok());
    first_last = (*w)->Segments().second;
  }
  auto w = Wal::Open(dir_, {});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->Segments().second, first_last + 1);
  ASSERT_TRUE((*w)->Log("two").ok());
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_EQ(ReadAll(dir_), (std::vector<std::string>{"one", "two"}));
  EXPECT_FALSE((*w)->Log("three").ok());
}

TEST_F(WalTest, NextSegmentAndTruncateBefore) {
  auto w = Wal::Open(dir_, {});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Log("s0").ok());
  auto n1 = (*w)->NextSegment();
  ASSERT_TRUE(n1.ok());
  ASSERT_TRUE((*w)->Log("s1").ok());
  auto n2 = (*w)->NextSegment();
  ASSERT_TRUE(n2.ok());
  ASSERT_TRUE((*w)->Log("s2").ok());
  EXPECT_EQ(*n2, *n1 + 1);
  ASSERT_TRUE((*w)->TruncateBefore(*n2).ok());
  EXPECT_EQ((*w)->Segments().first, *n2);
  EXPECT_EQ(ReadAll(dir_), (std::vector<std::string>{"s2"}));
}

// Cutting the last batch at every byte offset loses exactly that batch: earlier ones survive,
// the WAL reopens (repairing the tail) and appends after them.
TEST_F(WalTest, TornTailIsTruncatedAtEveryOffset) {
  std::string seg_path;
  uint64_t good_size = 0, full_size = 0;
  {
    auto w = Wal::Open(dir_, {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Log(std::vector<std::string_view>{"first", "batch"}).ok());
    good_size = (*w)->size_bytes();
    ASSERT_TRUE((*w)->Log({"second", "batch", std::string(100, 'z')}).ok());
    full_size = (*w)->size_bytes();
    seg_path = dir_ + "/" + SegmentName((*w)->Segments().second);
  }
  auto original = ReadFile(seg_path);
  ASSERT_TRUE(original.ok());
  for (uint64_t cut = good_size; cut < full_size; ++cut) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ASSERT_TRUE(WriteFileAtomic(seg_path, std::string_view(*original).substr(0, cut)).ok());
    ReplayStats st;
    auto recs = ReadAll(dir_, &st);
    ASSERT_EQ(recs, (std::vector<std::string>{"first", "batch"})) << "cut at " << cut;
    EXPECT_EQ(st.repaired, cut > good_size) << "cut at " << cut;
    auto w = Wal::Open(dir_, {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Log("after").ok());
    ASSERT_TRUE((*w)->Close().ok());
    EXPECT_EQ(ReadAll(dir_), (std::vector<std::string>{"first", "batch", "after"}));
  }
}

TEST_F(WalTest, FlippedByteIsDetectedByCrc) {
  std::string seg_path;
  {
    auto w = Wal::Open(dir_, {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Log("aaaaaaaaaa").ok());
    ASSERT_TRUE((*w)->Log("bbbbbbbbbb").ok());
    ASSERT_TRUE((*w)->Log("cccccccccc").ok());
    seg_path = dir_ + "/" + SegmentName((*w)->Segments().second);
  }
  auto data = ReadFile(seg_path);
  ASSERT_TRUE(data.ok());
  std::string bad = *data;
  size_t pos = bad.find("bbbbb");
  ASSERT_NE(pos, std::string::npos);
  bad[pos + 2] = 'X';
  ASSERT_TRUE(WriteFileAtomic(seg_path, bad).ok());
  ReplayStats st;
  EXPECT_EQ(ReadAll(dir_, &st), (std::vector<std::string>{"aaaaaaaaaa"}));
  EXPECT_TRUE(st.repaired);
}

TEST_F(WalTest, ConcurrentWritersEachRecordOnce) {
  for (SyncPolicy p : {SyncPolicy::kAlways, SyncPolicy::kBatch, SyncPolicy::kNone}) {
    std::filesystem::remove_all(dir_);
    WalOptions o;
    o.sync = p;
    o.sync_interval_ms = 5;
    o.segment_size_bytes = 4096;
    {
      auto w = Wal::Open(dir_, o);
      ASSERT_TRUE(w.ok());
      std::vector<std::thread> ts;
      for (int t = 0; t < 4; ++t) {
        ts.emplace_back([&, t] {
          for (int i = 0; i < 200; ++i) {
            ASSERT_TRUE((*w)->Log(std::to_string(t) + ":" + std::to_string(i)).ok());
          }
        });
      }
      for (auto& t : ts) t.join();
    }
    auto recs = ReadAll(dir_);
    std::set<std::string> uniq(recs.begin(), recs.end());
    EXPECT_EQ(recs.size(), 800u);
    EXPECT_EQ(uniq.size(), 800u);
  }
}

TEST_F(WalTest, CheckpointFiltersAndRewrites) {
  auto w = Wal::Open(dir_, {});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Log({"keep:1", "drop:2", "rewrite:3"}).ok());
  ASSERT_TRUE((*w)->NextSegment().ok());
  ASSERT_TRUE((*w)->Log(std::vector<std::string_view>{"keep:4"}).ok());
  auto last = (*w)->NextSegment();
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE((*w)->Log(std::vector<std::string_view>{"tail:5"}).ok());
  auto filter = [](std::string_view rec, std::string* out) {
    if (rec.rfind("drop", 0) == 0) return false;
    if (rec.rfind("rewrite", 0) == 0) *out = "rewritten:3";
    return true;
  };
  ASSERT_TRUE(Checkpoint(dir_, 0, *last - 1, filter).ok());
  ASSERT_TRUE((*w)->TruncateBefore(*last).ok());
  auto cp = LastCheckpoint(dir_);
  ASSERT_TRUE(cp.ok());
  ASSERT_TRUE(cp->has_value());
  EXPECT_EQ((*cp)->second, *last - 1);
  EXPECT_EQ(ReadAll((*cp)->first), (std::vector<std::string>{"keep:1", "rewritten:3", "keep:4"}));
  EXPECT_EQ(ReadAll(dir_), (std::vector<std::string>{"tail:5"}));

  // A second checkpoint includes the first one's records and replaces it.
  auto next = (*w)->NextSegment();
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(Checkpoint(dir_, *last, *next - 1, filter).ok());
  auto cp2 = LastCheckpoint(dir_);
  ASSERT_TRUE(cp2.ok() && cp2->has_value());
  EXPECT_EQ(ReadAll((*cp2)->first),
            (std::vector<std::string>{"keep:1", "rewritten:3", "keep:4", "tail:5"}));
  EXPECT_FALSE(std::filesystem::exists((*cp)->first));
}

TEST(WalPolicyTest, ParsesNames) {
  EXPECT_EQ(*ParseSyncPolicy("always"), SyncPolicy::kAlways);
  EXPECT_EQ(*ParseSyncPolicy("batch"), SyncPolicy::kBatch);
  EXPECT_FALSE(ParseSyncPolicy("sometimes").ok());
}

// A child logs numbered records and reports each acknowledged number through a pipe; the
// parent SIGKILLs it at a random moment. Every acknowledged record must replay.
TEST_F(WalTest, KillNineLosesNothingAcknowledged) {
  std::mt19937 rng(42);
  int64_t next = 0;
  std::set<int64_t> acked;
  for (int round = 0; round < 10; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      auto w = Wal::Open(dir_, {});
      if (!w.ok()) ::_exit(2);
      for (int64_t i = next;; ++i) {
        if (!(*w)->Log(std::to_string(i)).ok()) ::_exit(3);
        if (::write(fds[1], &i, sizeof i) != sizeof i) ::_exit(4);
      }
    }
    ::close(fds[1]);
    ::usleep(std::uniform_int_distribution<int>(1000, 50000)(rng));
    ::kill(pid, SIGKILL);
    int64_t v;
    while (::read(fds[0], &v, sizeof v) == sizeof v) {
      acked.insert(v);
      next = v + 1;
    }
    ::close(fds[0]);
    int status;
    ::waitpid(pid, &status, 0);
  }
  ASSERT_FALSE(acked.empty());
  std::set<int64_t> replayed;
  for (const auto& r : ReadAll(dir_)) replayed.insert(std::stoll(r));
  for (int64_t a : acked) ASSERT_TRUE(replayed.count(a)) << "acknowledged record " << a << " lost";
}

}  // namespace
}  // namespace argus::wal
