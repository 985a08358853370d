// WAL checkpoints, as Prometheus' tsdb/wlog checkpoints: a compacted copy of the records of
// old segments that are still needed, so that those segments can be deleted. A checkpoint is
// the directory `<wal dir>/checkpoint.<N>` (N: 8 digits, the last segment it covers) and is
// itself a WAL directory (one segment, same format: docs/format/wal.md), read with Replay.
//
// Example (the tsdb truncating its WAL after a head compaction):
//   ASSIGN_OR_RETURN(int next, wal->NextSegment());
//   int first = wal->Segments().first;
//   RETURN_IF_ERROR(Checkpoint(wal->dir(), first, next - 1, [&](std::string_view rec,
//                                                             std::string* out) {
//     return StillNeeded(rec, out);   // false drops it; may write a smaller record to *out
//   }));
//   RETURN_IF_ERROR(wal->TruncateBefore(next));
//   // Recovery: Replay(checkpoint path, 0, ...), then Replay(wal dir, N + 1, ...).
//
// Thread-safety: functions are stateless. At most one Checkpoint may run on a directory at a
// time; it may run while a Wal appends to the same directory provided `to` is below the
// segment being written.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "util/status.h"

namespace argus::wal {

// Keeps a record (true) or drops it (false). To keep a rewritten record, set *out (which
// arrives empty) to it; a kept record with *out left empty is copied unchanged, so a record
// cannot be rewritten to the empty string.
using CheckpointFilter = std::function<bool(std::string_view rec, std::string* out)>;

// Writes `dir`/checkpoint.<to> from the records of the newest existing checkpoint of `dir`
// (if any) followed by those of segments [from, to] of `dir`, each passed through `filter`.
// Segments already covered by that checkpoint (index <= its N) are not read again, so a
// checkpoint repeated after a crash does not duplicate records. If the newest checkpoint
// already covers `to` nothing is written. Atomic: written to checkpoint.<to>.tmp, fsynced,
// renamed, the directory fsynced; then older checkpoints (and stale .tmp directories) are
// deleted. Corrupt batches in the source segments are skipped with a warning, as in Replay.
// Errors: InvalidArgument if from > to or to is out of range; IOError. On error the previous
// checkpoint remains the newest.
Status Checkpoint(const std::string& dir, int from, int to, const CheckpointFilter& filter);

// The newest checkpoint in `dir` as (path, N), or nullopt if there is none (or no `dir`).
// Incomplete (.tmp) checkpoints are ignored. Errors: IOError.
Result<std::optional<std::pair<std::string, int>>> LastCheckpoint(const std::string& dir);

// The directory name of checkpoint N: "checkpoint." + 8 digits.
std::string CheckpointName(int index);

}  // namespace argus::wal
