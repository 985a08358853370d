#include "logstore/block.h"

#include <gtest/gtest.h>

#include "util/coding.h"
#include "util/crc32c.h"

namespace argus::logstore {
namespace {

TEST(BlockTest, RoundTripsEntriesAndBounds) {
  BlockBuilder b;
  b.Add({1000, "a", {}});
  b.Add({1005, "bc", {{"trace_id", "t1"}, {"empty", ""}}});
  b.Add({1005, "same time", {}});
  std::string bytes = b.Finish();
  EXPECT_TRUE(b.empty());
  auto h = ReadBlockHeader(bytes);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->min_ts_ns, 1000);
  EXPECT_EQ(h->max_ts_ns, 1005);
  EXPECT_EQ(h->count, 3u);
  EXPECT_EQ(h->size_bytes, bytes.size());
  auto es = DecodeBlock(bytes);
  ASSERT_TRUE(es.ok());
  ASSERT_EQ(es->size(), 3u);
  EXPECT_EQ((*es)[1].line, "bc");
  EXPECT_EQ((*es)[1].metadata[1].name, "empty");
  EXPECT_EQ((*es)[1].metadata[1].value, "");
  EXPECT_EQ((*es)[2].ts_ns, 1005);
}

TEST(BlockTest, WorkedExamplePayload) {
  // docs/format/logs.md: (1000, "a"), (1005, "bc") -> 00 01 61 00 0a 02 62 63 00.
  BlockBuilder b;
  b.Add({1000, "a", {}});
  b.Add({1005, "bc", {}});
  std::string bytes = b.Finish();
  std::string raw;
  ASSERT_TRUE(DecompressBlock(bytes, &raw).ok());
  EXPECT_EQ(raw, std::string("\x00\x01" "a" "\x00\x0a\x02" "bc" "\x00", 9));
}

TEST(BlockTest, CompressesRepetitiveLines) {
  BlockBuilder b;
  for (int i = 0; i < 2000; ++i) {
    b.Add({i * 1'000'000LL, "level=info msg=\"request served\" path=/api/v1/items status=200 id=" + std::to_string(i), {}});
  }
  size_t raw = b.raw_size();
  std::string bytes = b.Finish();
  EXPECT_LT(bytes.size() * 8, raw);
}

TEST(BlockTest, CorruptionIsDetectedNotCrashed) {
  BlockBuilder b;
  b.Add({1, "hello", {}});
  std::string good = b.Finish();
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x5a;
    EXPECT_FALSE(DecodeBlock(bad).ok()) << "byte " << i;
  }
  for (size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(DecodeBlock(good.substr(0, n)).ok());
  EXPECT_FALSE(ParseRaw(std::string("\x00\x7f", 2), 1, 0).ok());
}

}  // namespace
// The scan path returns exactly the entries whose line holds every needle, in range: not an
// entry whose header or metadata bytes, or the junction with the next entry, hold the needle.
TEST(ParseRawIntoTest, ReturnsOnlyLinesHoldingTheNeedles) {
  BlockBuilder b;
  b.Add({10, "alpha ne", {}});
  b.Add({20, "edle beta", {{"k", "needle"}}});  // "ne"+"edle" spans two entries; meta holds it
  b.Add({30, "a needle and hay", {{"k", "v"}}});
  b.Add({40, "needle", {}});
  b.Add({50, "needle but out of range", {}});
  b.Add({60, "hay", {}});
  std::string bytes = b.Finish();
  auto h = ReadBlockHeader(bytes);
  ASSERT_TRUE(h.ok());
  std::string raw;
  ASSERT_TRUE(DecompressBlock(bytes, &raw).ok());
  std::vector<LogEntry> out(1);
  out[0].line = "left over from an earlier block";
  std::vector<std::string> needles = {"needle"};
  auto n = ParseRawInto(raw, h->count, h->min_ts_ns, 0, 45, needles, &out);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  ASSERT_EQ(*n, 2u);
  EXPECT_EQ(out[0].ts_ns, 30);
  EXPECT_EQ(out[0].line, "a needle and hay");
  ASSERT_EQ(out[0].metadata.size(), 1u);
  EXPECT_EQ(out[0].metadata[0].value, "v");
  EXPECT_EQ(out[1].line, "needle");
  EXPECT_TRUE(out[1].metadata.empty());
  needles = {"needle", "hay"};
  n = ParseRawInto(raw, h->count, h->min_ts_ns, 0, 100, needles, &out);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 1u);
  EXPECT_EQ(out[0].ts_ns, 30);
  n = ParseRawInto(raw, h->count, h->min_ts_ns, 15, 55, {}, &out);  // no needles: the range
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 4u);
  EXPECT_EQ(out[0].line, "edle beta");
  EXPECT_EQ(out[3].ts_ns, 50);
  EXPECT_FALSE(ParseRawInto(raw.substr(0, raw.size() - 2), h->count, h->min_ts_ns, 0, 100, {}, &out).ok());
}

