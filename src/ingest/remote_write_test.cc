#include "ingest/remote_write.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <snappy.h>

#include <cmath>
#include <string>

#include "ingest/testing_appender.h"
#include "model/histogram.h"
#include "model/sample.h"

namespace argus::ingest {
namespace {

using ::testing::HasSubstr;

void AddLabel(prometheus::TimeSeries* ts, const std::string& name, const std::string& value) {
  prometheus::Label* l = ts->add_labels();
  l->set_name(name);
  l->set_value(value);
}

void AddSample(prometheus::TimeSeries* ts, int64_t t_ms, double v) {
  prometheus::Sample* s = ts->add_samples();
  s->set_timestamp(t_ms);
  s->set_value(v);
}

std::string Encode(const prometheus::WriteRequest& req) {
  std::string raw;
  // Partial: some tests deliberately carry invalid UTF-8, which full serialization refuses.
  EXPECT_TRUE(req.SerializePartialToString(&raw));
  std::string compressed;
  snappy::Compress(raw.data(), raw.size(), &compressed);
  return compressed;
}

std::string Compress(const std::string& raw) {
  std::string compressed;
  snappy::Compress(raw.data(), raw.size(), &compressed);
  return compressed;
}

// A series named `name` with one extra label and `n` samples at t = 1000, 2000, ...
prometheus::TimeSeries* AddSeries(prometheus::WriteRequest* req, const std::string& name,
                                  const std::string& instance, int n) {
  prometheus::TimeSeries* ts = req->add_timeseries();
  AddLabel(ts, "__name__", name);
  AddLabel(ts, "instance", instance);
  for (int i = 1; i <= n; ++i) AddSample(ts, i * 1000, i * 1.5);
  return ts;
}

TEST(RemoteWriteTest, GoodRequestIsCommitted) {
  prometheus::WriteRequest req;
  prometheus::TimeSeries* ts = req.add_timeseries();
  // Deliberately unsorted: senders should sort, we tolerate it.
  AddLabel(ts, "job", "node");
  AddLabel(ts, "__name__", "http_requests_total");
  AddLabel(ts, "code", "200");
  AddSample(ts, 1000, 1);
  AddSample(ts, 2000, 3);
  prometheus::Exemplar* ex = ts->add_exemplars();
  ex->set_value(0.25);
  ex->set_timestamp(1500);
  prometheus::Label* el = ex->add_labels();
  el->set_name("trace_id");
  el->set_value("abc123");
  AddSeries(&req, "up", "a:9100", 1);
  prometheus::MetricMetadata* md = req.add_metadata();
  md->set_type(prometheus::MetricMetadata::COUNTER);
  md->set_metric_family_name("http_requests_total");
  md->set_help("Requests.");
  md->set_unit("");

  RecordingAppender app;
  WriteStats stats;
  ASSERT_TRUE(HandleRemoteWrite(Encode(req), RemoteWriteOptions{}, &app, &stats).ok());
  EXPECT_EQ(stats.samples, 3u);
  EXPECT_EQ(stats.exemplars, 1u);
  EXPECT_EQ(stats.metadata, 1u);
  EXPECT_EQ(stats.rejected, 0u);
  EXPECT_EQ(app.commit_calls, 1);

  Labels want =
      Labels::FromMap({{"__name__", "http_requests_total"}, {"job", "node"}, {"code", "200"}});
  auto samples = app.SamplesOf(want);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].t_ms, 1000);
  EXPECT_EQ(samples[1].v, 3);
  ASSERT_EQ(app.committed_exemplars.size(), 1u);
  EXPECT_EQ(app.committed_exemplars[0].series, want);
  EXPECT_EQ(app.committed_exemplars[0].exemplar.labels.Get("trace_id"), "abc123");
  EXPECT_EQ(app.committed_exemplars[0].exemplar.t_ms, 1500);
  ASSERT_EQ(app.committed_metadata.size(), 1u);
  EXPECT_EQ(app.committed_metadata[0].type, MetricType::kCounter);
  EXPECT_EQ(app.committed_metadata[0].help, "Requests.");
}

