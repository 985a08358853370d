#include "ingest/otlp_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <tuple>

#include "ingest/testing_appender.h"
#include "model/sample.h"

namespace argus::ingest {
namespace {

namespace pb_common = opentelemetry::proto::common::v1;
namespace pb_metrics = opentelemetry::proto::metrics::v1;
using opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
using ::testing::HasSubstr;

constexpr uint64_t kT0Ns = 1'700'000'000'123'456'789ull;  // -> 1700000000123 ms
constexpr int64_t kT0Ms = 1'700'000'000'123;

// ---------------------------------------------------------------------------------------------
// Naming rules (cases from Prometheus' normalize_name tests and the OTel receivers' units).

TEST(OtlpNamingTest, MetricNames) {
  using K = OtlpMetricKind;
  const std::vector<std::tuple<std::string, std::string, K, std::string>> cases = {
      {"system.filesystem.usage", "By", K::kGauge, "system_filesystem_usage_bytes"},
      {"\t system.filesystem.usage       ", "By", K::kGauge, "system_filesystem_usage_bytes"},
      {"system.network.dropped", "{packets}", K::kGauge, "system_network_dropped"},
      {"system.network.dropped", "{packets}", K::kMonotonicCounter, "system_network_dropped_total"},
      {"system.network.dropped", "packets", K::kGauge, "system_network_dropped_packets"},
      {"system.network.packets.dropped", "packets", K::kGauge, "system_network_packets_dropped"},
      {"hw.gpu.memory.utilization", "1", K::kGauge, "hw_gpu_memory_utilization_ratio"},
      {"hw.fan.speed_ratio", "1", K::kGauge, "hw_fan_speed_ratio"},
      {"objects", "1", K::kMonotonicCounter, "objects_total"},
      {"objects", "1", K::kNonMonotonicCounter, "objects"},
      {"hw.cpu.speed_limit", "Hz", K::kGauge, "hw_cpu_speed_limit_hertz"},
      {"broken.metric.speed", "km/h", K::kGauge, "broken_metric_speed_km_per_hour"},
      {"astro.light.speed_limit", "m/s", K::kGauge, "astro_light_speed_limit_meters_per_second"},
      {"broken.metric.success_ratio", "%", K::kGauge, "broken_metric_success_ratio_percent"},
      {"broken.metric.success_percent", "%", K::kGauge, "broken_metric_success_percent"},
      {"test.metric.no_unit", "", K::kGauge, "test_metric_no_unit"},
      {"test.metric.spaces", "   \t  ", K::kGauge, "test_metric_spaces"},
      {"redis.latest_fork", "us", K::kGauge, "redis_latest_fork_microseconds"},
      {"mongodbatlas.process.asserts", "{assertions}/s", K::kGauge,
       "mongodbatlas_process_asserts_per_second"},
      // The unit is already a token of the name: not repeated.
      {"nginx.connections_accepted", "connections", K::kMonotonicCounter,
       "nginx_connections_accepted_total"},
      {"apache.current_connections", "connections", K::kGauge, "apache_current_connections"},
      {"http.server.duration", "ms", K::kHistogram, "http_server_duration_milliseconds"},
      {"process.cpu.time", "s", K::kMonotonicCounter, "process_cpu_time_seconds_total"},
      {"requests_total", "", K::kMonotonicCounter, "requests_total"},
      {"foo.total.bar", "", K::kMonotonicCounter, "foo_bar_total"},
      {"net.io", "By/s", K::kGauge, "net_io_bytes_per_second"},
      {"duration_seconds", "s", K::kSummary, "duration_seconds"},
      {"1st.metric", "", K::kGauge, "_1st_metric"},
      {"a__b::c", "", K::kGauge, "a_b::c"},
      {"temperature", "Cel", K::kGauge, "temperature_celsius"},
      {"ünits", "", K::kGauge, "nits"},
      {"...", "", K::kGauge, ""},
  };
  for (const auto& [name, unit, kind, want] : cases) {
    EXPECT_EQ(OtlpMetricName(name, unit, kind), want) << "name=" << name << " unit=" << unit;
  }
}

TEST(OtlpNamingTest, LabelNames) {
  EXPECT_EQ(OtlpLabelName("http.method"), "http_method");
  EXPECT_EQ(OtlpLabelName("1x"), "key_1x");
  EXPECT_EQ(OtlpLabelName("_x"), "key_x");
  EXPECT_EQ(OtlpLabelName("__x"), "__x");
  EXPECT_EQ(OtlpLabelName("a-b/c d"), "a_b_c_d");
  EXPECT_EQ(OtlpLabelName("ümlaut"), "key_mlaut");  // one '_' per character, not per byte
  EXPECT_EQ(OtlpLabelName("a..b"), "a__b");         // label names keep repeated underscores
  EXPECT_EQ(OtlpLabelName("..."), "");
  EXPECT_EQ(OtlpLabelName(""), "");
}

TEST(OtlpNamingTest, UnitNames) {
  EXPECT_EQ(OtlpUnitName("s"), "seconds");
  EXPECT_EQ(OtlpUnitName("By/s"), "bytes_per_second");
  EXPECT_EQ(OtlpUnitName("1"), "");
  EXPECT_EQ(OtlpUnitName("{packet}"), "");
  EXPECT_EQ(OtlpUnitName("{packet}/s"), "per_second");
}

// ---------------------------------------------------------------------------------------------
// Request builders.

void SetAttr(google::protobuf::RepeatedPtrField<pb_common::KeyValue>* attrs, const std::string& key,
             const std::string& value) {
  pb_common::KeyValue* kv = attrs->Add();
  kv->set_key(key);
  kv->mutable_value()->set_string_value(value);
}

// A request with one resource (service.namespace=shop, service.name=cart,
// service.instance.id=pod-1, host.name=node-7) and one scope; returns the scope's metrics.
struct RequestBuilder {
  ExportMetricsServiceRequest req;
  pb_metrics::ScopeMetrics* scope;
  RequestBuilder() {
    pb_metrics::ResourceMetrics* rm = req.add_resource_metrics();
    auto* attrs = rm->mutable_resource()->mutable_attributes();
    SetAttr(attrs, "service.namespace", "shop");
    SetAttr(attrs, "service.name", "cart");
    SetAttr(attrs, "service.instance.id", "pod-1");
    SetAttr(attrs, "host.name", "node-7");
    scope = rm->add_scope_metrics();
    scope->mutable_scope()->set_name("test");
  }
  pb_metrics::Metric* Metric(const std::string& name, const std::string& unit) {
    pb_metrics::Metric* m = scope->add_metrics();
    m->set_name(name);
    m->set_unit(unit);
    m->set_description("help for " + name);
    return m;
  }
};

pb_metrics::NumberDataPoint* AddNumber(
    google::protobuf::RepeatedPtrField<pb_metrics::NumberDataPoint>* pts, uint64_t t_ns, double v) {
  pb_metrics::NumberDataPoint* p = pts->Add();
  p->set_time_unix_nano(t_ns);
  p->set_start_time_unix_nano(t_ns - 60'000'000'000ull);
  p->set_as_double(v);
  return p;
}

Labels WithJob(std::initializer_list<std::pair<std::string, std::string>> extra) {
  LabelsBuilder b;
  b.Set("job", "shop/cart");
  b.Set("instance", "pod-1");
  for (const auto& [k, v] : extra) b.Set(k, v);
  return b.Build();
}

// ---------------------------------------------------------------------------------------------
// Translation.

TEST(OtlpTranslateTest, GaugeWithResourceAndTargetInfo) {
  RequestBuilder rb;
  pb_metrics::Metric* m = rb.Metric("memory.usage", "By");
  pb_metrics::NumberDataPoint* p =
      AddNumber(m->mutable_gauge()->mutable_data_points(), kT0Ns, 1024);
  SetAttr(p->mutable_attributes(), "http.method", "GET");
  SetAttr(p->mutable_attributes(), "job", "overridden-by-resource");
  pb_common::KeyValue* num = p->add_attributes();
  num->set_key("cores");
  num->mutable_value()->set_int_value(8);
  pb_common::KeyValue* ratio = p->add_attributes();
  ratio->set_key("ratio");
  ratio->mutable_value()->set_double_value(0.25);
  pb_common::KeyValue* flag = p->add_attributes();
  flag->set_key("enabled");
  flag->mutable_value()->set_bool_value(true);

  RecordingAppender app;
  DeltaAccumulator deltas;
  OtlpResult result;
  ASSERT_TRUE(ApplyOtlpMetrics(rb.req, &deltas, &app, &result).ok());
  EXPECT_EQ(result.rejected_points, 0);
  EXPECT_EQ(result.error_message, "");

  Labels want = WithJob({{"__name__", "memory_usage_bytes"},
                         {"http_method", "GET"},
                         {"cores", "8"},
                         {"ratio", "0.25"},
                         {"enabled", "true"}});
  auto samples = app.SamplesOf(want);
  ASSERT_EQ(samples.size(), 1u) << app.committed_samples[0].labels.ToString();
  EXPECT_EQ(samples[0].t_ms, kT0Ms);
  EXPECT_EQ(samples[0].v, 1024);

  auto info = app.SamplesNamed("target_info");
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].labels, WithJob({{"__name__", "target_info"}, {"host_name", "node-7"}}));
  EXPECT_EQ(info[0].v, 1);
  EXPECT_EQ(info[0].t_ms, kT0Ms);

