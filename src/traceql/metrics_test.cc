#include "traceql/metrics.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>

#include "traceql/parser.h"

namespace argus::traceql {
namespace {

namespace otlp = opentelemetry::proto;

constexpr int64_t kSec = 1'000'000'000;

struct SpanSpec {
  const char* service;
  const char* name;
  int64_t start_ms;  // since second 1000
  int64_t duration_ms;
  bool error;
};

// A trace: the first span is the root, every later one its child.
std::unique_ptr<TraceView> MakeTrace(int n, std::vector<SpanSpec> spans) {
  otlp::trace::v1::TracesData td;
  std::string trace(16, '\x10');
  trace[15] = static_cast<char>(n);
  for (size_t k = 0; k < spans.size(); ++k) {
    auto* rs = td.add_resource_spans();
    auto* kv = rs->mutable_resource()->add_attributes();
    kv->set_key("service.name");
    kv->mutable_value()->set_string_value(spans[k].service);
    auto* sp = rs->add_scope_spans()->add_spans();
    sp->set_trace_id(trace);
    sp->set_span_id(std::string(7, '\x02') + static_cast<char>(k + 1));
    if (k) sp->set_parent_span_id(std::string(7, '\x02') + '\x01');
    sp->set_name(spans[k].name);
    sp->set_kind(otlp::trace::v1::Span::SPAN_KIND_SERVER);
    uint64_t start = static_cast<uint64_t>(1000 * kSec + spans[k].start_ms * 1'000'000);
    sp->set_start_time_unix_nano(start);
    sp->set_end_time_unix_nano(start + static_cast<uint64_t>(spans[k].duration_ms) * 1'000'000);
    if (spans[k].error) sp->mutable_status()->set_code(otlp::trace::v1::Status::STATUS_CODE_ERROR);
  }
  auto t = TraceView::Parse(td.SerializeAsString());
  EXPECT_TRUE(t.ok());
  return std::move(*t);
}

// Four traces; the last starts after the query range [1000 s, 1060 s).
std::vector<std::unique_ptr<TraceView>> Traces() {
  std::vector<std::unique_ptr<TraceView>> v;
  v.push_back(MakeTrace(1, {{"frontend", "GET /", 1000, 100, false}, {"cart", "POST", 1001, 300, true}}));
  v.push_back(MakeTrace(2, {{"frontend", "GET /", 12000, 200, false}, {"cart", "POST", 12001, 50, false}}));
  v.push_back(MakeTrace(3, {{"frontend", "GET /", 13000, 400, false}}));
  v.push_back(MakeTrace(4, {{"frontend", "GET /", 70000, 100, false}}));
  return v;
}

struct Evaluated {
  std::unique_ptr<RootExpr> q;
  MetricsResult res;
};

Evaluated Eval(const std::string& query, bool instant = false) {
  Evaluated r;
  auto q = ParseAndValidate(query);
  EXPECT_TRUE(q.ok()) << query << ": " << q.status().ToString();
  if (!q.ok()) return r;
  r.q = std::move(*q);
  MetricsRange range{1000 * kSec, 1060 * kSec, 10 * kSec, instant, 100};
  auto ev = MetricsEvaluator::Create(*r.q, range);
  EXPECT_TRUE(ev.ok()) << ev.status().ToString();
  if (!ev.ok()) return r;
  for (const auto& t : Traces()) EXPECT_TRUE((*ev)->Observe(*t).ok());
  r.res = (*ev)->Finish();
  return r;
}

const MetricsSeries* Find(const MetricsResult& res, const std::string& prom) {
  for (const MetricsSeries& s : res.series) {
    if (s.PromLabels() == prom) return &s;
  }
  return nullptr;
}

std::string AllLabels(const MetricsResult& res) {
  std::string out;
  for (const MetricsSeries& s : res.series) out += s.PromLabels() + " ";
  return out;
}

TEST(TraceQLMetrics, RateCountsSpansPerSecondOfStep) {
  Evaluated r = Eval("{} | rate()");
  ASSERT_EQ(r.res.intervals, 6u);
  EXPECT_EQ(r.res.IntervalStartMs(0), 1'000'000);
  EXPECT_EQ(r.res.IntervalStartMs(1), 1'010'000);
  ASSERT_EQ(r.res.series.size(), 1u);
  const MetricsSeries& s = r.res.series[0];
  EXPECT_EQ(s.PromLabels(), "{__name__=\"rate\"}");
  EXPECT_DOUBLE_EQ(s.values[0], 0.2);  // 2 spans in 10 s
  EXPECT_DOUBLE_EQ(s.values[1], 0.3);
  EXPECT_DOUBLE_EQ(s.values[2], 0);    // counting functions are 0, not missing
  ASSERT_FALSE(s.exemplars.empty());
  EXPECT_EQ(s.exemplars[0].labels[0].key, "trace:id");
  EXPECT_EQ(s.exemplars[0].labels[0].value.s.size(), 32u);
  EXPECT_EQ(r.res.inspected_traces, 4u);
}

TEST(TraceQLMetrics, CountOverTimeByService) {
  Evaluated r = Eval("{} | count_over_time() by (resource.service.name)");
  ASSERT_EQ(r.res.series.size(), 2u) << AllLabels(r.res);
  const MetricsSeries* cart = Find(r.res, "{resource.service.name=\"cart\"}");
  const MetricsSeries* fe = Find(r.res, "{resource.service.name=\"frontend\"}");
  ASSERT_TRUE(cart && fe) << AllLabels(r.res);
  EXPECT_EQ(cart->values[0], 1);
  EXPECT_EQ(cart->values[1], 1);
  EXPECT_EQ(fe->values[0], 1);
  EXPECT_EQ(fe->values[1], 2);
  EXPECT_EQ(fe->values[5], 0);  // the trace at 1070 s is outside the range
}

TEST(TraceQLMetrics, OverTimeFunctionsTakeDurationsInSeconds) {
  const std::string f = "{ resource.service.name = \"frontend\" } | ";
  Evaluated mx = Eval(f + "max_over_time(duration)");
  Evaluated mn = Eval(f + "min_over_time(duration)");
  Evaluated avg = Eval(f + "avg_over_time(duration)");
  Evaluated sum = Eval(f + "sum_over_time(duration)");
  for (Evaluated* r : {&mx, &mn, &avg, &sum}) ASSERT_EQ(r->res.series.size(), 1u);
  EXPECT_DOUBLE_EQ(mx.res.series[0].values[1], 0.4);
  EXPECT_DOUBLE_EQ(mn.res.series[0].values[1], 0.2);
  EXPECT_NEAR(avg.res.series[0].values[1], 0.3, 1e-12);
  EXPECT_NEAR(sum.res.series[0].values[1], 0.6, 1e-12);
  EXPECT_DOUBLE_EQ(mx.res.series[0].values[0], 0.1);
  EXPECT_TRUE(std::isnan(mx.res.series[0].values[2]));  // no span: no value
  EXPECT_EQ(mx.res.series[0].PromLabels(), "{__name__=\"max_over_time\"}");
  // Exemplars of value functions carry the span's own value.
  ASSERT_FALSE(mx.res.series[0].exemplars.empty());
  EXPECT_DOUBLE_EQ(mx.res.series[0].exemplars[0].value, 0.1);
}

TEST(TraceQLMetrics, QuantileOverTimeUsesPowerOfTwoBuckets) {
  Evaluated r = Eval("{ resource.service.name = \"frontend\" } | quantile_over_time(duration, 0.5, 1)");
  ASSERT_EQ(r.res.series.size(), 2u) << AllLabels(r.res);
  const MetricsSeries* p50 = Find(r.res, "{__name__=\"quantile_over_time\", p=0.5}");
  const MetricsSeries* p100 = Find(r.res, "{__name__=\"quantile_over_time\", p=1}");
  ASSERT_TRUE(p50 && p100) << AllLabels(r.res);
  // 200 ms falls in the bucket 2^28 ns, 400 ms in 2^29 ns.
  EXPECT_DOUBLE_EQ(p50->values[1], std::exp2(28) / 1e9);
  EXPECT_DOUBLE_EQ(p100->values[1], std::exp2(29) / 1e9);
  EXPECT_TRUE(std::isnan(p50->values[3]));
}

TEST(TraceQLMetrics, Log2QuantileInterpolatesExponentially) {
  std::map<double, double> b{{1, 1}, {2, 1}, {4, 2}};
  EXPECT_DOUBLE_EQ(Log2Quantile(0.5, b), 2);
  EXPECT_DOUBLE_EQ(Log2Quantile(0.75, b), std::exp2(1.5));
  EXPECT_DOUBLE_EQ(Log2Quantile(1, b), 4);
  EXPECT_TRUE(std::isnan(Log2Quantile(1.5, b)));
  EXPECT_TRUE(std::isnan(Log2Quantile(0.5, {})));
}

TEST(TraceQLMetrics, HistogramOverTimeLabelsBuckets) {
  Evaluated r = Eval("{ resource.service.name = \"frontend\" } | histogram_over_time(duration)");
  // 100 ms -> 2^27 ns, 200 ms -> 2^28, 400 ms -> 2^29.
  ASSERT_EQ(r.res.series.size(), 3u) << AllLabels(r.res);
  const MetricsSeries* b28 =
      Find(r.res, fmt::format("{{__bucket={}, __name__=\"histogram_over_time\"}}", std::exp2(28) / 1e9));
  ASSERT_TRUE(b28) << AllLabels(r.res);
  EXPECT_EQ(b28->values[0], 0);
  EXPECT_EQ(b28->values[1], 1);
}

TEST(TraceQLMetrics, CompareSplitsSelectionAndBaseline) {
  Evaluated r = Eval("{} | compare({ status = error }, 5)");
  const MetricsSeries* sel = Find(r.res, "{__meta_type=\"selection\", name=\"POST\"}");
  const MetricsSeries* base = Find(r.res, "{__meta_type=\"baseline\", name=\"GET /\"}");
  const MetricsSeries* base_post = Find(r.res, "{__meta_type=\"baseline\", name=\"POST\"}");
  const MetricsSeries* total = Find(r.res, "{__meta_type=\"selection_total\", name=nil}");
  ASSERT_TRUE(sel && base && base_post && total) << AllLabels(r.res);
  EXPECT_EQ(sel->values[0], 1);
  EXPECT_EQ(sel->values[1], 0);
  EXPECT_EQ(base_post->values[1], 1);
  EXPECT_EQ(base->values[1], 2);
  EXPECT_EQ(total->values[0], 1);
  EXPECT_TRUE(Find(r.res, "{__meta_type=\"selection\", status=\"error\"}"));
  EXPECT_TRUE(Find(r.res, "{__meta_type=\"baseline\", resource.service.name=\"frontend\"}"));
}

TEST(TraceQLMetrics, TopKKeepsTheHighestSeriesPerInterval) {
  Evaluated r = Eval("{} | count_over_time() by (resource.service.name) | topk(1)");
  const MetricsSeries* fe = Find(r.res, "{resource.service.name=\"frontend\"}");
  ASSERT_TRUE(fe) << AllLabels(r.res);
  EXPECT_EQ(fe->values[1], 2);
  const MetricsSeries* cart = Find(r.res, "{resource.service.name=\"cart\"}");
  if (cart) {
    EXPECT_TRUE(std::isnan(cart->values[1]));
  }
  Evaluated b = Eval("{ name = \"GET /\" || name = \"POST\" } | count_over_time() by (name) | bottomk(1)");
  const MetricsSeries* post = Find(b.res, "{name=\"POST\"}");
  ASSERT_TRUE(post) << AllLabels(b.res);
  EXPECT_EQ(post->values[1], 1);
}

TEST(TraceQLMetrics, ValueFilterDropsSamplesAndEmptySeries) {
  Evaluated r = Eval("{} | count_over_time() by (resource.service.name) > 1");
  ASSERT_EQ(r.res.series.size(), 1u) << AllLabels(r.res);
  EXPECT_EQ(r.res.series[0].PromLabels(), "{resource.service.name=\"frontend\"}");
  EXPECT_EQ(r.res.series[0].values[1], 2);
  EXPECT_TRUE(std::isnan(r.res.series[0].values[0]));
}

TEST(TraceQLMetrics, ArithmeticPairsSeriesByLabels) {
  Evaluated r = Eval("({ status = error } | count_over_time()) / ({} | count_over_time())");
  ASSERT_EQ(r.res.series.size(), 1u) << AllLabels(r.res);
  EXPECT_DOUBLE_EQ(r.res.series[0].values[0], 0.5);
  EXPECT_DOUBLE_EQ(r.res.series[0].values[1], 0);
  Evaluated k = Eval("({} | count_over_time()) * 10");
  ASSERT_EQ(k.res.series.size(), 1u);
  EXPECT_DOUBLE_EQ(k.res.series[0].values[1], 30);
}

TEST(TraceQLMetrics, StructuralFilterFeedsMetrics) {
  Evaluated r = Eval("{ resource.service.name = \"frontend\" } > { resource.service.name = \"cart\" } | count_over_time()");
  ASSERT_EQ(r.res.series.size(), 1u);
  EXPECT_EQ(r.res.series[0].values[0], 1);
  EXPECT_EQ(r.res.series[0].values[1], 1);
  EXPECT_EQ(r.res.series[0].values[2], 0);
}

TEST(TraceQLMetrics, InstantQueryIsOneInterval) {
  Evaluated r = Eval("{} | count_over_time() by (resource.service.name)", true);
  ASSERT_EQ(r.res.intervals, 1u);
  const MetricsSeries* fe = Find(r.res, "{resource.service.name=\"frontend\"}");
  ASSERT_TRUE(fe);
  EXPECT_EQ(fe->values[0], 3);
  Evaluated rate = Eval("{} | rate()", true);
  ASSERT_EQ(rate.res.series.size(), 1u);
  EXPECT_DOUBLE_EQ(rate.res.series[0].values[0], 5.0 / 60);
}

TEST(TraceQLMetrics, BadRangesAndQueriesAreInvalidArgument) {
  auto q = ParseAndValidate("{} | rate()");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(MetricsEvaluator::Create(**q, {10 * kSec, 5 * kSec, kSec, false, 0}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsEvaluator::Create(**q, {0, 100000 * kSec, kSec, false, 0}).status().code(),
            StatusCode::kInvalidArgument);  // too many intervals
  auto search = ParseAndValidate("{}");
  ASSERT_TRUE(search.ok());
  EXPECT_EQ(MetricsEvaluator::Create(**search, {0, kSec, kSec, false, 0}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(TraceQLMetrics, DefaultStepFollowsTempo) {
  EXPECT_EQ(DefaultMetricsStepNs(0, 3600 * kSec), 15 * kSec);
  EXPECT_EQ(DefaultMetricsStepNs(0, 60 * kSec), kSec);
  EXPECT_EQ(DefaultMetricsStepNs(0, 24 * 3600 * kSec), 360 * kSec);
  EXPECT_EQ(DefaultMetricsStepNs(0, 1000 * kSec), 4 * kSec);
}

}  // namespace
}  // namespace argus::traceql