TEST(RemoteWriteTest, BadSnappyIsInvalidArgument) {
  RecordingAppender app;
  WriteStats stats;
  Status st = HandleRemoteWrite("this is not snappy at all", RemoteWriteOptions{}, &app, &stats);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("snappy"));
  EXPECT_EQ(app.commit_calls, 0);
  EXPECT_EQ(app.rollback_calls, 1);
}

TEST(RemoteWriteTest, TruncatedProtobufIsInvalidArgument) {
  prometheus::WriteRequest req;
  AddSeries(&req, "up", "a", 3);
  std::string raw;
  ASSERT_TRUE(req.SerializeToString(&raw));
  raw.resize(raw.size() - 5);
  RecordingAppender app;
  Status st = HandleRemoteWrite(Compress(raw), RemoteWriteOptions{}, &app, nullptr);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("cannot decode remote write request"));
  EXPECT_THAT(st.message(), HasSubstr("truncated"));
  EXPECT_TRUE(app.committed_samples.empty());
}

TEST(RemoteWriteTest, KnownFieldWithWrongWireTypeIsInvalidArgument) {
  // Field 1 (timeseries) as a varint: protobuf's C++ parser would keep it as an unknown field.
  const std::string raw = {0x08, 0x07};
  RecordingAppender app;
  Status st = HandleRemoteWrite(Compress(raw), RemoteWriteOptions{}, &app, nullptr);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("field 1 (timeseries)"));
  EXPECT_THAT(st.message(), HasSubstr("wrong wire type"));
  EXPECT_EQ(app.commit_calls, 0);

  // The same inside a label: name (field 1) as a varint.
  prometheus::WriteRequest req;
  AddSeries(&req, "up", "a", 1);
  std::string good;
  ASSERT_TRUE(req.SerializeToString(&good));
  const std::string bad_label = {0x0a, 0x04, 0x0a, 0x02, 0x08, 0x01};  // ts{label{name:varint}}
  st = HandleRemoteWrite(Compress(good + bad_label), RemoteWriteOptions{}, &app, nullptr);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("a label of series #1"));
}

TEST(RemoteWriteTest, DecoderRefusesMistypedSampleFieldsAndSplitLabels) {
  // ts{labels{__name__=up}, samples{value as a varint}}: Go's decoder refuses it, so do we.
  const std::string label =
      std::string{0x0a, 0x0e, 0x0a, 0x08} + "__name__" + std::string{0x12, 0x02} + "up";
  const std::string bad_sample = {0x12, 0x02, 0x08, 0x01};
  std::string ts = label + bad_sample;
  std::string raw = std::string{0x0a, static_cast<char>(ts.size())} + ts;
  RecordingAppender app;
  Status st = HandleRemoteWrite(Compress(raw), RemoteWriteOptions{}, &app, nullptr);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("field 1 (value) of a sample of series #0"));

  // Labels on both sides of an exemplar (whose labels share the flat label vector) are
  // refused as malformed, not misread.
  const std::string good_sample = {0x12, 0x02, 0x10, 0x05};  // timestamp 5, value 0
  const std::string exemplar = std::string{0x1a, 0x11, 0x0a, 0x0f, 0x0a, 0x08} + "trace_id" +
                               std::string{0x12, 0x03} + "abc";
  const std::string job = std::string{0x0a, 0x08, 0x0a, 0x03} + "job" + std::string{0x12, 0x01} +
                          "x";
  ts = label + good_sample + exemplar + job;
  raw = std::string{0x0a, static_cast<char>(ts.size())} + ts;
  RecordingAppender app2;
  st = HandleRemoteWrite(Compress(raw), RemoteWriteOptions{}, &app2, nullptr);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("not contiguous"));
  EXPECT_EQ(app2.commit_calls, 0);

  // The same series with its labels together is accepted, and the sample read exactly.
  ts = label + job + good_sample + exemplar;
  raw = std::string{0x0a, static_cast<char>(ts.size())} + ts;
  RecordingAppender app3;
  ASSERT_TRUE(HandleRemoteWrite(Compress(raw), RemoteWriteOptions{}, &app3, nullptr).ok());
  ASSERT_EQ(app3.committed_samples.size(), 1u);
  EXPECT_EQ(app3.committed_samples[0].t_ms, 5);
  EXPECT_EQ(app3.committed_samples[0].labels.Get("job"), "x");
  ASSERT_EQ(app3.committed_exemplars.size(), 1u);
  EXPECT_EQ(app3.committed_exemplars[0].exemplar.labels.Get("trace_id"), "abc");
}

