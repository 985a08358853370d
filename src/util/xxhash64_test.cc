#include "util/xxhash64.h"

#include <string>

#include <gtest/gtest.h>

namespace argus {
namespace {

uint64_t H(const std::string& s, uint64_t seed = 0) { return xxhash64::Hash(s.data(), s.size(), seed); }

// Reference values from the xxHash project's sanity checks and from Go's cespare/xxhash.
TEST(XxHash64Test, ReferenceVectors) {
  EXPECT_EQ(H(""), 0xEF46DB3751D8E999ull);
  EXPECT_EQ(H("a"), 0xD24EC4F1A98C6E5Bull);
  EXPECT_EQ(H("abc"), 0x44BC2CF5AD770999ull);
  EXPECT_EQ(H("The quick brown fox jumps over the lazy dog"), 0x0B242D361FDA71BCull);
}

// Every tail length (0..31 after the stripes) and the 32-byte stripe loop give distinct values
// and splitting the input differently changes the hash (no lane is ignored).
TEST(XxHash64Test, AllLengthsDiffer) {
  std::string s;
  uint64_t prev = H(s);
  for (int i = 0; i < 100; ++i) {
    s.push_back(static_cast<char>('a' + i % 26));
    uint64_t h = H(s);
    EXPECT_NE(h, prev) << i;
    prev = h;
  }
  std::string a(64, 'x'), b(64, 'x');
  b[40] = 'y';
  EXPECT_NE(H(a), H(b));
  EXPECT_NE(H(a, 0), H(a, 1));
}

}  // namespace
}  // namespace argus
