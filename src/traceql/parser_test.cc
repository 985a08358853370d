#include "traceql/parser.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "traceql/conformance.h"

namespace argus::traceql {
namespace {

std::unique_ptr<RootExpr> MustParse(std::string_view q) {
  auto r = ParseAndValidate(q);
  EXPECT_TRUE(r.ok()) << q << ": " << r.status().ToString();
  return r.ok() ? std::move(*r) : nullptr;
}

TEST(ParserTest, FieldPrecedenceFollowsTempo) {
  // && and || share one level, left-associative.
  auto q = MustParse("{ .a = 1 || .b = 2 && .c = 3 }");
  ASSERT_TRUE(q);
  const FieldExpr& f = *q->pipeline.stages[0].spanset->filter;
  EXPECT_EQ(f.op, Op::kAnd);
  EXPECT_EQ(f.lhs->op, Op::kOr);
  // Prefix minus binds looser than *, tighter than +.
  auto m = MustParse("{ -.a * 2 + 1 = 3 }");
  ASSERT_TRUE(m);
  const FieldExpr& e = *m->pipeline.stages[0].spanset->filter->lhs;
  EXPECT_EQ(e.op, Op::kAdd);
  EXPECT_EQ(e.lhs->kind, FieldExpr::Kind::kUnary);
  EXPECT_EQ(e.lhs->lhs->op, Op::kMul);
}

TEST(ParserTest, StructuralAndPipelines) {
  auto q = MustParse("{ resource.service.name = \"a\" } >> { span:status = error } | count() > 1");
  ASSERT_TRUE(q);
  ASSERT_EQ(q->kind, RootKind::kPipeline);
  ASSERT_EQ(q->pipeline.stages.size(), 2u);
  EXPECT_EQ(q->pipeline.stages[0].spanset->op, SpansetOp::kDescendant);
  const auto& lhs = q->pipeline.stages[0].spanset->lhs->filter;
  EXPECT_EQ(lhs->lhs->attr.scope, AttributeScope::kResource);
  EXPECT_EQ(lhs->lhs->attr.name, "service.name");
  EXPECT_EQ(q->pipeline.stages[1].kind, PipelineStage::Kind::kScalarFilter);
  EXPECT_EQ(q->pipeline.stages[1].scalar->rhs.value.i, 1);

  auto u = MustParse("{ .a } &>> { .b } | select(span.x, resource.y) with(most_recent=true)");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->pipeline.stages[0].spanset->op, SpansetOp::kUnionDescendant);
  EXPECT_EQ(u->pipeline.stages[1].select.size(), 2u);
  ASSERT_NE(u->FindHint("most_recent"), nullptr);
  EXPECT_TRUE(u->FindHint("most_recent")->b);
}

TEST(ParserTest, Metrics) {
  auto q = MustParse("{ status = error } | quantile_over_time(duration, .5, 0.99) by (name) | "
                     "topk(3) > 10");
  ASSERT_TRUE(q);
  ASSERT_EQ(q->kind, RootKind::kMetrics);
  const MetricsExpr& m = *q->metrics;
  EXPECT_EQ(m.first.fn, MetricsFn::kQuantileOverTime);
  EXPECT_EQ(m.first.quantiles, (std::vector<double>{0.5, 0.99}));
  ASSERT_EQ(m.first.by.size(), 1u);
  EXPECT_EQ(m.first.by[0].intrinsic, Intrinsic::kName);
  ASSERT_EQ(m.second.size(), 1u);
  EXPECT_EQ(m.second[0].k, 3);
  ASSERT_TRUE(m.second[0].filter);
  EXPECT_EQ(m.second[0].filter->value, 10);

  auto math = MustParse("({ status = error } | rate()) / ({} | rate()) * 100 > 1 + 2");
  ASSERT_TRUE(math);
  EXPECT_EQ(math->metrics->kind, MetricsExpr::Kind::kBinary);
  EXPECT_EQ(math->metrics->op, Op::kMul);
  ASSERT_TRUE(math->metrics->filter);
  EXPECT_EQ(math->metrics->filter->value, 3);
}

TEST(ParserTest, ErrorsCarryPositionsAndKinds) {
  auto p = Parse("{ .a < 3");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("line 1"), std::string::npos);
  auto bad_re = ParseAndValidate("{ .a =~ \"(\" }");
  EXPECT_EQ(bad_re.status().code(), StatusCode::kInvalidArgument);
  auto parent = ParseAndValidate("{ parent.a = 1 }");
  EXPECT_EQ(parent.status().code(), StatusCode::kUnimplemented);
  auto type = ParseAndValidate("{ name > 3 }");
  EXPECT_EQ(type.status().code(), StatusCode::kInvalidArgument);
}

// Our own corpus, in the upstream format, run through the same runner as the upstream one.
TEST(ParserTest, OwnCorpus) {
  std::ostringstream out;
  auto r = RunCorpus(std::string(ARGUS_TRACEQL_TESTDATA) + "/argus_examples.yaml", out);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->failed, 0) << out.str();
  EXPECT_GT(r->passed, 20);
}

TEST(ParserTest, RunnerReportsMisses) {
  std::string path = ::testing::TempDir() + "/traceql_corpus.yaml";
  {
    std::ofstream f(path);
    f << "valid:\n  - '{ true }'\n  - '{ nope'\nparse_fails:\n  - '{ true }'\n";
  }
  std::ostringstream out;
  auto r = RunCorpus(path, out);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->passed, 1);
  EXPECT_EQ(r->failed, 2);
  EXPECT_NE(out.str().find("1 passed, 2 failed"), std::string::npos);
}

}  // namespace
}  // namespace argus::traceql