TEST(RemoteWriteTest, NegativeTimestampsAndNaNValuesSurviveTheDecoder) {
  prometheus::WriteRequest req;
  prometheus::TimeSeries* ts = AddSeries(&req, "up", "a", 0);
  AddSample(ts, -5000, std::nan(""));
  AddSample(ts, -4000, -0.25);
  RecordingAppender app;
  ASSERT_TRUE(HandleRemoteWrite(Encode(req), RemoteWriteOptions{}, &app, nullptr).ok());
  ASSERT_EQ(app.committed_samples.size(), 2u);
  EXPECT_EQ(app.committed_samples[0].t_ms, -5000);
  EXPECT_TRUE(std::isnan(app.committed_samples[0].v));
  EXPECT_EQ(app.committed_samples[1].t_ms, -4000);
  EXPECT_EQ(app.committed_samples[1].v, -0.25);
}

TEST(RemoteWriteTest, UnknownFieldNumbersAreIgnored) {
  prometheus::WriteRequest req;
  AddSeries(&req, "up", "a", 2);
  std::string raw;
  ASSERT_TRUE(req.SerializeToString(&raw));
  raw += std::string{static_cast<char>(0xc8), 0x01, 0x05};  // field 25, varint 5: newer than us
  RecordingAppender app;
  ASSERT_TRUE(HandleRemoteWrite(Compress(raw), RemoteWriteOptions{}, &app, nullptr).ok());
  EXPECT_EQ(app.committed_samples.size(), 2u);
}

TEST(RemoteWriteTest, InvalidUtf8LabelIsExplained) {
  prometheus::WriteRequest req;
  AddSeries(&req, "up", "ok", 1);
  prometheus::TimeSeries* bad = AddSeries(&req, "up", "ok2", 1);
  AddLabel(bad, "zone", std::string("eu\xff\xfe", 4));
  RecordingAppender app;
  Status st = HandleRemoteWrite(Encode(req), RemoteWriteOptions{}, &app, nullptr);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("label value of series #1 is not valid UTF-8"));
}

TEST(RemoteWriteTest, InvalidUtf8InMemoryRequestRejectsOnlyThatSeries) {
  prometheus::WriteRequest req;
  AddSeries(&req, "up", "ok", 1);
  prometheus::TimeSeries* bad = AddSeries(&req, "up", "bad", 1);
  AddLabel(bad, "zone", std::string("\xc3\x28", 2));
  RecordingAppender app;
  WriteStats stats;
  Status st = ApplyWriteRequest(req, RemoteWriteOptions{}, &app, &stats);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("not valid UTF-8"));
  EXPECT_EQ(stats.samples, 1u);
  EXPECT_EQ(stats.rejected, 1u);
  ASSERT_EQ(app.committed_samples.size(), 1u);
  EXPECT_EQ(app.committed_samples[0].labels.Get("instance"), "ok");
}

