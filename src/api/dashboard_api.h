// Argus' dashboards API: the web UI's dashboards, stored as one JSON file per dashboard under a
// directory (by default --storage.path/dashboards). The dashboard JSON itself is the UI's model
// (a Grafana classic-schema subset, see web/src/dashboards/model.ts); the server only checks
// that it is a JSON object of at most 4 MiB and reads its "title" and "tags" for the list.
//
//   GET    /api/argus/v1/dashboards {"status":"success","data":[{"uid","title","tags"}...]} GET
//   /api/argus/v1/dashboards/<uid>    {"status":"success","data":<dashboard JSON>} PUT
//   /api/argus/v1/dashboards/<uid>    body: dashboard JSON ->
//   {"status":"success","data":{"uid":...}} DELETE /api/argus/v1/dashboards/<uid>
//   {"status":"success","data":{"uid":...}}
// A uid is 1-64 characters of [A-Za-z0-9_-]. Errors use the Prometheus error body (400
// bad_data, 404 not_found, 405, 500 internal).
//
// Example:
//   HttpResponse r = DashboardApi(storage_path + "/dashboards").Handle(req);
//
// Thread-safety: Handle may be called from many threads; writes and deletes are serialized by a
// process-wide mutex and each file is replaced atomically (util/file.h WriteFileAtomic), so a
// reader sees the old or the new dashboard, never a mix.
#pragma once

#include <string>
#include <vector>

#include "api/http.h"
#include "util/status.h"

namespace argus::api {

inline constexpr std::string_view kDashboardApiPrefix = "/api/argus/v1/dashboards";
inline constexpr size_t kMaxDashboardBytes = 4 << 20;

struct DashboardInfo {
  std::string uid;
  std::string title;
  std::vector<std::string> tags;
};

class DashboardApi {
 public:
  // `dir` is created on the first write.
  explicit DashboardApi(std::string dir) : dir_(std::move(dir)) {}

  // Answers a request whose path starts with kDashboardApiPrefix.
  HttpResponse Handle(const HttpRequest& req) const;

  // The stored dashboards sorted by title; files that do not parse are skipped.
  Result<std::vector<DashboardInfo>> List() const;
  // The stored JSON; NotFound if absent, InvalidArgument for a bad uid.
  Result<std::string> Get(const std::string& uid) const;
  // Validates and stores `json` under `uid`; InvalidArgument for a bad uid or body.
  Status Put(const std::string& uid, const std::string& json) const;
  // NotFound if absent.
  Status Delete(const std::string& uid) const;

  // True for 1-64 characters of [A-Za-z0-9_-].
  static bool ValidUid(const std::string& uid);

 private:
  std::string dir_;
};

}  // namespace argus::api
