// A minimal Prometheus remote_write 1.0 sender for the test clients and the load generator:
// snappy block-compresses a serialized `prometheus.WriteRequest` and POSTs it with the headers
// the spec requires (Prometheus docs, specs/remote_write_spec: Content-Type
// application/x-protobuf, Content-Encoding snappy, X-Prometheus-Remote-Write-Version 0.1.0),
// over one keep-alive connection (libcurl easy handle).
//
// Example:
//   curl_global_init(CURL_GLOBAL_DEFAULT);            // once, in main, before any thread
//   argus::itest::RemoteWriteClient client("http://127.0.0.1:9090/api/v1/write");
//   prometheus::WriteRequest req = ...;
//   argus::itest::HttpResult r = client.Send(req.SerializeAsString());
//   if (r.Retryable()) { /* back off and send the same bytes again */ }
//
// Thread-safety: one client per thread (the curl handle and the buffers are not shared).
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace argus::itest {

// The outcome of one POST. `status` is the HTTP status, or 0 when no HTTP answer arrived
// (connection refused or reset, timeout); then `error` holds curl's message.
struct HttpResult {
  long status = 0;
  std::string error;
  std::string body;  // the response body (the server's message on errors)

  bool Ok() const { return status >= 200 && status < 300; }
  // What the remote-write spec says a sender retries: no answer, 5xx and 429.
  bool Retryable() const { return status == 0 || status >= 500 || status == 429; }
};

class RemoteWriteClient {
 public:
  // `url` is the full endpoint, e.g. http://127.0.0.1:9090/api/v1/write. `timeout_ms` bounds
  // each request (connect timeout: min(timeout_ms, 2000)).
  explicit RemoteWriteClient(std::string url, long timeout_ms = 10000);
  RemoteWriteClient(const RemoteWriteClient&) = delete;
  RemoteWriteClient& operator=(const RemoteWriteClient&) = delete;

  // Compresses `request_bytes` (a serialized prometheus.WriteRequest) and POSTs it.
  HttpResult Send(std::string_view request_bytes);

  // POSTs `body` as is with the given headers ("Name: value"), for requests that break the
  // protocol on purpose.
  HttpResult PostRaw(std::string_view body, const std::vector<std::string>& headers);

  // Bytes of the last compressed body Send posted.
  size_t last_compressed_bytes() const { return compressed_.size(); }

 private:
  struct CurlDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
  };
  struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
  };

  HttpResult Post(std::string_view body, curl_slist* headers);

  std::string url_;
  long timeout_ms_;
  std::unique_ptr<CURL, CurlDeleter> curl_;
  std::unique_ptr<curl_slist, SlistDeleter> headers_;
  std::string compressed_;
};

}  // namespace argus::itest
