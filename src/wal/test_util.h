// Helpers shared by the WAL tests: a temporary directory per test and whole-WAL reads.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/file.h"
#include "wal/format.h"
#include "wal/wal.h"

namespace argus::wal::testing {

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/argus_wal_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string SegmentPath(int index) const { return dir_ + "/" + SegmentName(index); }

  std::string dir_;
};

// Every record of `dir` from `from` on, in order; fails the test if Replay fails.
inline std::vector<std::string> ReadAll(const std::string& dir, ReplayStats* stats = nullptr,
                                        int from = 0) {
  std::vector<std::string> out;
  Status st = Replay(
      dir, from,
      [&](std::string_view r) {
        out.emplace_back(r);
        return Status::OK();
      },
      stats);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

inline uint64_t FileSizeOf(const std::string& path) {
  std::error_code ec;
  uint64_t n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

// Sum of the sizes of the segment files in `dir`.
inline uint64_t SegmentBytesOnDisk(const std::string& dir) {
  uint64_t total = 0;
  Result<std::vector<int>> segments = ListSegments(dir);
  EXPECT_TRUE(segments.ok());
  if (!segments.ok()) return 0;
  for (int s : *segments) total += FileSizeOf(dir + "/" + SegmentName(s));
  return total;
}

}  // namespace argus::wal::testing
