#include "remote_write_client.h"

#include <snappy.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace argus::itest {
namespace {

size_t AppendBody(char* data, size_t size, size_t nmemb, void* user) {
  static_cast<std::string*>(user)->append(data, size * nmemb);
  return size * nmemb;
}

}  // namespace

RemoteWriteClient::RemoteWriteClient(std::string url, long timeout_ms)
    : url_(std::move(url)), timeout_ms_(timeout_ms), curl_(curl_easy_init()) {
  curl_slist* h = nullptr;
  h = curl_slist_append(h, "Content-Type: application/x-protobuf");
  h = curl_slist_append(h, "Content-Encoding: snappy");
  h = curl_slist_append(h, "X-Prometheus-Remote-Write-Version: 0.1.0");
  h = curl_slist_append(h, "User-Agent: argus-itest/0.1");
  headers_.reset(h);
}

HttpResult RemoteWriteClient::Send(std::string_view request_bytes) {
  compressed_.clear();
  snappy::Compress(request_bytes.data(), request_bytes.size(), &compressed_);
  return Post(compressed_, headers_.get());
}

HttpResult RemoteWriteClient::PostRaw(std::string_view body,
                                      const std::vector<std::string>& headers) {
  curl_slist* h = nullptr;
  for (const std::string& header : headers) h = curl_slist_append(h, header.c_str());
  std::unique_ptr<curl_slist, SlistDeleter> owned(h);
  return Post(body, owned.get());
}

HttpResult RemoteWriteClient::Post(std::string_view body, curl_slist* headers) {
  HttpResult result;
  CURL* c = curl_.get();
  if (c == nullptr) {
    result.error = "curl_easy_init failed";
    return result;
  }
  curl_easy_setopt(c, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms_);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms_, 2000L));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &result.body);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    result.error = curl_easy_strerror(rc);
    result.body.clear();
    return result;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.status);
  return result;
}

}  // namespace argus::itest