TEST(RemoteWriteTest, DuplicateLabelNamesRejectTheSeriesButCommitTheRest) {
  prometheus::WriteRequest req;
  prometheus::TimeSeries* bad = AddSeries(&req, "up", "a", 2);
  AddLabel(bad, "instance", "b");
  AddSeries(&req, "up", "good", 1);
  RecordingAppender app;
  WriteStats stats;
  Status st = HandleRemoteWrite(Encode(req), RemoteWriteOptions{}, &app, &stats);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("duplicate label name \"instance\""));
  EXPECT_EQ(stats.rejected, 2u);
  EXPECT_EQ(stats.samples, 1u);
  EXPECT_EQ(stats.first_error.find("duplicate label name"), 0u);
  ASSERT_EQ(app.committed_samples.size(), 1u);
  EXPECT_EQ(app.committed_samples[0].labels.Get("instance"), "good");
}

TEST(RemoteWriteTest, MissingMetricNameIsRejected) {
  prometheus::WriteRequest req;
  prometheus::TimeSeries* ts = req.add_timeseries();
  AddLabel(ts, "job", "x");
  AddSample(ts, 1000, 1);
  prometheus::TimeSeries* empty_name = req.add_timeseries();
  AddLabel(empty_name, "__name__", "");
  AddLabel(empty_name, "job", "y");
  AddSample(empty_name, 1000, 1);
  prometheus::TimeSeries* no_labels = req.add_timeseries();
  AddSample(no_labels, 1000, 1);
  RecordingAppender app;
  WriteStats stats;
  Status st = HandleRemoteWrite(Encode(req), RemoteWriteOptions{}, &app, &stats);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("no metric name"));
  EXPECT_THAT(st.message(), HasSubstr("job=\"x\""));
  EXPECT_THAT(st.message(), HasSubstr("and 2 more rejected"));
  EXPECT_EQ(stats.rejected, 3u);
  EXPECT_TRUE(app.committed_samples.empty());
  EXPECT_EQ(app.commit_calls, 1);
}

TEST(RemoteWriteTest, HugeLabelValueIsRejectedUnderTheDefaultLimit) {
  prometheus::WriteRequest req;
  prometheus::TimeSeries* ts = AddSeries(&req, "big", "a", 1);
  AddLabel(ts, "blob", std::string(10 << 20, 'x'));
  AddSeries(&req, "small", "a", 1);
  std::string body = Encode(req);

  RecordingAppender app;
  WriteStats stats;
  Status st = HandleRemoteWrite(body, RemoteWriteOptions{}, &app, &stats);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("label value too long"));
  EXPECT_THAT(st.message(), HasSubstr("10485760 bytes"));
  EXPECT_LT(st.message().size(), 2000u) << "the error must not echo the 10 MB value";
  ASSERT_EQ(app.committed_samples.size(), 1u);
  EXPECT_EQ(app.committed_samples[0].labels.MetricName(), "small");

  RemoteWriteOptions generous;
  generous.max_label_value_bytes = 16 << 20;
  RecordingAppender app2;
  ASSERT_TRUE(HandleRemoteWrite(body, generous, &app2, &stats).ok());
  EXPECT_EQ(app2.committed_samples.size(), 2u);
}

TEST(RemoteWriteTest, DecodedSizeLimit) {
  prometheus::WriteRequest req;
  for (int i = 0; i < 100; ++i) AddSeries(&req, "m", std::to_string(i), 10);
  RemoteWriteOptions opts;
  opts.max_decoded_bytes = 512;
  RecordingAppender app;
  Status st = HandleRemoteWrite(Encode(req), opts, &app, nullptr);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("exceeds the limit of 512 bytes"));
}

TEST(RemoteWriteTest, NaNAndStaleMarkersAreStoredBitExact) {
  prometheus::WriteRequest req;
  prometheus::TimeSeries* ts = AddSeries(&req, "g", "a", 0);
  AddSample(ts, 1000, std::nan(""));
  AddSample(ts, 2000, StaleNaN());
  AddSample(ts, 3000, -std::numeric_limits<double>::infinity());
  RecordingAppender app;
  ASSERT_TRUE(HandleRemoteWrite(Encode(req), RemoteWriteOptions{}, &app, nullptr).ok());
  ASSERT_EQ(app.committed_samples.size(), 3u);
  EXPECT_TRUE(std::isnan(app.committed_samples[0].v));
  EXPECT_FALSE(IsStaleNaN(app.committed_samples[0].v));
  EXPECT_TRUE(IsStaleNaN(app.committed_samples[1].v));
  EXPECT_TRUE(std::isinf(app.committed_samples[2].v));
}

