#include "ingest/span_metrics.h"

#include <gtest/gtest.h>

#include "ingest/span_observer_test_util.h"

#include <algorithm>
#include <string>

#include "ingest/testing_appender.h"

namespace argus::ingest {
namespace {

// Forwards to a RecordingAppender that outlives each batch.
class Forward : public tsdb::Appender {
 public:
  explicit Forward(RecordingAppender* r) : r_(r) {}
  Status Append(const Labels& l, int64_t t, double v) override { return r_->Append(l, t, v); }
  Status AppendExemplar(const Labels& l, const Exemplar& e) override { return r_->AppendExemplar(l, e); }
  Status UpdateMetadata(const MetricMetadata& md) override { return r_->UpdateMetadata(md); }
  Status Commit() override { return r_->Commit(); }
  void Rollback() override { r_->Rollback(); }

 private:
  RecordingAppender* r_;
};

TestBatch Batch(char id, const std::string& service, int kind, int status, uint64_t ms) {
  TestBatch b;
  b.trace_id = std::string(16, id);
  auto* rs = b.spans.add_resource_spans();
  auto* kv = rs->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value(service);
  auto* s = rs->add_scope_spans()->add_spans();
  s->set_trace_id(b.trace_id);
  s->set_span_id(std::string(8, id));
  s->set_name("GET /");
  s->set_kind(static_cast<opentelemetry::proto::trace::v1::Span::SpanKind>(kind));
  s->mutable_status()->set_code(static_cast<opentelemetry::proto::trace::v1::Status::StatusCode>(status));
  s->set_start_time_unix_nano(1000);
  s->set_end_time_unix_nano(1000 + ms * 1'000'000);
  return b;
}

TEST(SpanMetricsTest, CountsHistogramAndExemplars) {
  RecordingAppender rec;
  SpanMetrics m([&] { return std::make_unique<Forward>(&rec); });
  std::vector<TestBatch> batches = {Batch('\x01', "cart", 2, 2, 3), Batch('\x02', "cart", 2, 2, 100),
                                                 Batch('\x03', "cart", 3, 0, 1)};
  // Batch 2 was refused by the store: not counted.
  ASSERT_TRUE(Observe(m, batches, {0, 1}, 5000).ok());
  Labels base = Labels::FromMap({{"service", "cart"}, {"span_name", "GET /"},
                                 {"span_kind", "SPAN_KIND_SERVER"}, {"status_code", "STATUS_CODE_ERROR"}});
  auto named = [&](const std::string& name) { return LabelsBuilder(base).Set("__name__", name).Build(); };
  auto calls = rec.SamplesOf(named("traces_spanmetrics_calls_total"));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].v, 2);
  EXPECT_EQ(calls[0].t_ms, 5000);
  auto sum = rec.SamplesOf(named("traces_spanmetrics_latency_sum"));
  ASSERT_EQ(sum.size(), 1u);
  EXPECT_DOUBLE_EQ(sum[0].v, 0.103);
  auto bucket = [&](const std::string& le) {
    auto s = rec.SamplesOf(LabelsBuilder(base).Set("__name__", "traces_spanmetrics_latency_bucket").Set("le", le).Build());
    return s.empty() ? -1.0 : s.back().v;
  };
  EXPECT_EQ(bucket("0.002"), 0);
  EXPECT_EQ(bucket("0.004"), 1);
  EXPECT_EQ(bucket("0.128"), 2);
  EXPECT_EQ(bucket("+Inf"), 2);
  EXPECT_TRUE(rec.SamplesNamed("traces_spanmetrics_size_total").size() == 1u);
  EXPECT_TRUE(rec.SamplesOf(LabelsBuilder(base).Set("span_kind", "SPAN_KIND_CLIENT")
                                .Set("status_code", "STATUS_CODE_UNSET")
                                .Set("__name__", "traces_spanmetrics_calls_total").Build()).empty());
  ASSERT_FALSE(rec.committed_exemplars.empty());
  EXPECT_EQ(rec.committed_exemplars.back().exemplar.labels.Get("trace_id"), "02020202020202020202020202020202");
  {
    // On the bucket series the exemplar's duration fell into (le is the first bound >= it).
    const auto& ex = rec.committed_exemplars.back();
    EXPECT_EQ(ex.series.Get("__name__"), "traces_spanmetrics_latency_bucket");
    double le = std::stod(std::string(ex.series.Get("le")));
    EXPECT_LE(ex.exemplar.value, le);
    const auto& b = DefaultSpanMetricsBuckets();
    auto it = std::lower_bound(b.begin(), b.end(), le);
    if (it != b.begin()) {
      EXPECT_GT(ex.exemplar.value, *(it - 1));
    }
  }
  // Cumulative: the next observation adds to the counts.
  ASSERT_TRUE(Observe(m, batches, {2, 0}, 6000).ok());
  calls = rec.SamplesOf(named("traces_spanmetrics_calls_total"));
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].v, 3);
  EXPECT_EQ(rec.SamplesNamed("traces_spanmetrics_calls_total").size(), 3u);
}

// Collect writes every live series (no new exemplar) and forgets series idle for stale_ms.
TEST(SpanMetricsTest, CollectWritesLiveSeriesAndDropsStaleOnes) {
  RecordingAppender rec;
  SpanMetrics m([&] { return std::make_unique<Forward>(&rec); });
  std::vector<TestBatch> batches = {Batch('\x01', "cart", 2, 0, 3), Batch('\x02', "db", 2, 0, 5)};
  ASSERT_TRUE(Observe(m, batches, {0}, 1000).ok());
  ASSERT_TRUE(Observe(m, batches, {1}, 50000).ok());
  size_t exemplars = rec.committed_exemplars.size();
  ASSERT_TRUE(m.Collect(60000, 30000).ok());  // cart idle for 59 s: dropped; db written
  auto calls = rec.SamplesNamed("traces_spanmetrics_calls_total");
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls.back().labels.Get("service"), "db");
  EXPECT_EQ(calls.back().t_ms, 60000);
  EXPECT_EQ(calls.back().v, 1);
  EXPECT_EQ(rec.committed_exemplars.size(), exemplars);  // exemplars only with new spans
  ASSERT_TRUE(m.Collect(70000, 30000).ok());
  calls = rec.SamplesNamed("traces_spanmetrics_calls_total");
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls.back().labels.Get("service"), "db");
  // A dropped series starts again from zero, as a new series in Tempo does.
  ASSERT_TRUE(Observe(m, batches, {0}, 80000).ok());
  calls = rec.SamplesNamed("traces_spanmetrics_calls_total");
  EXPECT_EQ(calls.back().labels.Get("service"), "cart");
  EXPECT_EQ(calls.back().v, 1);
}

}  // namespace
}  // namespace argus::ingest
