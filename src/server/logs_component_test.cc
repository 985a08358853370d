// End-to-end tests of the logs routes through the server: Loki push and query on the main
// port, OTLP logs over HTTP (both ports) and gRPC, and restart survival.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "opentelemetry/proto/collector/logs/v1/logs_service.grpc.pb.h"
#include "server/server.h"

namespace argus::server {
namespace {

namespace otlplogs = opentelemetry::proto::collector::logs::v1;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

otlplogs::ExportLogsServiceRequest LogsRequest(const std::string& service, const std::string& body) {
  otlplogs::ExportLogsServiceRequest req;
  auto* rl = req.add_resource_logs();
  auto* a = rl->mutable_resource()->add_attributes();
  a->set_key("service.name");
  a->mutable_value()->set_string_value(service);
  auto* rec = rl->add_scope_logs()->add_log_records();
  rec->set_time_unix_nano(static_cast<uint64_t>(NowNs()));
  rec->mutable_body()->set_string_value(body);
  rec->set_span_id(std::string("\xab\xcd", 2));
  return req;
}

class LogsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/argus_logs_server_test_XXXXXX";
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
  api::HttpResponse Post(const std::string& path, std::string body, const std::string& ct, bool otlp_port = false) {
    api::HttpRequest r;
    r.method = "POST";
    r.path = path;
    r.body = std::move(body);
    r.headers["content-type"] = ct;
    return otlp_port ? server_->HandleOtlpHttp(r) : server_->HandleWeb(r);
  }
  std::string Query(const std::string& q) {
    api::HttpRequest r;
    r.method = "GET";
    r.path = "/loki/api/v1/query_range";
    r.params = {{"query", q}, {"limit", "1000"}};
    auto resp = server_->HandleWeb(r);
    EXPECT_EQ(resp.status, 200) << resp.body;
    return resp.body;
  }
  std::string dir_;
  std::unique_ptr<Server> server_;
};

TEST_F(LogsServerTest, LokiPushQueryAndRestart) {
  std::string body = R"({"streams":[{"stream":{"app":"web"},"values":[[")" + std::to_string(NowNs()) +
                     R"(","hello from loki push"]]}]})";
  auto r = Post("/loki/api/v1/push", body, "application/json");
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_NE(Query(R"({app="web"} |= "loki push")").find("hello from loki push"), std::string::npos);
  server_->Shutdown();
  server_.reset();
  Start();
  EXPECT_NE(Query(R"({app="web"})").find("hello from loki push"), std::string::npos);
  EXPECT_EQ(Post("/loki/api/v1/push", "{", "application/json").status, 400);
}

TEST_F(LogsServerTest, OtlpLogsOverHttpAndGrpc) {
  auto a = Post("/v1/logs", LogsRequest("svc-http", "over otlp http").SerializeAsString(), "application/x-protobuf", true);
  ASSERT_EQ(a.status, 200) << a.body;
  auto b = Post("/otlp/v1/logs", LogsRequest("svc-main", "over the main port").SerializeAsString(), "application/x-protobuf");
  ASSERT_EQ(b.status, 200) << b.body;
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->otlp_grpc_port()), grpc::InsecureChannelCredentials());
  auto stub = otlplogs::LogsService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  otlplogs::ExportLogsServiceResponse resp;
  grpc::Status st = stub->Export(&ctx, LogsRequest("svc-grpc", "over grpc"), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_NE(Query(R"({service_name="svc-http"})").find("over otlp http"), std::string::npos);
  EXPECT_NE(Query(R"({service_name="svc-main"})").find("over the main port"), std::string::npos);
  std::string g = Query(R"({service_name="svc-grpc"})");
  EXPECT_NE(g.find("over grpc"), std::string::npos);
  EXPECT_NE(g.find(R"("span_id":"abcd")"), std::string::npos) << g;
  EXPECT_EQ(Post("/v1/logs", "\xff\xff", "application/x-protobuf", true).status, 400);
}

}  // namespace
}  // namespace argus::server
