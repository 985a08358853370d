#include "wal/wal.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>

#include "util/coding.h"
#include "util/crc32c.h"
#include "util/file.h"

namespace argus::wal {
namespace {

// Batch frame: fixed32 payload length, fixed32 crc32c(type byte + payload), u8 type, payload.
// Payload: uvarint record count, then each record length-prefixed (uvarint length + bytes).
constexpr size_t kHeaderSize = 9;
constexpr uint8_t kBatchType = 1;

void EncodeBatch(const std::vector<std::string_view>& records, std::string* out) {
  std::string payload;
  size_t total = 10;
  for (auto r : records) total += r.size() + 10;
  payload.reserve(total);
  PutVarint64(&payload, records.size());
  for (auto r : records) PutLengthPrefixed(&payload, r);
  out->resize(kHeaderSize);
  uint32_t crc = crc32c::Value(&kBatchType, 1);
  crc = crc32c::Extend(crc, payload.data(), payload.size());
  EncodeFixed32(out->data(), static_cast<uint32_t>(payload.size()));
  EncodeFixed32(out->data() + 4, crc);
  (*out)[8] = static_cast<char>(kBatchType);
  out->append(payload);
}

// Decodes the batches of `data`, calling fn per record. Returns the offset just past the last
// valid batch in *valid_end. A frame that is cut short, fails its CRC or does not parse ends
// the scan (*corrupt = true unless the rest is all zero bytes: a preallocated tail).
Status ScanBatches(std::string_view data, const std::function<Status(std::string_view)>& fn,
                   size_t* valid_end, bool* corrupt, uint64_t* records) {
  size_t off = 0;
  *corrupt = false;
  while (off < data.size()) {
    std::string_view rest = data.substr(off);
    if (rest.size() < kHeaderSize) {
      *corrupt = rest.find_first_not_of('\0') != std::string_view::npos;
      break;
    }
    uint32_t len = DecodeFixed32(rest.data());
    uint32_t crc = DecodeFixed32(rest.data() + 4);
    uint8_t type = static_cast<uint8_t>(rest[8]);
    if (len == 0 && crc == 0 && type == 0) {
      *corrupt = rest.find_first_not_of('\0') != std::string_view::npos;
      break;
    }
    if (type != kBatchType || rest.size() - kHeaderSize < len) {
      *corrupt = true;
      break;
    }
    std::string_view payload = rest.substr(kHeaderSize, len);
    uint32_t want = crc32c::Extend(crc32c::Value(&type, 1), payload.data(), payload.size());
    if (want != crc) {
      *corrupt = true;
      break;
    }
    uint64_t n;
    std::vector<std::string_view> recs;
    bool ok = GetVarint64(&payload, &n) && n <= payload.size();
    for (uint64_t i = 0; ok && i < n; ++i) {
      std::string_view r;
      ok = GetLengthPrefixed(&payload, &r);
      if (ok) recs.push_back(r);
    }
    if (!ok || !payload.empty()) {
      *corrupt = true;
      break;
    }
    for (auto r : recs) {
      RETURN_IF_ERROR(fn(r));
      ++*records;
    }
    off += kHeaderSize + len;
  }
  *valid_end = off;
  return Status::OK();
}

bool IsSegmentName(const std::string& n) {
  return n.size() == 8 && n.find_first_not_of("0123456789") == std::string::npos;
}

std::vector<int> ListSegments(const std::string& dir) {
  std::vector<int> out;
  auto names = ListDir(dir);
  if (!names.ok()) return out;
  for (const auto& n : *names) {
    if (IsSegmentName(n)) out.push_back(std::stoi(n));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("wal write", errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

// Scans one segment file; with `repair`, truncates a corrupt tail on disk.
Status ReplaySegment(const std::string& path, bool repair,
                     const std::function<Status(std::string_view)>& fn, ReplayStats* stats) {
  ASSIGN_OR_RETURN(MmapFile f, MmapFile::Open(path));
  size_t valid_end = 0;
  bool corrupt = false;
  uint64_t records = 0;
  Status st = ScanBatches(f.data(), fn, &valid_end, &corrupt, &records);
  stats->records += records;
  ++stats->segments;
  RETURN_IF_ERROR(st);
  if (valid_end < f.data().size()) {
    uint64_t cut = f.data().size() - valid_end;
    if (repair) {
      spdlog::warn("wal: {} has a {} tail of {} bytes at offset {}; truncating it", path,
                   corrupt ? "corrupt" : "zero-filled", cut, valid_end);
      if (::truncate(path.c_str(), static_cast<off_t>(valid_end)) != 0) {
        return Status::FromErrno("truncate " + path, errno);
      }
      stats->truncated_bytes += cut;
      stats->repaired = true;
    } else if (corrupt) {
      spdlog::warn("wal: {} is corrupt at offset {}; skipping its last {} bytes", path,
                   valid_end, cut);
      stats->skipped_bytes += cut;
    }
  }
  return Status::OK();
}

}  // namespace

Result<SyncPolicy> ParseSyncPolicy(std::string_view s) {
  if (s == "always") return SyncPolicy::kAlways;
  if (s == "batch") return SyncPolicy::kBatch;
  if (s == "none") return SyncPolicy::kNone;
  return Status::InvalidArgument("unknown WAL sync policy \"" + std::string(s) +
                                 "\" (want always, batch or none)");
}

std::string SegmentName(int index) {
  char b[16];
  std::snprintf(b, sizeof b, "%08d", index);
  return b;
}

struct Wal::Segment {
  int index = 0;
  int fd = -1;
  uint64_t size = 0;
  ~Segment() {
    if (fd >= 0) ::close(fd);
  }
};

Wal::Wal(std::string dir, WalOptions opts) : dir_(std::move(dir)), opts_(opts) {}

Result<std::unique_ptr<Wal>> Wal::Open(const std::string& dir, const WalOptions& opts) {
  RETURN_IF_ERROR(CreateDirs(dir));
  std::vector<int> segs = ListSegments(dir);
  if (!segs.empty()) {
    ReplayStats st;
    RETURN_IF_ERROR(ReplaySegment(dir + "/" + SegmentName(segs.back()), /*repair=*/true,
                                  [](std::string_view) { return Status::OK(); }, &st));
  }
  std::unique_ptr<Wal> w(new Wal(dir, opts));
  std::lock_guard<std::mutex> l(w->mu_);
  w->first_segment_ = segs.empty() ? 0 : segs.front();
  for (int s : segs) {
    struct stat sb;
    if (::stat((dir + "/" + SegmentName(s)).c_str(), &sb) == 0) w->closed_bytes_ += sb.st_size;
  }
  RETURN_IF_ERROR(w->OpenSegmentLocked(segs.empty() ? 0 : segs.back() + 1));
  if (opts.sync == SyncPolicy::kBatch) w->sync_thread_ = std::thread([p = w.get()] { p->SyncLoop(); });
  return w;
}

Wal::~Wal() { Close().IgnoreError(); }

Status Wal::OpenSegmentLocked(int index) {
  std::string path = dir_ + "/" + SegmentName(index);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("open " + path, errno);
  auto seg = std::make_shared<Segment>();
  seg->index = index;
  seg->fd = fd;
  struct stat sb;
  if (::fstat(fd, &sb) == 0) seg->size = static_cast<uint64_t>(sb.st_size);
  segment_ = std::move(seg);
  return SyncDir(dir_);
}

Status Wal::Log(const std::vector<std::string_view>& records) {
  std::string frame;
  EncodeBatch(records, &frame);
  uint64_t seq;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return Status::Unavailable("wal is closed");
    if (segment_->size > 0 && segment_->size + frame.size() > opts_.segment_size_bytes) {
      // A rolled segment is synced so that syncing the newest one covers every batch.
      if (::fdatasync(segment_->fd) != 0) return Status::FromErrno("wal fdatasync", errno);
      synced_seq_.store(written_seq_);
      closed_bytes_ += segment_->size;
      RETURN_IF_ERROR(OpenSegmentLocked(segment_->index + 1));
    }
    Status st = WriteAll(segment_->fd, frame);
    if (!st.ok()) {
      // A partial write leaves a torn frame; drop it so later batches stay readable.
      if (::ftruncate(segment_->fd, static_cast<off_t>(segment_->size)) != 0) {
        spdlog::error("wal: cannot cut a failed write from segment {}", segment_->index);
      }
      return st;
    }
    segment_->size += frame.size();
    seq = ++written_seq_;
  }
  if (opts_.sync == SyncPolicy::kAlways) return SyncUpTo(seq);
  return Status::OK();
}

Status Wal::SyncUpTo(uint64_t seq) {
  std::lock_guard<std::mutex> sl(sync_mu_);
  if (synced_seq_.load() >= seq) return Status::OK();  // another caller's sync covered us
  std::shared_ptr<Segment> seg;
  uint64_t target;
  {
    std::lock_guard<std::mutex> l(mu_);
    seg = segment_;
    target = written_seq_;
  }
  // Earlier segments were synced when rolled, so syncing the current one covers `target`.
  if (::fdatasync(seg->fd) != 0) return Status::FromErrno("wal fdatasync", errno);
  uint64_t cur = synced_seq_.load();
  while (cur < target && !synced_seq_.compare_exchange_weak(cur, target)) {
  }
  return Status::OK();
}

void Wal::SyncLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    stop_cv_.wait_for(l, std::chrono::milliseconds(opts_.sync_interval_ms));
    if (stop_) break;
    uint64_t seq = written_seq_;
    if (synced_seq_.load() >= seq) continue;
    l.unlock();
    Status st = SyncUpTo(seq);
    if (!st.ok()) spdlog::error("wal: background sync failed: {}", st.ToString());
    l.lock();
  }
}

Result<int> Wal::NextSegment() {
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return Status::Unavailable("wal is closed");
  if (::fdatasync(segment_->fd) != 0) return Status::FromErrno("wal fdatasync", errno);
  synced_seq_.store(written_seq_);
  closed_bytes_ += segment_->size;
  RETURN_IF_ERROR(OpenSegmentLocked(segment_->index + 1));
  return segment_->index;
}

std::pair<int, int> Wal::Segments() const {
  std::lock_guard<std::mutex> l(mu_);
  return {first_segment_, segment_ ? segment_->index : first_segment_};
}

Status Wal::TruncateBefore(int before) {
  std::lock_guard<std::mutex> l(mu_);
  int current = segment_ ? segment_->index : 0;
  for (int s : ListSegments(dir_)) {
    if (s >= before || s >= current) break;
    std::string path = dir_ + "/" + SegmentName(s);
    struct stat sb;
    if (::stat(path.c_str(), &sb) == 0) closed_bytes_ -= std::min<uint64_t>(closed_bytes_, sb.st_size);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Status::FromErrno("unlink " + path, errno);
    first_segment_ = s + 1;
  }
  return SyncDir(dir_);
}

Status Wal::Close() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return Status::OK();
    closed_ = true;
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (sync_thread_.joinable()) sync_thread_.join();
  std::lock_guard<std::mutex> l(mu_);
  Status st;
  if (segment_ && ::fdatasync(segment_->fd) != 0) st = Status::FromErrno("wal fdatasync", errno);
  segment_.reset();
  return st;
}

