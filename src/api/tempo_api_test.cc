#include "api/tempo_api.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <set>

#include "traceql/engine.h"
#include "traceql/parser.h"

namespace argus::api {
namespace {

namespace otlp = opentelemetry::proto;

std::string Id(int n) {
  std::string id(16, '\0');
  id[15] = static_cast<char>(n);
  id[0] = 0x0a;
  return id;
}

// Trace n: frontend "GET /" (server) -> cart "POST /cart" (server, error if n is odd), started
// n seconds after 1700000000.
tracestore::TraceBatch MakeTrace(int n) {
  tracestore::TraceBatch b;
  otlp::trace::v1::TracesData td;
  b.trace_id = Id(n);
  uint64_t t0 = (1'700'000'000ULL + static_cast<uint64_t>(n)) * 1'000'000'000ULL;
  const char* services[] = {"frontend", "cart"};
  for (int k = 0; k < 2; ++k) {
    auto* rs = td.add_resource_spans();
    auto* kv = rs->mutable_resource()->add_attributes();
    kv->set_key("service.name");
    kv->mutable_value()->set_string_value(services[k]);
    auto* s = rs->add_scope_spans()->add_spans();
    s->set_trace_id(b.trace_id);
    s->set_span_id(std::string(7, '\x01') + static_cast<char>(k + 1));
    if (k == 1) s->set_parent_span_id(std::string(7, '\x01') + '\x01');
    s->set_name(k == 0 ? "GET /" : "POST /cart");
    s->set_kind(otlp::trace::v1::Span::SPAN_KIND_SERVER);
    s->set_start_time_unix_nano(t0 + static_cast<uint64_t>(k) * 1'000'000);
    s->set_end_time_unix_nano(t0 + (k == 0 ? 200'000'000ULL : 100'000'000ULL));
    auto* a = s->add_attributes();
    a->set_key("http.status_code");
    a->mutable_value()->set_int_value(k == 1 && n % 2 ? 500 : 200);
    if (k == 1 && n % 2) s->mutable_status()->set_code(otlp::trace::v1::Status::STATUS_CODE_ERROR);
  }
  b.spans = td.SerializeAsString();
  return b;
}

class TempoApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = ::testing::TempDir() + "/tempo_api_test_" +
        ::testing::UnitTest::GetInstance()->current_test_info()->name();  // tests run in parallel
    std::filesystem::remove_all(dir);
    tracestore::TraceStoreOptions o;
    o.wal_sync = wal::SyncPolicy::kNone;
    o.maintenance_interval_ms = 0;
    o.retention_ms = 0;
    auto s = tracestore::TraceStore::Open(dir, o);
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    for (int n = 1; n <= 4; ++n) {
      std::vector<tracestore::TraceBatch> v;
      v.push_back(MakeTrace(n));
      ASSERT_TRUE(store_->Append(std::move(v)).ok());
      if (n == 2) {
        ASSERT_TRUE(store_->Maintain(tracestore::NowMs(), true).ok());  // 1, 2 in a block
      }
    }
    api_ = std::make_unique<TempoApi>(store_.get(), BuildInfo{"1.2.3", "abc", "main", "today"});
  }

  HttpResponse Get(const std::string& path, std::vector<std::pair<std::string, std::string>> params = {},
                   const std::string& accept = "") {
    HttpRequest req;
    req.method = "GET";
    req.path = path;
    req.params = std::move(params);
    if (!accept.empty()) req.headers["accept"] = accept;
    HttpResponse resp;
    EXPECT_TRUE(api_->Handle(req, &resp)) << path;
    return resp;
  }

