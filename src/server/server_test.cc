// End-to-end tests of the server's routing with the real DB, ingest and API modules:
// remote_write, OTLP over HTTP (protobuf, JSON, gzip) and gRPC, bad input, and restart.
#include "server/server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <snappy.h>
#include <zlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "prometheus/remote.pb.h"

namespace argus::server {
namespace {

namespace otlp = opentelemetry::proto::collector::metrics::v1;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string RemoteWriteBody(const std::string& name, const std::string& label_value, int64_t t_ms,
                            double v) {
  prometheus::WriteRequest req;
  auto* ts = req.add_timeseries();
  auto* l = ts->add_labels();
  l->set_name("__name__");
  l->set_value(name);
  l = ts->add_labels();
  l->set_name("job");
  l->set_value(label_value);
  auto* s = ts->add_samples();
  s->set_timestamp(t_ms);
  s->set_value(v);
  std::string raw = req.SerializeAsString(), out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

otlp::ExportMetricsServiceRequest GaugeRequest(const std::string& name, double v, int64_t t_ms) {
  otlp::ExportMetricsServiceRequest req;
  auto* rm = req.add_resource_metrics();
  auto* attr = rm->mutable_resource()->add_attributes();
  attr->set_key("service.name");
  attr->mutable_value()->set_string_value("checkout");
  auto* m = rm->add_scope_metrics()->add_metrics();
  m->set_name(name);
  auto* p = m->mutable_gauge()->add_data_points();
  p->set_time_unix_nano(static_cast<uint64_t>(t_ms) * 1000000);
  p->set_as_double(v);
  return req;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/argus_server_test_XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    Start();
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Start() {
    ServerOptions o;
    o.storage_path = dir_ + "/data";
    o.web_listen_address = "127.0.0.1:0";
    o.otlp_grpc_listen_address = "127.0.0.1:0";
    o.otlp_http_listen_address = "127.0.0.1:0";
    o.config_file = dir_ + "/argus.yml";
    std::ofstream(o.config_file) << "global:\n  scrape_interval: 1h\n";
    server_ = std::make_unique<Server>(o);
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  api::HttpResponse Post(const std::string& path, std::string body,
                         std::map<std::string, std::string> headers, bool otlp_port = false) {
    api::HttpRequest r;
    r.method = "POST";
    r.path = path;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return otlp_port ? server_->HandleOtlpHttp(r) : server_->HandleWeb(r);
  }
  api::HttpResponse Get(const std::string& path, std::vector<std::pair<std::string, std::string>> params) {
    api::HttpRequest r;
    r.method = "GET";
    r.path = path;
    r.params = std::move(params);
    return server_->HandleWeb(r);
  }
  std::string dir_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, RemoteWriteIsQueryableAndSurvivesRestart) {
  int64_t t = NowMs();
  auto r = Post("/api/v1/write", RemoteWriteBody("rw_metric", "a", t, 42),
                {{"content-encoding", "snappy"}, {"content-type", "application/x-protobuf"}});
  ASSERT_EQ(r.status, 204) << r.body;
  auto q = Get("/prometheus/api/v1/series", {{"match[]", "rw_metric"}});
  EXPECT_EQ(q.body, "{\"status\":\"success\",\"data\":[{\"__name__\":\"rw_metric\",\"job\":\"a\"}]}");
  // The PromQL endpoints answer under the /prometheus prefix too (Mimir's layout).
  q = Get("/prometheus/api/v1/query",
          {{"query", "rw_metric * 2"}, {"time", std::to_string(static_cast<double>(t) / 1000)}});
  EXPECT_EQ(q.status, 200) << q.body;
  EXPECT_NE(q.body.find("\"metric\":{\"job\":\"a\"}"), std::string::npos) << q.body;
  EXPECT_NE(q.body.find("\"84\""), std::string::npos) << q.body;
  server_->Shutdown();
  server_.reset();
  Start();
  q = Get("/api/v1/series", {{"match[]", "rw_metric"}});
  EXPECT_EQ(q.body, "{\"status\":\"success\",\"data\":[{\"__name__\":\"rw_metric\",\"job\":\"a\"}]}");
}

TEST_F(ServerTest, BadRemoteWriteGets4xxAndKeepsEarlierData) {
  int64_t t = NowMs();
  ASSERT_EQ(Post("/api/v1/push", RemoteWriteBody("good", "a", t, 1), {}).status, 204);
  EXPECT_EQ(Post("/api/v1/write", "not snappy at all", {}).status, 400);
  std::string truncated = RemoteWriteBody("x", "y", t, 1);
  std::string raw;
  ASSERT_TRUE(snappy::Uncompress(truncated.data(), truncated.size(), &raw));
  raw.resize(raw.size() / 2);
  std::string comp;
  snappy::Compress(raw.data(), raw.size(), &comp);
  EXPECT_EQ(Post("/api/v1/write", comp, {}).status, 400);
  EXPECT_EQ(Post("/api/v1/write", RemoteWriteBody("bad", std::string(10 << 20, 'v'), t, 1), {}).status, 400);
  EXPECT_EQ(Post("/api/v1/write", RemoteWriteBody("bad", "\xff\xfe", t, 1), {}).status, 400);
  // Older than the series' newest sample by more than the out-of-order window (10m).
  EXPECT_EQ(Post("/api/v1/write", RemoteWriteBody("good", "a", t - 3600 * 1000, 5), {}).status, 400);
  EXPECT_EQ(Post("/api/v1/write", "x", {{"content-encoding", "gzip"}}).status, 415);
  EXPECT_EQ(Get("/-/ready", {}).status, 200);
  auto q = Get("/api/v1/series", {{"match[]", "good"}});
  EXPECT_NE(q.body.find("\"good\""), std::string::npos);
  q = Get("/api/v1/series", {{"match[]", "{__name__=~\"bad|x\"}"}});
  EXPECT_EQ(q.body, "{\"status\":\"success\",\"data\":[]}");
}

TEST_F(ServerTest, OtlpHttpProtobufJsonAndGzip) {
  int64_t t = NowMs();
  auto r = Post("/v1/metrics", GaugeRequest("temperature", 21.5, t).SerializeAsString(),
                {{"content-type", "application/x-protobuf"}}, /*otlp_port=*/true);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/x-protobuf");
  std::string json =
      "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
      "{\"stringValue\":\"cart\"}}]},\"scopeMetrics\":[{\"metrics\":[{\"name\":\"queue.depth\","
      "\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"" + std::to_string(t * 1000000) +
      "\",\"asInt\":\"7\"}]}}]}]}]}";
  r = Post("/otlp/v1/metrics", json, {{"content-type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  // gzip-compressed protobuf
  std::string raw = GaugeRequest("pressure", 1013, t).SerializeAsString();
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
  std::string gz(raw.size() + 128, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(gz.data());
  zs.avail_out = static_cast<uInt>(gz.size());
  ASSERT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  gz.resize(zs.total_out);
  deflateEnd(&zs);
  r = Post("/v1/metrics", gz, {{"content-type", "application/x-protobuf"}, {"content-encoding", "gzip"}}, true);
  ASSERT_EQ(r.status, 200) << r.body;
  auto q = Get("/api/v1/series", {{"match[]", "{__name__=~\"temperature|queue_depth|pressure\"}"}});
  EXPECT_NE(q.body.find("\"temperature\""), std::string::npos) << q.body;
  EXPECT_NE(q.body.find("\"queue_depth\""), std::string::npos) << q.body;
  EXPECT_NE(q.body.find("\"pressure\""), std::string::npos) << q.body;
  EXPECT_NE(q.body.find("\"job\":\"checkout\""), std::string::npos) << q.body;
  // Bad input: garbage protobuf, garbage JSON, wrong content type.
  r = Post("/v1/metrics", "\xff\xff\xff\xff", {{"content-type", "application/x-protobuf"}}, true);
  EXPECT_EQ(r.status, 400);
  r = Post("/v1/metrics", "{not json", {{"content-type", "application/json"}}, true);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("\"code\":3"), std::string::npos);
  EXPECT_EQ(Post("/v1/metrics", "x", {{"content-type", "text/plain"}}, true).status, 415);
}

TEST_F(ServerTest, OtlpGrpcExport) {
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->otlp_grpc_port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = otlp::MetricsService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  otlp::ExportMetricsServiceResponse resp;
  grpc::Status st = stub->Export(&ctx, GaugeRequest("grpc_gauge", 3, NowMs()), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(resp.has_partial_success());
  auto q = Get("/api/v1/series", {{"match[]", "grpc_gauge"}});
  EXPECT_NE(q.body.find("\"grpc_gauge\""), std::string::npos) << q.body;
}

TEST_F(ServerTest, HealthMetricsAndUnknownRoutes) {
  EXPECT_EQ(Get("/-/healthy", {}).status, 200);
  auto m = Get("/metrics", {});
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("prometheus_tsdb_head_series"), std::string::npos);
  EXPECT_NE(m.body.find("argus_http_requests_total"), std::string::npos);
  EXPECT_EQ(Get("/api/v1/no_such_thing", {}).status, 404);
  EXPECT_EQ(Get("/no/such/file.js", {}).status, 404);
  // Other paths are UI routes: the web UI's index.html (server/web_ui.h).
  auto ui = Get("/no/such/thing", {});
  EXPECT_EQ(ui.status, 200);
  EXPECT_NE(ui.body.find("<html"), std::string::npos);
}

}  // namespace
}  // namespace argus::server
