#include "ingest/otlp_traces.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>

namespace argus::ingest {
namespace {

namespace otlptrace = opentelemetry::proto::collector::trace::v1;

std::string Bytes(int n, size_t len) {
  std::string s(len, '\x11');
  s[len - 1] = static_cast<char>(n);
  return s;
}

otlptrace::ExportTraceServiceRequest Request() {
  otlptrace::ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  auto* kv = rs->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("checkout");
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("lib");
  for (int t = 1; t <= 2; ++t) {
    for (int sp = 1; sp <= 3; ++sp) {
      auto* s = ss->add_spans();
      s->set_trace_id(Bytes(t, 16));
      s->set_span_id(Bytes(t * 10 + sp, 8));
      if (sp > 1) s->set_parent_span_id(Bytes(t * 10 + 1, 8));
      s->set_name("op");
      s->set_start_time_unix_nano(1000);
      s->set_end_time_unix_nano(2000);
    }
  }
  return req;
}

std::string Gzip(const std::string& raw) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, raw.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(OtlpTracesTest, SplitsByTraceAndRefusesBadIds) {
  auto req = Request();
  auto* bad = req.mutable_resource_spans(0)->mutable_scope_spans(0)->add_spans();
  bad->set_trace_id("short");
  bad->set_span_id(Bytes(1, 8));
  auto* zero = req.mutable_resource_spans(0)->mutable_scope_spans(0)->add_spans();
  zero->set_trace_id(Bytes(1, 16));
  zero->set_span_id(std::string(8, '\0'));
  std::string long_value(5000, 'x');
  auto* attr = req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->add_attributes();
  attr->set_key("big");
  attr->mutable_value()->set_string_value(long_value);

  std::vector<tracestore::TraceBatch> out;
  TraceIngestResult r;
  ASSERT_TRUE(SplitByTrace(req.SerializeAsString(), TraceIngestLimits{}, &out, &r).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(r.accepted_spans, 6u);
  EXPECT_EQ(r.rejected_spans, 2u);
  EXPECT_NE(r.error.find("trace ID"), std::string::npos);
  std::vector<opentelemetry::proto::trace::v1::TracesData> tds(out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_TRUE(tds[i].ParseFromString(out[i].spans));
    ASSERT_EQ(tds[i].resource_spans_size(), 1);
    const auto& rs = tds[i].resource_spans(0);
    EXPECT_EQ(rs.resource().attributes(0).value().string_value(), "checkout");
    EXPECT_EQ(rs.scope_spans(0).scope().name(), "lib");
    EXPECT_EQ(rs.scope_spans(0).spans_size(), 3);
    for (const auto& s : rs.scope_spans(0).spans()) EXPECT_EQ(s.trace_id(), out[i].trace_id);
  }
  const auto& first = tds[0].resource_spans(0).scope_spans(0).spans(0);
  EXPECT_EQ(first.attributes(0).value().string_value().size(), 2048u);
  // The other spans are the bytes sent, unchanged.
  EXPECT_EQ(tds[0].resource_spans(0).scope_spans(0).spans(1).SerializeAsString(),
            req.resource_spans(0).scope_spans(0).spans(1).SerializeAsString());
}

// Spans of one trace under several resources and scopes keep each under its own; schema URLs
// and a resource over the attribute limit survive the split; malformed requests are refused
// whole.
TEST(OtlpTracesTest, SplitKeepsResourcesScopesAndRefusesMalformed) {
  otlptrace::ExportTraceServiceRequest req = Request();
  auto* rs2 = req.add_resource_spans();
  rs2->set_schema_url("https://opentelemetry.io/schemas/1.21.0");
  auto* kv = rs2->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value(std::string(3000, 'r'));
  for (int scope = 0; scope < 2; ++scope) {
    auto* ss = rs2->add_scope_spans();
    ss->mutable_scope()->set_name("scope" + std::to_string(scope));
    ss->set_schema_url("s" + std::to_string(scope));
    auto* s = ss->add_spans();
    s->set_trace_id(Bytes(1, 16));
    s->set_span_id(Bytes(90 + scope, 8));
    s->set_name("late");
  }
  std::vector<tracestore::TraceBatch> out;
  TraceIngestResult r;
  ASSERT_TRUE(SplitByTrace(req.SerializeAsString(), TraceIngestLimits{}, &out, &r).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(r.accepted_spans, 8u);
  opentelemetry::proto::trace::v1::TracesData td;
  ASSERT_TRUE(td.ParseFromString(out[0].spans));
  ASSERT_EQ(td.resource_spans_size(), 2);
  const auto& late = td.resource_spans(1);
  EXPECT_EQ(late.schema_url(), "https://opentelemetry.io/schemas/1.21.0");
  EXPECT_EQ(late.resource().attributes(0).value().string_value().size(), 2048u);
  ASSERT_EQ(late.scope_spans_size(), 2);
  EXPECT_EQ(late.scope_spans(1).scope().name(), "scope1");
  EXPECT_EQ(late.scope_spans(1).schema_url(), "s1");
  EXPECT_EQ(late.scope_spans(1).spans(0).span_id(), Bytes(91, 8));

  std::string bytes = req.SerializeAsString();
  for (size_t cut : {bytes.size() - 1, bytes.size() / 2, size_t{3}}) {
    out.clear();
    TraceIngestResult rr;
    EXPECT_EQ(SplitByTrace(bytes.substr(0, cut), TraceIngestLimits{}, &out, &rr).code(),
              StatusCode::kInvalidArgument) << cut;
    EXPECT_TRUE(out.empty());
  }
  std::string bad_utf8 = bytes;
  bad_utf8[bad_utf8.find("late")] = '\xff';
  EXPECT_FALSE(SplitByTrace(bad_utf8, TraceIngestLimits{}, &out, &r).ok());
}

class TraceIngesterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/otlp_traces_ingest_" +
        ::testing::UnitTest::GetInstance()->current_test_info()->name();  // tests run in parallel
    std::filesystem::remove_all(dir_);
    tracestore::TraceStoreOptions o;
    o.wal_sync = wal::SyncPolicy::kNone;
    o.maintenance_interval_ms = 0;
    auto s = tracestore::TraceStore::Open(dir_, o);
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    ingester_ = std::make_unique<TraceIngester>(store_.get(), TraceIngestLimits{}, [this] { return ready_; });
  }
  std::string dir_;
  bool ready_ = true;
  std::unique_ptr<tracestore::TraceStore> store_;
  std::unique_ptr<TraceIngester> ingester_;
};

TEST_F(TraceIngesterTest, ProtobufGzipAndJson) {
  OtlpHttpReply r = ingester_->HandleHttp("POST", "application/x-protobuf", "gzip",
                                          Gzip(Request().SerializeAsString()));
  EXPECT_EQ(r.status, 200) << r.body;
  otlptrace::ExportTraceServiceResponse resp;
  ASSERT_TRUE(resp.ParseFromString(r.body));
  EXPECT_FALSE(resp.has_partial_success());
  auto t = store_->FindTrace(Bytes(2, 16));
  ASSERT_TRUE(t.ok() && t->has_value());

  std::string json = R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name",
    "value":{"stringValue":"web"}}]},"scopeSpans":[{"spans":[
    {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"GET /",
     "kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000"},
    {"traceId":"zz","spanId":"eee19b7ec3c1b174","name":"bad"}]}]}]})";
  r = ingester_->HandleHttp("POST", "application/json", "", json);
  // A non-hex ID makes the whole JSON body undecodable: 400 in OTLP's error form.
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("\"code\":3"), std::string::npos);

  json = R"({"resourceSpans":[{"scopeSpans":[{"spans":[
    {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"GET /"},
    {"traceId":"5b8e","spanId":"eee19b7ec3c1b174","name":"short id"}]}]}]})";
  r = ingester_->HandleHttp("POST", "application/json", "", json);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"rejectedSpans\":\"1\""), std::string::npos) << r.body;
  std::string id = "\x5b\x8e\xff\xf7\x98\x03\x81\x03\xd2\x69\xb6\x33\x81\x3f\xc6\x0c";
  auto j = store_->FindTrace(id);
  ASSERT_TRUE(j.ok() && j->has_value());
}

