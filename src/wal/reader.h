// Replay of a WAL directory: every record of every segment, in order, as written by Wal::Log
// (wal.h). Startup recovery is a replay of the newest checkpoint (checkpoint.h), then of the
// segments after it. A crash never stops a replay: a torn or corrupt tail of the last segment
// is cut off on disk (the next Wal::Open appends after it), and corruption inside an earlier
// segment skips the rest of that segment with a warning. Format: docs/format/wal.md.
//
// Example (recovery, as the tsdb does it):
//   int from = 0;
//   ASSIGN_OR_RETURN(auto ckpt, LastCheckpoint(wal_dir));
//   if (ckpt) {
//     RETURN_IF_ERROR(Replay(ckpt->first, 0, apply, nullptr));
//     from = ckpt->second + 1;
//   }
//   ReplayStats stats;
//   RETURN_IF_ERROR(Replay(wal_dir, from, apply, &stats));
//
// Thread-safety: functions are stateless, but must not run on a directory whose last segment
// a Wal is appending to (the repair would cut a batch being written).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "util/status.h"

namespace argus::wal {

struct ReplayStats {
  uint64_t records = 0;           // records passed to fn
  uint64_t batches = 0;           // whole batches read
  uint64_t segments = 0;          // segment files read
  uint64_t truncated_bytes = 0;   // bytes cut from the end of the last segment (repair)
  bool repaired = false;          // truncated_bytes > 0
  uint64_t skipped_bytes = 0;     // bytes ignored at the end of earlier segments (bad or zero)
  uint64_t corrupt_segments = 0;  // earlier segments that end in a torn or corrupt frame
};

// Calls fn(record) for every record of the segments in `dir` whose index is >= from_segment,
// in order. The views passed to fn are valid only during the call. A missing `dir` holds no
// segments. Repair: a torn, corrupt or zero-filled tail of the last segment in `dir` (the
// highest index, whatever from_segment is) is truncated on disk, logged as a warning and
// counted in `stats`. Corruption in an earlier segment ends that segment (its later batches
// are lost), is logged and counted, and replay goes on with the next segment.
// Errors: fn's first error, which stops the replay (with the segment name as context);
// IOError. `stats` may be null; otherwise its counters are added to.
Status Replay(const std::string& dir, int from_segment,
              const std::function<Status(std::string_view record)>& fn, ReplayStats* stats);

// Replays the single segment file `path`. With `repair`, a bad tail is truncated on disk as
// Replay does for the last segment; without, it is skipped as for an earlier segment.
// Errors as Replay, plus NotFound if `path` does not exist. `stats` must not be null.
Status ReplaySegment(const std::string& path, bool repair,
                     const std::function<Status(std::string_view record)>& fn, ReplayStats* stats);

}  // namespace argus::wal
