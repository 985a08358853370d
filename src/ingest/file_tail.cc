#include "ingest/file_tail.h"

#include <fcntl.h>
#include <glob.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <sstream>

#include "ingest/compression.h"
#include "util/file.h"

namespace argus::ingest {

namespace {

void SplitLines(std::string_view text, std::vector<std::string>* lines) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view l = text.substr(0, nl);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (!l.empty()) lines->emplace_back(l);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

}  // namespace

Result<std::vector<TailSource>> ParseLogSources(const YAML::Node& node, const std::string& storage_path) {
  std::vector<TailSource> out;
  if (!node || node.IsNull()) return out;
  if (!node.IsSequence()) return Status::InvalidArgument("log_sources must be a list");
  try {
    for (size_t i = 0; i < node.size(); ++i) {
      const YAML::Node s = node[i];
      std::string where = "log_sources[" + std::to_string(i) + "]";
      if (!s.IsMap()) return Status::InvalidArgument(where + " must be a mapping");
      for (const auto& kv : s) {
        std::string k = kv.first.as<std::string>();
        if (k != "name" && k != "paths" && k != "labels" && k != "pipeline_stages") {
          return Status::InvalidArgument(where + ": unknown field \"" + k + "\"");
        }
      }
      std::vector<std::string> paths;
      if (s["paths"] && s["paths"].IsSequence()) {
        for (const auto& p : s["paths"]) paths.push_back(p.as<std::string>());
      } else if (s["paths"] && s["paths"].IsScalar()) {
        paths.push_back(s["paths"].as<std::string>());
      }
      if (paths.empty()) return Status::InvalidArgument(where + ".paths: at least one path is required");
      std::vector<Label> ls;
      if (const YAML::Node l = s["labels"]) {
        if (!l.IsMap()) return Status::InvalidArgument(where + ".labels must be a mapping");
        for (const auto& kv : l) {
          std::string name = kv.first.as<std::string>();
          bool valid = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
          for (char c : name) valid = valid && (c == '_' || std::isalnum(static_cast<unsigned char>(c)));
          if (!valid) return Status::InvalidArgument(where + ".labels: invalid label name \"" + name + "\"");
          ls.push_back({name, kv.second.as<std::string>()});
        }
      }
      auto labels = Labels::FromUnsorted(ls);
      if (!labels.ok()) return Status::InvalidArgument(where + ".labels: " + labels.status().message());
      auto stages = std::make_shared<YAML::Node>(YAML::Clone(s["pipeline_stages"]));
      auto check = Pipeline::Make(*stages);
      if (!check.ok()) return Status::InvalidArgument(where + "." + check.status().message());
      for (std::string p : paths) {
        for (size_t at; (at = p.find("$STORAGE_PATH")) != std::string::npos;) p.replace(at, 13, storage_path);
        out.push_back({p, *labels, stages});
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("log_sources: ") + e.what());
  }
  return out;
}

FileTailer::FileTailer(std::vector<TailSource> sources, std::string positions_path, LokiPushHandler* push)
    : sources_(std::move(sources)), positions_path_(std::move(positions_path)), push_(push) {
  LoadPositions();
}

FileTailer::~FileTailer() {
  Stop();
  for (auto& [path, f] : files_) {
    if (f.fd >= 0) ::close(f.fd);
  }
}

void FileTailer::LoadPositions() {
  std::ifstream in(positions_path_);
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    uint64_t offset, inode;
    std::string path;
    if (ls >> offset >> inode && std::getline(ls >> std::ws, path) && !path.empty()) saved_[path] = {inode, offset};
  }
}

Status FileTailer::SavePositions() {
  std::string out;
  for (const auto& [path, f] : files_) {
    out += std::to_string(f.offset) + " " + std::to_string(f.inode) + " " + path + "\n";
  }
  return WriteFileAtomic(positions_path_, out);
}

Status FileTailer::ReadFile(const std::string& path, File* f, std::vector<std::string>* lines) {
  auto emit = [&](std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines->push_back(std::move(line));
  };
  char buf[64 << 10];
  while (true) {
    ssize_t n = ::pread(f->fd, buf, sizeof buf, static_cast<off_t>(f->offset));
    if (n < 0) return Status::FromErrno("read " + path, errno);
    if (n == 0) break;
    f->offset += static_cast<uint64_t>(n);
    std::string_view chunk(buf, static_cast<size_t>(n));
    size_t pos;
    while ((pos = chunk.find('\n')) != std::string_view::npos) {
      f->partial.append(chunk.substr(0, pos));
      emit(std::move(f->partial));
      f->partial.clear();
      chunk.remove_prefix(pos + 1);
    }
    f->partial.append(chunk);
    if (f->partial.size() > kMaxPartialLineBytes) {
      emit(std::move(f->partial));
      f->partial.clear();
    }
  }
  return Status::OK();
}

Status FileTailer::ReadGzip(const std::string& path, File* f, std::vector<std::string>* lines) {
  ASSIGN_OR_RETURN(std::string compressed, argus::ReadFile(path));
  auto text = Gunzip(compressed, kMaxGzipBytes);
  // A corrupt or oversized archive is reported once and not retried.
  f->gzip_done = true;
  f->offset = compressed.size();
  if (!text.ok()) return Status::InvalidArgument("gzip " + path + ": " + text.status().message());
  SplitLines(*text, lines);
  return Status::OK();
}

void FileTailer::OpenFile(const std::string& path, const TailSource& src, uint64_t inode, File* f) {
  f->inode = inode;
  std::vector<Label> ls(src.labels.begin(), src.labels.end());
  ls.push_back({"filename", path});
  auto labels = Labels::FromUnsorted(ls);
  f->labels = labels.ok() ? *labels : src.labels;
  if (!f->pipeline) {
    auto p = src.pipeline_stages ? Pipeline::Make(*src.pipeline_stages) : Pipeline::Make(YAML::Node());
    if (!p.ok()) {
      spdlog::error("tail {}: {} (tailing without pipeline stages)", path, p.status().ToString());
      p = Pipeline::Make(YAML::Node());
    }
    f->pipeline = std::move(*p);
  }
}

Status FileTailer::PollOnce(int64_t now_ns) {
  std::vector<PipelineEntry> entries;
  Status first = Status::OK();
  auto note = [&](const Status& s) {
    if (!s.ok() && first.ok()) first = s;
  };
  auto run = [&](File& f, std::vector<std::string>& lines) {
    for (std::string& l : lines) f.pipeline->Process(PipelineEntry::FromLine(now_ns, std::move(l), f.labels), now_ns, &entries);
    lines.clear();
  };
  // Offsets before this poll: a failed push (e.g. 429) rewinds to them and retries next time.
  struct Saved {
    uint64_t inode, offset;
    std::string partial;
    bool gzip_done;
  };
  std::map<std::string, Saved> before;
  for (const auto& [path, f] : files_) before[path] = {f.inode, f.offset, f.partial, f.gzip_done};
  std::map<std::string, bool> seen;
  std::vector<std::string> lines;
  for (const TailSource& src : sources_) {
    glob_t g{};
    if (::glob(src.glob.c_str(), 0, nullptr, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        std::string path = g.gl_pathv[i];
        if (seen.contains(path)) continue;  // matched by an earlier pattern
        struct stat st;
        if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        seen[path] = true;
        File& f = files_[path];
        if (path.size() > 3 && path.ends_with(".gz")) {
          if (f.gzip_done && f.inode == st.st_ino) continue;
          OpenFile(path, src, st.st_ino, &f);
          auto it = saved_.find(path);
          if (it != saved_.end() && it->second.first == st.st_ino) {  // read before a restart
            f.gzip_done = true;
            f.offset = it->second.second;
            continue;
          }
          note(ReadGzip(path, &f, &lines));
          run(f, lines);
          continue;
        }
        if (f.fd >= 0 && f.inode != st.st_ino) {
          // Renamed away: finish the old file through its descriptor, then start the new one.
          note(ReadFile(path, &f, &lines));
          if (!f.partial.empty()) lines.push_back(std::move(f.partial));
          f.partial.clear();
          run(f, lines);
          ::close(f.fd);
          f.fd = -1;
          f.offset = 0;
        }
        if (f.fd < 0) {
          f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
          if (f.fd < 0) {
            files_.erase(path);
            continue;
          }
          OpenFile(path, src, st.st_ino, &f);
          auto it = saved_.find(path);
          f.offset = (it != saved_.end() && it->second.first == f.inode) ? it->second.second : 0;
        }
        if (static_cast<uint64_t>(st.st_size) < f.offset) {  // truncated
          f.offset = 0;
          f.partial.clear();
        }
        note(ReadFile(path, &f, &lines));
        run(f, lines);
      }
    }
    ::globfree(&g);
  }
  // Files that vanished: read what is left through the descriptor, then forget them.
  for (auto it = files_.begin(); it != files_.end();) {
    File& f = it->second;
    if (!seen.contains(it->first)) {
      if (f.fd >= 0) {
        note(ReadFile(it->first, &f, &lines));
        if (!f.partial.empty()) lines.push_back(std::move(f.partial));
        run(f, lines);
        ::close(f.fd);
      }
      if (f.pipeline) f.pipeline->Flush(now_ns, true, &entries);
      it = files_.erase(it);
    } else {
      if (f.pipeline) f.pipeline->Flush(now_ns, false, &entries);
      ++it;
    }
  }
  bool moved = false;
  for (const auto& [path, f] : files_) {
    auto b = before.find(path);
    moved = moved || b == before.end() || b->second.offset != f.offset || b->second.inode != f.inode;
  }
  if (entries.empty() && !moved && before.size() == files_.size()) return first;
  Status st = Push(std::move(entries), now_ns);
  if (!st.ok()) {
    for (auto& [path, f] : files_) {
      auto it = before.find(path);
      if (it != before.end() && it->second.inode == f.inode) {
        f.offset = it->second.offset;
        f.partial = it->second.partial;
        f.gzip_done = it->second.gzip_done;
      }
    }
    return st;
  }
  Status sp = SavePositions();
  return first.ok() ? sp : first;
}

Status FileTailer::Push(std::vector<PipelineEntry> entries, int64_t now_ns) {
  if (entries.empty()) return Status::OK();
  std::map<std::string, size_t> by_labels;
  std::vector<logstore::PushStream> batch;
  for (PipelineEntry& e : entries) {
    std::vector<Label> ls;
    std::string key;
    for (auto& [n, v] : e.labels) {
      if (n.starts_with("__") || v.empty()) continue;
      key += n + '\xff' + v + '\xfe';
      ls.push_back({n, v});
    }
    auto it = by_labels.find(key);
    if (it == by_labels.end()) {
      it = by_labels.emplace(key, batch.size()).first;
      batch.push_back({Labels::FromSorted(std::move(ls)), {}});
    }
    batch[it->second].entries.push_back({e.ts_ns, std::move(e.line), std::move(e.metadata)});
  }
  // A backlog can span days while the store takes a push only within its out-of-order window
  // (1 h) of the push's newest entry, so each stream goes in runs of at most 30 minutes.
  constexpr int64_t kRunNs = 1800LL * 1'000'000'000;
  for (logstore::PushStream& ps : batch) {
    size_t begin = 0;
    while (begin < ps.entries.size()) {
      int64_t lo = ps.entries[begin].ts_ns, hi = lo;
      size_t end = begin + 1;
      for (; end < ps.entries.size(); ++end) {
        int64_t t = ps.entries[end].ts_ns;
        if (std::max(hi, t) - std::min(lo, t) > kRunNs) break;
        lo = std::min(lo, t);
        hi = std::max(hi, t);
      }
      logstore::PushStream run{ps.labels, {}};
      for (size_t i = begin; i < end; ++i) run.entries.push_back(std::move(ps.entries[i]));
      begin = end;
      Status st = push_->Push({std::move(run)}, now_ns, nullptr);
      // Lines rejected for good (too long, too old, out of order) are reported, not retried.
      if (st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kOutOfOrder) {
        spdlog::warn("tail: some lines were rejected: {}", st.message());
      } else if (!st.ok()) {
        return st;
      }
    }
  }
  return Status::OK();
}

Status FileTailer::FlushAll(int64_t now_ns) {
  std::vector<PipelineEntry> entries;
  for (auto& [path, f] : files_) {
    if (f.pipeline) f.pipeline->Flush(now_ns, true, &entries);
  }
  return Push(std::move(entries), now_ns);
}

void FileTailer::Start(int64_t interval_ms) {
  thread_ = std::thread([this, interval_ms] {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      l.unlock();
      int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count();
      Status st = PollOnce(now);
      if (!st.ok()) spdlog::warn("tail: {}", st.ToString());
      l.lock();
      cv_.wait_for(l, std::chrono::milliseconds(interval_ms), [this] { return stop_; });
    }
  });
}

void FileTailer::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (!thread_.joinable()) return;
  thread_.join();
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  Status st = FlushAll(now);
  if (!st.ok()) spdlog::warn("tail: flushing at shutdown: {}", st.ToString());
}

}  // namespace argus::ingest