TEST(RemoteWriteTest, OutOfOrderSamplesAreSkippedAndTheRestCommitted) {
  prometheus::WriteRequest req;
  AddSeries(&req, "m", "a", 4);  // t = 1000..4000
  RecordingAppender app;
  app.append_hook = [](const Labels&, int64_t t_ms, double) {
    return t_ms == 2000 ? Status::OutOfOrder("out of order sample") : Status::OK();
  };
  WriteStats stats;
  Status st = HandleRemoteWrite(Encode(req), RemoteWriteOptions{}, &app, &stats);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("out of order sample"));
  EXPECT_THAT(st.message(), HasSubstr("timestamp 2000"));
  EXPECT_EQ(stats.samples, 3u);
  EXPECT_EQ(stats.rejected, 1u);
  EXPECT_EQ(app.committed_samples.size(), 3u);
}

TEST(RemoteWriteTest, StorageUnavailableRollsBack) {
  prometheus::WriteRequest req;
  AddSeries(&req, "m", "a", 4);
  RecordingAppender app;
  app.append_hook = [](const Labels&, int64_t t_ms, double) {
    return t_ms == 3000 ? Status::Unavailable("shutting down") : Status::OK();
  };
  WriteStats stats;
  Status st = HandleRemoteWrite(Encode(req), RemoteWriteOptions{}, &app, &stats);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ(app.rollback_calls, 1);
  EXPECT_EQ(app.commit_calls, 0);
  EXPECT_TRUE(app.committed_samples.empty());
  EXPECT_EQ(stats.samples, 0u);
}

TEST(RemoteWriteTest, CommitFailureIsReturnedAsIs) {
  prometheus::WriteRequest req;
  AddSeries(&req, "m", "a", 2);
  RecordingAppender app;
  app.commit_status = Status::IOError("disk full");
  WriteStats stats;
  Status st = HandleRemoteWrite(Encode(req), RemoteWriteOptions{}, &app, &stats);
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_EQ(st.message(), "disk full");
  EXPECT_EQ(stats.samples, 0u);
}

// A native histogram as Prometheus' remote-write sender encodes it: schema 0, zero bucket,
// positive buckets (0.5,1]:2 (1,2]:1 in one span, one negative bucket [-2,-1):1.
prometheus::Histogram* AddNativeHistogram(prometheus::TimeSeries* ts, int64_t t_ms) {
  prometheus::Histogram* h = ts->add_histograms();
  h->set_count_int(5);
  h->set_sum(1.5);
  h->set_schema(0);
  h->set_zero_threshold(0.001);
  h->set_zero_count_int(1);
  prometheus::BucketSpan* ps = h->add_positive_spans();
  ps->set_offset(0);
  ps->set_length(2);
  h->add_positive_deltas(2);
  h->add_positive_deltas(-1);
  prometheus::BucketSpan* ns = h->add_negative_spans();
  ns->set_offset(1);
  ns->set_length(1);
  h->add_negative_deltas(1);
  h->set_reset_hint(prometheus::Histogram::NO);
  h->set_timestamp(t_ms);
  return h;
}

