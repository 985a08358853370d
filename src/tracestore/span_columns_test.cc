#include "tracestore/span_columns.h"

#include <gtest/gtest.h>

#include "tracestore/test_util.h"

namespace argus::tracestore {
namespace {

namespace otlp = opentelemetry::proto;
using testing::Id;

void Str(otlp::trace::v1::Span* s, const std::string& k, const std::string& v) {
  auto* kv = s->add_attributes();
  kv->set_key(k);
  kv->mutable_value()->set_string_value(v);
}

// A trace that uses every field the columns hold and the rarer ones they leave to extras.
otlp::trace::v1::TracesData RichTrace(const std::string& trace) {
  otlp::trace::v1::TracesData td;
  for (int r = 0; r < 2; ++r) {
    auto* rs = td.add_resource_spans();
    rs->set_schema_url(r ? "https://opentelemetry.io/schemas/1.21.0" : "");
    auto* kv = rs->mutable_resource()->add_attributes();
    kv->set_key("service.name");
    kv->mutable_value()->set_string_value(r ? "back" : "front");
    rs->mutable_resource()->set_dropped_attributes_count(r);
    for (int sc = 0; sc < 2; ++sc) {
      auto* ss = rs->add_scope_spans();
      ss->mutable_scope()->set_name("lib" + std::to_string(sc));
      ss->mutable_scope()->set_version("1.0");
      for (int i = 0; i < 3; ++i) {
        int n = r * 6 + sc * 3 + i;
        auto* s = ss->add_spans();
        s->set_trace_id(trace);
        s->set_span_id(Id(n + 1, 8));
        if (n == 1) s->set_parent_span_id(Id(99, 8));  // a parent the trace does not have
        if (n > 1) s->set_parent_span_id(Id(n, 8));     // the previous span
        if (n == 4) s->set_parent_span_id(Id(12, 8));   // a parent that comes later
        s->set_name(n % 2 ? "GET /x" : "work");
        s->set_kind(static_cast<otlp::trace::v1::Span::SpanKind>(n % 6));
        s->set_start_time_unix_nano(1'700'000'000'000'000'000ULL + 1000 * static_cast<uint64_t>(12 - n));
        // One span ends before it starts: the columns keep what was sent.
        s->set_end_time_unix_nano(n == 5 ? s->start_time_unix_nano() - 7 : s->start_time_unix_nano() + 5000 * n);
        Str(s, "http.method", n % 3 ? "GET" : "POST");
        auto* code = s->add_attributes();
        code->set_key("http.status_code");
        code->mutable_value()->set_int_value(n == 7 ? -500 : 200);
        if (n % 2) {
          auto* d = s->add_attributes();
          d->set_key("ratio");
          d->mutable_value()->set_double_value(0.25 * n);
          auto* b = s->add_attributes();
          b->set_key("cached");
          b->mutable_value()->set_bool_value(n % 4 == 1);
        }
        if (n == 3) {
          auto* arr = s->add_attributes();
          arr->set_key("tags");
          arr->mutable_value()->mutable_array_value()->add_values()->set_string_value("a");
          auto* bytes = s->add_attributes();
          bytes->set_key("blob");
          bytes->mutable_value()->set_bytes_value(std::string("\0\1\2", 3));
          Str(s, "http.method", "DUPLICATE");  // a key twice in one span
          auto* e = s->add_attributes();  // an empty value (a missing one is stored as empty)
          e->set_key("empty");
          e->mutable_value();
        }
        if (n == 2) {
          s->mutable_status()->set_code(otlp::trace::v1::Status::STATUS_CODE_ERROR);
          s->mutable_status()->set_message("boom");
          auto* ev = s->add_events();
          ev->set_name("exception");
          ev->set_time_unix_nano(s->start_time_unix_nano() + 1);
          auto* l = s->add_links();
          l->set_trace_id(Id(77));
          l->set_span_id(Id(1, 8));
          s->set_trace_state("k=v");
          s->set_flags(257);
          s->set_dropped_attributes_count(3);
        }
        if (n == 6) s->mutable_status();  // present but empty
      }
    }
  }
  return td;
}

TEST(SpanColumnsTest, PageRoundTripIsExact) {
  Dictionary dict;
  PageBuilder pb(&dict);
  std::vector<otlp::trace::v1::TracesData> traces;
  for (int t = 0; t < 5; ++t) {
    traces.push_back(RichTrace(Id(t)));
    auto added = pb.AddTrace(Id(t), traces.back().SerializeAsString());
    ASSERT_TRUE(added.ok());
    TraceInfo info = *added;
    EXPECT_EQ(info.spans, 12u);
    EXPECT_EQ(dict.Str(info.root_service), "front");
    EXPECT_EQ(dict.Str(info.root_name), "work");
    EXPECT_EQ(info.start_unix_nano, 1'700'000'000'000'000'000ULL + 1000);
  }
  // A trace without spans and one without a root.
  otlp::trace::v1::TracesData empty;
  empty.add_resource_spans();
  traces.push_back(empty);
  EXPECT_EQ(pb.AddTrace(Id(5), empty.SerializeAsString())->spans, 0u);
  EXPECT_EQ(pb.AddTrace(Id(6), "\x0a\x05\x12").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(pb.num_spans(), 60u);
  std::string body = pb.Finish();
  EXPECT_EQ(pb.num_spans(), 0u);
  auto d = Dictionary::Decode(dict.Encode());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->size(), dict.size());
  EXPECT_EQ(d->Find("GET /x"), dict.Find("GET /x"));
  EXPECT_EQ(d->Find(""), 0);
  auto page = Page::Open(body);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ((*page)->num_traces(), 6u);
  for (size_t t = 0; t < traces.size(); ++t) {
    auto got = (*page)->Trace(t, Id(static_cast<int>(t)), *d);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, traces[t].SerializeAsString()) << "trace " << t;
  }
  // Search columns: rows of trace 1, names and attribute values.
  auto [first, last] = (*page)->TraceRows(1);
  EXPECT_EQ(first, 12u);
  EXPECT_EQ(last, 24u);
  ASSERT_TRUE((*page)->LoadCore().ok());
  EXPECT_EQ(d->Str((*page)->name(13)), "GET /x");
  EXPECT_EQ((*page)->status(14), 2);
  EXPECT_EQ((*page)->duration_nano(17), 0u);  // ends before it starts
  EXPECT_EQ((*page)->duration_nano(16), 20000u);
  auto codes = (*page)->Attribute(static_cast<uint32_t>(d->Find("http.status_code")));
  ASSERT_TRUE(codes.ok());
  ASSERT_EQ(codes->size(), 60u);
  EXPECT_EQ(static_cast<int64_t>((*codes)[7].bits), -500);
  auto none = (*page)->Attribute(12345);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(SpanColumnsTest, DamagedPagesAreCorruptionNotCrashes) {
  Dictionary dict;
  PageBuilder pb(&dict);
  otlp::trace::v1::TracesData td = RichTrace(Id(1));
  ASSERT_TRUE(pb.AddTrace(Id(1), td.SerializeAsString()).ok());
  std::string body = pb.Finish();
  auto d = Dictionary::Decode(dict.Encode());
  ASSERT_TRUE(d.ok());
  int corrupt = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    for (char flip : {'\x01', '\x80'}) {
      std::string bad = body;
      bad[i] ^= flip;
      auto p = Page::Open(bad);
      if (!p.ok()) {
        EXPECT_EQ(p.status().code(), StatusCode::kCorruption);
        ++corrupt;
        continue;
      }
      auto t = (*p)->Trace(0, Id(1), *d);  // either decodes or says Corruption
      if (!t.ok()) {
        EXPECT_EQ(t.status().code(), StatusCode::kCorruption);
        ++corrupt;
      }
    }
  }
  EXPECT_GT(corrupt, 0);
  for (size_t n = 0; n < body.size(); n += 7) {
    auto p = Page::Open(body.substr(0, n));
    if (p.ok()) {
      EXPECT_FALSE((*p)->Trace(0, Id(1), *d).ok());
    }
  }
  std::string dict_bytes = dict.Encode();
  EXPECT_EQ(Dictionary::Decode(dict_bytes.substr(0, dict_bytes.size() / 2)).status().code(),
            StatusCode::kCorruption);
}

}  // namespace
}  // namespace argus::tracestore

