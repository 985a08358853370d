#include "tsdb/compact.h"

#include <stdlib.h>

#include <algorithm>
#include <map>

#include <gtest/gtest.h>

#include "util/file.h"

namespace argus::tsdb {
namespace {

constexpr int64_t kHourMs = 3600 * 1000;
constexpr int64_t kRangeMs = 2 * kHourMs;

class CompactTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/argus_compact_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { RemoveAll(dir_).IgnoreError(); }

  static std::vector<ChunkData> Chunks(const std::vector<Sample>& samples, int per_chunk) {
    std::vector<ChunkData> out;
    for (size_t i = 0; i < samples.size(); i += per_chunk) {
      XorChunk c;
      for (size_t j = i; j < std::min(samples.size(), i + per_chunk); ++j) {
        c.Append(samples[j].t_ms, samples[j].v);
      }
      out.push_back({c.min_time_ms(), c.max_time_ms(), std::string(c.bytes())});
    }
    return out;
  }

  // Writes and opens a block; `series` maps a metric name to its samples.
  std::shared_ptr<Block> MakeBlock(int64_t mint, int64_t maxt,
                                   const std::map<std::string, std::vector<Sample>>& series,
                                   int level = 1) {
    std::vector<BlockSeries> ss;
    for (const auto& [name, samples] : series) {
      ss.push_back({Labels::FromMap({{"__name__", name}}), Chunks(samples, 120)});
    }
    auto meta = WriteBlock(dir_, mint, maxt, level, {}, std::move(ss));
    EXPECT_TRUE(meta.ok()) << meta.status().ToString();
    auto b = Block::Open(dir_ + "/" + meta->ulid);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return *b;
  }
  std::shared_ptr<Block> MakeBlock(int64_t mint, int64_t maxt) {
    return MakeBlock(mint, maxt, {{"up", {{mint, 1}}}});
  }

  static std::vector<Sample> Every(int64_t from, int64_t to, int64_t step, double base) {
    std::vector<Sample> out;
    for (int64_t t = from; t < to; t += step) out.push_back({t, base + static_cast<double>(t)});
    return out;
  }

