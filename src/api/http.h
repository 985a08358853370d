// Transport-neutral HTTP request and response values, so the API handlers (Prometheus API,
// push endpoints) can be tested without sockets. The server (server/http_server.h) converts
// Boost.Beast messages to and from these.
//
// Example:
//   HttpRequest req = ...;                       // from the server
//   std::vector<std::string> m = req.Params("match[]");   // query string and form body
//
// Thread-safety: plain values.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace argus::api {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded path without the query string, e.g. "/api/v1/query"
  std::vector<std::pair<std::string, std::string>> params;  // query string, then form body
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;    // raw body (for a form POST, also decoded into params)
  // Set by the server (true) once the client closes its connection while this request is
  // being handled; nullptr when nobody watches (tests, in-process calls). Owned by the server
  // and valid until the handler returns. Long handlers (queries) hand it to the engine, which
  // then stops, as Prometheus cancels a query's context when its client goes away.
  const std::atomic<bool>* client_gone = nullptr;

  // The first value of parameter `name`, or "" if absent.
  std::string Param(std::string_view name) const;
  bool HasParam(std::string_view name) const;
  // All values of `name` in order (e.g. "match[]").
  std::vector<std::string> Params(std::string_view name) const;
  // The header value (name lower-case), or "".
  std::string Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Retry-After
};

// A server-push session over a WebSocket (Loki's /loki/api/v1/tail): after the upgrade the
// server calls Poll about every `poll_interval_ms` from the connection's thread and sends each
// returned message as one text frame. The session ends when Poll returns false (after its
// messages are sent), the client closes, or the server stops; then it is destroyed.
// Thread-safety: Poll is called from one thread; the session may be fed from others.
class PushSession {
 public:
  virtual ~PushSession() = default;
  virtual bool Poll(int64_t now_ns, std::vector<std::string>* out) = 0;
  static constexpr int64_t kPollIntervalMs = 100;
};

// The answer to a WebSocket upgrade request: a session to run, or (session null) the HTTP
// response to send instead of upgrading (e.g. a 400 for a bad query).
struct UpgradeResult {
  std::unique_ptr<PushSession> session;
  HttpResponse error;
};

// Percent-decodes `s`; '+' becomes ' ' when `plus_is_space` (form encoding).
std::string UrlDecode(std::string_view s, bool plus_is_space);
// Appends the pairs of an application/x-www-form-urlencoded string (or a query string).
void ParseFormEncoded(std::string_view s, std::vector<std::pair<std::string, std::string>>* out);

}  // namespace argus::api
