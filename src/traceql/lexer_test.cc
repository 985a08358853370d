#include "traceql/lexer.h"

#include <gtest/gtest.h>

namespace argus::traceql {
namespace {

std::vector<Tok> Kinds(std::string_view q) {
  auto r = Lex(q);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  std::vector<Tok> out;
  if (r.ok()) {
    for (const Token& t : *r) out.push_back(t.tok);
  }
  return out;
}

TEST(LexerTest, AttributeNamesRunToAnOperator) {
  auto r = Lex("{ .http.status>=200 }");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((*r)[2].tok, Tok::kIdentifier);
  EXPECT_EQ((*r)[2].text, "http.status");
  EXPECT_EQ((*r)[3].tok, Tok::kEndAttribute);
  EXPECT_EQ((*r)[4].tok, Tok::kGte);
  EXPECT_EQ((*r)[5].i, 200);
}

TEST(LexerTest, QuotedAttributeNamesUnescape) {
  auto r = Lex(R"({ resource."foo\" = \"bar" = "v" })");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[1].tok, Tok::kResourceDot);
  EXPECT_EQ((*r)[2].text, "foo\" = \"bar");
  EXPECT_FALSE(Lex(R"({ ."a\n" = 1 })").ok());
  EXPECT_FALSE(Lex(R"({ ."unterminated )").ok());
}

TEST(LexerTest, ParentScopes) {
  EXPECT_EQ(Kinds("parent.resource.a"),
            (std::vector<Tok>{Tok::kParentDot, Tok::kResourceDot, Tok::kIdentifier,
                              Tok::kEndAttribute, Tok::kEof}));
  auto r = Lex("parent.http.url");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[1].text, "http.url");
}

TEST(LexerTest, LongestOperator) {
  EXPECT_EQ(Kinds("!>> &>> !< &~ !~ =~ >> <<"),
            (std::vector<Tok>{Tok::kNotDesc, Tok::kUnionDesc, Tok::kNotParent, Tok::kUnionSibl,
                              Tok::kNre, Tok::kRe, Tok::kDesc, Tok::kAnce, Tok::kEof}));
  EXPECT_EQ(Kinds("=="), (std::vector<Tok>{Tok::kEq, Tok::kEq, Tok::kEof}));
}

TEST(LexerTest, Durations) {
  auto r = Lex("1.5ms 2h30m 1d 3 1µs");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].tok, Tok::kDuration);
  EXPECT_EQ((*r)[0].i, 1500000);
  EXPECT_EQ((*r)[1].i, (2 * 3600 + 30 * 60) * 1000000000LL);
  EXPECT_EQ((*r)[2].i, 24 * 3600 * 1000000000LL);
  EXPECT_EQ((*r)[3].tok, Tok::kInteger);
  EXPECT_EQ((*r)[4].i, 1000);
  int64_t ns = 0;
  EXPECT_FALSE(ParseTraceQLDuration("1x", &ns));
}

TEST(LexerTest, ScopedIntrinsics) {
  EXPECT_EQ(Kinds("span:parentID trace:rootService"),
            (std::vector<Tok>{Tok::kSpanColon, Tok::kParentId, Tok::kTraceColon,
                              Tok::kRootService, Tok::kEof}));
}

TEST(LexerTest, StringsAndErrors) {
  auto r = Lex(R"("a\tb" `raw\n`)");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].text, "a\tb");
  EXPECT_EQ((*r)[1].text, "raw\\n");
  EXPECT_FALSE(Lex("\"open").ok());
  EXPECT_FALSE(Lex("99999999999999999999").ok());
}

}  // namespace
}  // namespace argus::traceql
