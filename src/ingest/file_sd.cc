#include "ingest/file_sd.h"

#include <glob.h>
#include <sys/stat.h>

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "util/file.h"

namespace argus::ingest {

namespace {

Result<TargetGroup> ParseGroup(const YAML::Node& n, const std::string& path, size_t index) {
  if (!n.IsMap()) return Status::InvalidArgument("group " + std::to_string(index) + " is not a mapping");
  TargetGroup g;
  g.source = path + ":" + std::to_string(index);
  std::vector<Label> labels;
  for (const auto& kv : n) {
    std::string key = kv.first.as<std::string>();
    if (key == "targets") {
      const YAML::Node& ts = kv.second;
      if (ts.IsNull()) continue;
      if (!ts.IsSequence()) {
        return Status::InvalidArgument("group " + std::to_string(index) + ": targets must be a list");
      }
      for (const auto& t : ts) {
        if (!t.IsScalar()) {
          return Status::InvalidArgument("group " + std::to_string(index) +
                                         ": each target must be a string");
        }
        std::string addr = t.as<std::string>();
        if (addr.empty()) continue;
        g.targets.push_back(Labels::FromSorted({{std::string(kAddressLabel), std::move(addr)}}));
      }
    } else if (key == "labels") {
      const YAML::Node& ls = kv.second;
      if (ls.IsNull()) continue;
      if (!ls.IsMap()) {
        return Status::InvalidArgument("group " + std::to_string(index) + ": labels must be a mapping");
      }
      for (const auto& lv : ls) {
        std::string name = lv.first.as<std::string>();
        if (!lv.second.IsScalar() && !lv.second.IsNull()) {
          return Status::InvalidArgument("group " + std::to_string(index) + ": value of label \"" +
                                         name + "\" must be a string");
        }
        std::string value = lv.second.IsNull() ? "" : lv.second.as<std::string>();
        if (name.empty() || !IsValidUtf8(name)) {
          return Status::InvalidArgument("group " + std::to_string(index) +
                                         ": invalid label name \"" + name + "\"");
        }
        if (!IsValidUtf8(value)) {
          return Status::InvalidArgument("group " + std::to_string(index) +
                                         ": invalid UTF-8 in value of label \"" + name + "\"");
        }
        labels.push_back({std::move(name), std::move(value)});
      }
    } else {
      return Status::InvalidArgument("group " + std::to_string(index) + ": unknown field \"" + key + "\"");
    }
  }
  labels.push_back({std::string(kMetaFilepathLabel), path});
  Result<Labels> ls = Labels::FromUnsorted(std::move(labels));
  if (!ls.ok()) return ls.status().WithContext("group " + std::to_string(index));
  g.labels = std::move(*ls);
  return g;
}

bool IsJsonPath(const std::string& path) {
  return path.ends_with(".json") || path.ends_with(".JSON");
}

}  // namespace

std::vector<TargetGroup> StaticTargetGroups(const std::vector<StaticConfig>& configs) {
  std::vector<TargetGroup> out;
  for (size_t i = 0; i < configs.size(); ++i) {
    TargetGroup g;
    g.source = "static:" + std::to_string(i);
    g.labels = configs[i].labels;
    for (const std::string& t : configs[i].targets) {
      g.targets.push_back(Labels::FromSorted({{std::string(kAddressLabel), t}}));
    }
    out.push_back(std::move(g));
  }
  return out;
}

Result<std::vector<TargetGroup>> ParseTargetGroupFile(std::string_view content,
                                                      const std::string& path) {
  std::string text(content);
  if (IsJsonPath(path)) {
    // JSON is YAML 1.2 flow syntax, except that YAML forbids tabs as indentation. A raw tab
    // may only appear between tokens in valid JSON (never inside a string), so spaces are
    // equivalent.
    std::replace(text.begin(), text.end(), '\t', ' ');
  }
  std::vector<TargetGroup> out;
  try {
    YAML::Node root = YAML::Load(text);
    if (root.IsNull()) return out;
    if (!root.IsSequence()) {
      return Status::InvalidArgument(path + ": expected a list of target groups");
    }
    for (size_t i = 0; i < root.size(); ++i) {
      Result<TargetGroup> g = ParseGroup(root[i], path, i);
      if (!g.ok()) return g.status().WithContext(path);
      out.push_back(std::move(*g));
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(path + ": " + e.what());
  }
  return out;
}

FileDiscovery::FileDiscovery(FileSdConfig config) : config_(std::move(config)) {}

bool FileDiscovery::Refresh(bool force) {
  std::vector<std::string> paths;
  for (const std::string& pattern : config_.files) {
    glob_t g{};
    int rc = glob(pattern.c_str(), 0, nullptr, &g);
    if (rc == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) paths.emplace_back(g.gl_pathv[i]);
    } else if (rc != GLOB_NOMATCH) {
      ++errors_total_;
      spdlog::error("file_sd: cannot expand \"{}\"", pattern);
    }
    globfree(&g);
  }
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());

  bool changed = false;
  // Files gone from the globs lose their groups.
  for (auto it = files_.begin(); it != files_.end();) {
    if (!std::binary_search(paths.begin(), paths.end(), it->first)) {
      changed |= !it->second.groups.empty();
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
  std::string errors;
  for (const std::string& path : paths) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) continue;  // vanished between glob and stat
    int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    int64_t size = static_cast<int64_t>(st.st_size);
    FileState& fs = files_[path];
    if (!force && fs.mtime_ns == mtime_ns && fs.size_bytes == size) continue;
    Result<std::string> content = ReadFile(path);
    Result<std::vector<TargetGroup>> groups =
        content.ok() ? ParseTargetGroupFile(*content, path)
                     : Result<std::vector<TargetGroup>>(content.status());
    if (!groups.ok()) {
      ++errors_total_;
      spdlog::error("file_sd: {}", groups.status().ToString());
      if (!errors.empty()) errors += "; ";
      errors += groups.status().message();
      // Keep the old groups; read again when the file changes or on the next forced refresh.
      fs.mtime_ns = mtime_ns;
      fs.size_bytes = size;
      continue;
    }
    fs.mtime_ns = mtime_ns;
    fs.size_bytes = size;
    if (fs.groups != *groups) {
      fs.groups = std::move(*groups);
      changed = true;
    }
  }
  last_error_ = std::move(errors);
  return changed;
}

std::vector<TargetGroup> FileDiscovery::Groups() const {
  std::vector<TargetGroup> out;
  for (const auto& [path, fs] : files_) {
    out.insert(out.end(), fs.groups.begin(), fs.groups.end());
  }
  return out;
}

}  // namespace argus::ingest
