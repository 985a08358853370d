// Compaction and retention of on-disk blocks, after Prometheus' LeveledCompactor
// (prometheus/tsdb/compact.go) and its retention rules (storage.tsdb.retention.time/.size).
//
// Blocks cut from the head cover one block range (2h by default). Compaction merges them into
// blocks of 3x, 9x and 27x that range (6h, 18h, 54h), which keeps the number of blocks a query
// touches small, and merges blocks whose time ranges overlap (e.g. from backfill or
// out-of-order data) into one. Retention then deletes whole blocks.
//
// Example:
//   for (const auto& group : PlanCompaction(blocks, 2 * 3600 * 1000)) {
//     ASSIGN_OR_RETURN(BlockMeta m, CompactBlocks(data_dir, group));
//     // open m.ulid, swap it in for `group`, delete the group's directories
//   }
//   for (const auto& b : BlocksBeyondRetention(blocks, 15 * 24 * 3600 * 1000LL, 0)) { ... }
//
// Thread-safety: stateless functions over immutable blocks; CompactBlocks may run while the
// input blocks are being queried.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tsdb/block.h"
#include "util/status.h"

namespace argus::tsdb {

// The level ranges: block_range_ms times 1, 3, 9 and 27.
std::vector<int64_t> CompactionRanges(int64_t block_range_ms);

// Groups of blocks to compact next, each group sorted by min_time_ms; the groups are disjoint.
//  1. If any blocks overlap in time, every maximal run of overlapping blocks is a group (and
//     nothing else is returned).
//  2. Otherwise the newest block (largest min_time_ms) is left out, giving it a full range
//     before it is merged. For the ranges 3x, 9x, 27x in turn, the blocks are split into the
//     aligned windows [k*range, (k+1)*range) that contain them entirely; a window holding two
//     or more blocks becomes a group when its blocks span the whole window, or when they end
//     no later than the start of the newest block still considered (so a window with a gap is
//     merged once newer data exists). The groups of the first range that yields any are
//     returned.
// Blocks that straddle a window boundary are never grouped at that range. Empty if there is
// nothing to do. REQUIRES: block_range_ms > 0.
std::vector<std::vector<std::shared_ptr<Block>>> PlanCompaction(
    const std::vector<std::shared_ptr<Block>>& blocks, int64_t block_range_ms);

// Samples per chunk when CompactBlocks re-encodes overlapping chunks (Prometheus' target).
inline constexpr int kCompactSamplesPerChunk = 120;

// Merges `blocks` into one new block written in `parent_dir` and returns its meta; the inputs
// are left in place (the caller deletes them once the new block is open). The new block
// covers [min of min_time_ms, max of max_time_ms); level = max(level) + 1; sources = sorted
// union of the inputs' sources. Series are merged by label set. Chunks that do not overlap any
// other chunk of the series are copied as they are; overlapping chunks are decoded, merged and
// re-encoded in chunks of at most kCompactSamplesPerChunk samples. On equal timestamps the
// sample from the block earlier in `blocks` (then the chunk starting earlier) is kept.
// Inputs without any series still give a (valid, empty) block. Reads all inputs into RAM.
// Errors: InvalidArgument if `blocks` is empty; Corruption from
// the inputs; IOError from writing.
Result<BlockMeta> CompactBlocks(const std::string& parent_dir,
                                const std::vector<std::shared_ptr<Block>>& blocks);

// Blocks to delete for retention, sorted by min_time_ms, without duplicates:
//  - by time (if retention_time_ms > 0): blocks whose max_time_ms <=
//    (largest max_time_ms of all blocks) - retention_time_ms;
//  - by size (if retention_size_bytes > 0): the oldest blocks (by min_time_ms), one after
//    another, until the sizes (Block::size_bytes) of the rest add up to at most
//    retention_size_bytes.
std::vector<std::shared_ptr<Block>> BlocksBeyondRetention(
    const std::vector<std::shared_ptr<Block>>& blocks, int64_t retention_time_ms,
    uint64_t retention_size_bytes);

}  // namespace argus::tsdb
