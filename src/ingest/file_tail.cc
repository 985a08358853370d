#include "ingest/file_tail.h"

#include <fcntl.h>
#include <glob.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include "util/file.h"

namespace argus::ingest {

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

Status FileTailer::ReadFile(const std::string& path, File* f, std::vector<logstore::PushStream>* out) {
  logstore::PushStream ps{f->labels, {}};
  auto emit = [&](std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) ps.entries.push_back({0, std::move(line), {}});
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
  if (!ps.entries.empty()) out->push_back(std::move(ps));
  return Status::OK();
}

Status FileTailer::PollOnce(int64_t now_ns) {
  std::vector<logstore::PushStream> batch;
  Status first = Status::OK();
  // Offsets before this poll: a failed push (e.g. 429) rewinds to them and retries next time.
  struct Saved {
    uint64_t inode, offset;
    std::string partial;
  };
  std::map<std::string, Saved> before;
  for (const auto& [path, f] : files_) before[path] = {f.inode, f.offset, f.partial};
  std::map<std::string, bool> seen;
  for (const TailSource& src : sources_) {
    glob_t g{};
    if (::glob(src.glob.c_str(), 0, nullptr, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        std::string path = g.gl_pathv[i];
        if (path.size() > 3 && path.ends_with(".gz")) continue;
        seen[path] = true;
        struct stat st;
        if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        File& f = files_[path];
        if (f.fd >= 0 && f.inode != st.st_ino) {
          // Renamed away: finish the old file through its descriptor, then start the new one.
          Status s = ReadFile(path, &f, &batch);
          if (!s.ok() && first.ok()) first = s;
          if (!f.partial.empty()) {
            batch.push_back({f.labels, {{0, f.partial, {}}}});
            f.partial.clear();
          }
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
          f.inode = st.st_ino;
          auto it = saved_.find(path);
          f.offset = (it != saved_.end() && it->second.first == f.inode) ? it->second.second : 0;
          std::vector<Label> ls(src.labels.begin(), src.labels.end());
          ls.push_back({"filename", path});
          auto labels = Labels::FromUnsorted(ls);
          f.labels = labels.ok() ? *labels : src.labels;
        }
        if (static_cast<uint64_t>(st.st_size) < f.offset) {  // truncated
          f.offset = 0;
          f.partial.clear();
        }
        Status s = ReadFile(path, &f, &batch);
        if (!s.ok() && first.ok()) first = s;
      }
    }
    ::globfree(&g);
  }
  // Files that vanished: close them and forget their position.
  for (auto it = files_.begin(); it != files_.end();) {
    if (!seen.contains(it->first)) {
      if (it->second.fd >= 0) ::close(it->second.fd);
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
  if (batch.empty()) return first;
  for (auto& ps : batch) {
    for (auto& e : ps.entries) e.ts_ns = now_ns;
  }
  Status st = push_->Push(std::move(batch), now_ns, nullptr);
  // Rejected lines (too long, ...) are reported but not retried; other failures are.
  if (!st.ok() && st.code() != StatusCode::kInvalidArgument) {
    for (auto& [path, f] : files_) {
      auto it = before.find(path);
      if (it != before.end() && it->second.inode == f.inode) {
        f.offset = it->second.offset;
        f.partial = it->second.partial;
      }
    }
    return st;
  }
  if (!st.ok()) spdlog::warn("tail: some lines were rejected: {}", st.message());
  Status sp = SavePositions();
  return first.ok() ? sp : first;
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
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace argus::ingest
