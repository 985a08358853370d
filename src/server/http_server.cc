#include "server/http_server.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <vector>

namespace argus::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

Result<std::pair<std::string, uint16_t>> ParseListenAddress(const std::string& addr) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("listen address \"" + addr + "\" is not host:port");
  }
  std::string host = addr.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port_s = addr.substr(colon + 1);
  char* end = nullptr;
  long port = std::strtol(port_s.c_str(), &end, 10);
  if (port_s.empty() || *end != '\0' || port < 0 || port > 65535) {
    return Status::InvalidArgument("listen address \"" + addr + "\" has an invalid port");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

namespace {

namespace websocket = beast::websocket;

int64_t WallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Upgrades `sock` (whose io_context is `ioc`, not yet run) to a WebSocket and streams the
// session's messages until it ends, the client closes or `stopping` is set. Single-threaded:
// one pending read (which answers pings and notices the close), one pending write and a
// timer that polls the session, all on `ioc`.
void RunPushSession(asio::io_context& ioc, tcp::socket sock, const http::request<http::string_body>& req,
                    std::unique_ptr<api::PushSession> session, const std::atomic<bool>& stopping,
                    const std::function<void()>& before_close) {
  websocket::stream<tcp::socket> ws(std::move(sock));
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "argus"); }));
  boost::system::error_code ec;
  ws.accept(req, ec);
  if (ec) {
    before_close();
    return;
  }
  ws.text(true);
  beast::flat_buffer rbuf;
  asio::steady_timer timer(ioc);
  std::deque<std::string> outq;
  bool writing = false, ended = false, closing = false, gone = false;

  auto close = [&](websocket::close_code code) {
    if (closing || gone) return;
    closing = true;
    timer.cancel();
    ws.async_close(code, [&](boost::system::error_code) {
      gone = true;
      timer.cancel();
    });
    // A client that never answers the close frame gets its socket closed after a second.
    timer.expires_after(std::chrono::seconds(1));
    timer.async_wait([&](boost::system::error_code tec) {
      if (tec || gone) return;
      gone = true;
      boost::system::error_code ignored;
      beast::get_lowest_layer(ws).close(ignored);
    });
  };
  std::function<void()> write_next = [&] {
    if (writing || gone || closing) return;
    if (outq.empty()) {
      if (ended) close(websocket::close_code::normal);
      return;
    }
    writing = true;
    ws.async_write(asio::buffer(outq.front()), [&](boost::system::error_code wec, size_t) {
      writing = false;
      outq.pop_front();
      if (wec) {
        gone = true;
        timer.cancel();
        return;
      }
      write_next();
    });
  };
  std::function<void()> read = [&] {
    ws.async_read(rbuf, [&](boost::system::error_code rec, size_t n) {
      if (rec) {  // the client closed (or the socket was shut down): stop everything
        gone = true;
        timer.cancel();
        return;
      }
      rbuf.consume(n);  // client messages carry nothing for a push session
      read();
    });
  };
  std::function<void()> tick = [&] {
    std::vector<std::string> msgs;
    if (stopping) {
      close(websocket::close_code::going_away);
      return;
    }
    if (!session->Poll(WallNowNs(), &msgs)) ended = true;
    for (std::string& m : msgs) outq.push_back(std::move(m));
    write_next();
    if (ended || gone) return;
    timer.expires_after(std::chrono::milliseconds(api::PushSession::kPollIntervalMs));
    timer.async_wait([&](boost::system::error_code tec) {
      if (!tec && !gone && !closing) tick();
    });
  };
  read();
  tick();
  ioc.run();
  before_close();  // while the descriptor is still ours
}

}  // namespace

struct HttpServer::Impl {
  asio::io_context ioc;
  std::unique_ptr<tcp::acceptor> acceptor;
  // The disconnect watcher's state. A registration's generation tells a socket from a later
  // one that reuses its descriptor number.
  struct Watched {
    std::atomic<bool>* gone;
    uint64_t gen;
  };
  std::mutex watch_mu;
  std::map<int, Watched> watched;  // GUARDED_BY(watch_mu)
  uint64_t next_gen = 0;           // GUARDED_BY(watch_mu)
  int wake_fd = -1;                // eventfd that interrupts the watcher's poll

