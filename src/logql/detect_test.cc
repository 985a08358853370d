#include "logql/detect.h"

#include <gtest/gtest.h>

namespace argus::logql {
namespace {

constexpr int64_t kSec = 1'000'000'000;

const DetectedField* Find(const std::vector<DetectedField>& fs, std::string_view name) {
  for (const auto& f : fs) {
    if (f.label == name) return &f;
  }
  return nullptr;
}

TEST(DetectFieldTypeTest, FollowsLokisOrder) {
  EXPECT_EQ(DetectFieldType("42"), "int");
  EXPECT_EQ(DetectFieldType("-7"), "int");
  EXPECT_EQ(DetectFieldType("4.5"), "float");
  EXPECT_EQ(DetectFieldType("true"), "boolean");
  EXPECT_EQ(DetectFieldType("1"), "int");  // int is tried before boolean
  EXPECT_EQ(DetectFieldType("250ms"), "duration");
  EXPECT_EQ(DetectFieldType("3MB"), "bytes");
  EXPECT_EQ(DetectFieldType("GET"), "string");
}

TEST(FieldDetectorTest, LogfmtJsonAndMetadata) {
  Labels stream = Labels::FromMap({{"app", "a"}, {"level", "info"}});
  FieldDetector d;
  d.Add(stream, {1, "level=info status=200 dur=15ms msg=\"ok then\"", {{"trace_id", "abc"}}});
  d.Add(stream, {2, "level=warn status=500 dur=1.5s", {{"trace_id", "def"}}});
  d.Add(stream, {3, R"({"user":{"id":7,"name":"x"},"ok":true,"tags":[1,2]})", {}});
  d.Add(stream, {4, "plain text without fields", {}});
  auto fs = d.Fields(100);

  const DetectedField* status = Find(fs, "status");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->type, "int");
  EXPECT_EQ(status->cardinality, 2u);
  EXPECT_EQ(status->parsers, std::vector<std::string>{"logfmt"});

  const DetectedField* dur = Find(fs, "dur");
  ASSERT_NE(dur, nullptr);
  EXPECT_EQ(dur->type, "duration");

  // `level` is a stream label, so the parsed one is renamed as Loki's LabelsBuilder does.
  EXPECT_EQ(Find(fs, "level"), nullptr);
  ASSERT_NE(Find(fs, "level_extracted"), nullptr);
  EXPECT_EQ(Find(fs, "level_extracted")->cardinality, 2u);

  const DetectedField* trace = Find(fs, "trace_id");
  ASSERT_NE(trace, nullptr);
  EXPECT_TRUE(trace->parsers.empty());
  EXPECT_EQ(trace->cardinality, 2u);

  const DetectedField* uid = Find(fs, "user_id");
  ASSERT_NE(uid, nullptr);
  EXPECT_EQ(uid->type, "int");
  EXPECT_EQ(uid->parsers, std::vector<std::string>{"json"});
  EXPECT_EQ(uid->json_path, (std::vector<std::string>{"user", "id"}));
  ASSERT_NE(Find(fs, "ok"), nullptr);
  EXPECT_EQ(Find(fs, "ok")->type, "boolean");
  EXPECT_EQ(Find(fs, "tags"), nullptr);  // arrays are skipped

  EXPECT_EQ(d.Values("status", 10), (std::vector<std::string>{"200", "500"}));
  EXPECT_TRUE(d.Values("nope", 10).empty());
  EXPECT_EQ(d.Fields(2).size(), 2u);
}

TEST(DetectLabelsTest, DropsIdLabelsKeepsStaticOnes) {
  std::vector<Labels> streams;
  for (int i = 0; i < 3; ++i) {
    streams.push_back(Labels::FromMap({{"app", "svc" + std::to_string(i % 2)},
                                       {"pod", std::to_string(100 + i)},
                                       {"request", std::to_string(i)},
                                       {"flag", std::to_string(i % 2)}}));
  }
  auto ls = DetectLabels(streams);
  std::map<std::string, uint64_t> got;
  for (const auto& l : ls) got[l.label] = l.cardinality;
  EXPECT_EQ(got.count("request"), 0u);  // all numeric: an ID
  EXPECT_EQ(got["pod"], 3u);            // static: kept although numeric
  EXPECT_EQ(got["app"], 2u);
  EXPECT_EQ(got["flag"], 2u);           // 0/1 is a boolean, not an ID
}

TEST(PatternMinerTest, ClustersLinesAndCountsPerStep) {
  PatternMiner m;
  m.Add(0 * kSec, "GET /api/users 200 12ms", "info");
  m.Add(5 * kSec, "GET /api/orders 200 7ms", "info");
  m.Add(12 * kSec, "GET /api/users 200 90ms", "info");
  m.Add(13 * kSec, "connection reset by peer", "error");
  auto ps = m.Patterns(10 * kSec);
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].pattern, "GET <_> 200 <_>");
  EXPECT_EQ(ps[0].level, "info");
  EXPECT_EQ(ps[0].total, 3u);
  ASSERT_EQ(ps[0].samples.size(), 2u);
  EXPECT_EQ(ps[0].samples[0], std::make_pair(int64_t{0}, uint64_t{2}));
  EXPECT_EQ(ps[0].samples[1], std::make_pair(10 * kSec, uint64_t{1}));
  EXPECT_EQ(ps[1].pattern, "connection reset by peer");
  EXPECT_EQ(ps[1].level, "error");
}

TEST(PatternMinerTest, DissimilarLinesStayApart) {
  PatternMiner m;
  m.Add(0, "alpha beta gamma delta", "info");
  m.Add(1, "one two three four", "info");
  EXPECT_EQ(m.Patterns(kSec).size(), 2u);
}

TEST(EntryLevelTest, MetadataThenStreamThenUnknown) {
  Labels s = Labels::FromMap({{"level", "warn"}});
  EXPECT_EQ(EntryLevel(s, {0, "x", {{"detected_level", "error"}}}), "error");
  EXPECT_EQ(EntryLevel(s, {0, "x", {}}), "warn");
  EXPECT_EQ(EntryLevel(Labels::FromMap({{"app", "a"}}), {0, "x", {}}), "unknown");
}

}  // namespace
}  // namespace argus::logql
