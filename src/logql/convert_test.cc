#include "logql/convert.h"

#include <gtest/gtest.h>

#include <cmath>

namespace argus::logql {
namespace {

TEST(ConvertTest, GoFloat) {
  EXPECT_EQ(*ParseGoFloat("1.5"), 1.5);
  EXPECT_EQ(*ParseGoFloat("0x1p3"), 8);
  EXPECT_EQ(*ParseGoFloat("1e3"), 1000);
  EXPECT_TRUE(std::isinf(*ParseGoFloat("-Inf")));
  EXPECT_TRUE(std::isnan(*ParseGoFloat("NaN")));
  EXPECT_FALSE(ParseGoFloat("0x10").ok());
  EXPECT_FALSE(ParseGoFloat("oops").ok());
  EXPECT_EQ(ParseGoFloat("").status().message(), "strconv.ParseFloat: parsing \"\": invalid syntax");
}

TEST(ConvertTest, GoDuration) {
  EXPECT_EQ(*ParseGoDuration("1h30m"), 5400'000'000'000);
  EXPECT_EQ(*ParseGoDuration("1.5h"), 5400'000'000'000);
  EXPECT_EQ(*ParseGoDuration("500ms"), 500'000'000);
  EXPECT_EQ(*ParseGoDuration("3600000000\xc2\xb5s"), 3600'000'000'000);
  EXPECT_EQ(*ParseGoDuration("-5s"), -5'000'000'000);
  EXPECT_EQ(ParseGoDuration("90").status().message(), "time: missing unit in duration \"90\"");
  EXPECT_EQ(ParseGoDuration("1d").status().message(), "time: unknown unit \"d\" in duration \"1d\"");
  EXPECT_EQ(*ParseGoDuration("1d", true), 86400'000'000'000);
  EXPECT_EQ(ParseGoDuration("oops").status().message(), "time: invalid duration \"oops\"");
}

TEST(ConvertTest, HumanBytes) {
  EXPECT_EQ(*ParseHumanBytes("1KB"), 1000u);
  EXPECT_EQ(*ParseHumanBytes("1.5KiB"), 1536u);
  EXPECT_EQ(*ParseHumanBytes("2,048"), 2048u);
  EXPECT_EQ(*ParseHumanBytes("3mb"), 3000000u);
  EXPECT_FALSE(ParseHumanBytes("1XB").ok());
  EXPECT_TRUE(IsBytesLiteral("3MB"));
  EXPECT_FALSE(IsBytesLiteral("3mb"));
}

TEST(ConvertTest, IpRanges) {
  auto cidr = ParseIpPattern("192.168.1.0/24");
  ASSERT_TRUE(cidr.ok());
  EXPECT_TRUE(TextHasIpInRange(*cidr, "src 192.168.1.10 ok"));
  EXPECT_FALSE(TextHasIpInRange(*cidr, "src 10.0.0.9 ok"));
  auto range = ParseIpPattern("192.168.1.1-192.168.1.9");
  ASSERT_TRUE(range.ok());
  EXPECT_TRUE(TextHasIpInRange(*range, "192.168.1.5"));
  auto v6 = ParseIpPattern("2001:db8::/32");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(TextHasIpInRange(*v6, "2001:db8::1"));
  EXPECT_FALSE(ParseIpPattern("").ok());
  EXPECT_FALSE(ParseIpPattern("bogus").ok());
}

TEST(ConvertTest, GoUnescape) {
  EXPECT_EQ(*GoUnescape("a\\x1b[31m\\n"), "a\x1b[31m\n");
  EXPECT_EQ(*GoUnescape("\\u00b5"), "\xc2\xb5");
  EXPECT_FALSE(GoUnescape("\\q").ok());
}

}  // namespace
}  // namespace argus::logql