  void Wake() const {
    uint64_t one = 1;
    ssize_t n = ::write(wake_fd, &one, sizeof one);
    (void)n;  // a full counter already wakes the poll
  }
};

HttpServer::HttpServer(std::string listen_address, HttpHandler handler, uint64_t max_body_bytes)
    : address_(std::move(listen_address)),
      handler_(std::move(handler)),
      max_body_bytes_(max_body_bytes),
      impl_(std::make_unique<Impl>()) {}

HttpServer::~HttpServer() { Stop(0); }

Status HttpServer::Start() {
  ASSIGN_OR_RETURN(auto hp, ParseListenAddress(address_));
  boost::system::error_code ec;
  asio::ip::address ip = hp.first.empty() ? asio::ip::address(asio::ip::address_v6::any())
                                          : asio::ip::make_address(hp.first, ec);
  if (ec) return Status::InvalidArgument("listen address \"" + address_ + "\": " + ec.message());
  tcp::endpoint ep(ip, hp.second);
  auto acc = std::make_unique<tcp::acceptor>(impl_->ioc);
  acc->open(ep.protocol(), ec);
  if (!ec && ip.is_v6()) acc->set_option(asio::ip::v6_only(false), ec);
  if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc->bind(ep, ec);
  if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IOError("listen on " + address_ + ": " + ec.message());
  port_ = acc->local_endpoint().port();
  impl_->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl_->wake_fd < 0) return Status::IOError(std::string("eventfd: ") + std::strerror(errno));
  impl_->acceptor = std::move(acc);
  watch_thread_ = std::thread([this] { WatchLoop(); });
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  return Status::OK();
}

void HttpServer::Watch(int fd, std::atomic<bool>* gone) {
  {
    std::lock_guard<std::mutex> l(impl_->watch_mu);
    impl_->watched[fd] = Impl::Watched{gone, impl_->next_gen++};
  }
  impl_->Wake();
}

void HttpServer::Unwatch(int fd) {
  {
    std::lock_guard<std::mutex> l(impl_->watch_mu);
    impl_->watched.erase(fd);
  }
  impl_->Wake();
}

