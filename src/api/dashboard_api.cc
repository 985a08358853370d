#include "api/dashboard_api.h"

#include <simdjson.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "api/json_writer.h"
#include "api/prometheus_api.h"
#include "util/file.h"

namespace argus::api {

namespace {

std::mutex g_write_mu;

// Parses `json` and requires an object; fills title and tags from it.
Status ParseDashboard(const std::string& json, DashboardInfo* info) {
  if (json.size() > kMaxDashboardBytes) {
    return Status::InvalidArgument("dashboard JSON is larger than 4 MiB");
  }
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element doc;
  if (auto err = parser.parse(padded).get(doc)) {
    return Status::InvalidArgument(std::string("dashboard is not valid JSON: ") +
                                   simdjson::error_message(err));
  }
  simdjson::dom::object obj;
  if (doc.get(obj)) return Status::InvalidArgument("dashboard JSON must be an object");
  std::string_view title;
  if (!obj["title"].get(title)) info->title = std::string(title);
  simdjson::dom::array tags;
  if (!obj["tags"].get(tags)) {
    for (auto t : tags) {
      std::string_view s;
      if (!t.get(s)) info->tags.emplace_back(s);
    }
  }
  return Status::OK();
}

HttpResponse UidResponse(const std::string& uid) {
  JsonWriter w;
  w.BeginObject();
  w.Key("uid");
  w.String(uid);
  w.EndObject();
  return SuccessResponse(w.Take());
}

}  // namespace

bool DashboardApi::ValidUid(const std::string& uid) {
  if (uid.empty() || uid.size() > 64) return false;
  return std::all_of(uid.begin(), uid.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

Result<std::vector<DashboardInfo>> DashboardApi::List() const {
  std::vector<DashboardInfo> out;
  auto names = ListDir(dir_);
  if (!names.ok()) {
    if (names.status().code() == StatusCode::kNotFound) return out;
    return names.status();
  }
  for (const std::string& name : *names) {
    if (name.size() <= 5 || name.substr(name.size() - 5) != ".json") continue;
    DashboardInfo info;
    info.uid = name.substr(0, name.size() - 5);
    if (!ValidUid(info.uid)) continue;
    auto json = ReadFile(dir_ + "/" + name);
    if (!json.ok() || !ParseDashboard(*json, &info).ok()) continue;
    if (info.title.empty()) info.title = info.uid;
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(), [](const DashboardInfo& a, const DashboardInfo& b) {
    return a.title != b.title ? a.title < b.title : a.uid < b.uid;
  });
  return out;
}

Result<std::string> DashboardApi::Get(const std::string& uid) const {
  if (!ValidUid(uid)) return Status::InvalidArgument("invalid dashboard uid \"" + uid + "\"");
  std::string path = dir_ + "/" + uid + ".json";
  if (!std::filesystem::exists(path))
    return Status::NotFound("dashboard \"" + uid + "\" not found");
  return ReadFile(path);
}

Status DashboardApi::Put(const std::string& uid, const std::string& json) const {
  if (!ValidUid(uid))
    return Status::InvalidArgument("invalid dashboard uid \"" + uid +
                                   "\" (use 1-64 of A-Z a-z 0-9 _ -)");
  DashboardInfo info;
  RETURN_IF_ERROR(ParseDashboard(json, &info));
  std::lock_guard<std::mutex> l(g_write_mu);
  RETURN_IF_ERROR(CreateDirs(dir_));
  return WriteFileAtomic(dir_ + "/" + uid + ".json", json);
}

Status DashboardApi::Delete(const std::string& uid) const {
  if (!ValidUid(uid)) return Status::InvalidArgument("invalid dashboard uid \"" + uid + "\"");
  std::lock_guard<std::mutex> l(g_write_mu);
  std::string path = dir_ + "/" + uid + ".json";
  if (std::remove(path.c_str()) != 0) {
    if (errno == ENOENT) return Status::NotFound("dashboard \"" + uid + "\" not found");
    return Status::FromErrno("remove " + path, errno);
  }
  return SyncDir(dir_);
}

HttpResponse DashboardApi::Handle(const HttpRequest& req) const {
  std::string_view rest = std::string_view(req.path).substr(kDashboardApiPrefix.size());
  if (rest.empty() || rest == "/") {
    if (req.method != "GET") {
      HttpResponse r =
          ErrorResponse(Status::InvalidArgument("method " + req.method + " not allowed; use GET"));
      r.status = 405;
      return r;
    }
    auto list = List();
    if (!list.ok()) return ErrorResponse(list.status());
    JsonWriter w;
    w.BeginArray();
    for (const auto& d : *list) {
      w.BeginObject();
      w.Key("uid");
      w.String(d.uid);
      w.Key("title");
      w.String(d.title);
      w.Key("tags");
      w.BeginArray();
      for (const auto& t : d.tags) w.String(t);
      w.EndArray();
      w.EndObject();
    }
    w.EndArray();
    return SuccessResponse(w.Take());
  }
  if (rest[0] != '/') return ErrorResponse(Status::NotFound("no such API: " + req.path));
  std::string uid(rest.substr(1));
  if (req.method == "GET") {
    auto json = Get(uid);
    if (!json.ok()) return ErrorResponse(json.status());
    return SuccessResponse(std::move(*json));
  }
  if (req.method == "PUT" || req.method == "POST") {
    Status st = Put(uid, req.body);
    return st.ok() ? UidResponse(uid) : ErrorResponse(st);
  }
  if (req.method == "DELETE") {
    Status st = Delete(uid);
    return st.ok() ? UidResponse(uid) : ErrorResponse(st);
  }
  HttpResponse r = ErrorResponse(
      Status::InvalidArgument("method " + req.method + " not allowed; use GET, PUT or DELETE"));
  r.status = 405;
  return r;
}

}  // namespace argus::api
