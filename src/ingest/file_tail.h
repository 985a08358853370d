// File tailing for logs (Promtail's core job): follows files matching glob patterns, runs each
// new line through the source's pipeline stages (ingest/pipeline) and pushes the entries
// through a LokiPushHandler with the source's labels plus `filename`, keeping a positions file
// so a restart resumes where it stopped.
//
// Sources come from the `log_sources` YAML section (ParseLogSources) or `--logs.tail`:
//
//   log_sources:
//     - paths: ["/var/log/*.log"]   # glob(3) patterns, required
//       labels: {job: varlogs}      # static stream labels
//       pipeline_stages: [...]      # see ingest/pipeline.h
//
// Rotation: a file renamed away is read to its end through the descriptor already open, then
// the new file at the path is read from its start (a path that vanished is also read to its
// end first); a file truncated below the saved offset is read again from its start. A last
// line without its newline waits for the next poll (at most kMaxPartialLineBytes, then it is
// pushed as is). A gzip file (name ending in .gz) is read once, whole, and remembered by its
// inode. Labels starting with "__" are dropped before the push, as Promtail does.
//
// Positions file (text, one file per line, written atomically after each poll that read
// something):   <offset> <inode> <path>      (for a .gz file: its compressed size)
//
// A failed push (rate limit, storage error) rewinds the offsets so the lines are read again at
// the next poll; lines the store rejects for good (too long, too old, out of order) are
// logged and skipped. Entries a multiline stage holds are pushed when released or at Stop.
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
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ingest/loki_push.h"
#include "ingest/pipeline.h"

namespace YAML {
class Node;
}

namespace argus::ingest {

struct TailSource {
  std::string glob;  // e.g. /var/log/*.log (glob(3) syntax)
  Labels labels;     // stream labels; `filename` is added
  // The `pipeline_stages` sequence (null: none). Shared by every file of the source; each file
  // gets its own Pipeline built from it.
  std::shared_ptr<const YAML::Node> pipeline_stages;
};

// Parses the `log_sources` sequence: one TailSource per path of each source. Errors:
// InvalidArgument naming the field, e.g. `log_sources[1].pipeline_stages[0].regex: ...`.
// `$STORAGE_PATH` in a path is replaced by `storage_path`.
Result<std::vector<TailSource>> ParseLogSources(const YAML::Node& node, const std::string& storage_path);

class FileTailer {
 public:
  // `push` must outlive the tailer. REQUIRES: every source's pipeline_stages is valid
  // (ParseLogSources checked it); an invalid one is logged and the file tailed without it.
  FileTailer(std::vector<TailSource> sources, std::string positions_path, LokiPushHandler* push);
  ~FileTailer();

  // Reads what was appended since the last poll from every matching file, runs the
  // pipelines and pushes. `now_ns` stamps lines no timestamp stage dates.
  // Errors: the first push or positions-file error (reading continues with other files).
  Status PollOnce(int64_t now_ns);
  // Releases every entry the pipelines hold (multiline blocks) and pushes them.
  Status FlushAll(int64_t now_ns);
  // Polls every `interval_ms` (default 1000) on a background thread until Stop(), which
  // then flushes what the pipelines hold.
  void Start(int64_t interval_ms = 1000);
  void Stop();

  // Longest line kept waiting for its newline (bytes, default 256 KiB: Loki's max line).
  static constexpr size_t kMaxPartialLineBytes = 256 << 10;
  // Largest decompressed .gz file read (bytes).
  static constexpr size_t kMaxGzipBytes = 1ull << 30;

 private:
  struct File {
    int fd = -1;
    uint64_t inode = 0;
    uint64_t offset = 0;
    bool gzip_done = false;  // a .gz file already read whole
    std::string partial;
    Labels labels;
    std::unique_ptr<Pipeline> pipeline;
  };
  void LoadPositions();
  Status SavePositions();
  // Reads from f's descriptor to its end, appending complete lines to `lines`.
  Status ReadFile(const std::string& path, File* f, std::vector<std::string>* lines);
  Status ReadGzip(const std::string& path, File* f, std::vector<std::string>* lines);
  void OpenFile(const std::string& path, const TailSource& src, uint64_t inode, File* f);
  Status Push(std::vector<PipelineEntry> entries, int64_t now_ns);

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
