// HttpServer: a client that hangs up mid-request cancels the request's query.
#include "server/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "promql/engine.h"
#include "promql/memory_storage.h"
#include "promql/parser.h"

namespace argus::server {
namespace {

using Clock = std::chrono::steady_clock;

int Connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void SendRequest(int fd, const std::string& path) {
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

// A series with one sample a second over a day, and a range query whose every step sorts a
// day of samples (quantile_over_time): many seconds of work unless it is stopped.
class SlowQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<Sample> samples;
    for (int64_t t = 0; t <= 86400; ++t) samples.push_back({t * 1000, static_cast<double>(t % 97)});
    storage_.Add(Labels::FromMap({{"__name__", "x"}}), samples);
  }

  // Runs the slow query with the request's cancel flag; records the status and time taken.
  api::HttpResponse Handle(const api::HttpRequest& req) {
    auto expr = promql::ParseExpr("quantile_over_time(0.5, x[1d])");
    EXPECT_TRUE(expr.ok());
    promql::QueryOptions qo;
    qo.cancel = req.client_gone;
    auto t0 = Clock::now();
    auto r = engine_.RangeQuery(&storage_, **expr, "", 86400000, 86400000 + 100000 * 1000, 1000, qo);
    result_.set_value({r.status().code(), Clock::now() - t0});
    api::HttpResponse resp;
    resp.body = r.ok() ? "done" : r.status().message();
    return resp;
  }

  struct Outcome {
    StatusCode code;
    Clock::duration took;
  };
  promql::MemoryStorage storage_;
  promql::Engine engine_{promql::EngineOptions{}};
  std::promise<Outcome> result_;
};

TEST_F(SlowQueryTest, ClientHangUpCancelsTheQuery) {
  HttpServer server("127.0.0.1:0", [this](const api::HttpRequest& r) { return Handle(r); });
  ASSERT_TRUE(server.Start().ok());
  int fd = Connect(server.port());
  ASSERT_GE(fd, 0);
  SendRequest(fd, "/slow");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the query is running
  ::close(fd);
  auto fut = result_.get_future();
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(20)), std::future_status::ready)
      << "the query did not stop after the client went away";
  Outcome o = fut.get();
  EXPECT_EQ(o.code, StatusCode::kCanceled);
  // Stopped soon after the hang-up, not after running to the end.
  EXPECT_LT(o.took, std::chrono::seconds(10));
  server.Stop(1000);
}

// A client that waits gets its answer: the watcher does not cancel requests whose client is
// still there, also across keep-alive requests on one connection.
TEST(HttpServerTest, ConnectedClientIsNotCanceled) {
  std::atomic<int> canceled{0};
  HttpServer server("127.0.0.1:0", [&](const api::HttpRequest& r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (r.client_gone == nullptr || r.client_gone->load()) canceled++;
    api::HttpResponse resp;
    resp.content_type = "text/plain";
    resp.body = "ok";
    return resp;
  });
  ASSERT_TRUE(server.Start().ok());
  int fd = Connect(server.port());
  ASSERT_GE(fd, 0);
  std::string req = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  std::string got = ReadAll(fd);
  ::close(fd);
  EXPECT_EQ(canceled.load(), 0);
  size_t first = got.find("200 OK");
  ASSERT_NE(first, std::string::npos) << got;
  EXPECT_NE(got.find("200 OK", first + 1), std::string::npos) << got;
  server.Stop(1000);
}

}  // namespace
}  // namespace argus::server
