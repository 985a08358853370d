#include "wal/checkpoint.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <vector>

#include "util/file.h"
#include "wal/format.h"
#include "wal/reader.h"
#include "wal/wal.h"

namespace argus::wal {
namespace {

constexpr std::string_view kCheckpointPrefix = "checkpoint.";
constexpr std::string_view kTmpSuffix = ".tmp";

// The index of a complete checkpoint directory name, or nullopt.
std::optional<int> ParseCheckpointName(std::string_view name) {
  if (name.substr(0, kCheckpointPrefix.size()) != kCheckpointPrefix) return std::nullopt;
  return ParseSegmentName(name.substr(kCheckpointPrefix.size()));
}

// Collects kept records into batches of bounded size and logs them to the checkpoint's WAL.
class CheckpointWriter {
 public:
  CheckpointWriter(Wal* out, const CheckpointFilter& filter) : out_(out), filter_(filter) {}

  Status Add(std::string_view rec) {
    std::string rewritten;
    if (!filter_(rec, &rewritten)) return Status::OK();
    if (rewritten.empty()) rewritten.assign(rec);
    pending_bytes_ += rewritten.size();
    pending_.push_back(std::move(rewritten));
    ++kept_;
    if (pending_.size() >= kMaxBatchRecords || pending_bytes_ >= kMaxBatchBytes) return Flush();
    return Status::OK();
  }

  Status Flush() {
    if (pending_.empty()) return Status::OK();
    std::vector<std::string_view> views(pending_.begin(), pending_.end());
    Status st = out_->Log(views);
    pending_.clear();
    pending_bytes_ = 0;
    return st;
  }

  uint64_t kept() const { return kept_; }

 private:
  static constexpr size_t kMaxBatchRecords = 4096;
  static constexpr size_t kMaxBatchBytes = 1 << 20;
  Wal* out_;
  const CheckpointFilter& filter_;
  std::vector<std::string> pending_;
  size_t pending_bytes_ = 0;
  uint64_t kept_ = 0;
};

}  // namespace

std::string CheckpointName(int index) {
  return std::string(kCheckpointPrefix) + SegmentName(index);
}

Result<std::optional<std::pair<std::string, int>>> LastCheckpoint(const std::string& dir) {
  using Found = std::optional<std::pair<std::string, int>>;
  Result<std::vector<std::string>> names = ListDir(dir);
  if (!names.ok()) {
    if (names.status().code() == StatusCode::kNotFound) return Found();
    return names.status();
  }
  Found best;
  for (const auto& n : *names) {
    std::optional<int> i = ParseCheckpointName(n);
    if (i && (!best || *i > best->second)) best = std::make_pair(dir + "/" + n, *i);
  }
  return best;
}

Status Checkpoint(const std::string& dir, int from, int to, const CheckpointFilter& filter) {
  if (from > to || from < 0 || to > kMaxSegmentIndex) {
    return Status::InvalidArgument("wal checkpoint: bad segment range [" + std::to_string(from) +
                                   ", " + std::to_string(to) + "]");
  }
  ASSIGN_OR_RETURN(auto prev, LastCheckpoint(dir));
  if (prev && prev->second >= to) {
    spdlog::debug("wal: {} already covers segment {}; no checkpoint written", prev->first, to);
    return Status::OK();
  }
  if (prev) {
    if (from > prev->second + 1) {
      spdlog::warn("wal: checkpointing segments [{}, {}] after {}: segments {}..{} are left out",
                   from, to, prev->first, prev->second + 1, from - 1);
    }
    from = std::max(from, prev->second + 1);
  }

  const std::string final_dir = dir + "/" + CheckpointName(to);
  const std::string tmp_dir = final_dir + std::string(kTmpSuffix);
  RETURN_IF_ERROR(RemoveAll(tmp_dir));
  WalOptions wo;
  wo.sync = SyncPolicy::kNone;  // Close() below syncs the one segment
  wo.segment_size_bytes = ~0ull;
  ASSIGN_OR_RETURN(std::unique_ptr<Wal> out, Wal::Open(tmp_dir, wo));
  CheckpointWriter writer(out.get(), filter);
  auto add = [&writer](std::string_view rec) { return writer.Add(rec); };
  ReplayStats stats;
  if (prev) {
    RETURN_IF_ERROR(Replay(prev->first, 0, add, &stats).WithContext("wal checkpoint"));
  }
  ASSIGN_OR_RETURN(std::vector<int> segments, ListSegments(dir));
  for (int s : segments) {
    if (s < from || s > to) continue;
    RETURN_IF_ERROR(ReplaySegment(dir + "/" + SegmentName(s), /*repair=*/false, add, &stats)
                        .WithContext("wal checkpoint"));
  }
  RETURN_IF_ERROR(writer.Flush());
  RETURN_IF_ERROR(out->Close());
  out.reset();

  if (::rename(tmp_dir.c_str(), final_dir.c_str()) != 0) {
    return Status::FromErrno("rename " + tmp_dir + " to " + final_dir, errno);
  }
  RETURN_IF_ERROR(SyncDir(dir));
  spdlog::info("wal: wrote {} ({} of {} records kept, segments {}..{})", final_dir, writer.kept(),
               stats.records, from, to);

  // The new checkpoint is durable; older ones and leftovers of interrupted runs can go.
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
  for (const auto& n : names) {
    if (n.substr(0, kCheckpointPrefix.size()) != kCheckpointPrefix) continue;
    std::optional<int> i = ParseCheckpointName(n);
    if (i && *i >= to) continue;
    RETURN_IF_ERROR(RemoveAll(dir + "/" + n));
  }
  return Status::OK();
}

}  // namespace argus::wal