TEST_F(TraceIngesterTest, Zipkin) {
  std::string body = R"([{"traceId":"0af7651916cd43dd8448eb211c80319c","id":"b7ad6b7169203331",
    "name":"get","timestamp":1700000000000000,"duration":10,"localEndpoint":{"serviceName":"z"}},
    {"traceId":"0af7651916cd43dd8448eb211c80319c","id":"0000000000000000","name":"zero id"}])";
  OtlpHttpReply r = ingester_->HandleZipkin("POST", "application/json", "", body);
  EXPECT_EQ(r.status, 400);  // the zero span ID is refused; the other span is written
  EXPECT_NE(r.body.find("1 spans refused"), std::string::npos) << r.body;
  auto t = store_->FindTrace("\x0a\xf7\x65\x19\x16\xcd\x43\xdd\x84\x48\xeb\x21\x1c\x80\x31\x9c");
  ASSERT_TRUE(t.ok() && t->has_value());
  EXPECT_EQ(ingester_->HandleZipkin("POST", "application/json", "", body.substr(0, body.find("},") + 1) + "]").status, 202);
  EXPECT_EQ(ingester_->HandleZipkin("POST", "application/json", "gzip", Gzip(body.substr(0, body.find("},") + 1) + "]")).status, 202);
  EXPECT_EQ(ingester_->HandleZipkin("POST", "application/json", "", "[{").status, 400);
  EXPECT_EQ(ingester_->HandleZipkin("POST", "text/xml", "", "[]").status, 415);
  EXPECT_EQ(ingester_->HandleZipkin("GET", "", "", "").status, 405);
}

TEST_F(TraceIngesterTest, BadRequests) {
  EXPECT_EQ(ingester_->HandleHttp("GET", "application/x-protobuf", "", "").status, 405);
  EXPECT_EQ(ingester_->HandleHttp("POST", "text/plain", "", "x").status, 415);
  EXPECT_EQ(ingester_->HandleHttp("POST", "application/x-protobuf", "br", "x").status, 415);
  OtlpHttpReply bad = ingester_->HandleHttp("POST", "application/x-protobuf", "", "\xff\xff\xff");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(ingester_->HandleHttp("POST", "application/x-protobuf", "gzip", "notgzip").status, 400);
  ready_ = false;
  OtlpHttpReply down = ingester_->HandleHttp("POST", "application/x-protobuf", "",
                                             Request().SerializeAsString());
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(down.retry_after_s, 5);
  OtlpTraceGrpcService svc(ingester_.get());
  otlptrace::ExportTraceServiceRequest req = Request();
  otlptrace::ExportTraceServiceResponse resp;
  EXPECT_EQ(svc.Export(nullptr, &req, &resp).error_code(), grpc::StatusCode::UNAVAILABLE);
  ready_ = true;
  EXPECT_TRUE(svc.Export(nullptr, &req, &resp).ok());
}

}  // namespace
}  // namespace argus::ingest
