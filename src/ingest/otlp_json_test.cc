#include "ingest/otlp_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace argus::ingest {
namespace {

using ::opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
using ::opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using ::testing::HasSubstr;

// An OTLP/JSON metrics request as an SDK exporter sends it: lowerCamelCase keys, hex IDs,
// 64-bit integers as strings, enums as integers, plus a field from a future OTLP version.
constexpr std::string_view kMetricsJson = R"json({
  "resourceMetrics": [{
    "resource": {"attributes": [
      {"key": "service.name", "value": {"stringValue": "checkout"}},
      {"key": "host.cores", "value": {"intValue": "8"}}
    ]},
    "scopeMetrics": [{
      "scope": {"name": "io.example", "version": "1.2.0"},
      "metrics": [{
        "name": "http.server.requests",
        "unit": "{request}",
        "futureField": {"ignored": true},
        "sum": {
          "aggregationTemporality": 2,
          "isMonotonic": true,
          "dataPoints": [{
            "attributes": [{"key": "http.method", "value": {"stringValue": "GET"}}],
            "startTimeUnixNano": "1700000000000000000",
            "timeUnixNano": 1700000060000000000,
            "asInt": "42",
            "exemplars": [{
              "timeUnixNano": "1700000059000000000",
              "asDouble": 0.5,
              "traceId": "5B8EFFF798038103D269B633813FC60C",
              "spanId" : "eee19b7ec3c1b174"
            }]
          }]
        }
      }]
    }]
  }]
})json";

TEST(OtlpJsonTest, ParsesMetricsRequestWithHexIds) {
  ExportMetricsServiceRequest req;
  Status st = ParseOtlpJson(kMetricsJson, &req);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(req.resource_metrics_size(), 1);
  const auto& rm = req.resource_metrics(0);
  EXPECT_EQ(rm.resource().attributes(1).value().int_value(), 8);
  const auto& m = rm.scope_metrics(0).metrics(0);
  EXPECT_EQ(m.name(), "http.server.requests");
  ASSERT_TRUE(m.has_sum());
  EXPECT_EQ(m.sum().aggregation_temporality(),
            opentelemetry::proto::metrics::v1::AGGREGATION_TEMPORALITY_CUMULATIVE);
  EXPECT_TRUE(m.sum().is_monotonic());
  const auto& p = m.sum().data_points(0);
  EXPECT_EQ(p.as_int(), 42);
  EXPECT_EQ(p.time_unix_nano(), 1700000060000000000ull);
  EXPECT_EQ(p.start_time_unix_nano(), 1700000000000000000ull);
  const auto& e = p.exemplars(0);
  const std::string want_trace = {'\x5b', '\x8e', '\xff', '\xf7', '\x98', '\x03', '\x81', '\x03',
                                  '\xd2', '\x69', '\xb6', '\x33', '\x81', '\x3f', '\xc6', '\x0c'};
  EXPECT_EQ(e.trace_id(), want_trace);
  EXPECT_EQ(e.span_id(), std::string("\xee\xe1\x9b\x7e\xc3\xc1\xb1\x74", 8));
  EXPECT_DOUBLE_EQ(e.as_double(), 0.5);
}

TEST(OtlpJsonTest, ParsesTraceIdsIncludingParentAndLinks) {
  constexpr std::string_view kJson = R"({"resourceSpans":[{"scopeSpans":[{"spans":[{
      "traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"1112131415161718",
      "parentSpanId":"","name":"GET /","kind":2,
      "links":[{"traceId":"ffffffffffffffffffffffffffffffff","spanId":"0000000000000001"}]
  }]}]}]})";
  ExportTraceServiceRequest req;
  Status st = ParseOtlpJson(kJson, &req);
  ASSERT_TRUE(st.ok()) << st.ToString();
  const auto& span = req.resource_spans(0).scope_spans(0).spans(0);
  EXPECT_EQ(span.trace_id().size(), 16u);
  EXPECT_EQ(span.trace_id()[15], '\x10');
  EXPECT_EQ(span.span_id(), "\x11\x12\x13\x14\x15\x16\x17\x18");
  EXPECT_TRUE(span.parent_span_id().empty());
  EXPECT_EQ(span.kind(), opentelemetry::proto::trace::v1::Span::SPAN_KIND_SERVER);
  EXPECT_EQ(span.links(0).trace_id(), std::string(16, '\xff'));
  EXPECT_EQ(span.links(0).span_id(), std::string("\0\0\0\0\0\0\0\x01", 8));
}

TEST(OtlpJsonTest, AttributeValuesNamedLikeIdsAreNotRewritten) {
  // "traceId" as an attribute key is a JSON *value*; "spanId" inside a string too.
  constexpr std::string_view kJson = R"({"resourceSpans":[{"resource":{"attributes":[
      {"key":"traceId","value":{"stringValue":"zz \"spanId\": \"q\""}}]}}]})";
  ExportTraceServiceRequest req;
  Status st = ParseOtlpJson(kJson, &req);
  ASSERT_TRUE(st.ok()) << st.ToString();
  const auto& attr = req.resource_spans(0).resource().attributes(0);
  EXPECT_EQ(attr.key(), "traceId");
  EXPECT_EQ(attr.value().string_value(), "zz \"spanId\": \"q\"");
}

TEST(OtlpJsonTest, RewriteTurnsHexIntoBase64) {
  Result<std::string> out = RewriteOtlpJsonIds(R"({"spanId" : "00ff10", "x": "00ff10"})");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, R"({"spanId" : "AP8Q", "x": "00ff10"})");
  Result<std::string> snake = RewriteOtlpJsonIds(R"({"trace_id":"ab"})");
  ASSERT_TRUE(snake.ok());
  EXPECT_EQ(*snake, R"({"trace_id":"qw=="})");
}

TEST(OtlpJsonTest, BadHexIsInvalidArgument) {
  ExportTraceServiceRequest req;
  Status odd =
      ParseOtlpJson(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abc"}]}]}]})", &req);
  EXPECT_EQ(odd.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(odd.message(), HasSubstr("traceId"));
  Status not_hex = ParseOtlpJson(
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"zzzzzzzzzzzzzzzz"}]}]}]})", &req);
  EXPECT_EQ(not_hex.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(not_hex.message(), HasSubstr("not a hex string"));
}

TEST(OtlpJsonTest, MalformedJsonIsInvalidArgument) {
  ExportMetricsServiceRequest req;
  EXPECT_EQ(ParseOtlpJson(R"({"resourceMetrics": [)", &req).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseOtlpJson(R"({"resourceMetrics": "nope"})", &req).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseOtlpJson(R"({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": 7)", &req)
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(OtlpJsonTest, EmptyObjectIsAnEmptyRequest) {
  ExportMetricsServiceRequest req;
  req.add_resource_metrics();
  ASSERT_TRUE(ParseOtlpJson("{}", &req).ok());
  EXPECT_EQ(req.resource_metrics_size(), 0);
}

}  // namespace
}  // namespace argus::ingest
