#include "logstore/block.h"

#include <gtest/gtest.h>

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
}  // namespace argus::logstore