  std::string dir_;
};

std::vector<std::vector<std::string>> Ulids(
    const std::vector<std::vector<std::shared_ptr<Block>>>& groups) {
  std::vector<std::vector<std::string>> out;
  for (const auto& g : groups) {
    out.emplace_back();
    for (const auto& b : g) out.back().push_back(b->meta().ulid);
  }
  return out;
}

using Groups = std::vector<std::vector<std::string>>;

TEST(CompactionRangesTest, Levels) {
  EXPECT_EQ(CompactionRanges(kRangeMs),
            (std::vector<int64_t>{kRangeMs, 3 * kRangeMs, 9 * kRangeMs, 27 * kRangeMs}));
}

TEST_F(CompactTest, PlanGroupsACompleteWindowAndKeepsTheNewestBlockOut) {
  auto a = MakeBlock(0, kRangeMs);
  auto b = MakeBlock(kRangeMs, 2 * kRangeMs);
  auto c = MakeBlock(2 * kRangeMs, 3 * kRangeMs);
  // Only a and b of the 6h window [0, 6h) are eligible while c is the newest: no plan.
  EXPECT_TRUE(PlanCompaction({a, b, c}, kRangeMs).empty());
  auto d = MakeBlock(3 * kRangeMs, 4 * kRangeMs);
  // Input order does not matter.
  EXPECT_EQ(Ulids(PlanCompaction({d, b, c, a}, kRangeMs)),
            (Groups{{a->meta().ulid, b->meta().ulid, c->meta().ulid}}));
  EXPECT_TRUE(PlanCompaction({a}, kRangeMs).empty());
  EXPECT_TRUE(PlanCompaction({}, kRangeMs).empty());
}

TEST_F(CompactTest, PlanMergesAWindowWithAGapOnceNewerDataExists) {
  auto a = MakeBlock(0, kRangeMs);
  auto b = MakeBlock(kRangeMs, 2 * kRangeMs);
  auto d = MakeBlock(4 * kRangeMs, 5 * kRangeMs);
  auto e = MakeBlock(5 * kRangeMs, 6 * kRangeMs);
  EXPECT_EQ(Ulids(PlanCompaction({a, b, d, e}, kRangeMs)),
            (Groups{{a->meta().ulid, b->meta().ulid}}));
}

TEST_F(CompactTest, PlanReturnsEveryCompleteWindowOfTheLowestLevel) {
  std::vector<std::shared_ptr<Block>> bs;
  for (int i = 0; i < 7; ++i) bs.push_back(MakeBlock(i * kRangeMs, (i + 1) * kRangeMs));
  EXPECT_EQ(Ulids(PlanCompaction(bs, kRangeMs)),
            (Groups{{bs[0]->meta().ulid, bs[1]->meta().ulid, bs[2]->meta().ulid},
                    {bs[3]->meta().ulid, bs[4]->meta().ulid, bs[5]->meta().ulid}}));
}

TEST_F(CompactTest, PlanMovesUpALevel) {
  // Three 6h blocks fill the 18h window; a newer 2h block follows.
  auto a = MakeBlock(0, 3 * kRangeMs);
  auto b = MakeBlock(3 * kRangeMs, 6 * kRangeMs);
  auto c = MakeBlock(6 * kRangeMs, 9 * kRangeMs);
  auto d = MakeBlock(9 * kRangeMs, 10 * kRangeMs);
  EXPECT_EQ(Ulids(PlanCompaction({a, b, c, d}, kRangeMs)),
            (Groups{{a->meta().ulid, b->meta().ulid, c->meta().ulid}}));
}

TEST_F(CompactTest, PlanSkipsBlocksStraddlingAWindow) {
  // [4h, 8h) crosses the 6h boundary: it is never grouped at the 6h level, and it ends the
  // run of x and y, which then form a group because newer blocks exist.
  auto x = MakeBlock(0, 2 * kHourMs);
  auto y = MakeBlock(2 * kHourMs, 4 * kHourMs);
  auto b = MakeBlock(4 * kHourMs, 8 * kHourMs);
  auto c = MakeBlock(8 * kHourMs, 10 * kHourMs);
  auto d = MakeBlock(10 * kHourMs, 12 * kHourMs);
  auto e = MakeBlock(12 * kHourMs, 14 * kHourMs);
  EXPECT_EQ(Ulids(PlanCompaction({x, y, b, c, d, e}, kRangeMs)),
            (Groups{{x->meta().ulid, y->meta().ulid}}));
}

TEST_F(CompactTest, PlanGroupsOverlappingBlocksFirst) {
  auto a = MakeBlock(0, kRangeMs);
  auto b = MakeBlock(kHourMs, 3 * kHourMs);
  auto c = MakeBlock(4 * kHourMs, 6 * kHourMs);
  auto d = MakeBlock(5 * kHourMs, 7 * kHourMs);
  auto e = MakeBlock(6 * kHourMs + 1, 8 * kHourMs);  // overlaps d only
  auto f = MakeBlock(10 * kHourMs, 12 * kHourMs);
  EXPECT_EQ(Ulids(PlanCompaction({f, e, d, c, b, a}, kRangeMs)),
            (Groups{{a->meta().ulid, b->meta().ulid},
                    {c->meta().ulid, d->meta().ulid, e->meta().ulid}}));
}

TEST_F(CompactTest, MergesOverlappingBlocksWithDuplicateTimestamps) {
  // Block a: "both" every 10 s over [0, 1h); "only_a". Block b overlaps a: "both" every 10 s
  // over [30m, 90m) with different values (a's must win on the shared timestamps) and every
  // 5 s over [30m, 31m) (new timestamps interleaved); "only_b".
  std::vector<Sample> both_a = Every(0, kHourMs, 10000, 0);
  std::vector<Sample> both_b = Every(30 * 60000, 90 * 60000, 10000, 0.5);
  for (int64_t t = 30 * 60000 + 5000; t < 31 * 60000; t += 10000) both_b.push_back({t, -1});
  std::sort(both_b.begin(), both_b.end(),
            [](const Sample& x, const Sample& y) { return x.t_ms < y.t_ms; });
  std::vector<Sample> only_a = Every(0, kRangeMs, 60000, 7);
  std::vector<Sample> only_b = Every(kHourMs, 150 * 60000, 60000, 9);
  auto a = MakeBlock(0, kRangeMs, {{"both", both_a}, {"only_a", only_a}});
  auto b = MakeBlock(30 * 60000, 150 * 60000, {{"both", both_b}, {"only_b", only_b}}, 2);

  auto meta = CompactBlocks(dir_, {a, b});
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->level, 3);
  EXPECT_EQ(meta->min_time_ms, 0);
  EXPECT_EQ(meta->max_time_ms, 150 * 60000);
  std::vector<std::string> sources = {a->meta().ulid, b->meta().ulid};
  std::sort(sources.begin(), sources.end());
  EXPECT_EQ(meta->sources, sources);