TEST(RemoteWriteTest, NativeHistogramsAreAppended) {
  prometheus::WriteRequest req;
  prometheus::TimeSeries* ts = AddSeries(&req, "rpc_duration_seconds", "a", 0);
  AddNativeHistogram(ts, 1000);
  // A float histogram (count_float), as sent for recording-rule results.
  prometheus::Histogram* f = ts->add_histograms();
  f->set_count_float(2.5);
  f->set_sum(3);
  f->set_schema(-53);
  f->add_custom_values(1);
  f->add_custom_values(10);
  prometheus::BucketSpan* sp = f->add_positive_spans();
  sp->set_length(3);
  f->add_positive_counts(0.5);
  f->add_positive_counts(2);
  f->add_positive_counts(0);
  f->set_reset_hint(prometheus::Histogram::GAUGE);
  f->set_timestamp(2000);
  RecordingAppender app;
  WriteStats stats;
  Status st = HandleRemoteWrite(Encode(req), RemoteWriteOptions{}, &app, &stats);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(stats.histograms, 2u);
  ASSERT_EQ(app.committed_histograms.size(), 2u);
  const auto& got = app.committed_histograms[0];
  EXPECT_EQ(got.labels, Labels::FromMap({{"__name__", "rpc_duration_seconds"}, {"instance", "a"}}));
  EXPECT_EQ(got.sample.t_ms, 1000);
  ASSERT_FALSE(got.sample.is_float());
  const IntHistogram& h = std::get<IntHistogram>(got.sample.value);
  EXPECT_EQ(h.counter_reset_hint, CounterResetHint::kNotCounterReset);
  EXPECT_EQ(h.String(), "{count:5, sum:1.5, [-2,-1):1, [-0.001,0.001]:1, (0.5,1]:2, (1,2]:1}");
  ASSERT_TRUE(app.committed_histograms[1].sample.is_float());
  const FloatHistogram& fh = std::get<FloatHistogram>(app.committed_histograms[1].sample.value);
  EXPECT_EQ(fh.TestExpression(),
            "{{schema:-53 count:2.5 sum:3 custom_values:[1 10] counter_reset_hint:gauge "
            "buckets:[0.5 2]}}");
}

TEST(RemoteWriteTest, InvalidNativeHistogramsAreRejectedWithPrometheusMessages) {
  prometheus::WriteRequest req;
  prometheus::TimeSeries* ts = AddSeries(&req, "h", "a", 1);
  prometheus::Histogram* bad = AddNativeHistogram(ts, 1000);
  bad->set_count_int(9);  // buckets hold 5
  prometheus::Histogram* schema = AddNativeHistogram(ts, 2000);
  schema->set_schema(60);
  AddNativeHistogram(ts, 3000);  // fine
  RecordingAppender app;
  WriteStats stats;
  Status st = HandleRemoteWrite(Encode(req), RemoteWriteOptions{}, &app, &stats);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(),
              HasSubstr("5 observations found in buckets, but the Count field is 9"));
  EXPECT_THAT(st.message(), HasSubstr("(and 1 more rejected)"));
  EXPECT_EQ(stats.samples, 1u);
  EXPECT_EQ(stats.histograms, 1u);
  EXPECT_EQ(stats.rejected, 2u);
}

TEST(RemoteWriteTest, HighResolutionSchemasAreReducedToEight) {
  prometheus::WriteRequest req;
  prometheus::TimeSeries* ts = AddSeries(&req, "h", "a", 0);
  prometheus::Histogram* h = ts->add_histograms();
  h->set_count_int(4);
  h->set_schema(10);
  prometheus::BucketSpan* ps = h->add_positive_spans();
  ps->set_offset(1);
  ps->set_length(4);
  for (int i = 0; i < 4; ++i) h->add_positive_deltas(i == 0 ? 1 : 0);
  RecordingAppender app;
  ASSERT_TRUE(HandleRemoteWrite(Encode(req), RemoteWriteOptions{}, &app, nullptr).ok());
  ASSERT_EQ(app.committed_histograms.size(), 1u);
  const IntHistogram& got = std::get<IntHistogram>(app.committed_histograms[0].sample.value);
  EXPECT_EQ(got.schema, 8);
  EXPECT_EQ(got.positive_buckets, (std::vector<int64_t>{4}));
}

