#include "promql/parser.h"

#include <gtest/gtest.h>

#include <cmath>

#include "promql/lexer.h"

namespace argus::promql {
namespace {

std::string Canon(const std::string& q) {
  auto e = ParseExpr(q);
  if (!e.ok()) return "ERROR: " + e.status().message();
  return (*e)->ToString();
}

std::string Err(const std::string& q) {
  auto e = ParseExpr(q);
  return e.ok() ? "" : e.status().message();
}

TEST(LexerTest, NumbersAndDurations) {
  double v;
  ASSERT_TRUE(ParseNumber("0x1f", &v));
  EXPECT_EQ(v, 31);
  ASSERT_TRUE(ParseNumber("1e3", &v));
  EXPECT_EQ(v, 1000);
  ASSERT_TRUE(ParseNumber("-Inf", &v));
  EXPECT_TRUE(std::isinf(v) && v < 0);
  ASSERT_TRUE(ParseNumber("NaN", &v));
  EXPECT_TRUE(std::isnan(v));
  EXPECT_FALSE(ParseNumber("1x", &v));
  int64_t ms;
  ASSERT_TRUE(ParseDurationMs("1h30m", &ms));
  EXPECT_EQ(ms, 5400000);
  ASSERT_TRUE(ParseDurationMs("100ms", &ms));
  EXPECT_EQ(ms, 100);
  EXPECT_FALSE(ParseDurationMs("30m1h", &ms));  // units must decrease
  EXPECT_FALSE(ParseDurationMs("", &ms));
}

TEST(ParserTest, Precedence) {
  EXPECT_EQ(Canon("1 + 2 * 3"), "1 + 2 * 3");
  auto e = ParseExpr("a + b * c");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->bin_op, BinaryOp::kAdd);
  EXPECT_EQ((*e)->rhs->bin_op, BinaryOp::kMul);
  // ^ is right-associative.
  e = ParseExpr("a ^ b ^ c");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->lhs->kind, ExprKind::kVectorSelector);
  EXPECT_EQ((*e)->rhs->kind, ExprKind::kBinary);
  // Unary minus binds weaker than ^: -2^2 = -(2^2).
  e = ParseExpr("-2 ^ 2");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->kind, ExprKind::kUnary);
  // and binds tighter than or.
  e = ParseExpr("a or b and c");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->bin_op, BinaryOp::kOr);
  EXPECT_EQ((*e)->rhs->bin_op, BinaryOp::kAnd);
  EXPECT_EQ((*e)->matching.card, Cardinality::kManyToMany);
}

TEST(ParserTest, Literals) {
  auto e = ParseExpr("-1");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->kind, ExprKind::kNumber);
  EXPECT_EQ((*e)->number, -1);
  EXPECT_EQ(Canon("0x10"), "16");
  EXPECT_EQ(Canon("inF"), "+Inf");
  EXPECT_EQ(Canon("'a\\n'"), "\"a\\n\"");
  EXPECT_EQ(Canon("`raw\\n`"), "\"raw\\\\n\"");
  EXPECT_EQ(Canon("12.34e6"), "12340000");
}

TEST(ParserTest, Selectors) {
  EXPECT_EQ(Canon("foo{a=\"b\",c!~\"d.*\",}"), "foo{a=\"b\", c!~\"d.*\"}");
  EXPECT_EQ(Canon("{__name__=\"foo\"}"), "{__name__=\"foo\"}");
  EXPECT_EQ(Canon("foo[5m] offset -1h @ 100"), "foo[5m] @ 100.000 offset -1h");
  EXPECT_EQ(Canon("foo @ start()"), "foo @ start()");
  EXPECT_EQ(Canon("rate(foo[90s])[1h:]"), "rate(foo[1m30s])[1h:]");
  EXPECT_EQ(Canon("foo[1h:5m] offset 10m"), "foo[1h:5m] offset 10m");
  EXPECT_EQ(Canon("foo[300]"), "foo[5m]");
  EXPECT_EQ(Canon("{\"utf8.name\", a=\"b\"}"), "{\"utf8.name\", a=\"b\"}");
  auto ms = ParseMetricSelector("up{job=~\"a|b\"}");
  ASSERT_TRUE(ms.ok());
  ASSERT_EQ(ms->size(), 2u);
  EXPECT_TRUE((*ms)[1].Matches("a"));
  EXPECT_FALSE((*ms)[1].Matches("ab"));  // anchored
}