  // The expected merge: a's samples, then b's at timestamps a lacks.
  std::map<int64_t, double> want;
  for (const Sample& s : both_a) want[s.t_ms] = s.v;
  for (const Sample& s : both_b) want.emplace(s.t_ms, s.v);
  std::vector<Sample> want_both;
  for (const auto& [t, v] : want) want_both.push_back({t, v});

  EXPECT_EQ(meta->num_series, 3u);
  EXPECT_EQ(meta->num_samples, want_both.size() + only_a.size() + only_b.size());

  auto c = Block::Open(dir_ + "/" + meta->ulid);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto q = (*c)->NewQuerier(INT64_MIN, INT64_MAX);
  auto m = Matcher::Make(MatchType::kRegexMatch, "__name__", ".+");
  auto r = (*q)->Select({*m}, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].labels.MetricName(), "both");
  EXPECT_EQ((*r)[0].samples, want_both);
  EXPECT_EQ((*r)[1].labels.MetricName(), "only_a");
  EXPECT_EQ((*r)[1].samples, only_a);
  EXPECT_EQ((*r)[2].labels.MetricName(), "only_b");
  EXPECT_EQ((*r)[2].samples, only_b);

  // Re-encoded chunks hold at most 120 samples and do not overlap; chunks of series present
  // in one block only are copied byte for byte.
  auto all = (*c)->ReadAllSeries();
  ASSERT_TRUE(all.ok());
  int64_t prev_max = INT64_MIN;
  for (const ChunkData& ch : (*all)[0].chunks) {
    EXPECT_LE(ChunkNumSamples(ch.bytes), kCompactSamplesPerChunk);
    EXPECT_GT(ch.min_time_ms, prev_max);
    prev_max = ch.max_time_ms;
  }
  auto a_all = a->ReadAllSeries();
  ASSERT_TRUE(a_all.ok());
  ASSERT_EQ((*all)[1].chunks.size(), (*a_all)[1].chunks.size());
  for (size_t i = 0; i < (*all)[1].chunks.size(); ++i) {
    EXPECT_EQ((*all)[1].chunks[i].bytes, (*a_all)[1].chunks[i].bytes);
  }
}

