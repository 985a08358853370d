#include "ingest/zipkin.h"

#include <gtest/gtest.h>

namespace argus::ingest {
namespace {

TEST(ZipkinTest, MapsSpansToOtlp) {
  auto r = ParseZipkinV2(R"([
    {"traceId":"5af7183fb1d4cf5f","id":"352bff9a74ca9ad2","name":"get /api","kind":"SERVER",
     "timestamp":1556604172355737,"duration":1431,
     "localEndpoint":{"serviceName":"backend","ipv4":"192.168.99.1"},
     "remoteEndpoint":{"serviceName":"frontend"},
     "tags":{"http.method":"GET","error":"boom"},
     "annotations":[{"timestamp":1556604172355800,"value":"ws"}]},
    {"traceId":"5af7183fb1d4cf5f6b5a2b1c3d4e5f60","id":"1","parentId":"352bff9a74ca9ad2",
     "name":"db","localEndpoint":{"serviceName":"backend"}},
    {"traceId":"aa","id":"2","localEndpoint":{"serviceName":"other"}, "kind":"CLIENT"}])");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->resource_spans_size(), 2);
  const auto& rs = r->resource_spans(0);
  EXPECT_EQ(rs.resource().attributes(0).value().string_value(), "backend");
  ASSERT_EQ(rs.scope_spans(0).spans_size(), 2);
  const auto& s = rs.scope_spans(0).spans(0);
  EXPECT_EQ(s.trace_id(), std::string(8, '\0') + "\x5a\xf7\x18\x3f\xb1\xd4\xcf\x5f");
  EXPECT_EQ(s.span_id(), "\x35\x2b\xff\x9a\x74\xca\x9a\xd2");
  EXPECT_EQ(s.kind(), opentelemetry::proto::trace::v1::Span::SPAN_KIND_SERVER);
  EXPECT_EQ(s.start_time_unix_nano(), 1556604172355737000u);
  EXPECT_EQ(s.end_time_unix_nano() - s.start_time_unix_nano(), 1431000u);
  EXPECT_EQ(s.status().code(), opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
  EXPECT_EQ(s.status().message(), "boom");
  ASSERT_EQ(s.events_size(), 1);
  EXPECT_EQ(s.events(0).name(), "ws");
  bool peer = false;
  for (const auto& kv : s.attributes()) peer |= kv.key() == "peer.service" && kv.value().string_value() == "frontend";
  EXPECT_TRUE(peer);
  const auto& child = rs.scope_spans(0).spans(1);
  EXPECT_EQ(child.parent_span_id(), s.span_id());
  EXPECT_EQ(child.span_id(), std::string(7, '\0') + "\x01");
  EXPECT_EQ(child.kind(), opentelemetry::proto::trace::v1::Span::SPAN_KIND_INTERNAL);
  EXPECT_EQ(r->resource_spans(1).scope_spans(0).spans(0).kind(),
            opentelemetry::proto::trace::v1::Span::SPAN_KIND_CLIENT);
}

TEST(ZipkinTest, BadInputIsInvalidArgument) {
  for (const char* bad : {"", "{}", "[1]", R"([{"id":"1"}])", R"([{"traceId":"zz","id":"1"}])",
                          R"([{"traceId":"1","id":"123456789012345678"}])",
                          R"([{"traceId":"1","id":"1","kind":"SIDEWAYS"}])",
                          R"([{"traceId":"1","id":"1","timestamp":"soon"}])",
                          R"([{"traceId":"1","id":"1","tags":{"a":1}}])", "[{"}) {
    EXPECT_EQ(ParseZipkinV2(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace argus::ingest
