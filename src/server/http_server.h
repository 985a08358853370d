// A small HTTP/1.1 server on Boost.Beast: one acceptor thread, one thread per connection
// (keep-alive supported), bodies up to a configured size. Requests are converted to
// api::HttpRequest and answered by one handler function, so routing lives in server.cc.
// WebSocket upgrade requests (RFC 6455) go to the WebSocket handler when one is set: it
// returns an api::PushSession whose messages the connection's thread sends as text frames
// (polled every api::PushSession::kPollIntervalMs), or a response sent instead of upgrading.
// While a handler runs, one watcher thread polls its connection for the client hanging up
// (POLLRDHUP) and then sets the request's `client_gone` flag, so a running query stops.
//
// Example:
//   HttpServer s("127.0.0.1:9090", [](const api::HttpRequest& r) { return Route(r); });
//   RETURN_IF_ERROR(s.Start());    // binds; port() tells the chosen port for ":0"
//   ...
//   s.Stop();                      // stops accepting, waits for in-flight requests
//
// Thread-safety: the handler is called concurrently from connection threads. Start and Stop
// are called from one thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "api/http.h"
#include "util/status.h"

namespace argus::server {

using HttpHandler = std::function<api::HttpResponse(const api::HttpRequest&)>;
using WebSocketHandler = std::function<api::UpgradeResult(const api::HttpRequest&)>;

// Splits "host:port" (host may be empty, meaning all interfaces; "[::1]:9090" for IPv6).
Result<std::pair<std::string, uint16_t>> ParseListenAddress(const std::string& addr);

class HttpServer {
 public:
  // `max_body_bytes`: larger bodies get 413 (default 64 MiB).
  HttpServer(std::string listen_address, HttpHandler handler,
             uint64_t max_body_bytes = 64ull << 20);
  ~HttpServer();
  // Handles WebSocket upgrades; without one they are answered by the HTTP handler. Call
  // before Start.
  void SetWebSocketHandler(WebSocketHandler h) { ws_handler_ = std::move(h); }
  // Binds and starts accepting. Errors: InvalidArgument (bad address), IOError (bind failed).
  Status Start();
  // Stops accepting and waits (up to `grace_ms`) for open connections to finish their request.
  void Stop(int64_t grace_ms = 10000);
  uint16_t port() const { return port_; }

 private:
  struct Impl;
  void AcceptLoop();
  void Serve(int fd);
  // The disconnect watcher: polls the sockets of requests being handled.
  void WatchLoop();
  // Starts / stops watching `fd` for a hang-up while its request is handled; `gone` is set
  // when the peer closes. REQUIRES: Unwatch before the socket is closed.
  void Watch(int fd, std::atomic<bool>* gone);
  void Unwatch(int fd);
  std::string address_;
  HttpHandler handler_;
  WebSocketHandler ws_handler_;
  uint64_t max_body_bytes_;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  int active_ = 0;  // GUARDED_BY(mu_)
  std::set<int> fds_;  // GUARDED_BY(mu_): sockets of open connections
  std::thread watch_thread_;
};

}  // namespace argus::server
