// Start timestamps through the metrics storage: the StColumn codec, the head, the WAL (replay
// and checkpoint), cut blocks and compaction, for float and histogram samples; and that series
// without start timestamps stay as they were (no column, plain WAL records and chunks).

#include "tsdb/st_column.h"

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "tsdb/block.h"
#include "tsdb/compact.h"
#include "tsdb/db.h"
#include "tsdb/head.h"
#include "tsdb/histogram_chunk.h"
#include "tsdb/wal_records.h"
#include "util/file.h"

namespace argus::tsdb {
namespace {

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;

Matcher Name(const std::string& n) {
  Result<Matcher> m = Matcher::Make(MatchType::kEqual, "__name__", n);
  EXPECT_TRUE(m.ok());
  return *m;
}

TEST(StColumnTest, EntriesRoundTripAndFilterByTime) {
  std::vector<SampleST> in = {{-5000, -9000}, {60000, 1000}, {120000, 1000}, {180000, 120000}};
  std::string bytes;
  EncodeSTEntries(in, &bytes);
  std::vector<SampleST> all;
  ASSERT_TRUE(DecodeSTEntries(bytes, INT64_MIN, INT64_MAX, &all).ok());
  EXPECT_EQ(all, in);
  std::vector<SampleST> some;
  ASSERT_TRUE(DecodeSTEntries(bytes, 0, 150000, &some).ok());
  EXPECT_EQ(some, (std::vector<SampleST>{{60000, 1000}, {120000, 1000}}));
  // A constant start time costs one byte per entry beyond the timestamp delta.
  std::string constant;
  EncodeSTEntries({{60000, 5}, {120000, 5}}, &constant);
  EXPECT_EQ(constant.size(), 3u + 1u + 3u + 1u);
}

TEST(StColumnTest, TruncatedOrUnorderedBytesAreCorruption) {
  std::string bytes;
  EncodeSTEntries({{60000, 1000}, {120000, 1000}}, &bytes);
  std::vector<SampleST> out;
  EXPECT_EQ(DecodeSTEntries(bytes.substr(0, bytes.size() - 1), INT64_MIN, INT64_MAX, &out).code(),
            StatusCode::kCorruption);
  std::string unordered;
  EncodeSTEntries({{60000, 1}, {60000, 2}}, &unordered);
  out.clear();
  EXPECT_EQ(DecodeSTEntries(unordered, INT64_MIN, INT64_MAX, &out).code(), StatusCode::kCorruption);
  std::string_view x, e;
  EXPECT_EQ(SplitXorSTChunk("ab", &x, &e).code(), StatusCode::kCorruption);
  std::string bad_len("xyz\xff\xff\xff\x7f", 7);
  EXPECT_EQ(SplitXorSTChunk(bad_len, &x, &e).code(), StatusCode::kCorruption);
}

TEST(StColumnTest, ColumnAppendsCollectsAndTruncates) {
  StColumn c;
  EXPECT_TRUE(c.empty());
  for (int64_t t = 1; t <= 5; ++t) c.Append(t * kMinute, 7);
  EXPECT_EQ(c.num_entries(), 5u);
  std::vector<SampleST> got;
  c.Collect(2 * kMinute, 3 * kMinute, &got);
  EXPECT_EQ(got, (std::vector<SampleST>{{2 * kMinute, 7}, {3 * kMinute, 7}}));
  c.Truncate(4 * kMinute);
  got.clear();
  c.Collect(INT64_MIN, INT64_MAX, &got);
  EXPECT_EQ(got, (std::vector<SampleST>{{4 * kMinute, 7}, {5 * kMinute, 7}}));
  c.Append(6 * kMinute, 9);  // appends continue after a truncation
  got.clear();
  c.Collect(6 * kMinute, INT64_MAX, &got);
  EXPECT_EQ(got, (std::vector<SampleST>{{6 * kMinute, 9}}));
}

TEST(StColumnTest, XorSTChunkStillReadsAsXor) {
  XorChunk c;
  c.Append(1000, 1);
  c.Append(2000, 2);
  std::string chunk = EncodeXorSTChunk(c.bytes(), {{2000, 500}});
  std::string_view x, e;
  ASSERT_TRUE(SplitXorSTChunk(chunk, &x, &e).ok());
  EXPECT_EQ(x, c.bytes());
  int n = 0;
  for (XorIterator it(chunk); it.Next();) ++n;  // the trailer is never read as samples
  EXPECT_EQ(n, 2);
}

TEST(StColumnTest, HeadKeepsStartTimestampsOnlyWhereGiven) {
  Head head;
  bool created;
  auto with = head.GetOrCreate(Labels::FromMap({{"__name__", "with"}}), &created);
  auto without = head.GetOrCreate(Labels::FromMap({{"__name__", "without"}}), &created);
  ASSERT_TRUE(with.ok() && without.ok());
  ASSERT_TRUE(head.Append(*with, 2 * kMinute, 1, 30000).ok());
  ASSERT_TRUE(head.Append(*with, 3 * kMinute, 2).ok());  // unknown start for this one
  ASSERT_TRUE(head.Append(*with, 4 * kMinute, 3, 30000).ok());
  ASSERT_TRUE(head.Append(*with, kMinute, 0.5, 1000).ok());  // out of order, with ST
  ASSERT_TRUE(head.Append(*without, kMinute, 1).ok());
  auto q = head.NewQuerier(INT64_MIN, INT64_MAX);
  auto w = q->Select({Name("with")}, {});
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w->size(), 1u);
  EXPECT_EQ((*w)[0].samples.size(), 4u);
  EXPECT_EQ((*w)[0].sample_st, (std::vector<SampleST>{{kMinute, 1000},
                                                      {2 * kMinute, 30000},
                                                      {4 * kMinute, 30000}}));
  auto wo = q->Select({Name("without")}, {});
  ASSERT_TRUE(wo.ok());
  ASSERT_EQ(wo->size(), 1u);
  EXPECT_TRUE((*wo)[0].sample_st.empty());
  // Exported chunks: kXorST for the series with start timestamps, plain XOR otherwise.
  auto chunks = head.ChunksInRange(0, kHour);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].chunks[0].encoding, ChunkEncoding::kXorST);  // "with" sorts first
  EXPECT_EQ(chunks[1].chunks[0].encoding, ChunkEncoding::kXor);
  // Truncation drops start timestamps with their samples: the out-of-order one at 1m goes;
  // the in-order chunk reaches past 3m, so it stays whole, and so do its start timestamps.
  head.Truncate(3 * kMinute);
  auto after = head.NewQuerier(INT64_MIN, INT64_MAX)->Select({Name("with")}, {});
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].samples.size(), 3u);
  EXPECT_EQ((*after)[0].sample_st, (std::vector<SampleST>{{2 * kMinute, 30000},
                                                          {4 * kMinute, 30000}}));
}

