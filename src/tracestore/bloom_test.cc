#include "tracestore/bloom.h"

#include <gtest/gtest.h>

#include "tracestore/test_util.h"

namespace argus::tracestore {
namespace {

TEST(BloomTest, NoFalseNegativesAndFewFalsePositives) {
  BloomFilter b = BloomFilter::ForCount(1000);
  for (int i = 0; i < 1000; ++i) b.Add(testing::Id(i));
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(b.MayContain(testing::Id(i)));
  int fp = 0;
  for (int i = 1000; i < 11000; ++i) fp += b.MayContain(testing::Id(i)) ? 1 : 0;
  EXPECT_LT(fp, 300);  // 1% expected; 3% is far outside chance
}

TEST(BloomTest, RoundTripAndCorruption) {
  BloomFilter b = BloomFilter::ForCount(10);
  b.Add("abc");
  std::string bytes = b.Encode();
  auto d = BloomFilter::Decode(bytes);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->MayContain("abc"));
  bytes[30] ^= 1;
  EXPECT_EQ(BloomFilter::Decode(bytes).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(BloomFilter::Decode("ATBF").status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace argus::tracestore
