#include "util/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace argus {
namespace {

// Check values from RFC 3720 (iSCSI), appendix B.4, and the standard "123456789" vector.
TEST(Crc32cTest, KnownVectors) {
  EXPECT_EQ(crc32c::Value("123456789", 9), 0xE3069283u);
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c::Value(zeros.data(), zeros.size()), 0x8A9136AAu);
  std::string ones(32, '\xff');
  EXPECT_EQ(crc32c::Value(ones.data(), ones.size()), 0x62A8AB43u);
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  std::string s = "hello, write-ahead log world";
  uint32_t whole = crc32c::Value(s.data(), s.size());
  uint32_t part = crc32c::Extend(crc32c::Value(s.data(), 5), s.data() + 5, s.size() - 5);
  EXPECT_EQ(whole, part);
}

}  // namespace
}  // namespace argus