  std::unique_ptr<tracestore::TraceStore> store_;
  std::unique_ptr<TempoApi> api_;
};

TEST_F(TempoApiTest, MetricsQueryRange) {
  // Traces 1..4 start at 1700000001..4 s: both spans of each in the first 5 s interval.
  HttpResponse r = Get("/api/metrics/query_range",
                       {{"q", "{} | count_over_time() by (resource.service.name)"},
                        {"start", "1700000000"}, {"end", "1700000010"}, {"step", "5s"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("{\"labels\":[{\"key\":\"resource.service.name\",\"value\":{\"stringValue\":"
                        "\"cart\"}}],\"promLabels\":\"{resource.service.name=\\\"cart\\\"}\","
                        "\"samples\":[{\"timestampMs\":\"1700000000000\",\"value\":4},"
                        "{\"timestampMs\":\"1700000005000\",\"value\":0}],\"exemplars\":[{\"labels\":"
                        "[{\"key\":\"trace:id\",\"value\":{\"stringValue\":\"0a00000000000000000000000000000"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("\"metrics\":{\"inspectedTraces\":4,"), std::string::npos) << r.body;

  // Errors are the odd traces' cart spans: 2 in 5 s. Step in plain seconds, end in ns.
  HttpResponse rate = Get("/api/metrics/query_range", {{"q", "{ status = error } | rate()"},
                                                       {"start", "1700000000"},
                                                       {"end", "1700000010000000000"}, {"step", "5"}});
  ASSERT_EQ(rate.status, 200) << rate.body;
  EXPECT_NE(rate.body.find("\"promLabels\":\"{__name__=\\\"rate\\\"}\",\"samples\":[{\"timestampMs\":"
                           "\"1700000000000\",\"value\":0.4}"),
            std::string::npos)
      << rate.body;

  HttpResponse inst = Get("/api/metrics/query", {{"q", "{ resource.service.name = \"frontend\" } | count_over_time()"},
                                                 {"start", "1700000000"}, {"end", "1700000010"}});
  ASSERT_EQ(inst.status, 200) << inst.body;
  EXPECT_NE(inst.body.find("\"promLabels\":\"{__name__=\\\"count_over_time\\\"}\",\"value\":4}"),
            std::string::npos)
      << inst.body;

  for (auto params : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{"q", "{} | rate()"}, {"step", "-1"}},
           {{"q", "{} | rate()"}, {"step", "abc"}},
           {{"q", "{} | rate()"}, {"start", "1700000010"}, {"end", "1700000000"}},
           {{"q", "{} | rate()"}, {"start", "yesterday"}},
           {{"q", "{} | rate()"}, {"start", "1"}, {"end", "100000"}, {"step", "1ms"}},
           {{"q", "{}"}}}) {
    HttpResponse bad = Get("/api/metrics/query_range", params);
    EXPECT_EQ(bad.status, 400) << params[0].second << " " << bad.body;
  }
}

TEST(TraceIdTest, PadsAndRejects) {
  auto id = ParseTraceId("1f");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, std::string(15, '\0') + "\x1f");
  EXPECT_FALSE(ParseTraceId("xyz").ok());
  EXPECT_FALSE(ParseTraceId(std::string(33, 'a')).ok());
  EXPECT_FALSE(ParseTraceId("").ok());
}

TEST_F(TempoApiTest, TraceById) {
  // Trace 1 lives in a block, trace 3 in the head; no time range is needed for either.
  HttpResponse v1 = Get("/api/traces/0a000000000000000000000000000001");
  EXPECT_EQ(v1.status, 200) << v1.body;
  EXPECT_EQ(v1.body.rfind("{\"batches\":[", 0), 0u) << v1.body;
  EXPECT_NE(v1.body.find("\"scopeSpans\""), std::string::npos);
  EXPECT_NE(v1.body.find("\"startTimeUnixNano\":\"1700000001000000000\""), std::string::npos);
  EXPECT_NE(v1.body.find("\"kind\":\"SPAN_KIND_SERVER\""), std::string::npos);
  HttpResponse v2 = Get("/api/v2/traces/0a000000000000000000000000000003");
  EXPECT_EQ(v2.status, 200);
  EXPECT_EQ(v2.body.rfind("{\"trace\":{\"resourceSpans\":[", 0), 0u) << v2.body;

  HttpResponse pb = Get("/api/v2/traces/0a000000000000000000000000000003", {}, "application/protobuf");
  EXPECT_EQ(pb.content_type, "application/protobuf");
  ASSERT_GT(pb.body.size(), 3u);
  EXPECT_EQ(pb.body[0], '\x0a');
  // Field 1 (Trace) holds exactly the TracesData bytes.
  size_t pos = 1, len = 0, shift = 0;
  while (static_cast<unsigned char>(pb.body[pos]) & 0x80) {
    len |= (static_cast<size_t>(pb.body[pos++]) & 0x7f) << shift;
    shift += 7;
  }
  len |= static_cast<size_t>(pb.body[pos++]) << shift;
  ASSERT_EQ(len, pb.body.size() - pos);
  otlp::trace::v1::TracesData td;
  ASSERT_TRUE(td.ParseFromString(pb.body.substr(pos)));
  EXPECT_EQ(td.resource_spans_size(), 2);
  HttpResponse pb1 = Get("/api/traces/0a000000000000000000000000000001", {}, "application/protobuf");
  ASSERT_TRUE(td.ParseFromString(pb1.body));
  EXPECT_EQ(td.resource_spans(0).scope_spans(0).spans(0).name(), "GET /");

  EXPECT_EQ(Get("/api/traces/0a000000000000000000000000000009").status, 404);
  EXPECT_EQ(Get("/api/traces/not-hex").status, 400);
  EXPECT_EQ(Get("/api/traces/0a000000000000000000000000000001", {{"start", "x"}}).status, 400);
}

TEST_F(TempoApiTest, SearchShapesAndOrder) {
  HttpResponse r = Get("/api/search", {{"q", "{ resource.service.name = \"frontend\" } > { status = error }"}});
  ASSERT_EQ(r.status, 200) << r.body;
  // Traces 3 and 1 have an error child; most recent first.
  size_t t3 = r.body.find("\"traceID\":\"0a000000000000000000000000000003\"");
  size_t t1 = r.body.find("\"traceID\":\"0a000000000000000000000000000001\"");
  ASSERT_NE(t3, std::string::npos) << r.body;
  ASSERT_NE(t1, std::string::npos) << r.body;
  EXPECT_LT(t3, t1);
  EXPECT_EQ(r.body.find("0a000000000000000000000000000002"), std::string::npos);
  EXPECT_NE(r.body.find("\"rootServiceName\":\"frontend\",\"rootTraceName\":\"GET /\","
                        "\"startTimeUnixNano\":\"1700000003000000000\",\"durationMs\":200"),
            std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"spanSets\":[{\"spans\":[{\"spanID\":\"0101010101010102\",\"name\":\"POST /cart\""),
            std::string::npos) << r.body;
  EXPECT_NE(r.body.find("{\"key\":\"status\",\"value\":{\"stringValue\":\"error\"}}"), std::string::npos);
  EXPECT_NE(r.body.find("\"matched\":1"), std::string::npos);
  EXPECT_NE(r.body.find("\"serviceStats\":{\"cart\":{\"spanCount\":1,\"errorCount\":1},\"frontend\":{\"spanCount\":1}}"),
            std::string::npos) << r.body;
  // Trace 2 (in the block, no error span) is skipped by the columns without being read.
  EXPECT_NE(r.body.find("\"metrics\":{\"inspectedTraces\":3,"), std::string::npos) << r.body;