TEST(StColumnTest, HistogramBodyCarriesStartTimestampInFlagBit) {
  IntHistogram h;
  h.count = 3;
  h.sum = 4;
  h.zero_count = 3;
  h.zero_threshold = 0.001;
  std::string plain, with_st;
  EncodeHistogramBody(h, &plain);
  EncodeHistogramBody(h, &with_st, 40000, 60000);
  EXPECT_EQ(static_cast<uint8_t>(plain[0]) & kStartTimestampFlag, 0);
  EXPECT_NE(static_cast<uint8_t>(with_st[0]) & kStartTimestampFlag, 0);
  std::string_view in = with_st;
  HistogramValue v;
  int64_t st = -1;
  ASSERT_TRUE(DecodeHistogramBody(&in, &v, 60000, &st).ok());
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(st, 40000);
  in = plain;
  ASSERT_TRUE(DecodeHistogramBody(&in, &v, 60000, &st).ok());
  EXPECT_EQ(st, 0);  // bodies written before start timestamps read as unknown
  // The flag set but the start timestamp cut off, or an unknown flag bit: Corruption.
  std::string cut = with_st.substr(0, with_st.size() - 1);
  in = cut;
  EXPECT_EQ(DecodeHistogramBody(&in, &v, 60000, &st).code(), StatusCode::kCorruption);
  std::string unknown_flag = plain;
  unknown_flag[0] = static_cast<char>(0x10);
  in = unknown_flag;
  EXPECT_EQ(DecodeHistogramBody(&in, &v, 60000, &st).code(), StatusCode::kCorruption);
  HistogramChunk c;
  c.Append(HistogramSample{60000, h, 40000});
  c.Append(HistogramSample{120000, h});
  std::vector<HistogramSample> out;
  ASSERT_TRUE(DecodeHistogramChunk(c.bytes(), INT64_MIN, INT64_MAX, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].st_ms, 40000);
  EXPECT_EQ(out[1].st_ms, 0);
}

