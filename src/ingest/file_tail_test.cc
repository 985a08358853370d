#include "ingest/file_tail.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace argus::ingest {
namespace {

constexpr int64_t kNow = 1'700'000'000'000'000'000;

class Collect : public logstore::LogWriter {
 public:
  Status Push(const std::vector<logstore::PushStream>& s) override {
    for (const auto& ps : s) {
      for (const auto& e : ps.entries) lines.push_back(std::string(ps.labels.Get("filename")) + ":" + e.line);
    }
    return Status::OK();
  }
  std::vector<std::string> lines;
};

class FileTailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/argus_tail_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Append(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name, std::ios::app) << text;
  }
  std::unique_ptr<FileTailer> Tailer() {
    return std::make_unique<FileTailer>(std::vector<TailSource>{{dir_ + "/*.log", Labels::FromMap({{"job", "t"}})}},
                                        dir_ + "/positions", &push_);
  }
  std::string dir_;
  Collect sink_;
  LokiPushHandler push_{LokiLimits{}, &sink_};
};

TEST_F(FileTailTest, FollowsAppendsPartialLinesAndResumesFromPositions) {
  Append("a.log", "one\ntwo\npar");
  Append("skip.txt", "not matched\n");
  auto t = Tailer();
  ASSERT_TRUE(t->PollOnce(kNow).ok());
  std::string a = dir_ + "/a.log";
  EXPECT_EQ(sink_.lines, (std::vector<std::string>{a + ":one", a + ":two"}));
  Append("a.log", "tial\nthree\n");
  ASSERT_TRUE(t->PollOnce(kNow).ok());
  EXPECT_EQ(sink_.lines.back(), a + ":three");
  EXPECT_EQ(sink_.lines[2], a + ":partial");
  t.reset();
  Append("a.log", "four\n");
  auto t2 = Tailer();  // a restart: resumes at the saved offset
  ASSERT_TRUE(t2->PollOnce(kNow).ok());
  EXPECT_EQ(sink_.lines.size(), 5u);
  EXPECT_EQ(sink_.lines.back(), a + ":four");
}

TEST_F(FileTailTest, RotationByRenameAndByTruncation) {
  Append("app.log", "old1\n");
  auto t = Tailer();
  ASSERT_TRUE(t->PollOnce(kNow).ok());
  Append("app.log", "old2\n");  // written just before the rename
  std::filesystem::rename(dir_ + "/app.log", dir_ + "/app.log.1");
  Append("app.log", "new1\n");
  ASSERT_TRUE(t->PollOnce(kNow).ok());
  std::string p = dir_ + "/app.log";
  EXPECT_EQ(sink_.lines, (std::vector<std::string>{p + ":old1", p + ":old2", p + ":new1"}));
  std::ofstream(p, std::ios::trunc) << "t\n";  // truncated below the offset
  ASSERT_TRUE(t->PollOnce(kNow).ok());
  EXPECT_EQ(sink_.lines.back(), p + ":t");
}

}  // namespace
}  // namespace argus::ingest