uint64_t Wal::size_bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return closed_bytes_ + (segment_ ? segment_->size : 0);
}

Status Replay(const std::string& dir, int from_segment,
              const std::function<Status(std::string_view record)>& fn, ReplayStats* stats) {
  ReplayStats local;
  if (stats == nullptr) stats = &local;
  std::vector<int> segs = ListSegments(dir);
  for (size_t i = 0; i < segs.size(); ++i) {
    if (segs[i] < from_segment) continue;
    bool last = i + 1 == segs.size();
    RETURN_IF_ERROR(ReplaySegment(dir + "/" + SegmentName(segs[i]), last, fn, stats)
                        .WithContext("wal replay of segment " + SegmentName(segs[i])));
  }
  return Status::OK();
}

Result<std::optional<std::pair<std::string, int>>> LastCheckpoint(const std::string& dir) {
  auto names = ListDir(dir);
  if (!names.ok()) {
    if (names.status().code() == StatusCode::kNotFound) return std::optional<std::pair<std::string, int>>();
    return names.status();
  }
  std::optional<std::pair<std::string, int>> best;
  constexpr std::string_view kPrefix = "checkpoint.";
  for (const auto& n : *names) {
    if (n.size() != kPrefix.size() + 8 || n.compare(0, kPrefix.size(), kPrefix) != 0) continue;
    std::string idx = n.substr(kPrefix.size());
    if (idx.find_first_not_of("0123456789") != std::string::npos) continue;
    int i = std::stoi(idx);
    if (!best || i > best->second) best = std::make_pair(dir + "/" + n, i);
  }
  return best;
}

