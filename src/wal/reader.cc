#include "wal/reader.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "util/file.h"
#include "wal/format.h"

namespace argus::wal {
namespace {

// Cuts `path` to `size` bytes and makes the new size durable.
Status TruncateFile(const std::string& path, uint64_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open " + path, errno);
  Status st;
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    st = Status::FromErrno("truncate " + path, errno);
  } else if (::fsync(fd) != 0) {
    st = Status::FromErrno("fsync " + path, errno);
  }
  ::close(fd);
  return st;
}

}  // namespace

Status ReplaySegment(const std::string& path, bool repair,
                     const std::function<Status(std::string_view record)>& fn, ReplayStats* stats) {
  ASSIGN_OR_RETURN(MmapFile file, MmapFile::Open(path));
  const std::string_view data = file.data();
  ScanResult res;
  Status st = ScanBatches(data, fn, &res);
  ++stats->segments;
  stats->records += res.records;
  stats->batches += res.batches;
  RETURN_IF_ERROR(st);
  if (res.valid_bytes == data.size()) return Status::OK();

  const uint64_t rest = data.size() - res.valid_bytes;
  if (repair) {
    if (res.end == ScanEnd::kZeroTail) {
      spdlog::info("wal: {}: cutting a zero-filled tail of {} bytes at offset {}", path, rest,
                   res.valid_bytes);
    } else {
      spdlog::warn("wal: {}: {} batch at offset {}; truncating the last {} bytes", path,
                   ScanEndName(res.end), res.valid_bytes, rest);
    }
    RETURN_IF_ERROR(TruncateFile(path, res.valid_bytes));
    stats->truncated_bytes += rest;
    stats->repaired = true;
  } else {
    if (res.end != ScanEnd::kZeroTail) {
      spdlog::warn("wal: {}: {} batch at offset {}; skipping the last {} bytes of the segment",
                   path, ScanEndName(res.end), res.valid_bytes, rest);
      ++stats->corrupt_segments;
    }
    stats->skipped_bytes += rest;
  }
  return Status::OK();
}

Status Replay(const std::string& dir, int from_segment,
              const std::function<Status(std::string_view record)>& fn, ReplayStats* stats) {
  ReplayStats local;
  if (stats == nullptr) stats = &local;
  ASSIGN_OR_RETURN(std::vector<int> segments, ListSegments(dir));
  for (size_t i = 0; i < segments.size(); ++i) {
    if (segments[i] < from_segment) continue;
    const bool last = i + 1 == segments.size();
    const std::string name = SegmentName(segments[i]);
    RETURN_IF_ERROR(ReplaySegment(dir + "/" + name, /*repair=*/last, fn, stats)
                        .WithContext("wal replay of " + dir + "/" + name));
  }
  return Status::OK();
}

}  // namespace argus::wal