void HttpServer::WatchLoop() {
  std::vector<pollfd> pfds;
  std::vector<uint64_t> gens;
  while (!stopping_) {
    pfds.assign(1, pollfd{impl_->wake_fd, POLLIN, 0});
    gens.assign(1, 0);
    {
      std::lock_guard<std::mutex> l(impl_->watch_mu);
      for (const auto& [fd, w] : impl_->watched) {
        pfds.push_back(pollfd{fd, POLLRDHUP, 0});
        gens.push_back(w.gen);
      }
    }
    int n = ::poll(pfds.data(), pfds.size(), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::error("http: disconnect watcher: poll: {}", std::strerror(errno));
      return;
    }
    if (pfds[0].revents != 0) {
      uint64_t v;
      ssize_t r = ::read(impl_->wake_fd, &v, sizeof v);
      (void)r;
    }
    std::lock_guard<std::mutex> l(impl_->watch_mu);
    for (size_t i = 1; i < pfds.size(); ++i) {
      if ((pfds[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0) continue;
      auto it = impl_->watched.find(pfds[i].fd);
      if (it == impl_->watched.end() || it->second.gen != gens[i]) continue;
      it->second.gone->store(true);
      impl_->watched.erase(it);  // reported once; the handler unwatches a missing entry
    }
  }
}

void HttpServer::AcceptLoop() {
  while (!stopping_) {
    boost::system::error_code ec;
    tcp::socket sock(impl_->ioc);
    impl_->acceptor->accept(sock, ec);
    if (ec) {
      if (stopping_) break;
      continue;
    }
    int fd = sock.release(ec);
    if (ec) continue;
    {
      std::lock_guard<std::mutex> l(mu_);
      ++active_;
      fds_.insert(fd);
    }
    std::thread([this, fd] {
      Serve(fd);
      std::lock_guard<std::mutex> l(mu_);
      --active_;
      cv_.notify_all();
    }).detach();
  }
}

void HttpServer::Serve(int fd) {
  asio::io_context ioc;
  tcp::socket sock(ioc);
  boost::system::error_code ec;
  sock.assign(tcp::v6(), fd, ec);
  if (ec) {
    std::lock_guard<std::mutex> l(mu_);
    fds_.erase(fd);
    ::close(fd);
    return;
  }
  // Idle connections are closed after 5 minutes without a request.
  struct timeval tv{300, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  beast::flat_buffer buf;
  while (!stopping_) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(max_body_bytes_);
    parser.header_limit(1 << 20);
    http::read(sock, buf, parser, ec);
    if (ec == http::error::end_of_stream || ec == asio::error::eof) break;
    if (ec) {
      if (ec == http::error::body_limit) {
        http::response<http::string_body> res{http::status::payload_too_large, 11};
        res.set(http::field::content_type, "text/plain");
        res.body() = "request body too large\n";
        res.prepare_payload();
        res.keep_alive(false);
        http::write(sock, res, ec);
      }
      break;
    }
    auto& req = parser.get();
    api::HttpRequest r;
    r.method = std::string(req.method_string());
    std::string target(req.target());
    size_t q = target.find('?');
    r.path = api::UrlDecode(target.substr(0, q), false);
    if (q != std::string::npos) api::ParseFormEncoded(std::string_view(target).substr(q + 1), &r.params);
    for (const auto& f : req) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      r.headers[name] = std::string(f.value());
    }
    r.body = std::move(req.body());
    if (ws_handler_ && websocket::is_upgrade(req)) {
      api::UpgradeResult up = ws_handler_(r);
      if (up.session) {
        RunPushSession(ioc, std::move(sock), req, std::move(up.session), stopping_, [&] {
          std::lock_guard<std::mutex> l(mu_);
          fds_.erase(fd);
        });
        return;
      }
      http::response<http::string_body> res{static_cast<http::status>(up.error.status), req.version()};
      res.set(http::field::server, "argus");
      res.set(http::field::content_type, up.error.content_type);
      res.keep_alive(false);
      res.body() = std::move(up.error.body);
      res.prepare_payload();
      http::write(sock, res, ec);
      break;
    }
    if (r.method == "POST" &&
        r.Header("content-type").rfind("application/x-www-form-urlencoded", 0) == 0) {
      api::ParseFormEncoded(r.body, &r.params);
    }
    api::HttpResponse out;
    std::atomic<bool> gone{false};
    r.client_gone = &gone;
    Watch(fd, &gone);
    try {
      out = handler_(r);
    } catch (const std::exception& e) {
      spdlog::error("http: handler for {} threw: {}", r.path, e.what());
      out.status = 500;
      out.content_type = "text/plain";
      out.body = "internal error\n";
    }
    Unwatch(fd);
    if (gone.load()) break;  // nobody to answer
    http::response<http::string_body> res{static_cast<http::status>(out.status), req.version()};
    res.set(http::field::server, "argus");
    res.set(http::field::content_type, out.content_type);
    for (const auto& [k, v] : out.headers) res.set(k, v);
    res.keep_alive(req.keep_alive() && !stopping_);
    res.body() = std::move(out.body);
    res.prepare_payload();
    http::write(sock, res, ec);
    if (ec || !res.keep_alive()) break;
  }
  sock.shutdown(tcp::socket::shutdown_both, ec);
  std::lock_guard<std::mutex> l(mu_);
  fds_.erase(fd);  // before `sock` closes the descriptor, so Stop never touches a reused fd
}

void HttpServer::Stop(int64_t grace_ms) {
  if (stopping_.exchange(true)) return;
  if (impl_->acceptor) {
    boost::system::error_code ec;
    // shutdown() wakes the blocked accept(); close() alone does not on Linux.
    ::shutdown(impl_->acceptor->native_handle(), SHUT_RDWR);
    impl_->acceptor->close(ec);
  }
  if (accept_thread_.joinable()) accept_thread_.join();
  std::unique_lock<std::mutex> l(mu_);
  // In-flight requests get `grace_ms` to finish; then every connection is shut down (which
  // also wakes idle keep-alive reads) and we wait for the threads, which use `this`.
  cv_.wait_for(l, std::chrono::milliseconds(grace_ms), [this] { return active_ == 0; });
  for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  cv_.wait(l, [this] { return active_ == 0; });
  l.unlock();
  if (watch_thread_.joinable()) {
    impl_->Wake();
    watch_thread_.join();
  }
  if (impl_->wake_fd >= 0) {
    ::close(impl_->wake_fd);
    impl_->wake_fd = -1;
  }
}

}  // namespace argus::server
