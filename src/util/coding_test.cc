#include "util/coding.h"

#include <gtest/gtest.h>

#include <limits>

namespace argus {
namespace {

TEST(CodingTest, VarintRoundTripsAcrossWidths) {
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, 1ull << 35, ~0ull}) {
    std::string buf;
    PutVarint64(&buf, v);
    std::string_view in = buf;
    uint64_t got = 0;
    ASSERT_TRUE(GetVarint64(&in, &got));
    EXPECT_EQ(got, v);
    EXPECT_TRUE(in.empty());
  }
}

TEST(CodingTest, VarintEncodes300AsTwoBytes) {
  std::string buf;
  PutVarint64(&buf, 300);
  ASSERT_EQ(buf.size(), 2u);
  EXPECT_EQ(static_cast<uint8_t>(buf[0]), 0xAC);
  EXPECT_EQ(static_cast<uint8_t>(buf[1]), 0x02);
}

TEST(CodingTest, SignedVarintRoundTrips) {
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, int64_t{-64}, int64_t{64},
                    std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}) {
    std::string buf;
    PutVarsint64(&buf, v);
    std::string_view in = buf;
    int64_t got = 0;
    ASSERT_TRUE(GetVarsint64(&in, &got));
    EXPECT_EQ(got, v);
  }
}

TEST(CodingTest, TruncatedInputIsRejected) {
  std::string buf;
  PutVarint64(&buf, 1ull << 40);
  std::string_view in(buf.data(), buf.size() - 1);
  uint64_t v;
  EXPECT_FALSE(GetVarint64(&in, &v));
  std::string_view empty;
  uint32_t f;
  EXPECT_FALSE(GetFixed32(&empty, &f));
  std::string lp;
  PutVarint64(&lp, 10);
  lp += "abc";
  std::string_view lpin = lp;
  std::string_view s;
  EXPECT_FALSE(GetLengthPrefixed(&lpin, &s));
}

TEST(CodingTest, FixedIsLittleEndian) {
  std::string buf;
  PutFixed32(&buf, 0x01020304);
  EXPECT_EQ(buf, std::string("\x04\x03\x02\x01", 4));
  std::string_view in = buf;
  uint32_t v;
  ASSERT_TRUE(GetFixed32(&in, &v));
  EXPECT_EQ(v, 0x01020304u);
}

}  // namespace
}  // namespace argus