TEST(StColumnTest, WalRecordsKeepStartTimestamps) {
  std::string rec;
  EncodeSamplesWithSTRecord({{1, 60000, 1.5, 30000}, {2, 61000, 2.5, 61000}}, &rec);
  ASSERT_EQ(*WalRecordTypeOf(rec), WalRecordType::kSamplesWithST);
  std::vector<RefSample> out;
  ASSERT_TRUE(DecodeSamplesWithSTRecord(rec, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].st_ms, 30000);
  EXPECT_EQ(out[1].st_ms, 61000);
  EXPECT_EQ(out[1].v, 2.5);
  EXPECT_FALSE(DecodeSamplesWithSTRecord(rec.substr(0, rec.size() - 1), &out).ok());
  // The plain record has no room for them: a sample's start time is not written there.
  std::string plain;
  EncodeSamplesRecord({{1, 60000, 1.5, 30000}}, &plain);
  out.clear();
  ASSERT_TRUE(DecodeSamplesRecord(plain, &out).ok());
  EXPECT_EQ(out[0].st_ms, 0);
}

class StDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/argus_st_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { RemoveAll(dir_).IgnoreError(); }
  std::unique_ptr<DB> Open() {
    auto db = DB::Open(dir_, DbOptions{});
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(*db) : nullptr;
  }
  static Series One(DB& db, const std::string& name) {
    auto q = db.NewQuerier(INT64_MIN / 2, INT64_MAX / 2);
    EXPECT_TRUE(q.ok());
    auto ss = (*q)->Select({Name(name)}, {});
    EXPECT_TRUE(ss.ok());
    EXPECT_EQ(ss->size(), 1u);
    return ss->empty() ? Series{} : (*ss)[0];
  }
  std::string dir_;
};

