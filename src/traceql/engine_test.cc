#include "traceql/engine.h"

#include <gtest/gtest.h>

#include <set>

#include "traceql/parser.h"

namespace argus::traceql {
namespace {

namespace otlp = opentelemetry::proto;

// A three-service trace:
//   frontend "GET /" (server, 100ms)
//     frontend "call-cart" (client, 60ms)
//       cart "POST /cart" (server, 55ms, error, http.status_code=500, event "exception")
//         cart "db.query" (client, 10ms, db.system=redis)
//     frontend "call-auth" (client, 50ms)
//       auth "auth" (server, 45ms)
std::string Trace() {
  otlp::trace::v1::TracesData td;
  std::string trace(16, '\x42');
  auto span_id = [](int n) { return std::string(7, '\x01') + static_cast<char>(n); };
  struct S {
    int id, parent;
    const char* service;
    const char* name;
    int kind;
    int ms;
  };
  const S spans[] = {{1, 0, "frontend", "GET /", 2, 100},   {2, 1, "frontend", "call-cart", 3, 60},
                     {3, 2, "cart", "POST /cart", 2, 55},   {4, 3, "cart", "db.query", 3, 10},
                     {5, 1, "frontend", "call-auth", 3, 50}, {6, 5, "auth", "auth", 2, 45}};
  for (const S& s : spans) {
    auto* rs = td.add_resource_spans();
    auto* kv = rs->mutable_resource()->add_attributes();
    kv->set_key("service.name");
    kv->mutable_value()->set_string_value(s.service);
    auto* ss = rs->add_scope_spans();
    ss->mutable_scope()->set_name("lib");
    auto* sp = ss->add_spans();
    sp->set_trace_id(trace);
    sp->set_span_id(span_id(s.id));
    if (s.parent) sp->set_parent_span_id(span_id(s.parent));
    sp->set_name(s.name);
    sp->set_kind(static_cast<otlp::trace::v1::Span::SpanKind>(s.kind));
    uint64_t start = 1'000'000'000ULL + static_cast<uint64_t>(s.id) * 1'000'000ULL;
    sp->set_start_time_unix_nano(start);
    sp->set_end_time_unix_nano(start + static_cast<uint64_t>(s.ms) * 1'000'000ULL);
    if (s.id == 3) {
      sp->mutable_status()->set_code(otlp::trace::v1::Status::STATUS_CODE_ERROR);
      auto* a = sp->add_attributes();
      a->set_key("http.status_code");
      a->mutable_value()->set_int_value(500);
      sp->add_events()->set_name("exception");
    }
    if (s.id == 4) {
      auto* a = sp->add_attributes();
      a->set_key("db.system");
      a->mutable_value()->set_string_value("redis");
    }
  }
  return td.SerializeAsString();
}

std::set<std::string> MatchingSpans(const std::string& query) {
  auto q = ParseAndValidate(query);
  EXPECT_TRUE(q.ok()) << query << ": " << q.status().ToString();
  if (!q.ok()) return {"<error>"};
  auto t = TraceView::Parse(Trace());
  EXPECT_TRUE(t.ok());
  auto r = EvaluateSearch(**q, **t);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  std::set<std::string> names;
  for (const Spanset& ss : *r) {
    for (int i : ss.spans) names.insert((*t)->spans()[i].span->name());
  }
  return names;
}

struct Case {
  const char* query;
  std::set<std::string> spans;
};

TEST(EngineTest, Constructs) {
  const std::set<std::string> all = {"GET /", "call-cart", "POST /cart", "db.query", "call-auth", "auth"};
  const Case cases[] = {
      {"{ resource.service.name = \"cart\" }", {"POST /cart", "db.query"}},
      {"{ span.http.status_code >= 500 }", {"POST /cart"}},
      {"{ .http.status_code = 500 }", {"POST /cart"}},
      {"{ .service.name = \"auth\" }", {"auth"}},  // unscoped falls back to the resource
      {"{ span.service.name = \"auth\" }", {}},
      {"{ status = error }", {"POST /cart"}},
      {"{ span:status != error && kind = server }", {"GET /", "auth"}},
      {"{ kind = client }", {"call-cart", "db.query", "call-auth"}},
      {"{ name =~ \"call-.*\" }", {"call-cart", "call-auth"}},
      {"{ name =~ \"call\" }", {}},  // fully anchored
      {"{ name !~ \"call-.*|auth\" }", {"GET /", "POST /cart", "db.query"}},
      {"{ duration > 50ms }", {"GET /", "call-cart", "POST /cart"}},
      {"{ duration >= 50ms && duration < 0.06s }", {"POST /cart", "call-auth"}},
      {"{ .db.system != nil }", {"db.query"}},
      {"{ !(kind = client) }", {"GET /", "POST /cart", "auth"}},
      {"{ span.http.status_code - 100 = 400 }", {"POST /cart"}},
      {"{ span:childCount = 2 }", {"GET /"}},
      {"{ trace:rootService = \"frontend\" && kind = server }", {"GET /", "POST /cart", "auth"}},
      {"{ trace:rootName = \"GET /\" && trace:duration > 90ms && name = \"auth\" }", {"auth"}},
      {"{ event:name = \"exception\" }", {"POST /cart"}},
      {"{ instrumentation:name = \"lib\" && name = \"auth\" }", {"auth"}},
      {"{ resource.service.name = \"frontend\" } > { kind = server }", {"POST /cart", "auth"}},
      {"{ resource.service.name = \"frontend\" } >> { resource.service.name = \"cart\" }",
       {"POST /cart", "db.query"}},
      {"{ kind = server } < { kind = client }", {"call-cart", "call-auth"}},
      {"{ name = \"db.query\" } << { kind = server }", {"GET /", "POST /cart"}},
      {"{ name = \"call-cart\" } ~ { kind = client }", {"call-auth"}},
      {"{ resource.service.name = \"frontend\" } !> { kind = server }", {"GET /"}},
      {"{ name = \"db.query\" } !<< { kind = server }", {"auth"}},
      {"{ name = \"call-cart\" } !~ { kind = client }", {"call-cart", "db.query"}},
      {"{ name = \"POST /cart\" } &> { name = \"db.query\" }", {"POST /cart", "db.query"}},
      {"{ name = \"GET /\" } &>> { status = error }", {"GET /", "POST /cart"}},
      {"{ status = error } && { name = \"auth\" }", {"POST /cart", "auth"}},
      {"{ status = error } && { name = \"nope\" }", {}},
      {"{ status = error } || { name = \"auth\" }", {"POST /cart", "auth"}},
      {"{} | count() > 5", all},
      {"{ kind = client } | count() > 3", {}},
      {"{ kind = server } | avg(duration) > 60ms", {"GET /", "POST /cart", "auth"}},
      {"{ kind = server } | max(duration) <= 100ms", {"GET /", "POST /cart", "auth"}},
      {"{ kind = server } | sum(duration) = 200ms", {"GET /", "POST /cart", "auth"}},
      {"{ kind = server } | min(duration) < 45ms", {}},
      {"{} | by(resource.service.name) | count() > 1",
       {"GET /", "call-cart", "call-auth", "POST /cart", "db.query"}},
      {"{} | by(resource.service.name) | count() = 1", {"auth"}},
      {"{} | by(resource.service.name) | count() > 1 | coalesce()",
       {"GET /", "call-cart", "call-auth", "POST /cart", "db.query"}},
      {"{ kind = server } | select(span.http.status_code)", {"GET /", "POST /cart", "auth"}},
      {"({ kind = server } | count() > 2) && ({ status = error })", {"GET /", "POST /cart", "auth"}},
      {"({ kind = server } | count() > 3) || ({ status = error })", {"POST /cart"}},
      {"{ kind = server } | { status = error }", {"POST /cart"}},
      {"{ true } && { false }", {}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MatchingSpans(c.query), c.spans) << c.query;
  }
}

TEST(EngineTest, TraceViewStructure) {
  auto t = TraceView::Parse(Trace());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->root_service(), "frontend");
  EXPECT_EQ((*t)->root_name(), "GET /");
  EXPECT_EQ((*t)->end_unix_nano() - (*t)->start_unix_nano(), 100'000'000u);
  const auto& s = (*t)->spans();
  EXPECT_EQ(s[0].nested_left, 1);
  EXPECT_EQ(s[0].nested_right, 12);
  EXPECT_EQ(s[3].parent, 2);
  EXPECT_EQ(TraceView::Parse("\xff\xff").status().code(), StatusCode::kCorruption);
  auto q = Parse("{} | rate()");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(EvaluateSearch(**q, **t).status().code(), StatusCode::kInvalidArgument);
}

TEST(EngineTest, ReferencedAttributes) {
  auto q = ParseAndValidate("{ span.a = 1 && resource.b = 2 } | by(span.a) | select(name)");
  ASSERT_TRUE(q.ok());
  auto attrs = ReferencedAttributes(**q);
  ASSERT_EQ(attrs.size(), 3u);
  EXPECT_EQ(attrs[0].ToString(), "span.a");
  EXPECT_EQ(attrs[1].ToString(), "resource.b");
  EXPECT_EQ(attrs[2].ToString(), "name");
}

}  // namespace
}  // namespace argus::traceql
