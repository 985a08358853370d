// Native histograms through the metrics engine: chunk and WAL encodings, the head's append
// rules, WAL replay, checkpoints, blocks and compaction.
#include <cstdlib>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "tsdb/block.h"
#include "tsdb/compact.h"
#include "tsdb/db.h"
#include "tsdb/histogram_chunk.h"
#include "tsdb/wal_records.h"
#include "util/file.h"

namespace argus::tsdb {
namespace {

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;

// An integer histogram whose counts grow with i: schema 0, buckets (0.5,1] (1,2] (4,8].
IntHistogram IntHist(int i) {
  IntHistogram h;
  h.schema = 0;
  h.zero_threshold = 0.001;
  h.zero_count = 1;
  h.positive_spans = {{0, 2}, {1, 1}};
  h.positive_buckets = {1 + i, 1, -1};  // absolute 1+i, 2+i, 1+i
  h.count = 1 + (1 + i) + (2 + i) + (1 + i);
  h.sum = 10.5 * (i + 1);
  return h;
}

FloatHistogram FloatHist(double f) {
  FloatHistogram h;
  h.schema = kCustomBucketsSchema;
  h.custom_values = {1, 5};
  h.positive_spans = {{0, 3}};
  h.positive_buckets = {f, 2 * f, 0.5};
  h.count = 3 * f + 0.5;
  h.sum = f;
  h.counter_reset_hint = CounterResetHint::kGauge;
  return h;
}

bool SameHistogramSample(const HistogramSample& a, const HistogramSample& b) {
  if (a.t_ms != b.t_ms || a.is_float() != b.is_float()) return false;
  if (a.is_float()) {
    const auto& x = std::get<FloatHistogram>(a.value);
    const auto& y = std::get<FloatHistogram>(b.value);
    return x.Equals(y) && x.counter_reset_hint == y.counter_reset_hint;
  }
  const auto& x = std::get<IntHistogram>(a.value);
  const auto& y = std::get<IntHistogram>(b.value);
  return x.Equals(y) && x.counter_reset_hint == y.counter_reset_hint;
}

std::string Hex(std::string_view b) {
  static const char* d = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : b) {
    if (!out.empty()) out += ' ';
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

TEST(HistogramChunkTest, WorkedExampleBytes) {
  // The example of docs/format/chunks.md.
  IntHistogram h;
  h.schema = 0;
  h.count = 3;
  h.sum = 4;
  h.positive_spans = {{1, 2}};
  h.positive_buckets = {1, 1};  // absolute 1 2
  HistogramChunk c(false);
  c.Append({1000, h});
  h.count = 5;
  h.positive_buckets = {2, 1};
  c.Append({16000, h});
  EXPECT_EQ(Hex(c.bytes()),
            "00 02 "
            "D0 0F 00 00 00 00 00 00 00 00 00 00 00 03 00 00 00 00 00 00 10 40 01 02 02 02 02 02 "
            "00 00 00 "
            "98 75 00 00 00 00 00 00 00 00 00 00 00 05 00 00 00 00 00 00 10 40 01 02 02 02 04 02 "
            "00 00 00");
  std::vector<HistogramSample> out;
  ASSERT_TRUE(DecodeHistogramChunk(c.bytes(), INT64_MIN, INT64_MAX, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].t_ms, 16000);
  EXPECT_TRUE(std::get<IntHistogram>(out[1].value).Equals(h));
}

TEST(HistogramChunkTest, RoundTripsBothKinds) {
  HistogramChunk ic(false), fc(true);
  std::vector<HistogramSample> want_i, want_f;
  for (int i = 0; i < 50; ++i) {
    HistogramSample s{i * 15000 - 7000, IntHist(i)};
    ic.Append(s);
    want_i.push_back(s);
    HistogramSample f{i * 15000, FloatHist(i * 0.25)};
    fc.Append(f);
    want_f.push_back(f);
  }
  EXPECT_EQ(ic.encoding(), ChunkEncoding::kHistogram);
  EXPECT_EQ(fc.encoding(), ChunkEncoding::kFloatHistogram);
  EXPECT_EQ(ChunkNumSamples(ic.bytes()), 50);
  std::vector<HistogramSample> got;
  ASSERT_TRUE(DecodeHistogramChunk(ic.bytes(), INT64_MIN, INT64_MAX, &got).ok());
  ASSERT_EQ(got.size(), want_i.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(SameHistogramSample(got[i], want_i[i])) << i;
  got.clear();
  ASSERT_TRUE(DecodeHistogramChunk(fc.bytes(), 15000, 30000, &got).ok());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(SameHistogramSample(got[0], want_f[1]));
  // Recovering an appendable chunk from bytes.
  Result<HistogramChunk> r = HistogramChunk::FromBytes(std::string(fc.bytes()), true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->max_time_ms(), 49 * 15000);
  EXPECT_FALSE(HistogramChunk::FromBytes(std::string(fc.bytes()), false).ok());
}

TEST(HistogramChunkTest, CorruptBytesAreErrorsNotCrashes) {
  HistogramChunk c(false);
  c.Append({1, IntHist(1)});
  c.Append({2, IntHist(2)});
  std::string b(c.bytes());
  for (size_t cut = 0; cut < b.size(); ++cut) {
    std::vector<HistogramSample> out;
    EXPECT_FALSE(DecodeHistogramChunk(b.substr(0, cut), INT64_MIN, INT64_MAX, &out).ok()) << cut;
  }
  std::string huge = b;
  // Byte 23 is the positive span count of sample 0 (header 2, t 1, flags 1, schema 1,
  // threshold 8, zero count 1, count 1, sum 8); an absurd count is refused before allocating.
  huge[23] = '\x7f';
  std::vector<HistogramSample> out;
  EXPECT_FALSE(DecodeHistogramChunk(huge, INT64_MIN, INT64_MAX, &out).ok());
}

TEST(HistogramChunkTest, RandomByteFlipsNeverCrash) {
  HistogramChunk c(false);
  for (int i = 0; i < 5; ++i) c.Append({i * 1000, IntHist(i)});
  HistogramChunk f(true);
  for (int i = 0; i < 5; ++i) f.Append({i * 1000, FloatHist(i)});
  std::mt19937 rng(42);
  for (const std::string_view bytes : {c.bytes(), f.bytes()}) {
    for (int round = 0; round < 2000; ++round) {
      std::string b(bytes);
      for (int k = 0; k < 3; ++k) b[rng() % b.size()] = static_cast<char>(rng() & 0xff);
      std::vector<HistogramSample> out;
      Status st = DecodeHistogramChunk(b, INT64_MIN, INT64_MAX, &out);
      EXPECT_TRUE(st.ok() || st.code() == StatusCode::kCorruption);
      EXPECT_LE(out.size(), 65535u);
    }
  }
}

TEST(HistogramWalRecordTest, RoundTrip) {
  std::vector<RefHistogramSample> in = {{7, {1000, IntHist(3)}}, {9, {-5, FloatHist(1.5)}}};
  std::string rec;
  EncodeHistogramSamplesRecord(in, &rec);
  ASSERT_EQ(*WalRecordTypeOf(rec), WalRecordType::kHistogramSamples);
  std::vector<RefHistogramSample> out;
  ASSERT_TRUE(DecodeHistogramSamplesRecord(rec, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].ref, 7u);
  EXPECT_TRUE(SameHistogramSample(out[0].sample, in[0].sample));
  EXPECT_TRUE(SameHistogramSample(out[1].sample, in[1].sample));
  out.clear();
  EXPECT_EQ(DecodeHistogramSamplesRecord(rec.substr(0, rec.size() - 3), &out).code(),
            StatusCode::kCorruption);
  EXPECT_FALSE(DecodeSamplesRecord(rec, nullptr).ok());  // wrong type
}

class HistogramDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/argus_hist_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { RemoveAll(dir_).IgnoreError(); }

  std::unique_ptr<DB> MustOpen() {
    Result<std::unique_ptr<DB>> db = DB::Open(dir_, DbOptions{});
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(*db) : nullptr;
  }

  static Labels L(const std::string& name) { return Labels::FromMap({{"__name__", name}}); }

  // One histogram per minute in [from, to) for "ih" (integer) and "fh" (float), plus a float
  // sample for "ih" every minute (a series may carry both).
  static void AppendRange(DB& db, int64_t from, int64_t to) {
    for (int64_t t = from; t < to; t += kMinute) {
      auto app = db.NewAppender();
      const int i = static_cast<int>(t / kMinute);
      ASSERT_TRUE(app->AppendHistogram(L("ih"), {t, IntHist(i)}).ok());
      ASSERT_TRUE(app->AppendHistogram(L("fh"), {t, FloatHist(i)}).ok());
      ASSERT_TRUE(app->Append(L("ih"), t, i).ok());
      ASSERT_TRUE(app->Commit().ok());
    }
  }

  static void ExpectRange(DB& db, int64_t from, int64_t to) {
    auto q = db.NewQuerier(INT64_MIN / 2, INT64_MAX / 2);
    ASSERT_TRUE(q.ok());
    for (const char* name : {"ih", "fh"}) {
      auto ss = (*q)->Select({*Matcher::Make(MatchType::kEqual, "__name__", name)}, {});
      ASSERT_TRUE(ss.ok()) << ss.status().ToString();
      ASSERT_EQ(ss->size(), 1u) << name;
      const Series& s = (*ss)[0];
      ASSERT_EQ(s.histograms.size(), static_cast<size_t>((to - from) / kMinute)) << name;
      EXPECT_EQ(s.samples.size(), std::string(name) == "ih" ? s.histograms.size() : 0u);
      for (size_t k = 0; k < s.histograms.size(); ++k) {
        const int64_t t = from + static_cast<int64_t>(k) * kMinute;
        const int i = static_cast<int>(t / kMinute);
        HistogramSample want = std::string(name) == "ih" ? HistogramSample{t, IntHist(i)}
                                                         : HistogramSample{t, FloatHist(i)};
        ASSERT_TRUE(SameHistogramSample(s.histograms[k], want)) << name << " at " << t;
      }
    }
  }

  std::string dir_;
};

TEST_F(HistogramDbTest, AppendRulesAndValidation) {
  auto db = MustOpen();
  AppendRange(*db, 0, 3 * kMinute);
  auto app = db->NewAppender();
  // Older than the newest histogram.
  Status st = app->AppendHistogram(L("ih"), {kMinute, IntHist(1)});
  EXPECT_EQ(st.code(), StatusCode::kOutOfOrder);
  EXPECT_EQ(st.message(), "out of order sample");
  // Same timestamp: identical is a no-op, different is a duplicate.
  EXPECT_TRUE(app->AppendHistogram(L("ih"), {2 * kMinute, IntHist(2)}).ok());
  st = app->AppendHistogram(L("ih"), {2 * kMinute, IntHist(5)});
  EXPECT_EQ(st.message(), "duplicate sample for timestamp");
  // Invalid: count does not match the buckets.
  IntHistogram bad = IntHist(1);
  bad.count += 1;
  st = app->AppendHistogram(L("ih"), {10 * kMinute, bad});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("observation count should equal"), std::string::npos);
  // Switching kinds within a series is allowed and cuts a chunk.
  EXPECT_TRUE(app->AppendHistogram(L("ih"), {11 * kMinute, FloatHist(2)}).ok());
  ASSERT_TRUE(app->Commit().ok());
  auto q = db->NewQuerier(0, kHour);
  auto ss = (*q)->Select({*Matcher::Make(MatchType::kEqual, "__name__", "ih")}, {});
  ASSERT_TRUE(ss.ok());
  ASSERT_EQ((*ss)[0].histograms.size(), 4u);
  EXPECT_TRUE((*ss)[0].histograms.back().is_float());
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(HistogramDbTest, WalReplayRestoresHistograms) {
  {
    auto db = MustOpen();
    AppendRange(*db, 0, 30 * kMinute);
    ASSERT_TRUE(db->Close().ok());
  }
  auto db = MustOpen();
  EXPECT_EQ(db->replay_stats().samples, 3u * 30);
  ExpectRange(*db, 0, 30 * kMinute);
  // Appends continue after the replayed histograms (and are ordered against them).
  auto app = db->NewAppender();
  EXPECT_EQ(app->AppendHistogram(L("fh"), {29 * kMinute - 1, FloatHist(1)}).code(),
            StatusCode::kOutOfOrder);
  app->Rollback();
  AppendRange(*db, 30 * kMinute, 40 * kMinute);
  ExpectRange(*db, 0, 40 * kMinute);
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(HistogramDbTest, BlocksCheckpointsAndReopen) {
  {
    auto db = MustOpen();
    AppendRange(*db, 0, 3 * kHour + 10 * kMinute);
    ASSERT_TRUE(db->Maintain().ok());
    std::vector<std::shared_ptr<Block>> blocks = db->Blocks();
    ASSERT_EQ(blocks.size(), 1u);
    // 2h of 3 streams (2 histogram, 1 float) at 1/min.
    EXPECT_EQ(blocks[0]->meta().num_samples, 3u * 120);
    ExpectRange(*db, 0, 3 * kHour + 10 * kMinute);
    ASSERT_TRUE(db->Close().ok());
  }
  auto db = MustOpen();
  // The checkpoint kept only histograms the head still needs.
  EXPECT_EQ(db->replay_stats().samples, 3u * 70);
  ExpectRange(*db, 0, 3 * kHour + 10 * kMinute);
  // A range that ends inside the block only returns what is inside.
  auto q = db->NewQuerier(10 * kMinute, 20 * kMinute - 1);
  auto ss = (*q)->Select({*Matcher::Make(MatchType::kEqual, "__name__", "fh")}, {});
  ASSERT_TRUE(ss.ok());
  ASSERT_EQ(ss->size(), 1u);
  EXPECT_EQ((*ss)[0].histograms.size(), 10u);
  EXPECT_EQ((*ss)[0].histograms.front().t_ms, 10 * kMinute);
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(HistogramDbTest, CompactionMergesOverlappingHistogramChunks) {
  auto chunk = [](std::vector<HistogramSample> ss) {
    HistogramChunk c(ss[0].is_float());
    for (auto& s : ss) c.Append(s);
    return ChunkData{c.min_time_ms(), c.max_time_ms(), std::string(c.bytes()), c.encoding()};
  };
  auto block = [&](std::vector<ChunkData> cs) {
    std::vector<BlockSeries> ss = {{L("h"), std::move(cs)}};
    auto meta = WriteBlock(dir_, 0, 2 * kHour, 1, {}, std::move(ss));
    EXPECT_TRUE(meta.ok()) << meta.status().ToString();
    auto b = Block::Open(dir_ + "/" + meta->ulid);
    EXPECT_TRUE(b.ok());
    return *b;
  };
  // Two overlapping blocks: the first wins the duplicate timestamp 2m; floats alongside.
  XorChunk x;
  x.Append(0, 42);
  auto b1 = block({chunk({{0, IntHist(0)}, {2 * kMinute, IntHist(2)}}),
                   ChunkData{0, 0, std::string(x.bytes())}});
  auto b2 = block({chunk({{kMinute, IntHist(1)}, {2 * kMinute, IntHist(9)}}),
                   chunk({{3 * kMinute, FloatHist(3)}})});
  Result<BlockMeta> meta = CompactBlocks(dir_, {b1, b2});
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  auto merged = Block::Open(dir_ + "/" + meta->ulid);
  ASSERT_TRUE(merged.ok());
  auto q = (*merged)->NewQuerier(0, kHour);
  ASSERT_TRUE(q.ok());
  auto ss = (*q)->Select({*Matcher::Make(MatchType::kEqual, "__name__", "h")}, {});
  ASSERT_TRUE(ss.ok());
  ASSERT_EQ(ss->size(), 1u);
  const Series& s = (*ss)[0];
  EXPECT_EQ(s.samples, (std::vector<Sample>{{0, 42}}));
  ASSERT_EQ(s.histograms.size(), 4u);
  EXPECT_TRUE(SameHistogramSample(s.histograms[1], {kMinute, IntHist(1)}));
  EXPECT_TRUE(SameHistogramSample(s.histograms[2], {2 * kMinute, IntHist(2)}));
  EXPECT_TRUE(SameHistogramSample(s.histograms[3], {3 * kMinute, FloatHist(3)}));
  EXPECT_EQ(meta->num_samples, 5u);
}

}  // namespace
}  // namespace argus::tsdb
