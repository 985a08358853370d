#include "logql/parser.h"

#include <gtest/gtest.h>

namespace argus::logql {
namespace {

TEST(ParserTest, MetricQueryShapes) {
  auto e = ParseExpr(R"(sum by (app) (rate({app="a"} |= "x" | json [1m] offset 30s)))");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ((*e)->kind, ExprKind::kVectorAgg);
  const Expr& r = *(*e)->lhs;
  EXPECT_EQ(r.kind, ExprKind::kRangeAgg);
  EXPECT_EQ(r.range_op, RangeOp::kRate);
  EXPECT_EQ(r.range_ns, 60'000'000'000);
  EXPECT_EQ(r.offset_ns, 30'000'000'000);
  EXPECT_EQ(r.selector.stages.size(), 2u);
  ASSERT_TRUE((*e)->grouping.has_value());
  EXPECT_EQ((*e)->grouping->labels, std::vector<std::string>{"app"});
}

TEST(ParserTest, PrecedenceAndAssociativity) {
  auto e = ParseExpr("2 ^ 3 ^ 2");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->binary_op, BinaryOp::kPow);
  EXPECT_EQ((*e)->lhs->kind, ExprKind::kLiteral);  // right-associative
  auto f = ParseExpr("vector(1) or vector(2) and vector(3)");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->binary_op, BinaryOp::kOr);
  EXPECT_EQ((*f)->rhs->binary_op, BinaryOp::kAnd);
}

TEST(ParserTest, UnwrapAndGroupingRules) {
  EXPECT_TRUE(ParseExpr(R"(avg_over_time({a="b"} | logfmt | unwrap duration(d) | v > 1 [1m]) by (x))").ok());
  auto no_unwrap = ParseExpr(R"(sum_over_time({a="b"}[1m]))");
  ASSERT_FALSE(no_unwrap.ok());
  EXPECT_NE(no_unwrap.status().message().find("invalid aggregation sum_over_time without unwrap"), std::string::npos);
  auto grouped = ParseExpr(R"(count_over_time({a="b"}[1m]) by (a))");
  ASSERT_FALSE(grouped.ok());
  EXPECT_NE(grouped.status().message().find("grouping not allowed for count_over_time aggregation"), std::string::npos);
}

TEST(ParserTest, SyntaxErrorsNameTheToken) {
  auto e = ParseExpr(R"(count_over_time({a="b"}[1m]) bool > 1)");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("syntax error: unexpected bool"), std::string::npos);
  auto k = ParseExpr(R"(count_over_time({a="b"} | keep [1m]))");
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.status().message().find("expecting IDENTIFIER"), std::string::npos);
  EXPECT_FALSE(ParseExpr("0x1A").ok());
  EXPECT_FALSE(ParseExpr(R"({a=~".*"})").ok());  // needs a non-empty-compatible matcher
}

TEST(ParserTest, StageArgumentsAreValidated) {
  EXPECT_FALSE(ParseExpr(R"({a="b"} |~ "(")").ok());
  EXPECT_FALSE(ParseExpr(R"({a="b"} | pattern "no captures")").ok());
  EXPECT_FALSE(ParseExpr(R"({a="b"} | line_format "{{ nosuch }}")").ok());
  EXPECT_FALSE(ParseExpr(R"({a="b"} | json x="a[")").ok());
  EXPECT_FALSE(ParseExpr(R"({a="b"} |= ip("bogus"))").ok());
  EXPECT_TRUE(ParseExpr(R"({a="b"} |= "x" or "y" != "z" | logfmt --strict --keep-empty a, b="c")").ok());
  EXPECT_FALSE(ParseExpr(R"({a="b"} | label_format x=a, x="{{.b}}")").ok());
  EXPECT_FALSE(ParseExpr(R"(label_replace(vector(1), "1bad", "", "", ""))").ok());
}

TEST(ParserTest, Selector) {
  auto ms = ParseSelector(R"({app="a", env=~"p.*"})");
  ASSERT_TRUE(ms.ok());
  ASSERT_EQ(ms->size(), 2u);
  EXPECT_EQ((*ms)[1].name(), "env");
  EXPECT_FALSE(ParseSelector(R"({app="a"} |= "x")").ok());
}

}  // namespace
}  // namespace argus::logql
