#include "logql/engine.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>

#include "logql/parser.h"
#include "logstore/log_store.h"

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

// Queries over a store much larger than a block stream: what is resident at once stays near
// (streams x one decoded block), log queries with a limit stop reading once it is reached, and
// the per-step folding gives the counts a brute force over the same timestamps gives.
class StreamingTest : public ::testing::Test {
 protected:
  static constexpr int kStreams = 8;
  static constexpr int kPerStream = 16000;
  static constexpr int64_t kMs = 1'000'000;

  void SetUp() override {
    char tmpl[] = "/tmp/argus_logql_stream_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    logstore::LogStoreOptions o;
    o.wal.sync = wal::SyncPolicy::kNone;
    o.block_size_bytes = 16 << 10;
    auto st = logstore::LogStore::Open(dir_, o);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(*st);
    std::string filler(80, 'f');
    for (int base = 0; base < kPerStream; base += 1000) {
      std::vector<logstore::PushStream> push;
      for (int s = 0; s < kStreams; ++s) {
        logstore::PushStream ps{Labels::FromMap({{"job", "t"}, {"app", "a" + std::to_string(s)}}), {}};
        for (int i = base; i < base + 1000; ++i) {
          int64_t ts = Ts(s, i);
          ps.entries.push_back({ts, "app=a" + std::to_string(s) + " i=" + std::to_string(i) + " " +
                                        (i % 7 == 0 ? "needle " : "hay ") + (s == 0 && i % 1000 == 0 ? "zebra " : "") + filler, {}});
          raw_bytes_ += ps.entries.back().line.size();
        }
        push.push_back(std::move(ps));
      }
      ASSERT_TRUE(store_->Push(push).ok());
    }
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Distinct timestamps interleaving the streams, 1 ms apart.
  static int64_t Ts(int s, int i) { return (static_cast<int64_t>(i) * kStreams + s) * kMs; }

  Result<QueryResult> Run(const std::string& q, QueryParams p) {
    auto e = ParseExpr(q);
    if (!e.ok()) return e.status();
    return Evaluate(*store_, **e, p);
  }

  std::string dir_;
  std::unique_ptr<logstore::LogStore> store_;
  uint64_t raw_bytes_ = 0;
};

TEST_F(StreamingTest, MetricQueryFoldsBlockByBlockInBoundedMemory) {
  ASSERT_GT(store_->stats().blocks, 200u);
  const int64_t end = Ts(kStreams - 1, kPerStream - 1);
  QueryParams p{.start_ns = end, .end_ns = end};
  auto r = Run(R"(sum by (app) (count_over_time({job="t"}[1h])))", p);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->series.size(), static_cast<size_t>(kStreams));
  for (const Series& s : r->series) EXPECT_EQ(s.points[0].value, kPerStream) << LabelSetString(s.labels);
  // Counting reads stream after stream; an unwrap reads the time-ordered merge of all streams.
  r = Run(R"(max by (app) (max_over_time({job="t"} | logfmt | unwrap i [1h])))", p);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->series.size(), static_cast<size_t>(kStreams));
  for (const Series& s : r->series) EXPECT_EQ(s.points[0].value, kPerStream - 1) << LabelSetString(s.labels);
  logstore::LogStoreStats st = store_->stats();
  EXPECT_GE(st.blocks_decoded, 2 * st.blocks);
  // The whole store went through the query; a few blocks' worth per stream was held at once
  // (decompression buffer, batch, head copy), whatever the store's size.
  EXPECT_LT(st.peak_resident_bytes, raw_bytes_ / 8) << "raw " << raw_bytes_;
  EXPECT_LT(st.peak_resident_bytes, static_cast<uint64_t>(kStreams) * 4 * (16 << 10) * 2);
}

TEST_F(StreamingTest, RangeStepsMatchABruteForceCount) {
  const int64_t step = 7 * kSec, range = 30 * kSec, offset = 5 * kSec;
  QueryParams p{.start_ns = 10 * kSec, .end_ns = 70 * kSec, .step_ns = step};
  auto r = Run(R"(count_over_time({job="t", app="a3"} |= "needle" [30s] offset 5s))", p);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->series.size(), 1u);
  size_t k = 0;
  for (int64_t t = p.start_ns; t <= p.end_ns; t += step) {
    int64_t hi = t - offset, lo = hi - range;
    int want = 0;
    for (int i = 0; i < kPerStream; ++i) want += i % 7 == 0 && Ts(3, i) > lo && Ts(3, i) <= hi;
    if (want == 0) continue;
    ASSERT_LT(k, r->series[0].points.size());
    EXPECT_EQ(r->series[0].points[k].ts_ns, t);
    EXPECT_EQ(r->series[0].points[k].value, want) << "step " << t;
    ++k;
  }
  EXPECT_EQ(k, r->series[0].points.size());
}

TEST_F(StreamingTest, LogQueryWithLimitStopsReading) {
  const int64_t end = Ts(kStreams - 1, kPerStream - 1) + 1;
  for (Direction d : {Direction::kBackward, Direction::kForward}) {
    uint64_t before = store_->stats().blocks_decoded;
    QueryParams p{.start_ns = 0, .end_ns = end, .step_ns = kSec, .limit = 20, .direction = d};
    auto r = Run(R"({job="t"} |= "needle")", p);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::vector<int64_t> got;
    for (const auto& s : r->streams) {
      for (const auto& e : s.entries) got.push_back(e.ts_ns);
    }
    std::vector<int64_t> want;
    for (int s = 0; s < kStreams; ++s) {
      for (int i = 0; i < kPerStream; i += 7) want.push_back(Ts(s, i));
    }
    std::sort(want.begin(), want.end());
    if (d == Direction::kBackward) std::reverse(want.begin(), want.end());
    want.resize(20);
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want);
    // One block per stream to start the merge, a few more as the newest/oldest run out.
    EXPECT_LE(store_->stats().blocks_decoded - before, 3u * kStreams) << "of " << store_->stats().blocks;
  }
}

TEST_F(StreamingTest, NeedleCountsEqualABruteForceAndSkipBlocksByFilter) {
  const int64_t end = Ts(kStreams - 1, kPerStream - 1);
  QueryParams p{.start_ns = end, .end_ns = end};
  auto r = Run(R"(sum(count_over_time({job="t"} |= "needle" [1h])))", p);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_EQ(r->series[0].points[0].value, kStreams * ((kPerStream + 6) / 7));
  // "zebra" is in 16 lines of one stream: the other streams' blocks are skipped undecompressed.
  logstore::LogStoreStats before = store_->stats();
  r = Run(R"(sum(count_over_time({job="t"} |= "zebra" [1h])))", p);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_EQ(r->series[0].points[0].value, kPerStream / 1000);
  logstore::LogStoreStats after = store_->stats();
  EXPECT_GE(after.blocks_filtered - before.blocks_filtered, after.blocks * (kStreams - 1) / kStreams * 9 / 10);
  EXPECT_LE(after.blocks_decoded - before.blocks_decoded, after.blocks / kStreams + kPerStream / 1000);
}

}  // namespace
}  // namespace argus::logql
