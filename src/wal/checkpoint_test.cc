#include "wal/checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "wal/test_util.h"

namespace argus::wal {
namespace {

using Strings = std::vector<std::string>;

// Drops "drop:*", rewrites "rewrite:N" to "rewritten:N", keeps the rest unchanged.
bool Filter(std::string_view rec, std::string* out) {
  if (rec.rfind("drop:", 0) == 0) return false;
  if (rec.rfind("rewrite:", 0) == 0) *out = "rewritten:" + std::string(rec.substr(8));
  return true;
}

class CheckpointTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    auto w = Wal::Open(dir_, {});
    ASSERT_TRUE(w.ok());
    wal_ = std::move(*w);
  }

  // What the tsdb does at startup: the newest checkpoint, then the segments after it.
  Strings Recover() {
    Strings out;
    int from = 0;
    auto cp = LastCheckpoint(dir_);
    EXPECT_TRUE(cp.ok());
    if (cp.ok() && cp->has_value()) {
      out = testing::ReadAll((*cp)->first);
      from = (*cp)->second + 1;
    }
    Strings tail = testing::ReadAll(dir_, nullptr, from);
    out.insert(out.end(), tail.begin(), tail.end());
    return out;
  }

  std::unique_ptr<Wal> wal_;
};

TEST_F(CheckpointTest, FiltersRewritesAndRecoversWithTheTail) {
  ASSERT_TRUE(wal_->Log({"keep:1", "drop:2", "rewrite:3"}).ok());
  ASSERT_TRUE(wal_->NextSegment().ok());
  ASSERT_TRUE(wal_->Log({"drop:4", "keep:5"}).ok());
  auto next = wal_->NextSegment();
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(*next, 2);
  ASSERT_TRUE(wal_->Log({"tail:6", "drop:7"}).ok());

  ASSERT_TRUE(Checkpoint(dir_, 0, *next - 1, Filter).ok());
  ASSERT_TRUE(wal_->TruncateBefore(*next).ok());

  auto cp = LastCheckpoint(dir_);
  ASSERT_TRUE(cp.ok());
  ASSERT_TRUE(cp->has_value());
  EXPECT_EQ((*cp)->first, dir_ + "/checkpoint.00000001");
  EXPECT_EQ((*cp)->second, 1);
  EXPECT_EQ(testing::ReadAll((*cp)->first), (Strings{"keep:1", "rewritten:3", "keep:5"}));
  // The tail is not filtered: only checkpointed segments are.
  EXPECT_EQ(Recover(), (Strings{"keep:1", "rewritten:3", "keep:5", "tail:6", "drop:7"}));
  EXPECT_EQ(wal_->Segments(), std::make_pair(2, 2));
}

TEST_F(CheckpointTest, NextCheckpointCarriesTheLastOneAndReplacesIt) {
  ASSERT_TRUE(wal_->Log({"keep:1", "rewrite:2"}).ok());
  ASSERT_TRUE(wal_->NextSegment().ok());
  ASSERT_TRUE(Checkpoint(dir_, 0, 0, Filter).ok());
  ASSERT_TRUE(wal_->TruncateBefore(1).ok());
  ASSERT_TRUE(wal_->Log({"keep:3", "drop:4"}).ok());
  ASSERT_TRUE(wal_->NextSegment().ok());

  // The second pass sees "rewritten:2" (kept as is) and drops "keep:1" this time.
  int calls = 0;
  auto second = [&calls](std::string_view rec, std::string* out) {
    ++calls;
    return rec != "keep:1" && Filter(rec, out);
  };
  ASSERT_TRUE(Checkpoint(dir_, 1, 1, second).ok());
  EXPECT_EQ(calls, 4);
  ASSERT_TRUE(wal_->TruncateBefore(2).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/" + CheckpointName(0)));
  EXPECT_EQ(Recover(), (Strings{"rewritten:2", "keep:3"}));
}

// A crash between Checkpoint and TruncateBefore leaves checkpointed segments on disk; the next
// checkpoint must not copy their records a second time.
TEST_F(CheckpointTest, RepeatAfterCrashDoesNotDuplicate) {
  ASSERT_TRUE(wal_->Log("a").ok());
  ASSERT_TRUE(wal_->NextSegment().ok());
  ASSERT_TRUE(wal_->Log("b").ok());
  ASSERT_TRUE(wal_->NextSegment().ok());
  ASSERT_TRUE(Checkpoint(dir_, 0, 1, Filter).ok());
  // No TruncateBefore ("crash"); more data; checkpoint again from the first segment on disk.
  ASSERT_TRUE(wal_->Log("c").ok());
  ASSERT_TRUE(wal_->NextSegment().ok());
  ASSERT_EQ(wal_->Segments().first, 0);
  ASSERT_TRUE(Checkpoint(dir_, 0, 2, Filter).ok());
  auto cp = LastCheckpoint(dir_);
  ASSERT_TRUE(cp.ok() && cp->has_value());
  EXPECT_EQ((*cp)->second, 2);
  EXPECT_EQ(testing::ReadAll((*cp)->first), (Strings{"a", "b", "c"}));
  EXPECT_EQ(Recover(), (Strings{"a", "b", "c"}));
}

TEST_F(CheckpointTest, StaleRequestLeavesTheNewerCheckpoint) {
  ASSERT_TRUE(wal_->Log("a").ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(wal_->NextSegment().ok());
  ASSERT_TRUE(Checkpoint(dir_, 0, 2, Filter).ok());
  ASSERT_TRUE(Checkpoint(dir_, 0, 1, Filter).ok());
  ASSERT_TRUE(Checkpoint(dir_, 0, 2, Filter).ok());
  auto cp = LastCheckpoint(dir_);
  ASSERT_TRUE(cp.ok() && cp->has_value());
  EXPECT_EQ((*cp)->second, 2);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/" + CheckpointName(1)));
  EXPECT_EQ(testing::ReadAll((*cp)->first), Strings{"a"});
}

// An interrupted checkpoint (a .tmp directory) is never taken for a checkpoint and is removed
// by the next successful one.
TEST_F(CheckpointTest, InterruptedCheckpointIsIgnoredAndCleanedUp) {
  ASSERT_TRUE(wal_->Log("a").ok());
  ASSERT_TRUE(wal_->NextSegment().ok());
  const std::string junk = dir_ + "/" + CheckpointName(7) + ".tmp";
  {
    auto w = Wal::Open(junk, {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Log("half-written").ok());
  }
  auto none = LastCheckpoint(dir_);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(Checkpoint(dir_, 0, 0, Filter).ok());
  EXPECT_FALSE(std::filesystem::exists(junk));
  EXPECT_EQ(Recover(), Strings{"a"});
}

TEST_F(CheckpointTest, RejectsBadRanges) {
  EXPECT_EQ(Checkpoint(dir_, 2, 1, Filter).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Checkpoint(dir_, -1, 1, Filter).code(), StatusCode::kInvalidArgument);
}

TEST(LastCheckpointTest, MissingDirectoryHasNone) {
  auto cp = LastCheckpoint("/nonexistent/argus/wal");
  ASSERT_TRUE(cp.ok());
  EXPECT_FALSE(cp->has_value());
}

}  // namespace
}  // namespace argus::wal