TEST_F(CompactTest, AdjacentBlocksKeepTheirChunks) {
  auto a = MakeBlock(0, kRangeMs, {{"x", Every(0, kRangeMs, 15000, 0)}});
  auto b = MakeBlock(kRangeMs, 2 * kRangeMs, {{"x", Every(kRangeMs, 2 * kRangeMs, 15000, 0)}});
  auto meta = CompactBlocks(dir_, {a, b});
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  auto c = Block::Open(dir_ + "/" + meta->ulid);
  ASSERT_TRUE(c.ok());
  auto got = (*c)->ReadAllSeries();
  auto ga = a->ReadAllSeries();
  auto gb = b->ReadAllSeries();
  ASSERT_TRUE(got.ok() && ga.ok() && gb.ok());
  ASSERT_EQ(got->size(), 1u);
  std::vector<std::string> want;
  for (const auto& ch : (*ga)[0].chunks) want.push_back(ch.bytes);
  for (const auto& ch : (*gb)[0].chunks) want.push_back(ch.bytes);
  std::vector<std::string> have;
  for (const auto& ch : (*got)[0].chunks) have.push_back(ch.bytes);
  EXPECT_EQ(have, want);
  EXPECT_EQ(meta->num_samples, a->meta().num_samples + b->meta().num_samples);
  EXPECT_EQ(meta->level, 2);
}

TEST_F(CompactTest, CompactNothingIsAnError) {
  EXPECT_EQ(CompactBlocks(dir_, {}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(CompactTest, RetentionByTime) {
  auto a = MakeBlock(0, kRangeMs);
  auto b = MakeBlock(kRangeMs, 2 * kRangeMs);
  auto c = MakeBlock(2 * kRangeMs, 3 * kRangeMs);
  auto ulids = [](const std::vector<std::shared_ptr<Block>>& bs) {
    std::vector<std::string> out;
    for (const auto& x : bs) out.push_back(x->meta().ulid);
    return out;
  };
  // Newest max time is 6h.
  EXPECT_TRUE(BlocksBeyondRetention({a, b, c}, 5 * kHourMs, 0).empty());
  EXPECT_EQ(ulids(BlocksBeyondRetention({c, b, a}, 4 * kHourMs, 0)),
            std::vector<std::string>{a->meta().ulid});  // max 2h <= 6h - 4h
  EXPECT_EQ(ulids(BlocksBeyondRetention({c, b, a}, 4 * kHourMs - 1, 0)),
            std::vector<std::string>{a->meta().ulid});
  EXPECT_EQ(ulids(BlocksBeyondRetention({c, a, b}, 2 * kHourMs, 0)),
            (std::vector<std::string>{a->meta().ulid, b->meta().ulid}));
  EXPECT_TRUE(BlocksBeyondRetention({a, b, c}, 0, 0).empty());  // disabled
}

TEST_F(CompactTest, RetentionBySize) {
  auto a = MakeBlock(0, kRangeMs, {{"x", Every(0, kRangeMs, 1000, 0)}});
  auto b = MakeBlock(kRangeMs, 2 * kRangeMs);
  auto c = MakeBlock(2 * kRangeMs, 3 * kRangeMs);
  auto ulids = [](const std::vector<std::shared_ptr<Block>>& bs) {
    std::vector<std::string> out;
    for (const auto& x : bs) out.push_back(x->meta().ulid);
    return out;
  };
  const uint64_t total = a->size_bytes() + b->size_bytes() + c->size_bytes();
  EXPECT_GT(a->size_bytes(), b->size_bytes());
  EXPECT_TRUE(BlocksBeyondRetention({a, b, c}, 0, total).empty());
  EXPECT_EQ(ulids(BlocksBeyondRetention({c, b, a}, 0, total - 1)),
            std::vector<std::string>{a->meta().ulid});
  EXPECT_EQ(ulids(BlocksBeyondRetention({a, b, c}, 0, c->size_bytes())),
            (std::vector<std::string>{a->meta().ulid, b->meta().ulid}));
  EXPECT_EQ(ulids(BlocksBeyondRetention({a, b, c}, 0, 1)).size(), 3u);
  // Time and size together: the union, without duplicates.
  EXPECT_EQ(ulids(BlocksBeyondRetention({a, b, c}, 2 * kHourMs, total - 1)),
            (std::vector<std::string>{a->meta().ulid, b->meta().ulid}));
}

}  // namespace
}  // namespace argus::tsdb