Status Checkpoint(const std::string& dir, int from, int to,
                  const std::function<bool(std::string_view rec, std::string* out)>& filter) {
  ASSIGN_OR_RETURN(auto prev, LastCheckpoint(dir));
  std::string final_dir = dir + "/checkpoint." + SegmentName(to);
  std::string tmp_dir = final_dir + ".tmp";
  RETURN_IF_ERROR(RemoveAll(tmp_dir));
  WalOptions wo;
  wo.sync = SyncPolicy::kNone;
  wo.segment_size_bytes = ~0ull;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<Wal> out, Wal::Open(tmp_dir, wo));
    std::vector<std::string> batch;
    auto flush = [&]() -> Status {
      if (batch.empty()) return Status::OK();
      std::vector<std::string_view> views(batch.begin(), batch.end());
      Status st = out->Log(views);
      batch.clear();
      return st;
    };
    auto keep = [&](std::string_view rec) -> Status {
      std::string rewritten;
      if (!filter(rec, &rewritten)) return Status::OK();
      batch.push_back(rewritten.empty() ? std::string(rec) : std::move(rewritten));
      if (batch.size() >= 1024) return flush();
      return Status::OK();
    };
    if (prev && prev->second < to) RETURN_IF_ERROR(Replay(prev->first, 0, keep, nullptr));
    std::vector<int> segs = ListSegments(dir);
    for (int s : segs) {
      if (s < from || s > to) continue;
      ReplayStats st;
      RETURN_IF_ERROR(ReplaySegment(dir + "/" + SegmentName(s), false, keep, &st));
    }
    RETURN_IF_ERROR(flush());
    RETURN_IF_ERROR(out->Close());  // fsyncs the segment
  }
  RETURN_IF_ERROR(RemoveAll(final_dir));
  if (::rename(tmp_dir.c_str(), final_dir.c_str()) != 0) {
    return Status::FromErrno("rename " + tmp_dir, errno);
  }
  RETURN_IF_ERROR(SyncDir(dir));
  auto names = ListDir(dir);
  if (names.ok()) {
    for (const auto& n : *names) {
      if (n.rfind("checkpoint.", 0) == 0 && dir + "/" + n != final_dir) {
        RETURN_IF_ERROR(RemoveAll(dir + "/" + n));
      }
    }
  }
  return Status::OK();
}

}  // namespace argus::wal
