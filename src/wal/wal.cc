#include "wal/wal.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "util/file.h"
#include "wal/format.h"

namespace argus::wal {
namespace {

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("write", errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

uint64_t FileSize(const std::string& path) {
  struct stat sb;
  return ::stat(path.c_str(), &sb) == 0 ? static_cast<uint64_t>(sb.st_size) : 0;
}

}  // namespace

Result<SyncPolicy> ParseSyncPolicy(std::string_view s) {
  if (s == "always") return SyncPolicy::kAlways;
  if (s == "batch") return SyncPolicy::kBatch;
  if (s == "none") return SyncPolicy::kNone;
  return Status::InvalidArgument("unknown WAL sync policy \"" + std::string(s) +
                                 "\" (want always, batch or none)");
}

struct Wal::SegmentFile {
  int index = 0;
  std::string path;
  int fd = -1;
  uint64_t size = 0;    // bytes written to it
  bool broken = false;  // a failed write could not be undone: roll before the next batch
  ~SegmentFile() {
    if (fd >= 0) ::close(fd);
  }
};

Wal::Wal(std::string dir, WalOptions opts) : dir_(std::move(dir)), opts_(opts) {}

Wal::~Wal() { Close().IgnoreError(); }  // documented: callers wanting the error call Close

Result<std::unique_ptr<Wal>> Wal::Open(const std::string& dir, const WalOptions& opts) {
  if (opts.segment_size_bytes == 0) {
    return Status::InvalidArgument("wal segment size must be positive");
  }
  if (opts.sync == SyncPolicy::kBatch && opts.sync_interval_ms <= 0) {
    return Status::InvalidArgument("wal sync interval must be positive");
  }
  RETURN_IF_ERROR(CreateDirs(dir));
  ASSIGN_OR_RETURN(std::vector<int> segments, ListSegments(dir));
  if (!segments.empty()) {
    ReplayStats stats;
    RETURN_IF_ERROR(ReplaySegment(
        dir + "/" + SegmentName(segments.back()), /*repair=*/true,
        [](std::string_view) { return Status::OK(); }, &stats));
  }
  const int next = segments.empty() ? 0 : segments.back() + 1;
  std::unique_ptr<Wal> w(new Wal(dir, opts));
  {
    std::lock_guard l(w->mu_);
    w->first_segment_ = segments.empty() ? next : segments.front();
    for (int s : segments) w->rolled_bytes_ += FileSize(dir + "/" + SegmentName(s));
    ASSIGN_OR_RETURN(w->segment_, w->CreateSegment(next));
    w->last_segment_ = next;
  }
  // Makes the new segment's name (and any repair above) durable before the first append.
  RETURN_IF_ERROR(SyncDir(dir));
  w->dir_unsynced_ = false;  // no other thread yet
  if (opts.sync == SyncPolicy::kBatch) {
    w->sync_thread_ = std::thread([p = w.get()] { p->SyncLoop(); });
  }
  return w;
}

Result<std::shared_ptr<Wal::SegmentFile>> Wal::CreateSegment(int index) {
  if (index > kMaxSegmentIndex) {
    return Status::ResourceExhausted("wal " + dir_ + " ran out of 8-digit segment indices");
  }
  auto seg = std::make_shared<SegmentFile>();
  seg->index = index;
  seg->path = dir_ + "/" + SegmentName(index);
  // O_EXCL: a segment is always new; never append to a file we did not check.
  seg->fd = ::open(seg->path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (seg->fd < 0) return Status::FromErrno("wal: create " + seg->path, errno);
  ++stats_.segments_created;
  dir_unsynced_ = true;
  return seg;
}

Status Wal::RollLocked() {
  ASSIGN_OR_RETURN(std::shared_ptr<SegmentFile> next, CreateSegment(last_segment_ + 1));
  std::shared_ptr<SegmentFile> old = std::move(segment_);
  segment_ = std::move(next);
  last_segment_ = segment_->index;
  rolled_bytes_ += old->size;
  // The old segment needs an fsync unless every batch written so far is already durable.
  if (opts_.sync != SyncPolicy::kNone && synced_seq_.load() < written_seq_) {
    unsynced_.push_back(std::move(old));
  }
  if (opts_.sync == SyncPolicy::kBatch) sync_cv_.notify_one();
  return Status::OK();
}

Status Wal::Log(const std::vector<std::string_view>& records) {
  std::string frame;
  if (!records.empty()) RETURN_IF_ERROR(AppendBatch(records, &frame));
  uint64_t seq;
  {
    std::lock_guard l(mu_);
    if (closed_) return Status::Unavailable("wal " + dir_ + " is closed");
    if (records.empty()) return Status::OK();
    if (!sync_error_.ok()) return sync_error_;
    if (segment_->broken ||
        (segment_->size > 0 && segment_->size + frame.size() > opts_.segment_size_bytes)) {
      RETURN_IF_ERROR(RollLocked());
    }
    Status st = WriteAll(segment_->fd, frame);
    if (!st.ok()) {
      // Cut a partial frame off so that the batches after it stay readable.
      if (::ftruncate(segment_->fd, static_cast<off_t>(segment_->size)) != 0) {
        spdlog::error("wal: cannot cut a failed write from {}; starting a new segment",
                      segment_->path);
        segment_->broken = true;
      }
      return st.WithContext("wal: " + segment_->path);
    }
    segment_->size += frame.size();
    seq = ++written_seq_;
    ++stats_.batches;
    stats_.records += records.size();
    stats_.bytes_written += frame.size();
  }
  if (opts_.sync == SyncPolicy::kAlways) return SyncUpTo(seq, /*force=*/false);
  return Status::OK();
}

Status Wal::SyncUpTo(uint64_t seq, bool force) {
  std::lock_guard sl(sync_mu_);
  // Whoever synced while we waited for sync_mu_ may have covered our batch: group commit.
  if (!force && synced_seq_.load() >= seq) return Status::OK();
  std::vector<std::shared_ptr<SegmentFile>> files;
  uint64_t target;
  bool sync_dir;
  {
    std::lock_guard l(mu_);
    if (!sync_error_.ok()) return sync_error_;
    files.swap(unsynced_);
    if (segment_) files.push_back(segment_);
    target = written_seq_;
    sync_dir = dir_unsynced_;
    dir_unsynced_ = false;
  }
  Status st;
  for (const auto& f : files) {
    if (::fdatasync(f->fd) != 0) {
      st = Status::FromErrno("wal: fdatasync " + f->path, errno);
      break;
    }
    fsyncs_.fetch_add(1);
  }
  if (st.ok() && sync_dir) st = SyncDir(dir_);
  if (!st.ok()) {
    std::lock_guard l(mu_);
    if (sync_error_.ok()) sync_error_ = st;
    return st;
  }
  synced_seq_.store(target);
  return Status::OK();
}

void Wal::SyncLoop() {
  const auto interval = std::chrono::milliseconds(opts_.sync_interval_ms);
  std::unique_lock l(mu_);
  while (!stop_) {
    sync_cv_.wait_for(l, interval, [this] { return stop_ || !unsynced_.empty(); });
    if (stop_) break;
    if (!sync_error_.ok()) {  // nothing more to do until Close
      sync_cv_.wait(l, [this] { return stop_; });
      break;
    }
    const bool rolled = !unsynced_.empty() || dir_unsynced_;
    const uint64_t seq = written_seq_;
    if (!rolled && synced_seq_.load() >= seq) continue;
    l.unlock();
    Status st = SyncUpTo(seq, /*force=*/rolled);
    if (!st.ok()) spdlog::error("wal: background fsync failed: {}", st.ToString());
    l.lock();
  }
}

Result<int> Wal::NextSegment() {
  std::lock_guard l(mu_);
  if (closed_) return Status::Unavailable("wal " + dir_ + " is closed");
  RETURN_IF_ERROR(RollLocked());
  return last_segment_;
}

std::pair<int, int> Wal::Segments() const {
  std::lock_guard l(mu_);
  return {first_segment_, last_segment_};
}

Status Wal::TruncateBefore(int before) {
  {
    std::lock_guard l(mu_);
    const int limit = std::min(before, last_segment_);
    ASSIGN_OR_RETURN(std::vector<int> segments, ListSegments(dir_));
    for (int s : segments) {
      if (s >= limit) break;
      const std::string path = dir_ + "/" + SegmentName(s);
      const uint64_t size = FileSize(path);
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        first_segment_ = s;
        return Status::FromErrno("wal: delete " + path, errno);
      }
      rolled_bytes_ -= std::min(rolled_bytes_, size);
    }
    first_segment_ = std::max(first_segment_, limit);
  }
  return SyncDir(dir_);
}

Status Wal::Close() {
  {
    std::lock_guard l(mu_);
    if (closed_) return Status::OK();
    closed_ = true;
    stop_ = true;
  }
  sync_cv_.notify_all();
  if (sync_thread_.joinable()) sync_thread_.join();
  // kNone keeps no rolled segments in unsynced_, so this syncs only the current one.
  Status st = SyncUpTo(0, /*force=*/true);
  std::lock_guard l(mu_);
  if (segment_) rolled_bytes_ += segment_->size;
  segment_.reset();
  unsynced_.clear();
  return st;
}

uint64_t Wal::size_bytes() const {
  std::lock_guard l(mu_);
  return rolled_bytes_ + (segment_ ? segment_->size : 0);
}

WalStats Wal::stats() const {
  std::lock_guard l(mu_);
  WalStats s = stats_;
  s.fsyncs = fsyncs_.load();
  return s;
}

}  // namespace argus::wal