TEST(BlockTest, TrigramFilterRejectsAbsentNeedlesOnly) {
  BlockBuilder b;
  for (int i = 0; i < 500; ++i) {
    b.Add({i, "sshd[" + std::to_string(1000 + i) + "]: session opened for user root", {{"k", "metadata only"}}});
  }
  std::string bytes = b.Finish();
  auto h = ReadBlockHeader(bytes);
  ASSERT_TRUE(h.ok());
  ASSERT_GE(h->filter_log2, 10);
  EXPECT_EQ(h->filter.size(), (size_t{1} << h->filter_log2) / 8);
  using V = std::vector<std::string>;
  EXPECT_TRUE(BlockMayContain(*h, V{"session opened"}));
  EXPECT_TRUE(BlockMayContain(*h, V{"sshd[1499]", "root"}));
  EXPECT_TRUE(BlockMayContain(*h, V{"xy"}));  // too short to filter
  EXPECT_TRUE(BlockMayContain(*h, V{}));
  // Absent needles: each of these has many trigrams, so the filter proves them absent (a
  // false positive needs every one of its trigram bits set by chance).
  EXPECT_FALSE(BlockMayContain(*h, V{"connection refused"}));
  EXPECT_FALSE(BlockMayContain(*h, V{"session opened", "kernel panic"}));
  EXPECT_FALSE(BlockMayContain(*h, V{"metadata only"}));  // metadata is not line text
}

TEST(BlockTest, VersionOneBlocksWithoutFilterStillRead) {
  BlockBuilder b;
  b.Add({1000, "old line", {}});
  std::string v2 = b.Finish();
  auto h = ReadBlockHeader(v2);
  ASSERT_TRUE(h.ok());
  // Rebuild the same block as version 1: magic 0x4c, no filter_log2 byte and filter.
  size_t filter_at = h->filter.data() - v2.data() - 1;
  std::string v1 = v2.substr(0, filter_at) + v2.substr(filter_at + 1 + h->filter.size(), h->comp_len);
  v1[0] = static_cast<char>(kBlockMagicV1);
  PutFixed32(&v1, crc32c::Value(v1.data(), v1.size()));
  auto h1 = ReadBlockHeader(v1);
  ASSERT_TRUE(h1.ok()) << h1.status().ToString();
  EXPECT_EQ(h1->filter_log2, 0);
  EXPECT_TRUE(BlockMayContain(*h1, std::vector<std::string>{"absent needle"}));
  auto es = DecodeBlock(v1);
  ASSERT_TRUE(es.ok());
  ASSERT_EQ(es->size(), 1u);
  EXPECT_EQ((*es)[0].line, "old line");
}

// The vectorised search against std::string_view::find: needles at every offset of lines
// longer and shorter than a vector, near the payload's end, with near-misses (first and last
// byte right, middle wrong) and repeated first bytes.
TEST(ParseRawIntoTest, VectorSearchAgreesWithFind) {
  for (const std::string needle : {"ab", "abc", "session opened", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxy"}) {
    BlockBuilder b;
    std::vector<std::string> lines;
    for (int len : {1, 5, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100}) {
      for (int at = 0; at <= len; ++at) {
        std::string l(static_cast<size_t>(len), 'x');
        if (at + needle.size() <= l.size()) l.replace(static_cast<size_t>(at), needle.size(), needle);
        if (at % 3 == 1 && l.size() >= needle.size()) l[l.size() - 1] = needle[0];  // a false start
        if (at % 4 == 2 && needle.size() > 2 && at + needle.size() <= l.size()) l[static_cast<size_t>(at) + 1] = '#';
        lines.push_back(l);
      }
    }
    for (size_t i = 0; i < lines.size(); ++i) b.Add({static_cast<int64_t>(i), lines[i], {}});
    std::string bytes = b.Finish();
    auto h = ReadBlockHeader(bytes);
    ASSERT_TRUE(h.ok());
    std::string raw;
    ASSERT_TRUE(DecompressBlock(bytes, &raw).ok());
    std::vector<LogEntry> out;
    auto n = ParseRawInto(raw, h->count, h->min_ts_ns, 0, INT64_MAX, std::vector<std::string>{needle}, &out);
    ASSERT_TRUE(n.ok());
    std::vector<int64_t> want, got;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].find(needle) != std::string::npos) want.push_back(static_cast<int64_t>(i));
    }
    for (size_t i = 0; i < *n; ++i) got.push_back(out[i].ts_ns);
    EXPECT_EQ(got, want) << needle;
    EXPECT_FALSE(want.empty());
  }
}

}  // namespace argus::logstore
