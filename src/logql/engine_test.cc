#include "logql/engine.h"

#include <gtest/gtest.h>

#include "logql/parser.h"

namespace argus::logql {
namespace {

constexpr int64_t kSec = 1'000'000'000;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 10; ++i) {
      mem_.Append(Labels::FromMap({{"app", "a"}}),
                  {i * kSec, "level=" + std::string(i % 2 ? "error" : "info") + " n=" + std::to_string(i), {}});
    }
    mem_.Append(Labels::FromMap({{"app", "b"}}), {5 * kSec, "other", {{"trace_id", "t1"}}});
  }

  Result<QueryResult> Run(const std::string& q, QueryParams p) {
    auto e = ParseExpr(q);
    if (!e.ok()) return e.status();
    return Evaluate(mem_, **e, p);
  }

  MemoryReader mem_;
};

TEST_F(EngineTest, LogQueryBackwardHonoursLimit) {
  QueryParams p{.start_ns = 0, .end_ns = 10 * kSec, .step_ns = kSec, .limit = 3};
  auto r = Run(R"({app="a"})", p);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->type, QueryResult::Type::kStreams);
  ASSERT_EQ(r->streams.size(), 1u);
  const auto& es = r->streams[0].entries;
  ASSERT_EQ(es.size(), 3u);
  EXPECT_EQ(es[0].ts_ns, 9 * kSec);  // newest first
  EXPECT_EQ(es[2].ts_ns, 7 * kSec);
}

TEST_F(EngineTest, LogQueryForwardAndEndIsExclusive) {
  QueryParams p{.start_ns = 2 * kSec, .end_ns = 5 * kSec, .step_ns = kSec, .limit = 100,
                .direction = Direction::kForward};
  auto r = Run(R"({app=~"a|b"})", p);
  ASSERT_TRUE(r.ok());
  size_t total = 0;
  for (const auto& s : r->streams) total += s.entries.size();
  EXPECT_EQ(total, 3u);  // 2s, 3s, 4s; 5s is the exclusive end
  EXPECT_EQ(r->streams[0].entries.front().ts_ns, 2 * kSec);
}

TEST_F(EngineTest, PipelineSplitsStreamsByExtractedLabels) {
  QueryParams p{.start_ns = 0, .end_ns = 10 * kSec, .step_ns = kSec, .limit = 100};
  auto r = Run(R"({app="a"} | logfmt | level="error" | line_format "{{.n}}")", p);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->streams.size(), 5u);  // n differs per line, so each line is its own stream
  EXPECT_EQ(r->streams[0].entries[0].line, "9");
}

TEST_F(EngineTest, MetricQueriesPerStep) {
  QueryParams p{.start_ns = 5 * kSec, .end_ns = 9 * kSec, .step_ns = 2 * kSec};
  auto r = Run(R"(sum(count_over_time({app="a"} |= "error" [4s])))", p);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->type, QueryResult::Type::kMatrix);
  ASSERT_EQ(r->series.size(), 1u);
  ASSERT_EQ(r->series[0].points.size(), 3u);
  EXPECT_EQ(r->series[0].points[0].value, 2);  // (1s,5s]: 3, 5
  EXPECT_EQ(r->series[0].points[2].value, 2);  // (5s,9s]: 7, 9
}

TEST_F(EngineTest, PipelineErrorsFailMetricQueries) {
  QueryParams p{.start_ns = 10 * kSec, .end_ns = 10 * kSec};
  auto r = Run(R"(count_over_time({app="b"} | json [1m]))", p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("JSONParserErr"), std::string::npos);
  auto ok = Run(R"(count_over_time({app="b"} | json | __error__="" [1m]))", p);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->series.empty());
}

TEST_F(EngineTest, StructuredMetadataBecomesLabels) {
  QueryParams p{.start_ns = 10 * kSec, .end_ns = 10 * kSec};
  auto r = Run(R"(count_over_time({app="b"}[1m]))", p);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_EQ(LabelSetString(r->series[0].labels), R"({app="b", trace_id="t1"})");
}

TEST_F(EngineTest, ApproxTopkIsInstantOnly) {
  QueryParams p{.start_ns = 0, .end_ns = 10 * kSec, .step_ns = kSec};
  auto r = Run(R"(approx_topk(1, count_over_time({app="a"}[1m])))", p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("only supported on instant queries"), std::string::npos);
}

}  // namespace
}  // namespace argus::logql