TEST_F(StDbTest, StartTimestampsSurviveReplayBlocksAndCheckpoints) {
  const Labels counter = Labels::FromMap({{"__name__", "c_total"}});
  const Labels plain = Labels::FromMap({{"__name__", "plain"}});
  const Labels hist = Labels::FromMap({{"__name__", "h"}});
  IntHistogram h;
  h.count = 1;
  h.sum = 1;
  h.zero_count = 1;
  std::vector<SampleST> want_sts;
  {
    auto db = Open();
    for (int64_t t = kMinute; t < 3 * kHour + 10 * kMinute; t += kMinute) {
      auto app = db->NewAppender();
      ASSERT_TRUE(app->AppendWithST(counter, 30000, t, static_cast<double>(t)).ok());
      ASSERT_TRUE(app->Append(plain, t, 1).ok());
      ASSERT_TRUE(app->AppendHistogram(hist, HistogramSample{t, h, t - kMinute}).ok());
      ASSERT_TRUE(app->Commit().ok());
      want_sts.push_back({t, 30000});
    }
    EXPECT_EQ(One(*db, "c_total").sample_st, want_sts);
    ASSERT_TRUE(db->Close().ok());
  }
  {
    auto db = Open();  // WAL replay
    EXPECT_EQ(One(*db, "c_total").sample_st, want_sts);
    EXPECT_TRUE(One(*db, "plain").sample_st.empty());
    ASSERT_TRUE(db->Maintain().ok());  // cuts [0, 2h) into a block, checkpoints the WAL
    ASSERT_EQ(db->Blocks().size(), 1u);
    Series s = One(*db, "c_total");
    EXPECT_EQ(s.samples.size(), want_sts.size());
    EXPECT_EQ(s.sample_st, want_sts);  // block part and head part merged
    EXPECT_TRUE(One(*db, "plain").sample_st.empty());
    Series hs = One(*db, "h");
    ASSERT_EQ(hs.histograms.size(), want_sts.size());
    for (const auto& x : hs.histograms) ASSERT_EQ(x.st_ms, x.t_ms - kMinute);
    // The block alone (querier over its range only) reads them from kXorST chunks.
    auto q = db->Blocks()[0]->NewQuerier(0, 2 * kHour - 1);
    ASSERT_TRUE(q.ok());
    auto bs = (*q)->Select({Name("c_total")}, {});
    ASSERT_TRUE(bs.ok());
    ASSERT_EQ(bs->size(), 1u);
    EXPECT_EQ((*bs)[0].sample_st.size(), (*bs)[0].samples.size());
    ASSERT_TRUE(db->Close().ok());
  }
  auto db = Open();  // checkpoint + segments replay
  EXPECT_EQ(One(*db, "c_total").sample_st, want_sts);
  ASSERT_TRUE(db->Close().ok());
}

// Two overlapping blocks of one series, one with start timestamps: compaction merges the
// samples and keeps the start timestamps (the earlier block wins equal timestamps).
TEST_F(StDbTest, CompactionOfOverlappingChunksKeepsStartTimestamps) {
  auto block = [&](std::vector<Sample> samples, std::vector<SampleST> sts) {
    XorChunk c;
    for (const Sample& x : samples) c.Append(x.t_ms, x.v);
    ChunkData cd{c.min_time_ms(), c.max_time_ms(), std::string(c.bytes())};
    if (!sts.empty()) {
      cd.bytes = EncodeXorSTChunk(cd.bytes, sts);
      cd.encoding = ChunkEncoding::kXorST;
    }
    std::vector<BlockSeries> ss;
    ss.push_back({Labels::FromMap({{"__name__", "c_total"}}), {std::move(cd)}});
    auto meta = WriteBlock(dir_, 0, kHour, 1, {}, std::move(ss));
    EXPECT_TRUE(meta.ok()) << meta.status().ToString();
    auto b = Block::Open(dir_ + "/" + meta->ulid);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return *b;
  };
  auto a = block({{1000, 1}, {3000, 3}}, {{1000, 500}, {3000, 500}});
  auto b = block({{2000, 2}, {3000, 99}, {4000, 4}}, {});
  auto meta = CompactBlocks(dir_, {a, b});
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  auto merged = Block::Open(dir_ + "/" + meta->ulid);
  ASSERT_TRUE(merged.ok());
  auto q = (*merged)->NewQuerier(0, kHour);
  ASSERT_TRUE(q.ok());
  auto ss = (*q)->Select({Name("c_total")}, {});
  ASSERT_TRUE(ss.ok()) << ss.status().ToString();
  ASSERT_EQ(ss->size(), 1u);
  EXPECT_EQ((*ss)[0].samples, (std::vector<Sample>{{1000, 1}, {2000, 2}, {3000, 3}, {4000, 4}}));
  EXPECT_EQ((*ss)[0].sample_st, (std::vector<SampleST>{{1000, 500}, {3000, 500}}));
}

}  // namespace
}  // namespace argus::tsdb