TEST(RemoteWriteTest, EmptyLabelValuesAreDropped) {
  prometheus::WriteRequest req;
  prometheus::TimeSeries* ts = AddSeries(&req, "m", "a", 1);
  AddLabel(ts, "zone", "");
  RecordingAppender app;
  ASSERT_TRUE(HandleRemoteWrite(Encode(req), RemoteWriteOptions{}, &app, nullptr).ok());
  ASSERT_EQ(app.committed_samples.size(), 1u);
  EXPECT_EQ(app.committed_samples[0].labels,
            Labels::FromMap({{"__name__", "m"}, {"instance", "a"}}));
}

// Bytes encoded by hand from the upstream field numbers (prompb/types.proto, remote.proto), not
// by our generated code: proves that our .proto files match the wire format senders use.
TEST(RemoteWriteTest, DecodesHandEncodedUpstreamWireFormat) {
  const std::string raw(
      "\x0a\x41\x0a\x0e\x0a\x08\x5f\x5f\x6e\x61\x6d\x65\x5f\x5f\x12\x02\x75\x70\x0a\x0b\x0a\x03"
      "\x6a\x6f\x62\x12\x04\x6e\x6f\x64\x65\x12\x10\x09\x00\x00\x00\x00\x00\x00\xf0\x3f\x10\x80"
      "\xd0\x95\xff\xbc\x31\x12\x10\x09\x00\x00\x00\x00\x00\x00\x00\x00\x10\x98\xc5\x96\xff\xbc"
      "\x31\x0a\x52\x0a\x08\x0a\x03\x6a\x6f\x62\x12\x01\x78\x0a\x15\x0a\x08\x5f\x5f\x6e\x61\x6d"
      "\x65\x5f\x5f\x12\x09\x72\x70\x63\x5f\x74\x6f\x74\x61\x6c\x12\x0c\x09\x00\x00\x00\x00\x00"
      "\x00\x14\x40\x10\xe8\x07\x1a\x21\x0a\x0f\x0a\x08\x74\x72\x61\x63\x65\x5f\x69\x64\x12\x03"
      "\x61\x62\x63\x11\x00\x00\x00\x00\x00\x00\xe0\x3f\x18\xe8\xd7\x95\xff\xbc\x31\x1a\x14\x08"
      "\x01\x12\x09\x72\x70\x63\x5f\x74\x6f\x74\x61\x6c\x22\x05\x52\x50\x43\x73\x2e",
      173);
  RecordingAppender app;
  WriteStats stats;
  Status st = HandleRemoteWrite(Compress(raw), RemoteWriteOptions{}, &app, &stats);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(stats.samples, 3u);
  auto up = app.SamplesOf(Labels::FromMap({{"__name__", "up"}, {"job", "node"}}));
  ASSERT_EQ(up.size(), 2u);
  EXPECT_EQ(up[0].t_ms, 1700000000000);
  EXPECT_EQ(up[0].v, 1.0);
  EXPECT_EQ(up[1].t_ms, 1700000015000);
  auto rpc = app.SamplesOf(Labels::FromMap({{"__name__", "rpc_total"}, {"job", "x"}}));
  ASSERT_EQ(rpc.size(), 1u);
  EXPECT_EQ(rpc[0].v, 5.0);
  EXPECT_EQ(rpc[0].t_ms, 1000);
  ASSERT_EQ(app.committed_exemplars.size(), 1u);
  EXPECT_EQ(app.committed_exemplars[0].exemplar.labels.Get("trace_id"), "abc");
  EXPECT_EQ(app.committed_exemplars[0].exemplar.value, 0.5);
  EXPECT_EQ(app.committed_exemplars[0].exemplar.t_ms, 1700000001000);
  ASSERT_EQ(app.committed_metadata.size(), 1u);
  EXPECT_EQ(app.committed_metadata[0].metric_family, "rpc_total");
  EXPECT_EQ(app.committed_metadata[0].type, MetricType::kCounter);
  EXPECT_EQ(app.committed_metadata[0].help, "RPCs.");
}

}  // namespace
}  // namespace argus::ingest