  HttpResponse lim = Get("/api/search", {{"q", "{}"}, {"limit", "2"}});
  EXPECT_NE(lim.body.find("0a000000000000000000000000000004"), std::string::npos);
  EXPECT_NE(lim.body.find("0a000000000000000000000000000003"), std::string::npos);
  EXPECT_EQ(lim.body.find("0a000000000000000000000000000002"), std::string::npos);

  HttpResponse ranged = Get("/api/search", {{"q", "{}"}, {"start", "1700000002"}, {"end", "1700000002"}});
  EXPECT_NE(ranged.body.find("0a000000000000000000000000000002"), std::string::npos) << ranged.body;
  EXPECT_EQ(ranged.body.find("0a000000000000000000000000000004"), std::string::npos);

  HttpResponse legacy = Get("/api/search", {{"tags", "http.status_code=500 service.name=cart"}});
  EXPECT_NE(legacy.body.find("0a000000000000000000000000000003"), std::string::npos) << legacy.body;
  EXPECT_EQ(legacy.body.find("0a000000000000000000000000000004"), std::string::npos);
  HttpResponse slow = Get("/api/search", {{"minDuration", "300ms"}});
  EXPECT_EQ(slow.body.find("traceID"), std::string::npos) << slow.body;

  HttpResponse by = Get("/api/search", {{"q", "{} | by(resource.service.name) | count() = 1"}, {"limit", "1"}});
  EXPECT_NE(by.body.find("\"key\":\"by(resource.service.name)\""), std::string::npos) << by.body;

