#include "tracestore/otlp_wire.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "tracestore/test_util.h"

namespace argus::tracestore {
namespace {

namespace otlp = opentelemetry::proto;
using testing::Id;
using testing::OneSpan;

// A span with every field trace.proto has, nested values included.
otlp::trace::v1::Span FullSpan() {
  otlp::trace::v1::TracesData td = OneSpan(Id(1), 2, 1, "cart", "POST /cart", 100, 250);
  otlp::trace::v1::Span s = td.resource_spans(0).scope_spans(0).spans(0);
  s.set_trace_state("k=v");
  s.set_flags(0x101);
  s.set_dropped_attributes_count(3);
  s.mutable_status()->set_code(otlp::trace::v1::Status::STATUS_CODE_ERROR);
  s.mutable_status()->set_message("boom");
  auto* e = s.add_events();
  e->set_name("exception");
  e->set_time_unix_nano(120);
  auto* ea = e->add_attributes();
  ea->set_key("exception.message");
  ea->mutable_value()->set_string_value("nil pointer");
  auto* l = s.add_links();
  l->set_trace_id(Id(9));
  l->set_span_id(Id(9, 8));
  auto* arr = s.add_attributes();
  arr->set_key("list");
  arr->mutable_value()->mutable_array_value()->add_values()->set_double_value(1.5);
  auto* kvl = s.add_attributes();
  kvl->set_key("map");
  auto* inner = kvl->mutable_value()->mutable_kvlist_value()->add_values();
  inner->set_key("a");
  inner->mutable_value()->set_bytes_value(std::string("\xff\x00", 2));
  return s;
}

TEST(OtlpWireTest, ReadSpanMatchesProtobuf) {
  otlp::trace::v1::Span s = FullSpan();
  SpanView v;
  std::string bytes = s.SerializeAsString();  // the views point into it
  ASSERT_TRUE(ReadSpan(bytes, &v));
  EXPECT_EQ(v.trace_id, s.trace_id());
  EXPECT_EQ(v.span_id, s.span_id());
  EXPECT_EQ(v.parent_span_id, s.parent_span_id());
  EXPECT_EQ(v.name, "POST /cart");
  EXPECT_EQ(v.kind, otlp::trace::v1::Span::SPAN_KIND_SERVER);
  EXPECT_EQ(v.start_time_unix_nano, 100u);
  EXPECT_EQ(v.end_time_unix_nano, 250u);
  EXPECT_TRUE(v.has_status);
  EXPECT_EQ(v.status_code, otlp::trace::v1::Status::STATUS_CODE_ERROR);
  EXPECT_EQ(v.status_message, "boom");
  SpanView empty;
  ASSERT_TRUE(ReadSpan("", &empty));
  EXPECT_FALSE(empty.has_status);
  EXPECT_TRUE(empty.name.empty());
}

TEST(OtlpWireTest, ForEachSpanVisitsEverySpanWithItsResource) {
  otlp::trace::v1::TracesData td = OneSpan(Id(1), 1, -1, "frontend", "GET /", 1, 9);
  td.MergeFrom(OneSpan(Id(1), 2, 1, "cart", "POST /cart", 2, 8));
  *td.mutable_resource_spans(1)->mutable_scope_spans(0)->add_spans() = FullSpan();
  std::vector<std::string> seen;
  std::string bytes = td.SerializeAsString();
  ASSERT_TRUE(ForEachSpan(bytes, [&](std::string_view res, std::string_view span,
                                                     const SpanView& v) {
    otlp::trace::v1::Span parsed;
    EXPECT_TRUE(parsed.ParseFromArray(span.data(), static_cast<int>(span.size())));
    EXPECT_EQ(parsed.name(), v.name);
    seen.push_back(std::string(ResourceAttribute(res, "service.name")) + "/" + std::string(v.name));
  }));
  EXPECT_EQ(seen, (std::vector<std::string>{"frontend/GET /", "cart/POST /cart", "cart/POST /cart"}));
  EXPECT_FALSE(ForEachSpan("\x0a\x05\x12", [](auto, auto, const auto&) {}));
}

TEST(OtlpWireTest, ResourceAttributeTakesTheLastStringValue) {
  otlp::resource::v1::Resource r;
  auto* a = r.add_attributes();
  a->set_key("service.name");
  a->mutable_value()->set_string_value("old");
  auto* b = r.add_attributes();
  b->set_key("service.name");
  b->mutable_value()->set_string_value("new");
  auto* c = r.add_attributes();
  c->set_key("port");
  c->mutable_value()->set_int_value(80);
  std::string bytes = r.SerializeAsString();
  EXPECT_EQ(ResourceAttribute(bytes, "service.name"), "new");
  EXPECT_EQ(ResourceAttribute(bytes, "port"), "");
  EXPECT_EQ(ResourceAttribute(bytes, "absent"), "");
}

// Whatever protobuf's parser refuses, the validators refuse too (stored bytes must parse
// later): single-byte corruptions and truncations of a full span, differentially.
TEST(OtlpWireTest, ValidSpanRefusesWhatProtobufRefuses) {
  std::string good = FullSpan().SerializeAsString();
  ASSERT_TRUE(ValidSpan(good));
  std::mt19937 rng(1);
  int refused_by_protobuf = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bad = good;
    if (i % 4 == 0) {
      bad.resize(rng() % bad.size());
    } else {
      bad[rng() % bad.size()] = static_cast<char>(rng());
    }
    otlp::trace::v1::Span parsed;
    bool pb = parsed.ParseFromString(bad);
    if (!pb) {
      ++refused_by_protobuf;
      EXPECT_FALSE(ValidSpan(bad)) << "protobuf refuses what ValidSpan accepts, case " << i;
    }
  }
  EXPECT_GT(refused_by_protobuf, 1000);
  std::string bad_utf8 = good;
  size_t at = bad_utf8.find("nil pointer");
  ASSERT_NE(at, std::string::npos);
  bad_utf8[at] = '\xc3';
  EXPECT_FALSE(ValidSpan(bad_utf8));
  otlp::resource::v1::Resource r;
  r.add_attributes()->set_key("k");
  std::string rb = r.SerializeAsString();
  EXPECT_TRUE(ValidResource(rb));
  EXPECT_FALSE(ValidResource(rb.substr(0, rb.size() - 1)));
  EXPECT_TRUE(ValidScope(""));
}

}  // namespace
}  // namespace argus::tracestore
