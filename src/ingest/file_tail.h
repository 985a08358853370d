// File tailing for logs (Promtail's core job): follows files matching glob patterns, pushes
// each new line through a LokiPushHandler with the source's labels plus `filename`, and keeps
// a positions file so a restart resumes where it stopped.
//
// Rotation: a file renamed away is read to its end through the descriptor already open, then
// the new file at the path is read from its start; a file truncated below the saved offset is
// read again from its start. A last line without its newline waits for the next poll (at
// most max_partial_line_bytes, then it is pushed as is). Compressed (.gz) files are skipped.
// Lines are stamped with the time they were read (no timestamp stage yet).
//
// Positions file (text, one file per line, written atomically after each poll that read
// something):   <offset> <inode> <path>
//
// Example:
//   FileTailer t({{"/var/log/*.log", Labels::FromMap({{"job", "varlogs"}})}}, dir + "/positions",
//                &push);
//   t.Start(1000);   // poll every second
//   ...
//   t.Stop();
//
// Thread-safety: PollOnce must not run concurrently with itself; Start/Stop from one thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ingest/loki_push.h"

namespace argus::ingest {

struct TailSource {
  std::string glob;  // e.g. /var/log/*.log (glob(3) syntax)
  Labels labels;     // stream labels; `filename` is added
};

class FileTailer {
 public:
  // `push` must outlive the tailer.
  FileTailer(std::vector<TailSource> sources, std::string positions_path, LokiPushHandler* push);
  ~FileTailer();

  // Reads what was appended since the last poll from every matching file and pushes it.
  // Errors: the first push or positions-file error (reading continues with other files).
  Status PollOnce(int64_t now_ns);
  // Polls every `interval_ms` (default 1000) on a background thread until Stop().
  void Start(int64_t interval_ms = 1000);
  void Stop();

  // Longest line kept waiting for its newline (bytes, default 256 KiB: Loki's max line).
  static constexpr size_t kMaxPartialLineBytes = 256 << 10;

 private:
  struct File {
    int fd = -1;
    uint64_t inode = 0;
    uint64_t offset = 0;
    std::string partial;
    Labels labels;
  };
  void LoadPositions();
  Status SavePositions();
  Status ReadFile(const std::string& path, File* f, std::vector<logstore::PushStream>* out);

  const std::vector<TailSource> sources_;
  const std::string positions_path_;
  LokiPushHandler* const push_;
  std::map<std::string, File> files_;                         // by path
  std::map<std::string, std::pair<uint64_t, uint64_t>> saved_;  // path -> (inode, offset)
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
};

}  // namespace argus::ingest