  EXPECT_EQ(Get("/api/search", {{"q", "{ .a = "}}).status, 400);
  EXPECT_EQ(Get("/api/search", {{"q", "{ name > 1 }"}}).status, 400);
  EXPECT_EQ(Get("/api/search", {{"q", "{ parent.a = 1 }"}}).status, 501);
  EXPECT_EQ(Get("/api/search", {{"q", "{} | rate()"}}).status, 400);
  EXPECT_EQ(Get("/api/search", {{"limit", "x"}}).status, 400);
}

// A store for one test in its own directory: no fsync, maintenance and retention off.
std::unique_ptr<tracestore::TraceStore> TestStore(const std::string& name,
                                                  tracestore::TraceStoreOptions o = {}) {
  std::string dir = ::testing::TempDir() + "/" + name;
  std::filesystem::remove_all(dir);
  o.wal_sync = wal::SyncPolicy::kNone;
  o.maintenance_interval_ms = 0;
  o.retention_ms = 0;
  auto s = tracestore::TraceStore::Open(dir, o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

// Search keeps the `limit` most recent matches wherever they are (head or blocks, any order
// of trace IDs), and skips the traces that start too early to make the answer unread.
TEST(TempoSearchTest, LimitKeepsTheMostRecentAndReadsFewTraces) {
  auto store = TestStore("tempo_search_limit");
  ASSERT_NE(store, nullptr);
  std::vector<int> order(200);
  for (int i = 0; i < 200; ++i) order[i] = i + 1;
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  for (size_t i = 0; i < order.size(); ++i) {
    std::vector<tracestore::TraceBatch> v;
    v.push_back(MakeTrace(order[i]));
    ASSERT_TRUE(store->Append(std::move(v)).ok());
    if (i == 80 || i == 160) {
      ASSERT_TRUE(store->Maintain(tracestore::NowMs(), true).ok());
    }
  }
  TempoApi api(store.get(), BuildInfo{"1.2.3", "abc", "main", "today"});
  auto search = [&](const std::string& q, const std::string& limit) {
    HttpRequest req;
    req.method = "GET";
    req.path = "/api/search";
    req.params = {{"q", q}, {"limit", limit}};
    HttpResponse resp;
    EXPECT_TRUE(api.Handle(req, &resp));
    EXPECT_EQ(resp.status, 200) << resp.body;
    return resp.body;
  };
  auto ids = [](const std::string& body) {
    std::vector<int> out;
    for (size_t p = body.find("\"traceID\":\""); p != std::string::npos; p = body.find("\"traceID\":\"", p + 1)) {
      out.push_back(std::stoi(body.substr(p + 11 + 30, 2), nullptr, 16));
    }
    return out;
  };
  std::string all = search("{}", "5");
  EXPECT_EQ(ids(all), (std::vector<int>{200, 199, 198, 197, 196})) << all;
  size_t at = all.find("\"inspectedTraces\":");
  ASSERT_NE(at, std::string::npos);
  EXPECT_LT(std::stoi(all.substr(at + 18)), 100) << "traces too old to be among the 5 were read";
  EXPECT_EQ(ids(search("{ status = error }", "3")), (std::vector<int>{199, 197, 195}));
  EXPECT_EQ(ids(search("{ span.http.status_code = 200 && resource.service.name = \"cart\" }", "2")),
            (std::vector<int>{200, 198}));
  EXPECT_EQ(ids(search("{}", "1000")).size(), 200u);
}

TEST(ColumnFilterTest, ExtractsOnlyWhatEveryMatchNeeds) {
  auto q = traceql::ParseAndValidate(
      "{ resource.service.name = \"a\" && name = \"n\" && .x > 1 } >> { status = error && kind = server }"
      " | count() > 1");
  ASSERT_TRUE(q.ok());
  tracestore::ColumnFilter f = ColumnFilterFor(**q);
  ASSERT_EQ(f.required.size(), 2u);
  ASSERT_EQ(f.required[0].size(), 2u);  // `.x > 1` is not a column condition
  EXPECT_EQ(f.required[0][0].key, "service.name");
  EXPECT_EQ(f.required[0][0].scope, tracestore::AttrScope::kResource);
  EXPECT_EQ(f.required[0][1].field, tracestore::SpanCondition::Field::kName);
  EXPECT_EQ(f.required[1][0].code, 2);
  EXPECT_EQ(f.required[1][1].code, 2);
  for (const char* none : {"{ .a = \"x\" } || { .b = \"y\" }", "{ .a = \"x\" || .b = \"y\" }",
                           "{ .a = 1.5 }", "{ .a != 1 }", "{ duration != 5ms }", "{ event.a = \"x\" }", "({ .a = \"x\" } | count() > 1) && ({})"}) {
    auto n = traceql::ParseAndValidate(none);
    ASSERT_TRUE(n.ok()) << none;
    EXPECT_TRUE(ColumnFilterFor(**n).required.empty()) << none;
  }
  auto ints = traceql::ParseAndValidate("{ span.code = 500 && duration > 5ms && 1ms >= duration }");
  ASSERT_TRUE(ints.ok());
  tracestore::ColumnFilter fi = ColumnFilterFor(**ints);
  ASSERT_EQ(fi.required.size(), 1u);
  ASSERT_EQ(fi.required[0].size(), 3u);
  EXPECT_EQ(fi.required[0][0].value_type, tracestore::ValueType::kInt);
  EXPECT_EQ(fi.required[0][0].int_value, 500);
  EXPECT_EQ(fi.required[0][1].field, tracestore::SpanCondition::Field::kDuration);
  EXPECT_EQ(fi.required[0][1].min_duration_nano, 5'000'001u);
  EXPECT_EQ(fi.required[0][2].max_duration_nano, 1'000'000u);  // operands swapped
  auto neg = traceql::ParseAndValidate("{ .a = \"x\" } !> { .b = \"y\" }");
  ASSERT_TRUE(neg.ok());
  tracestore::ColumnFilter nf = ColumnFilterFor(**neg);
  ASSERT_EQ(nf.required.size(), 1u);
  EXPECT_EQ(nf.required[0][0].key, "b");
  EXPECT_TRUE(nf.required[0][0].any_scope);
}

TEST_F(TempoApiTest, TagsAndValues) {
  HttpResponse v1 = Get("/api/search/tags");
  EXPECT_EQ(v1.body, "{\"tagNames\":[\"http.status_code\",\"service.name\"]}");
  HttpResponse v2 = Get("/api/v2/search/tags", {{"scope", "resource"}});
  EXPECT_EQ(v2.body, "{\"scopes\":[{\"name\":\"resource\",\"tags\":[\"service.name\"]}]}");
  EXPECT_NE(Get("/api/v2/search/tags").body.find("\"name\":\"intrinsic\""), std::string::npos);
  EXPECT_EQ(Get("/api/v2/search/tags", {{"scope", "bogus"}}).status, 400);
  EXPECT_EQ(Get("/api/search/tag/service.name/values").body, "{\"tagValues\":[\"cart\",\"frontend\"]}");
  EXPECT_EQ(Get("/api/v2/search/tag/span.http.status_code/values", {{"q", "{ resource.service.name = "}}).body,
            "{\"tagValues\":[{\"type\":\"int\",\"value\":\"200\"},{\"type\":\"int\",\"value\":\"500\"}]}");
  EXPECT_NE(Get("/api/v2/search/tag/name/values").body.find("{\"type\":\"string\",\"value\":\"POST /cart\"}"),
            std::string::npos);
  EXPECT_NE(Get("/api/v2/search/tag/status/values").body.find("{\"type\":\"keyword\",\"value\":\"error\"}"),
            std::string::npos);
  EXPECT_EQ(Get("/api/metrics/query_range", {{"q", "{} | rate()"}}).status, 200);
  EXPECT_EQ(Get("/api/metrics/query_range", {{"q", "{} | rate("}}).status, 400);
  EXPECT_EQ(Get("/api/metrics/query", {{"q", "{ .a = \"b\" }"}}).status, 400);
  EXPECT_EQ(Get("/api/echo").body, "echo");
  EXPECT_NE(Get("/api/status/buildinfo").body.find("\"version\":\"1.2.3\""), std::string::npos);
  HttpRequest other;
  other.path = "/api/v1/query";
  HttpResponse unused;
  EXPECT_FALSE(api_->Handle(other, &unused));
}

}  // namespace
}  // namespace argus::api

