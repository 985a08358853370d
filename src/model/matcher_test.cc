#include "model/matcher.h"

#include <gtest/gtest.h>

namespace argus {
namespace {

TEST(MatcherTest, RegexIsAnchored) {
  auto m = Matcher::Make(MatchType::kRegexMatch, "job", "node|api");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->Matches("node"));
  EXPECT_TRUE(m->Matches("api"));
  EXPECT_FALSE(m->Matches("node2"));
  EXPECT_FALSE(m->Matches("xapi"));
  EXPECT_EQ(m->set_matches(), (std::vector<std::string>{"node", "api"}));
}

TEST(MatcherTest, DotMatchesNewline) {
  auto m = Matcher::Make(MatchType::kRegexMatch, "a", "x.y");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->Matches("x\ny"));
}

TEST(MatcherTest, EmptyMatchesAbsent) {
  auto eq = Matcher::Make(MatchType::kEqual, "foo", "");
  ASSERT_TRUE(eq.ok());
  Labels ls = Labels::FromMap({{"bar", "1"}});
  EXPECT_TRUE(MatchesAll({*eq}, ls));
  auto neg = Matcher::Make(MatchType::kRegexNoMatch, "foo", ".+");
  ASSERT_TRUE(neg.ok());
  EXPECT_TRUE(neg->MatchesEmpty());
}

TEST(MatcherTest, BadRegexIsInvalidArgument) {
  auto m = Matcher::Make(MatchType::kRegexMatch, "a", "(");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace argus