namespace argus::tracestore {
namespace {

// The builder's table grows through many rehashes and keeps every id.
TEST(DictionaryTest, InternKeepsIdsThroughGrowth) {
  Dictionary d;
  std::vector<uint32_t> ids;
  for (int i = 0; i < 100000; ++i) ids.push_back(d.Intern("user-" + std::to_string(i)));
  EXPECT_EQ(d.size(), 100001u);  // and ""
  for (int i = 0; i < 100000; i += 7) {
    std::string s = "user-" + std::to_string(i);
    EXPECT_EQ(d.Intern(s), ids[i]);
    EXPECT_EQ(d.Find(s), ids[i]);
    EXPECT_EQ(d.Str(ids[i]), s);
  }
  EXPECT_EQ(d.Find("absent"), -1);
  EXPECT_EQ(d.Intern(""), 0u);
  // The decoded dictionary's own table (fuller, without hashes) finds every id, and no other.
  auto back = Dictionary::Decode(d.Encode());
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), d.size());
  for (int i = 0; i < 100000; ++i) ASSERT_EQ(back->Find("user-" + std::to_string(i)), ids[i]) << i;
  EXPECT_EQ(back->Find(""), 0);
  for (int i = 100000; i < 101000; ++i) EXPECT_EQ(back->Find("user-" + std::to_string(i)), -1);
  EXPECT_EQ(back->Find("user-"), -1);
}

}  // namespace
}  // namespace argus::tracestore