namespace argus::api {
namespace {

// Random traces for the pruning check: 4 services, 3 span names, kinds, statuses, durations,
// and attributes that the column conditions look at in every type they might be stored as.
tracestore::TraceBatch RandomTrace(std::mt19937_64* rng, int n) {
  auto r = [rng](uint64_t k) { return static_cast<int>((*rng)() % k); };
  tracestore::TraceBatch b;
  otlp::trace::v1::TracesData td;
  b.trace_id = std::string(16, '\0');
  for (int i = 0; i < 4; ++i) b.trace_id[15 - i] = static_cast<char>(n >> (8 * i));
  b.trace_id[0] = 0x5b;
  const char* services[] = {"a", "b", "c", "d"};
  const char* names[] = {"GET /", "POST /x", "db"};
  int spans = 1 + r(6);
  uint64_t t0 = 1'700'000'000'000'000'000ULL + static_cast<uint64_t>(n) * 1'000'000'000ULL;
  for (int k = 0; k < spans; ++k) {
    auto* rs = td.add_resource_spans();
    auto* svc = rs->mutable_resource()->add_attributes();
    svc->set_key("service.name");
    svc->mutable_value()->set_string_value(services[r(4)]);
    auto* env = rs->mutable_resource()->add_attributes();
    env->set_key("env");
    env->mutable_value()->set_string_value(r(2) ? "prod" : "dev");
    auto* s = rs->add_scope_spans()->add_spans();
    s->set_trace_id(b.trace_id);
    s->set_span_id(std::string(7, '\x02') + static_cast<char>(k + 1));
    if (k > 0) s->set_parent_span_id(std::string(7, '\x02') + static_cast<char>(1 + r(k)));
    s->set_name(names[r(3)]);
    s->set_kind(static_cast<otlp::trace::v1::Span::SpanKind>(r(6)));
    s->set_start_time_unix_nano(t0 + static_cast<uint64_t>(k) * 1000);
    s->set_end_time_unix_nano(s->start_time_unix_nano() + static_cast<uint64_t>(r(100)) * 1'000'000);
    if (r(3) == 0) s->mutable_status()->set_code(static_cast<otlp::trace::v1::Status::StatusCode>(r(3)));
    auto* code = s->add_attributes();
    code->set_key("http.status_code");
    int c = r(3) == 0 ? 500 : r(2) ? 200 : 404;
    switch (r(5)) {
      case 0: code->mutable_value()->set_double_value(c); break;  // numbers compare by value
      case 1: code->mutable_value()->set_string_value(std::to_string(c)); break;  // a string never equals 500
      default: code->mutable_value()->set_int_value(c);
    }
    auto* region = r(2) ? s->add_attributes() : rs->mutable_resource()->add_attributes();  // either scope
    region->set_key("region");
    region->mutable_value()->set_string_value(r(2) ? "eu" : "us");
  }
  b.spans = td.SerializeAsString();
  return b;
}

// The trace IDs that `q` matches, reading the store with or without its column filter.
std::set<std::string> Matches(const tracestore::TraceStore& store, const traceql::RootExpr& q, bool pruned,
                              int* visited) {
  tracestore::ColumnFilter f = ColumnFilterFor(q);
  std::set<std::string> out;
  *visited = 0;
  Status st = store.ForEachTrace(
      0, 0, nullptr,
      [&](const tracestore::TraceSummary& s, const std::string& data) -> Result<bool> {
        ++*visited;
        ASSIGN_OR_RETURN(std::unique_ptr<traceql::TraceView> t, traceql::TraceView::Parse(data));
        ASSIGN_OR_RETURN(std::vector<traceql::Spanset> sets, traceql::EvaluateSearch(q, *t));
        if (!sets.empty()) out.insert(s.trace_id);
        return true;
      },
      pruned ? &f : nullptr);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

TEST(ColumnFilterTest, PruningNeverDropsAMatch) {
  tracestore::TraceStoreOptions o;
  o.compaction_max_bytes = 0;  // keep several blocks, each with its own dictionary
  auto store = TestStore("tempo_api_test_pruning", o);
  ASSERT_NE(store, nullptr);
  std::mt19937_64 rng(7);
  for (int n = 0; n < 1200; ++n) {
    std::vector<tracestore::TraceBatch> v;
    v.push_back(RandomTrace(&rng, n));
    ASSERT_TRUE(store->Append(v).ok());
    if (n % 300 == 299) {
      ASSERT_TRUE(store->Maintain(tracestore::NowMs(), true).ok());  // 4 blocks
    }
  }
  ASSERT_GE(store->stats().blocks, 4u);
  int pruned_any = 0;
  for (const char* text : {
           "{ span.http.status_code = 500 }", "{ .http.status_code = 404 }", "{ resource.env = \"prod\" }",
           "{ .env = \"prod\" && name = \"db\" }", "{ resource.service.name = \"a\" && span.http.status_code = 404 }",
           "{ status = error && kind = server }", "{ duration > 50ms }", "{ 20ms < duration }",
           "{ duration <= 10ms && name = \"GET /\" }", "{ duration = 0ms }",
           "{ resource.service.name = \"a\" } >> { resource.service.name = \"d\" && status = error }",
           "{ name = \"db\" } ~ { span.region = \"eu\" }", "{ .region = \"us\" && kind = client }",
           "{ span.http.status_code = 500 } !> { .env = \"dev\" }", "{ span.http.status_code = 500 } | count() > 1",
           "{ .region = \"nowhere\" }", "{ resource.region = \"eu\" && .http.status_code = 200 }",
           "{ span.http.status_code = 500 } || { name = \"db\" }"}) {
    auto q = traceql::ParseAndValidate(text);
    ASSERT_TRUE(q.ok()) << text;
    int all = 0, some = 0;
    std::set<std::string> want = Matches(*store, **q, false, &all);
    std::set<std::string> got = Matches(*store, **q, true, &some);
    EXPECT_EQ(got, want) << text;
    EXPECT_EQ(all, 1200) << text;
    EXPECT_LE(some, all) << text;
    pruned_any += some < all;
  }
  EXPECT_GE(pruned_any, 12);  // the columns do narrow most of these
}

}  // namespace
}  // namespace argus::api
