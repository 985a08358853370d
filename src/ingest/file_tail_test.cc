#include "ingest/file_tail.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <yaml-cpp/yaml.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

namespace argus::ingest {
namespace {

constexpr int64_t kNow = 1'700'000'000'000'000'000;

class Collect : public logstore::LogWriter {
 public:
  Status Push(const std::vector<logstore::PushStream>& s) override {
    for (const auto& ps : s) {
      for (const auto& e : ps.entries) {
        lines.push_back(std::string(ps.labels.Get("filename")) + ":" + e.line);
        entries.push_back({ps.labels, e});
      }
    }
    return Status::OK();
  }
  std::vector<std::string> lines;
  std::vector<std::pair<Labels, logstore::LogEntry>> entries;
};

// Writes `text` gzip-compressed to `path`.
void WriteGzip(const std::string& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  gzclose(f);
}

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
    return std::make_unique<FileTailer>(std::vector<TailSource>{{dir_ + "/*.log", Labels::FromMap({{"job", "t"}}), nullptr}},
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

TEST_F(FileTailTest, LogSourcesRunPipelinesWithTimestampsAndLabels) {
  auto sources = ParseLogSources(YAML::Load(R"(
- paths: ["$STORAGE_PATH/*.log"]
  labels: {job: app}
  pipeline_stages:
    - regex: {expression: '^(?P<ts>\S+) (?P<level>\w+) '}
    - timestamp: {source: ts, format: RFC3339}
    - labels: {level: ""}
    - match: {selector: '{level="debug"}', action: drop}
)"), dir_);
  ASSERT_TRUE(sources.ok()) << sources.status().ToString();
  ASSERT_EQ(sources->size(), 1u);
  EXPECT_EQ((*sources)[0].glob, dir_ + "/*.log");
  Append("app.log", "2019-07-09T21:48:36Z info started\n2019-07-09T21:48:37Z debug noise\n"
                    "2019-07-09T21:48:38Z error failed\n");
  LokiLimits limits;  // as LogsComponent pushes tailed lines: old lines are history
  limits.reject_old_samples_max_age_ns = INT64_MAX;
  LokiPushHandler push(limits, &sink_);
  FileTailer t(std::move(*sources), dir_ + "/positions", &push);
  ASSERT_TRUE(t.PollOnce(kNow).ok());
  ASSERT_EQ(sink_.entries.size(), 2u);
  EXPECT_EQ(sink_.entries[0].second.ts_ns, 1562708916'000000000);
  EXPECT_EQ(sink_.entries[0].first.Get("level"), "info");
  EXPECT_EQ(sink_.entries[0].first.Get("job"), "app");
  EXPECT_EQ(sink_.entries[1].second.line, "2019-07-09T21:48:38Z error failed");
  EXPECT_EQ(sink_.entries[1].first.Get("level"), "error");
}

TEST_F(FileTailTest, MultilineBlocksAreFlushedAtTheEnd) {
  auto sources = ParseLogSources(YAML::Load(R"(
- paths: ["$STORAGE_PATH/*.log"]
  pipeline_stages: [{multiline: {firstline: '^\S'}}]
)"), dir_);
  ASSERT_TRUE(sources.ok()) << sources.status().ToString();
  Append("j.log", "Exception x\n  at a\n  at b\n");
  FileTailer t(std::move(*sources), dir_ + "/positions", &push_);
  ASSERT_TRUE(t.PollOnce(kNow).ok());
  EXPECT_TRUE(sink_.lines.empty());  // held: the next first line or max_wait_time ends it
  ASSERT_TRUE(t.FlushAll(kNow).ok());
  ASSERT_EQ(sink_.entries.size(), 1u);
  EXPECT_EQ(sink_.entries[0].second.line, "Exception x\n  at a\n  at b");
}

TEST_F(FileTailTest, GzipFilesAreReadOnceWhole) {
  WriteGzip(dir_ + "/old.log.gz", "g1\ng2\n");
  auto make = [&] {
    return std::make_unique<FileTailer>(std::vector<TailSource>{{dir_ + "/*.gz", Labels::FromMap({{"job", "t"}}), nullptr}},
                                        dir_ + "/positions", &push_);
  };
  auto t = make();
  ASSERT_TRUE(t->PollOnce(kNow).ok());
  std::string g = dir_ + "/old.log.gz";
  EXPECT_EQ(sink_.lines, (std::vector<std::string>{g + ":g1", g + ":g2"}));
  ASSERT_TRUE(t->PollOnce(kNow).ok());
  EXPECT_EQ(sink_.lines.size(), 2u);
  t.reset();
  auto t2 = make();  // a restart remembers it from the positions file
  ASSERT_TRUE(t2->PollOnce(kNow).ok());
  EXPECT_EQ(sink_.lines.size(), 2u);
  std::ofstream(dir_ + "/bad.gz") << "not gzip";
  EXPECT_FALSE(t2->PollOnce(kNow).ok());  // reported once
  EXPECT_TRUE(t2->PollOnce(kNow).ok());
}

TEST_F(FileTailTest, RenamedAwayWithoutAReplacementIsReadToItsEnd) {
  Append("app.log", "a\n");
  auto t = Tailer();
  ASSERT_TRUE(t->PollOnce(kNow).ok());
  Append("app.log", "b\n");
  std::filesystem::rename(dir_ + "/app.log", dir_ + "/app.log.1");  // not matched by *.log
  ASSERT_TRUE(t->PollOnce(kNow).ok());
  std::string p = dir_ + "/app.log";
  EXPECT_EQ(sink_.lines, (std::vector<std::string>{p + ":a", p + ":b"}));
}

TEST(ParseLogSourcesTest, Errors) {
  auto err = [](const std::string& y) {
    auto r = ParseLogSources(YAML::Load(y), "/data");
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_EQ(err("[{labels: {a: b}}]"), "log_sources[0].paths: at least one path is required");
  EXPECT_EQ(err("[{paths: [x], bogus: 1}]"), "log_sources[0]: unknown field \"bogus\"");
  EXPECT_EQ(err("[{paths: [x], pipeline_stages: [{timestamp: {format: Unix}}]}]"),
            "log_sources[0].pipeline_stages[0].timestamp: source is required");
  EXPECT_NE(err("[{paths: [x], labels: {'0bad': v}}]"), "");
  EXPECT_EQ(err("{paths: [x]}"), "log_sources must be a list");
  auto ok = ParseLogSources(YAML::Load("[{paths: [a, b], labels: {job: j}}]"), "/data");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 2u);
}

}  // namespace
}  // namespace argus::ingest
