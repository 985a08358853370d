#include "wal/reader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "wal/test_util.h"

namespace argus::wal {
namespace {

using Strings = std::vector<std::string>;

class ReplayTest : public testing::TempDirTest {
 protected:
  // Writes each inner vector as one segment of batches of one record each.
  void WriteSegments(const std::vector<Strings>& segments) {
    WalOptions o;
    o.sync = SyncPolicy::kNone;
    auto w = Wal::Open(dir_, o);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    for (size_t i = 0; i < segments.size(); ++i) {
      if (i > 0) {
        ASSERT_TRUE((*w)->NextSegment().ok());
      }
      for (const auto& r : segments[i]) ASSERT_TRUE((*w)->Log(r).ok());
    }
    ASSERT_TRUE((*w)->Close().ok());
  }

  void Overwrite(const std::string& path, const std::string& data) {
    ASSERT_TRUE(WriteFileAtomic(path, data).ok());
  }
};

// Cutting the last batch at every byte offset loses exactly that batch: earlier ones survive,
// the tail is repaired on disk, and the WAL reopens and appends after the survivors.
TEST_F(ReplayTest, TornTailAtEveryOffset) {
  uint64_t good_size = 0, full_size = 0;
  {
    auto w = Wal::Open(dir_, {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Log(std::vector<std::string_view>{"first", "batch"}).ok());
    good_size = (*w)->size_bytes();
    ASSERT_TRUE((*w)->Log({"second", "batch", std::string(100, 'z')}).ok());
    full_size = (*w)->size_bytes();
  }
  const std::string seg = SegmentPath(0);
  auto original = ReadFile(seg);
  ASSERT_TRUE(original.ok());
  ASSERT_EQ(original->size(), full_size);
  for (uint64_t cut = good_size; cut < full_size; ++cut) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Overwrite(seg, original->substr(0, cut));
    ReplayStats st;
    ASSERT_EQ(testing::ReadAll(dir_, &st), (Strings{"first", "batch"})) << "cut at " << cut;
    EXPECT_EQ(st.repaired, cut > good_size) << "cut at " << cut;
    EXPECT_EQ(st.truncated_bytes, cut - good_size);
    EXPECT_EQ(testing::FileSizeOf(seg), good_size);
    // Tear it again: Open repairs by itself too.
    Overwrite(seg, original->substr(0, cut));
    auto w = Wal::Open(dir_, {});
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(testing::FileSizeOf(seg), good_size);
    ASSERT_TRUE((*w)->Log("after").ok());
    ASSERT_TRUE((*w)->Close().ok());
    ASSERT_EQ(testing::ReadAll(dir_), (Strings{"first", "batch", "after"})) << "cut at " << cut;
  }
}

TEST_F(ReplayTest, FlippedByteInTheMiddleIsCaughtByTheCrc) {
  WriteSegments({{"aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"}});
  auto data = ReadFile(SegmentPath(0));
  ASSERT_TRUE(data.ok());
  std::string bad = *data;
  size_t pos = bad.find("bbbbb");
  ASSERT_NE(pos, std::string::npos);
  bad[pos + 2] = 'X';
  Overwrite(SegmentPath(0), bad);
  ReplayStats st;
  EXPECT_EQ(testing::ReadAll(dir_, &st), Strings{"aaaaaaaaaa"});
  EXPECT_TRUE(st.repaired);
  EXPECT_EQ(st.truncated_bytes, bad.size() - testing::FileSizeOf(SegmentPath(0)));
  EXPECT_EQ(st.batches, 1u);
  // The repair is idempotent: nothing left to cut.
  ReplayStats again;
  EXPECT_EQ(testing::ReadAll(dir_, &again), Strings{"aaaaaaaaaa"});
  EXPECT_FALSE(again.repaired);
}

TEST_F(ReplayTest, ZeroFilledTailIsCutWithoutLoss) {
  WriteSegments({{"one", "two"}});
  const uint64_t size = testing::FileSizeOf(SegmentPath(0));
  {
    std::ofstream f(SegmentPath(0), std::ios::binary | std::ios::app);
    f << std::string(4096, '\0');
  }
  ReplayStats st;
  EXPECT_EQ(testing::ReadAll(dir_, &st), (Strings{"one", "two"}));
  EXPECT_EQ(st.truncated_bytes, 4096u);
  EXPECT_EQ(testing::FileSizeOf(SegmentPath(0)), size);
}

// Corruption before the last segment loses the rest of that segment only; the file is left
// as it is and the later segments replay.
TEST_F(ReplayTest, CorruptEarlierSegmentIsSkippedNotRepaired) {
  WriteSegments({{"s0-a", "s0-b"}, {"s1-a", "s1-b", "s1-c"}, {"s2-a"}});
  auto data = ReadFile(SegmentPath(1));
  ASSERT_TRUE(data.ok());
  std::string bad = *data;
  bad[bad.find("s1-b")] = '!';
  Overwrite(SegmentPath(1), bad);
  ReplayStats st;
  EXPECT_EQ(testing::ReadAll(dir_, &st), (Strings{"s0-a", "s0-b", "s1-a", "s2-a"}));
  EXPECT_EQ(st.corrupt_segments, 1u);
  EXPECT_GT(st.skipped_bytes, 0u);
  EXPECT_FALSE(st.repaired);
  EXPECT_EQ(st.segments, 3u);
  EXPECT_EQ(testing::FileSizeOf(SegmentPath(1)), bad.size());
}

TEST_F(ReplayTest, FromSegmentSkipsEarlierOnes) {
  WriteSegments({{"a"}, {"b"}, {"c"}});
  ReplayStats st;
  EXPECT_EQ(testing::ReadAll(dir_, &st, 1), (Strings{"b", "c"}));
  EXPECT_EQ(st.segments, 2u);
  EXPECT_EQ(st.records, 2u);
  EXPECT_TRUE(testing::ReadAll(dir_, nullptr, 3).empty());
}

TEST_F(ReplayTest, CallbackErrorAbortsReplay) {
  WriteSegments({{"a", "b"}, {"c"}});
  Strings seen;
  Status st = Replay(
      dir_, 0,
      [&](std::string_view r) {
        seen.emplace_back(r);
        return r == "b" ? Status::Corruption("bad record") : Status::OK();
      },
      nullptr);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("bad record"), std::string::npos);
  EXPECT_EQ(seen, (Strings{"a", "b"}));
}

TEST_F(ReplayTest, MissingDirectoryHoldsNothing) {
  ReplayStats st;
  EXPECT_TRUE(testing::ReadAll(dir_ + "/nope", &st).empty());
  EXPECT_EQ(st.segments, 0u);
}

TEST_F(ReplayTest, OtherFilesAreIgnored) {
  WriteSegments({{"a"}});
  Overwrite(dir_ + "/notes.txt", "garbage");
  Overwrite(dir_ + "/0000001", "garbage");
  EXPECT_EQ(testing::ReadAll(dir_), Strings{"a"});
}

}  // namespace
}  // namespace argus::wal