  bool found = false;
  for (const auto& md : app.committed_metadata) {
    if (md.metric_family != "memory_usage_bytes") continue;
    found = true;
    EXPECT_EQ(md.type, MetricType::kGauge);
    EXPECT_EQ(md.unit, "bytes");
    EXPECT_EQ(md.help, "help for memory.usage");
  }
  EXPECT_TRUE(found);
}

TEST(OtlpTranslateTest, TargetInfoCoversTheRequestTimeRange) {
  RequestBuilder rb;
  pb_metrics::Metric* m = rb.Metric("g", "");
  AddNumber(m->mutable_gauge()->mutable_data_points(), kT0Ns, 1);
  AddNumber(m->mutable_gauge()->mutable_data_points(), kT0Ns + 400'000'000'000ull, 2);  // +400 s
  RecordingAppender app;
  ASSERT_TRUE(ApplyOtlpMetrics(rb.req, nullptr, &app, nullptr).ok());
  auto info = app.SamplesNamed("target_info");
  ASSERT_EQ(info.size(), 4u);  // every 150 s from the first point, then the last point
  EXPECT_EQ(info[0].t_ms, kT0Ms);
  EXPECT_EQ(info[1].t_ms, kT0Ms + 150'000);
  EXPECT_EQ(info[2].t_ms, kT0Ms + 300'000);
  EXPECT_EQ(info[3].t_ms, kT0Ms + 400'000);
}

TEST(OtlpTranslateTest, NoTargetInfoWithoutDescriptiveAttributes) {
  ExportMetricsServiceRequest req;
  auto* rm = req.add_resource_metrics();
  SetAttr(rm->mutable_resource()->mutable_attributes(), "service.name", "solo");
  auto* m = rm->add_scope_metrics()->add_metrics();
  m->set_name("g");
  AddNumber(m->mutable_gauge()->mutable_data_points(), kT0Ns, 1);
  RecordingAppender app;
  ASSERT_TRUE(ApplyOtlpMetrics(req, nullptr, &app, nullptr).ok());
  ASSERT_EQ(app.committed_samples.size(), 1u);
  EXPECT_EQ(app.committed_samples[0].labels, Labels::FromMap({{"__name__", "g"}, {"job", "solo"}}));
}

TEST(OtlpTranslateTest, MonotonicCumulativeSumWithExemplar) {
  RequestBuilder rb;
  pb_metrics::Metric* m = rb.Metric("http.server.requests", "{request}");
  pb_metrics::Sum* sum = m->mutable_sum();
  sum->set_is_monotonic(true);
  sum->set_aggregation_temporality(pb_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  pb_metrics::NumberDataPoint* p = sum->add_data_points();
  p->set_time_unix_nano(kT0Ns);
  p->set_as_int(17);
  pb_metrics::Exemplar* e = p->add_exemplars();
  e->set_as_double(0.042);
  e->set_time_unix_nano(kT0Ns - 5'000'000);
  e->set_trace_id(
      std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16));
  e->set_span_id(std::string("\xaa\xbb\xcc\xdd\xee\xff\x00\x11", 8));
  SetAttr(e->mutable_filtered_attributes(), "user", "u1");

  RecordingAppender app;
  ASSERT_TRUE(ApplyOtlpMetrics(rb.req, nullptr, &app, nullptr).ok());
  Labels series = WithJob({{"__name__", "http_server_requests_total"}});
  auto samples = app.SamplesOf(series);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].v, 17);
  ASSERT_EQ(app.committed_exemplars.size(), 1u);
  const auto& ex = app.committed_exemplars[0];
  EXPECT_EQ(ex.series, series);
  EXPECT_EQ(ex.exemplar.labels.Get("trace_id"), "0102030405060708090a0b0c0d0e0f10");
  EXPECT_EQ(ex.exemplar.labels.Get("span_id"), "aabbccddeeff0011");
  EXPECT_EQ(ex.exemplar.labels.Get("user"), "u1");
  EXPECT_DOUBLE_EQ(ex.exemplar.value, 0.042);
  EXPECT_EQ(ex.exemplar.t_ms, kT0Ms - 5);
  for (const auto& md : app.committed_metadata) {
    if (md.metric_family == "http_server_requests_total") {
      EXPECT_EQ(md.type, MetricType::kCounter);
    }
  }
}

TEST(OtlpTranslateTest, NonMonotonicSumIsAGauge) {
  RequestBuilder rb;
  pb_metrics::Metric* m = rb.Metric("queue.size", "{item}");
  m->mutable_sum()->set_aggregation_temporality(pb_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  AddNumber(m->mutable_sum()->mutable_data_points(), kT0Ns, -3);
  RecordingAppender app;
  ASSERT_TRUE(ApplyOtlpMetrics(rb.req, nullptr, &app, nullptr).ok());
  auto samples = app.SamplesNamed("queue_size");
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].v, -3);
  ASSERT_FALSE(app.committed_metadata.empty());
  EXPECT_EQ(app.committed_metadata[0].metric_family, "queue_size");
  EXPECT_EQ(app.committed_metadata[0].type, MetricType::kGauge);
}

ExportMetricsServiceRequest DeltaSumRequest(uint64_t t_ns, double v) {
  RequestBuilder rb;
  pb_metrics::Metric* m = rb.Metric("jobs.done", "");
  m->mutable_sum()->set_is_monotonic(true);
  m->mutable_sum()->set_aggregation_temporality(pb_metrics::AGGREGATION_TEMPORALITY_DELTA);
  AddNumber(m->mutable_sum()->mutable_data_points(), t_ns, v);
  return rb.req;
}

TEST(OtlpTranslateTest, DeltaSumsAreAccumulated) {
  DeltaAccumulator deltas;
  RecordingAppender app;
  ASSERT_TRUE(ApplyOtlpMetrics(DeltaSumRequest(kT0Ns, 5), &deltas, &app, nullptr).ok());
  ASSERT_TRUE(
      ApplyOtlpMetrics(DeltaSumRequest(kT0Ns + 10'000'000'000ull, 3), &deltas, &app, nullptr).ok());
  // A retried request must not count twice.
  OtlpResult retry;
  ASSERT_TRUE(
      ApplyOtlpMetrics(DeltaSumRequest(kT0Ns + 10'000'000'000ull, 3), &deltas, &app, &retry).ok());
  EXPECT_EQ(retry.rejected_points, 1);
  EXPECT_THAT(retry.error_message, HasSubstr("not newer than the last accumulated point"));
  ASSERT_TRUE(
      ApplyOtlpMetrics(DeltaSumRequest(kT0Ns + 20'000'000'000ull, 0.5), &deltas, &app, nullptr)
          .ok());

  auto samples = app.SamplesNamed("jobs_done_total");
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[0].v, 5);
  EXPECT_EQ(samples[1].v, 8);
  EXPECT_EQ(samples[1].t_ms, kT0Ms + 10'000);
  EXPECT_EQ(samples[2].v, 8.5);
  EXPECT_EQ(deltas.NumSeries(), 1u);
}

TEST(OtlpTranslateTest, DeltaTotalsAreRevertedWhenTheBatchFails) {
  DeltaAccumulator deltas;
  RecordingAppender app;
  ASSERT_TRUE(ApplyOtlpMetrics(DeltaSumRequest(kT0Ns, 5), &deltas, &app, nullptr).ok());

  RecordingAppender failing;
  failing.commit_status = Status::IOError("wal write failed");
  Status st =
      ApplyOtlpMetrics(DeltaSumRequest(kT0Ns + 1'000'000'000ull, 100), &deltas, &failing, nullptr);
  EXPECT_EQ(st.code(), StatusCode::kIOError);

  RecordingAppender unavailable;
  unavailable.append_hook = [](const Labels&, int64_t, double) {
    return Status::Unavailable("shutting down");
  };
  st = ApplyOtlpMetrics(DeltaSumRequest(kT0Ns + 1'000'000'000ull, 1000), &deltas, &unavailable,
                        nullptr);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ(unavailable.rollback_calls, 1);

  // The retry of the failed request is accepted and counts once.
  ASSERT_TRUE(
      ApplyOtlpMetrics(DeltaSumRequest(kT0Ns + 1'000'000'000ull, 100), &deltas, &app, nullptr)
          .ok());
  auto samples = app.SamplesNamed("jobs_done_total");
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[1].v, 105);
}

TEST(OtlpTranslateTest, DeltaWithoutAccumulatorIsRejected) {
  RecordingAppender app;
  OtlpResult result;
  ASSERT_TRUE(ApplyOtlpMetrics(DeltaSumRequest(kT0Ns, 5), nullptr, &app, &result).ok());
  EXPECT_EQ(result.rejected_points, 1);
  EXPECT_THAT(result.error_message, HasSubstr("invalid temporality and type combination"));
  EXPECT_TRUE(app.SamplesNamed("jobs_done_total").empty());
}

TEST(OtlpTranslateTest, UnspecifiedTemporalityIsRejected) {
  RequestBuilder rb;
  pb_metrics::Metric* m = rb.Metric("s", "");
  AddNumber(m->mutable_sum()->mutable_data_points(), kT0Ns, 1);
  AddNumber(m->mutable_sum()->mutable_data_points(), kT0Ns + 1, 2);
  DeltaAccumulator deltas;
  RecordingAppender app;
  OtlpResult result;
  ASSERT_TRUE(ApplyOtlpMetrics(rb.req, &deltas, &app, &result).ok());
  EXPECT_EQ(result.rejected_points, 2);
  EXPECT_THAT(result.error_message, HasSubstr("\"s\""));
}

pb_metrics::HistogramDataPoint* AddHistogram(pb_metrics::Histogram* h, uint64_t t_ns,
                                             std::vector<uint64_t> counts, double sum) {
  pb_metrics::HistogramDataPoint* p = h->add_data_points();
  p->set_time_unix_nano(t_ns);
  for (double b : {0.5, 1.0}) p->add_explicit_bounds(b);
  uint64_t total = 0;
  for (uint64_t c : counts) {
    p->add_bucket_counts(c);
    total += c;
  }
  p->set_count(total);
  p->set_sum(sum);
  return p;
}

TEST(OtlpTranslateTest, HistogramBecomesClassicBuckets) {
  RequestBuilder rb;
  pb_metrics::Metric* m = rb.Metric("http.server.duration", "s");
  m->mutable_histogram()->set_aggregation_temporality(
      pb_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  pb_metrics::HistogramDataPoint* p = AddHistogram(m->mutable_histogram(), kT0Ns, {2, 3, 1}, 4.5);
  SetAttr(p->mutable_attributes(), "route", "/a");
  pb_metrics::Exemplar* e = p->add_exemplars();
  e->set_as_double(0.7);
  e->set_trace_id(std::string(16, '\x11'));
  pb_metrics::Exemplar* big = p->add_exemplars();
  big->set_as_double(30);

  RecordingAppender app;
  ASSERT_TRUE(ApplyOtlpMetrics(rb.req, nullptr, &app, nullptr).ok());
  auto value_of = [&](const Labels& ls) {
    auto s = app.SamplesOf(ls);
    EXPECT_EQ(s.size(), 1u) << ls.ToString();
    return s.empty() ? -1.0 : s[0].v;
  };
  const std::string f = "http_server_duration_seconds";
  EXPECT_EQ(value_of(WithJob({{"__name__", f + "_bucket"}, {"route", "/a"}, {"le", "0.5"}})), 2);
  EXPECT_EQ(value_of(WithJob({{"__name__", f + "_bucket"}, {"route", "/a"}, {"le", "1"}})), 5);
  EXPECT_EQ(value_of(WithJob({{"__name__", f + "_bucket"}, {"route", "/a"}, {"le", "+Inf"}})), 6);
  EXPECT_EQ(value_of(WithJob({{"__name__", f + "_sum"}, {"route", "/a"}})), 4.5);
  EXPECT_EQ(value_of(WithJob({{"__name__", f + "_count"}, {"route", "/a"}})), 6);

  ASSERT_EQ(app.committed_exemplars.size(), 2u);
  EXPECT_EQ(app.committed_exemplars[0].series.Get("le"), "1");
  EXPECT_EQ(app.committed_exemplars[0].exemplar.labels.Get("trace_id"), std::string(32, '1'));
  EXPECT_EQ(app.committed_exemplars[1].series.Get("le"), "+Inf");
  bool found = false;
  for (const auto& md : app.committed_metadata) {
    if (md.metric_family == f) {
      found = true;
      EXPECT_EQ(md.type, MetricType::kHistogram);
      EXPECT_EQ(md.unit, "seconds");
    }
  }
  EXPECT_TRUE(found);
}

TEST(OtlpTranslateTest, DeltaHistogramsAreAccumulated) {
  DeltaAccumulator deltas;
  RecordingAppender app;
  for (int i = 0; i < 2; ++i) {
    RequestBuilder rb;
    pb_metrics::Metric* m = rb.Metric("latency", "ms");
    m->mutable_histogram()->set_aggregation_temporality(pb_metrics::AGGREGATION_TEMPORALITY_DELTA);
    AddHistogram(m->mutable_histogram(), kT0Ns + i * 1'000'000'000ull, {1, 0, 2}, 10);
    ASSERT_TRUE(ApplyOtlpMetrics(rb.req, &deltas, &app, nullptr).ok());
  }
  auto buckets = app.SamplesOf(WithJob({{"__name__", "latency_milliseconds_bucket"}, {"le", "1"}}));
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_EQ(buckets[0].v, 1);
  EXPECT_EQ(buckets[1].v, 2);
  auto count = app.SamplesNamed("latency_milliseconds_count");
  ASSERT_EQ(count.size(), 2u);
  EXPECT_EQ(count[1].v, 6);
  auto sum = app.SamplesNamed("latency_milliseconds_sum");
  ASSERT_EQ(sum.size(), 2u);
  EXPECT_EQ(sum[1].v, 20);
}

TEST(OtlpTranslateTest, SummaryBecomesQuantiles) {
  RequestBuilder rb;
  pb_metrics::Metric* m = rb.Metric("rpc.latency", "ms");
  pb_metrics::SummaryDataPoint* p = m->mutable_summary()->add_data_points();
  p->set_time_unix_nano(kT0Ns);
  p->set_count(10);
  p->set_sum(123.5);
  for (auto [q, v] : {std::pair{0.5, 10.0}, std::pair{0.99, 42.0}}) {
    auto* qv = p->add_quantile_values();
    qv->set_quantile(q);
    qv->set_value(v);
  }
  RecordingAppender app;
  ASSERT_TRUE(ApplyOtlpMetrics(rb.req, nullptr, &app, nullptr).ok());
  const std::string f = "rpc_latency_milliseconds";
  auto q50 = app.SamplesOf(WithJob({{"__name__", f}, {"quantile", "0.5"}}));
  auto q99 = app.SamplesOf(WithJob({{"__name__", f}, {"quantile", "0.99"}}));
  ASSERT_EQ(q50.size(), 1u);
  ASSERT_EQ(q99.size(), 1u);
  EXPECT_EQ(q50[0].v, 10);
  EXPECT_EQ(q99[0].v, 42);
  ASSERT_EQ(app.SamplesNamed(f + "_sum").size(), 1u);
  EXPECT_EQ(app.SamplesNamed(f + "_sum")[0].v, 123.5);
  EXPECT_EQ(app.SamplesNamed(f + "_count")[0].v, 10);
}

pb_metrics::ExponentialHistogramDataPoint* AddExpPoint(pb_metrics::ExponentialHistogram* eh,
                                                      uint64_t t_ns, int scale) {
  pb_metrics::ExponentialHistogramDataPoint* p = eh->add_data_points();
  p->set_time_unix_nano(t_ns);
  p->set_scale(scale);
  p->set_zero_count(1);
  p->set_sum(10);
  p->mutable_positive()->set_offset(-1);
  for (uint64_t c : {2, 0, 0, 0, 3}) p->mutable_positive()->add_bucket_counts(c);
  p->mutable_negative()->add_bucket_counts(1);
  p->set_count(7);
  return p;
}

TEST(OtlpTranslateTest, ExponentialHistogramBecomesNativeHistogram) {
  RequestBuilder rb;
  pb_metrics::Metric* m = rb.Metric("rpc.duration", "s");
  auto* eh = m->mutable_exponential_histogram();
  eh->set_aggregation_temporality(pb_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  AddExpPoint(eh, kT0Ns, 1);
  RecordingAppender app;
  OtlpResult result;
  ASSERT_TRUE(ApplyOtlpMetrics(rb.req, nullptr, &app, &result).ok());
  EXPECT_EQ(result.rejected_points, 0) << result.error_message;
  ASSERT_EQ(app.committed_histograms.size(), 1u);
  const auto& got = app.committed_histograms[0];
  EXPECT_EQ(got.labels, WithJob({{"__name__", "rpc_duration_seconds"}}));
  EXPECT_EQ(got.sample.t_ms, 1700000000123);
  const IntHistogram& h = std::get<IntHistogram>(got.sample.value);
  // OTLP index i covers (base^i, base^(i+1)]: Prometheus index i+1. Buckets -1 and 3 of the
  // point are Prometheus buckets 0 and 4; the three empty ones between start a new span.
  EXPECT_EQ(h.schema, 1);
  EXPECT_EQ(h.zero_threshold, 1e-128);
  EXPECT_EQ(h.zero_count, 1u);
  EXPECT_EQ(h.count, 7u);
  EXPECT_EQ(h.sum, 10);
  EXPECT_EQ(h.positive_spans, (std::vector<Span>{{0, 1}, {3, 1}}));
  EXPECT_EQ(h.positive_buckets, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(h.negative_spans, (std::vector<Span>{{1, 1}}));
  EXPECT_EQ(h.negative_buckets, (std::vector<int64_t>{1}));
  EXPECT_TRUE(h.Validate().ok());
  bool found = false;
  for (const MetricMetadata& md : app.committed_metadata) {
    if (md.metric_family != "rpc_duration_seconds") continue;
    found = true;
    EXPECT_EQ(md.type, MetricType::kHistogram);
    EXPECT_EQ(md.unit, "seconds");
  }
  EXPECT_TRUE(found);
}

TEST(OtlpTranslateTest, ExponentialHistogramScalesAboveEightAreMerged) {
  pb_metrics::ExponentialHistogramDataPoint p;
  p.set_scale(10);
  for (int i = 0; i < 5; ++i) p.mutable_positive()->add_bucket_counts(1);
  p.set_count(5);
  p.set_zero_threshold(0.5);
  Result<IntHistogram> h = ExponentialToNative(p);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->schema, 8);
  EXPECT_EQ(h->zero_threshold, 0.5);
  // OTLP 0..4 at scale 10 -> Prometheus ((i >> 2) + 1) at schema 8: 1,1,1,1,2.
  EXPECT_EQ(h->positive_spans, (std::vector<Span>{{1, 2}}));
  EXPECT_EQ(h->positive_buckets, (std::vector<int64_t>{4, -3}));
  p.set_scale(-5);
  EXPECT_THAT(ExponentialToNative(p).status().message(), HasSubstr("Scale must be >= -4, was -5"));
}

TEST(OtlpTranslateTest, InvalidExponentialHistogramsGoToPartialSuccess) {
  RequestBuilder rb;
  pb_metrics::Metric* m = rb.Metric("eh", "s");
  auto* eh = m->mutable_exponential_histogram();
  eh->set_aggregation_temporality(pb_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  AddExpPoint(eh, kT0Ns, -5);                   // scale too small
  AddExpPoint(eh, kT0Ns + 1000000, 0)->set_count(99);  // count does not match the buckets
  AddExpPoint(eh, kT0Ns + 2000000, 0);
  pb_metrics::Metric* g = rb.Metric("g", "");
  AddNumber(g->mutable_gauge()->mutable_data_points(), kT0Ns, 1);
  RecordingAppender app;
  OtlpResult result;
  ASSERT_TRUE(ApplyOtlpMetrics(rb.req, nullptr, &app, &result).ok());
  EXPECT_EQ(result.rejected_points, 2);
  EXPECT_THAT(result.error_message, HasSubstr("Scale must be >= -4"));
  EXPECT_EQ(app.committed_histograms.size(), 1u);
  EXPECT_EQ(app.SamplesNamed("g").size(), 1u);
}

TEST(OtlpTranslateTest, DeltaExponentialHistogramsAreAccumulated) {
  RequestBuilder rb;
  pb_metrics::Metric* m = rb.Metric("eh", "");
  auto* eh = m->mutable_exponential_histogram();
  eh->set_aggregation_temporality(pb_metrics::AGGREGATION_TEMPORALITY_DELTA);
  AddExpPoint(eh, kT0Ns, 1);
  AddExpPoint(eh, kT0Ns + 1000000000, 0);  // a coarser delta: the total drops to schema 0
  DeltaAccumulator deltas;
  RecordingAppender app;
  OtlpResult result;
  ASSERT_TRUE(ApplyOtlpMetrics(rb.req, &deltas, &app, &result).ok());
  EXPECT_EQ(result.rejected_points, 0) << result.error_message;
  ASSERT_EQ(app.committed_histograms.size(), 2u);
  const FloatHistogram& first = std::get<FloatHistogram>(app.committed_histograms[0].sample.value);
  EXPECT_EQ(first.count, 7);
  const FloatHistogram& total = std::get<FloatHistogram>(app.committed_histograms[1].sample.value);
  EXPECT_EQ(total.schema, 0);
  EXPECT_EQ(total.count, 14);
  EXPECT_EQ(total.sum, 20);
  EXPECT_EQ(total.zero_count, 2);
  EXPECT_EQ(total.counter_reset_hint, CounterResetHint::kUnknown);
  // A retry of the first point is refused rather than counted twice.
  RecordingAppender again;
  ASSERT_TRUE(ApplyOtlpMetrics(rb.req, &deltas, &again, &result).ok());
  EXPECT_EQ(result.rejected_points, 2);
  // Without an accumulator, delta is refused like Prometheus does by default.
  RecordingAppender none;
  OtlpResult r2;
  ASSERT_TRUE(ApplyOtlpMetrics(rb.req, nullptr, &none, &r2).ok());
  EXPECT_EQ(r2.rejected_points, 2);
}

TEST(OtlpTranslateTest, NoRecordedValueBecomesStaleMarker) {
  RequestBuilder rb;
  pb_metrics::Metric* m = rb.Metric("g", "");
  pb_metrics::NumberDataPoint* p = AddNumber(m->mutable_gauge()->mutable_data_points(), kT0Ns, 7);
  p->set_flags(pb_metrics::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK);
  pb_metrics::Metric* h = rb.Metric("h", "");
  h->mutable_histogram()->set_aggregation_temporality(
      pb_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  AddHistogram(h->mutable_histogram(), kT0Ns, {1, 1, 1}, 3)
      ->set_flags(pb_metrics::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK);
  RecordingAppender app;
  ASSERT_TRUE(ApplyOtlpMetrics(rb.req, nullptr, &app, nullptr).ok());
  auto g = app.SamplesNamed("g");
  ASSERT_EQ(g.size(), 1u);
  EXPECT_TRUE(IsStaleNaN(g[0].v));
  auto buckets = app.SamplesNamed("h_bucket");
  ASSERT_EQ(buckets.size(), 3u);
  for (const auto& b : buckets) EXPECT_TRUE(IsStaleNaN(b.v));
  EXPECT_TRUE(IsStaleNaN(app.SamplesNamed("h_count")[0].v));
}

TEST(OtlpTranslateTest, CollidingAttributeNamesAreJoined) {
  RequestBuilder rb;
  pb_metrics::Metric* m = rb.Metric("g", "");
  pb_metrics::NumberDataPoint* p = AddNumber(m->mutable_gauge()->mutable_data_points(), kT0Ns, 1);
  SetAttr(p->mutable_attributes(), "a_b", "second");
  SetAttr(p->mutable_attributes(), "a.b", "first");
  RecordingAppender app;
  ASSERT_TRUE(ApplyOtlpMetrics(rb.req, nullptr, &app, nullptr).ok());
  auto g = app.SamplesNamed("g");
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].labels.Get("a_b"), "first;second");  // in key order: "a.b" < "a_b"
}

TEST(OtlpTranslateTest, RefusedSamplesArePartialSuccess) {
  RequestBuilder rb;
  pb_metrics::Metric* m = rb.Metric("g", "");
  for (int i = 0; i < 3; ++i) {
    AddNumber(m->mutable_gauge()->mutable_data_points(), kT0Ns + i * 1'000'000'000ull, i);
  }
  RecordingAppender app;
  app.append_hook = [](const Labels& ls, int64_t t_ms, double) {
    if (ls.MetricName() == "g" && t_ms == kT0Ms + 1000)
      return Status::OutOfOrder("out of order sample");
    return Status::OK();
  };
  OtlpResult result;
  ASSERT_TRUE(ApplyOtlpMetrics(rb.req, nullptr, &app, &result).ok());
  EXPECT_EQ(result.rejected_points, 1);
  EXPECT_THAT(result.error_message, HasSubstr("out of order sample"));
  EXPECT_EQ(app.SamplesNamed("g").size(), 2u);
}

TEST(OtlpTranslateTest, EmptyMetricIsAWarningNotARejection) {
  RequestBuilder rb;
  rb.Metric("nothing", "")->mutable_gauge();
  RecordingAppender app;
  OtlpResult result;
  ASSERT_TRUE(ApplyOtlpMetrics(rb.req, nullptr, &app, &result).ok());
  EXPECT_EQ(result.rejected_points, 0);
  EXPECT_THAT(result.error_message, HasSubstr("empty data points"));
}

// Bytes encoded by hand from the upstream field numbers (opentelemetry-proto v1.x), not by our
// generated code: proves that our .proto files match what OTLP exporters send.
TEST(OtlpTranslateTest, DecodesHandEncodedUpstreamWireFormat) {
  const std::string raw(
      "\x0a\xab\x02\x0a\x2a\x0a\x15\x0a\x0c\x73\x65\x72\x76\x69\x63\x65\x2e\x6e\x61\x6d\x65\x12"
      "\x05\x0a\x03\x61\x70\x69\x0a\x11\x0a\x09\x68\x6f\x73\x74\x2e\x6e\x61\x6d\x65\x12\x04\x0a"
      "\x02\x68\x31\x12\xfc\x01\x0a\x07\x0a\x05\x73\x63\x6f\x70\x65\x12\x75\x0a\x08\x72\x65\x71"
      "\x75\x65\x73\x74\x73\x1a\x09\x7b\x72\x65\x71\x75\x65\x73\x74\x7d\x3a\x5e\x0a\x58\x3a\x14"
      "\x0a\x0b\x68\x74\x74\x70\x2e\x6d\x65\x74\x68\x6f\x64\x12\x05\x0a\x03\x47\x45\x54\x19\x00"
      "\x00\x2a\x36\xfe\x9c\x97\x17\x31\x07\x00\x00\x00\x00\x00\x00\x00\x2a\x2e\x11\x00\x00\x2a"
      "\x36\xfe\x9c\x97\x17\x19\x00\x00\x00\x00\x00\x00\xd0\x3f\x22\x08\xaa\xaa\xaa\xaa\xaa\xaa"
      "\xaa\xaa\x2a\x10\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x10\x02"
      "\x18\x01\x12\x5a\x0a\x07\x6c\x61\x74\x65\x6e\x63\x79\x1a\x01\x73\x4a\x4c\x0a\x48\x4a\x0d"
      "\x0a\x05\x72\x6f\x75\x74\x65\x12\x04\x0a\x02\x2f\x61\x19\x00\x00\x2a\x36\xfe\x9c\x97\x17"
      "\x21\x03\x00\x00\x00\x00\x00\x00\x00\x29\x00\x00\x00\x00\x00\x00\xf8\x3f\x32\x10\x01\x00"
      "\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x3a\x08\x00\x00\x00\x00\x00\x00"
      "\xe0\x3f\x50\x00\x10\x02\x12\x1e\x0a\x04\x74\x65\x6d\x70\x2a\x16\x0a\x14\x19\x00\x00\x2a"
      "\x36\xfe\x9c\x97\x17\x21\x00\x00\x00\x00\x00\x00\x04\x40\x40\x01",
      302);
  ExportMetricsServiceRequest req;
  ASSERT_TRUE(req.ParseFromString(raw));
  RecordingAppender app;
  OtlpResult result;
  ASSERT_TRUE(ApplyOtlpMetrics(req, nullptr, &app, &result).ok());
  EXPECT_EQ(result.rejected_points, 0) << result.error_message;
  constexpr int64_t kMs = 1700000000000;
  auto requests = app.SamplesOf(
      Labels::FromMap({{"__name__", "requests_total"}, {"job", "api"}, {"http_method", "GET"}}));
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].v, 7);
  EXPECT_EQ(requests[0].t_ms, kMs);
  ASSERT_EQ(app.committed_exemplars.size(), 1u);
  EXPECT_EQ(app.committed_exemplars[0].exemplar.labels.Get("trace_id"),
            "01010101010101010101010101010101");
  EXPECT_EQ(app.committed_exemplars[0].exemplar.labels.Get("span_id"), "aaaaaaaaaaaaaaaa");
  EXPECT_EQ(app.committed_exemplars[0].exemplar.value, 0.25);
  auto bucket = app.SamplesOf(Labels::FromMap(
      {{"__name__", "latency_seconds_bucket"}, {"job", "api"}, {"route", "/a"}, {"le", "0.5"}}));
  ASSERT_EQ(bucket.size(), 1u);
  EXPECT_EQ(bucket[0].v, 1);
  auto sum = app.SamplesNamed("latency_seconds_sum");
  ASSERT_EQ(sum.size(), 1u);
  EXPECT_EQ(sum[0].v, 1.5);
  EXPECT_EQ(app.SamplesNamed("latency_seconds_count")[0].v, 3);
  auto temp = app.SamplesNamed("temp");
  ASSERT_EQ(temp.size(), 1u);
  EXPECT_TRUE(IsStaleNaN(temp[0].v));  // flags = NO_RECORDED_VALUE
  auto info = app.SamplesNamed("target_info");
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].labels.Get("host_name"), "h1");
}

TEST(DeltaAccumulatorTest, ExpiresIdleSeriesAndLimitsSeries) {
  DeltaAccumulator::Options opts;
  opts.max_series = 2;
  opts.idle_timeout_ms = 1000;
  DeltaAccumulator acc(opts);
  DeltaAccumulator::Undo undo;
  ASSERT_TRUE(acc.AddSum(Labels::FromMap({{"__name__", "a"}}), 10, 1, &undo).ok());
  ASSERT_TRUE(acc.AddSum(Labels::FromMap({{"__name__", "b"}}), 10, 1, &undo).ok());
  Result<double> third = acc.AddSum(Labels::FromMap({{"__name__", "c"}}), 10, 1, &undo);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(acc.NumSeries(), 2u);
  // All were touched "now" (wall clock); a sweep far in the future drops them.
  EXPECT_EQ(acc.ExpireIdle(std::numeric_limits<int64_t>::max() / 2), 2u);
  EXPECT_EQ(acc.NumSeries(), 0u);
  Result<double> again = acc.AddSum(Labels::FromMap({{"__name__", "a"}}), 5, 2, &undo);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 2);  // restarted from zero
}

}  // namespace
}  // namespace argus::ingest

namespace argus::ingest {
namespace {

// Records the start timestamp of every AppendWithST (the sample itself goes through Append).
class StRecordingAppender : public RecordingAppender {
 public:
  Status AppendWithST(const Labels& labels, int64_t st_ms, int64_t t_ms, double v) override {
    Status st = Append(labels, t_ms, v);
    if (st.ok()) start_ms[labels.ToString()].push_back(st_ms);
    return st;
  }
  std::map<std::string, std::vector<int64_t>> start_ms;
};

// start_time_unix_nano becomes the sample's start timestamp for cumulative sums, histograms
// and exponential histograms; gauges and (accumulated) deltas have none.
TEST(OtlpStartTimestampTest, CumulativePointsCarryTheirStartTime) {
  constexpr uint64_t kStartNs = kT0Ns - 90'000'000'000ull;  // 90 s before the point
  constexpr int64_t kStartMs = kT0Ms - 90'000;
  RequestBuilder rb;
  pb_metrics::Metric* sum = rb.Metric("requests", "");
  sum->mutable_sum()->set_is_monotonic(true);
  sum->mutable_sum()->set_aggregation_temporality(pb_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  AddNumber(sum->mutable_sum()->mutable_data_points(), kT0Ns, 5)->set_start_time_unix_nano(kStartNs);
  pb_metrics::Metric* unset = rb.Metric("unset", "");
  unset->mutable_sum()->set_is_monotonic(true);
  unset->mutable_sum()->set_aggregation_temporality(pb_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  AddNumber(unset->mutable_sum()->mutable_data_points(), kT0Ns, 5)->set_start_time_unix_nano(0);
  pb_metrics::Metric* gauge = rb.Metric("temp", "");
  AddNumber(gauge->mutable_gauge()->mutable_data_points(), kT0Ns, 20);
  pb_metrics::Metric* hist = rb.Metric("latency", "s");
  hist->mutable_histogram()->set_aggregation_temporality(
      pb_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  AddHistogram(hist->mutable_histogram(), kT0Ns, {1, 2, 3}, 4)->set_start_time_unix_nano(kStartNs);
  pb_metrics::Metric* exp = rb.Metric("rpc", "s");
  exp->mutable_exponential_histogram()->set_aggregation_temporality(
      pb_metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
  AddExpPoint(exp->mutable_exponential_histogram(), kT0Ns, 1)->set_start_time_unix_nano(kStartNs);

  StRecordingAppender app;
  OtlpResult result;
  ASSERT_TRUE(ApplyOtlpMetrics(rb.req, nullptr, &app, &result).ok());
  EXPECT_EQ(result.rejected_points, 0) << result.error_message;
  auto st_of = [&](const Labels& ls) {
    auto it = app.start_ms.find(ls.ToString());
    return it == app.start_ms.end() ? std::vector<int64_t>{} : it->second;
  };
  EXPECT_EQ(st_of(WithJob({{"__name__", "requests_total"}})), std::vector<int64_t>{kStartMs});
  EXPECT_TRUE(st_of(WithJob({{"__name__", "unset_total"}})).empty());
  EXPECT_TRUE(st_of(WithJob({{"__name__", "temp"}})).empty());
  EXPECT_EQ(app.SamplesOf(WithJob({{"__name__", "temp"}})).size(), 1u);
  for (const char* s : {"latency_seconds_count", "latency_seconds_sum"}) {
    EXPECT_EQ(st_of(WithJob({{"__name__", s}})), std::vector<int64_t>{kStartMs}) << s;
  }
  EXPECT_EQ(st_of(WithJob({{"__name__", "latency_seconds_bucket"}, {"le", "+Inf"}})),
            std::vector<int64_t>{kStartMs});
  ASSERT_EQ(app.committed_histograms.size(), 1u);
  EXPECT_EQ(app.committed_histograms[0].sample.st_ms, kStartMs);
}

TEST(OtlpStartTimestampTest, AccumulatedDeltasHaveNoStartTime) {
  DeltaAccumulator deltas;
  StRecordingAppender app;
  for (int i = 0; i < 2; ++i) {
    RequestBuilder rb;
    pb_metrics::Metric* m = rb.Metric("jobs", "");
    m->mutable_sum()->set_is_monotonic(true);
    m->mutable_sum()->set_aggregation_temporality(pb_metrics::AGGREGATION_TEMPORALITY_DELTA);
    AddNumber(m->mutable_sum()->mutable_data_points(), kT0Ns + i * 60'000'000'000ull, 1);
    ASSERT_TRUE(ApplyOtlpMetrics(rb.req, &deltas, &app, nullptr).ok());
  }
  EXPECT_EQ(app.SamplesNamed("jobs_total").size(), 2u);
  EXPECT_TRUE(app.start_ms.empty());
}

}  // namespace
}  // namespace argus::ingest