TEST(ParserTest, AggregationsAndMatching) {
  EXPECT_EQ(Canon("sum(foo) by (a,b)"), "sum by (a, b) (foo)");
  EXPECT_EQ(Canon("sum without(a)(foo)"), "sum without (a) (foo)");
  EXPECT_EQ(Canon("topk(3, foo)"), "topk(3, foo)");
  EXPECT_EQ(Canon("count_values(\"v\", foo)"), "count_values(\"v\", foo)");
  EXPECT_EQ(Canon("a * on(x) group_left(y) b"), "a * on (x) group_left (y) b");
  EXPECT_EQ(Canon("a > bool ignoring(x) b"), "a > bool ignoring (x) b");
}

TEST(ParserTest, Errors) {
  EXPECT_EQ(Err("1 +"), "1:4: parse error: unexpected end of input");
  EXPECT_NE(Err("1 > 2").find("comparisons between scalars must use BOOL modifier"), std::string::npos);
  EXPECT_NE(Err("{}").find("vector selector must contain at least one non-empty matcher"),
            std::string::npos);
  EXPECT_NE(Err("foo{a=~\"(\"}").find("parse error"), std::string::npos);
  EXPECT_NE(Err("rate(foo)").find("expected type range vector in call to function \"rate\", got instant vector"),
            std::string::npos);
  EXPECT_NE(Err("nosuchfunc(foo)").find("unknown function with name \"nosuchfunc\""), std::string::npos);
  EXPECT_NE(Err("1 and 2").find("set operator \"and\" not allowed in binary scalar expression"),
            std::string::npos);
  EXPECT_NE(Err("sum(foo) offset 1m").find("offset modifier must be preceded"), std::string::npos);
  EXPECT_NE(Err("foo offset 1m offset 2m").find("offset may not be set multiple times"),
            std::string::npos);
  EXPECT_NE(Err("foo{__name__=\"bar\"}").find("metric name must not be set twice"), std::string::npos);
  EXPECT_NE(Err("(foo)[5m]").find("ranges only allowed for vector selectors"), std::string::npos);
}

TEST(ParserTest, DurationExpressions) {
  auto e = ParseExpr("foo[5m+1m]");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ((*e)->range_ms, 360000);
  e = ParseExpr("foo offset step()");
  ASSERT_TRUE(e.ok()) << e.status().message();
  ASSERT_NE((*e)->offset_expr, nullptr);
  EXPECT_EQ((*e)->offset_expr->Eval(15, 0), 15);
  // The offset takes one atom: `offset -2 ^ 2` is (foo offset -2) ^ 2.
  e = ParseExpr("foo offset -2 ^ 2");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ((*e)->kind, ExprKind::kBinary);
  EXPECT_EQ((*e)->lhs->offset_ms, -2000);
}

TEST(ParserTest, AnchoredAndSmoothed) {
  EXPECT_EQ(Canon("rate(foo[5m] anchored)"), "rate(foo[5m] anchored)");
  EXPECT_EQ(Canon("increase(foo[1m] offset 30s smoothed)"), "increase(foo[1m] offset 30s smoothed)");
  EXPECT_EQ(Canon("foo @ 10 smoothed"), "foo @ 10.000 smoothed");
  auto e = ParseExpr("rate(foo[5m] anchored)");
  ASSERT_TRUE(e.ok());
  const Expr& ms = *(*e)->args[0];
  ASSERT_EQ(ms.kind, ExprKind::kMatrixSelector);
  EXPECT_TRUE(ms.child->anchored);
  EXPECT_FALSE(ms.child->smoothed);
  // Still metric names where a selector starts.
  EXPECT_EQ(Canon("anchored + smoothed"), "anchored + smoothed");
  EXPECT_NE(Err("foo[5m] anchored smoothed"), "");
  EXPECT_NE(Err("sum(foo) smoothed"), "");
  EXPECT_NE(Err("foo[5m:1m] anchored"), "");
}

TEST(ParserTest, PositionString) {
  EXPECT_EQ(PositionString("rate(foo[5m])", 5), "1:6");
  EXPECT_EQ(PositionString("a\n b", 3), "2:2");
}

}  // namespace
}  // namespace argus::promql
