// Compaction planning, merging and retention; see compact.h for the rules.

#include "tsdb/compact.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>

#include "tsdb/chunk.h"
#include "tsdb/histogram_chunk.h"
#include "tsdb/st_column.h"

namespace argus::tsdb {

namespace {

using BlockPtr = std::shared_ptr<Block>;

std::vector<BlockPtr> SortedByMinTime(const std::vector<BlockPtr>& blocks) {
  std::vector<BlockPtr> out = blocks;
  std::stable_sort(out.begin(), out.end(), [](const BlockPtr& a, const BlockPtr& b) {
    return a->meta().min_time_ms < b->meta().min_time_ms;
  });
  return out;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Maximal runs (of two or more) of blocks overlapping in time; `sorted` by min_time_ms.
std::vector<std::vector<BlockPtr>> OverlappingGroups(const std::vector<BlockPtr>& sorted) {
  std::vector<std::vector<BlockPtr>> groups;
  std::vector<BlockPtr> run;
  int64_t run_max = 0;
  for (const BlockPtr& b : sorted) {
    if (!run.empty() && b->meta().min_time_ms < run_max) {
      run.push_back(b);
      run_max = std::max(run_max, b->meta().max_time_ms);
      continue;
    }
    if (run.size() > 1) groups.push_back(std::move(run));
    run = {b};
    run_max = b->meta().max_time_ms;
  }
  if (run.size() > 1) groups.push_back(std::move(run));
  return groups;
}

// Splits `sorted` into the blocks of each aligned window [k*range, (k+1)*range), skipping
// blocks that do not fit entirely in the window of their start.
std::vector<std::vector<BlockPtr>> SplitByRange(const std::vector<BlockPtr>& sorted,
                                                int64_t range) {
  std::vector<std::vector<BlockPtr>> parts;
  for (size_t i = 0; i < sorted.size();) {
    const int64_t t0 = FloorDiv(sorted[i]->meta().min_time_ms, range) * range;
    if (sorted[i]->meta().max_time_ms > t0 + range) {
      ++i;
      continue;
    }
    std::vector<BlockPtr> part;
    for (; i < sorted.size() && sorted[i]->meta().max_time_ms <= t0 + range; ++i) {
      part.push_back(sorted[i]);
    }
    parts.push_back(std::move(part));
  }
  return parts;
}

struct TaggedSample {
  int64_t t_ms;
  double v;
  size_t block;  // position of the source block in CompactBlocks' input
  int64_t st_ms = 0;  // start timestamp (kXorST chunks), 0 = unknown
};

// Merges chunks of one series that overlap in time; `chunks` are sorted by min time.
// `source[i]` is the input position of chunks[i]'s block.
// Histogram chunks that overlap: decoded, merged (earlier block wins ties) and re-encoded,
// cutting a chunk when the kind (integer/float) changes.
Status MergeOverlappingHistograms(std::vector<ChunkData> chunks, const std::vector<size_t>& source,
                                  std::vector<ChunkData>* out) {
  struct Tagged {
    HistogramSample s;
    size_t block;
  };
  std::vector<Tagged> samples;
  for (size_t i = 0; i < chunks.size(); ++i) {
    std::vector<HistogramSample> hs;
    RETURN_IF_ERROR(DecodeHistogramChunk(chunks[i].bytes, std::numeric_limits<int64_t>::min(),
                                         std::numeric_limits<int64_t>::max(), &hs));
    for (auto& h : hs) samples.push_back({std::move(h), source[i]});
  }
  std::stable_sort(samples.begin(), samples.end(), [](const Tagged& a, const Tagged& b) {
    return a.s.t_ms != b.s.t_ms ? a.s.t_ms < b.s.t_ms : a.block < b.block;
  });
  std::optional<HistogramChunk> c;
  auto flush = [&] {
    if (c && c->num_samples() > 0) {
      out->push_back({c->min_time_ms(), c->max_time_ms(), std::string(c->bytes()), c->encoding()});
    }
    c.reset();
  };
  for (size_t i = 0; i < samples.size(); ++i) {
    if (i > 0 && samples[i].s.t_ms == samples[i - 1].s.t_ms) continue;
    const HistogramSample& h = samples[i].s;
    if (c && (c->num_samples() == kCompactSamplesPerChunk || c->is_float() != h.is_float())) {
      flush();
    }
    if (!c) c.emplace(h.is_float());
    c->Append(h);
  }
  flush();
  return Status::OK();
}

Status MergeOverlapping(std::vector<ChunkData> chunks, const std::vector<size_t>& source,
                        std::vector<ChunkData>* out) {
  if (!chunks.empty() && IsHistogramEncoding(chunks[0].encoding)) {
    return MergeOverlappingHistograms(std::move(chunks), source, out);
  }
  std::vector<TaggedSample> samples;
  for (size_t i = 0; i < chunks.size(); ++i) {
    std::string_view xor_bytes = chunks[i].bytes, entries;
    std::vector<SampleST> sts;
    if (chunks[i].encoding == ChunkEncoding::kXorST) {
      RETURN_IF_ERROR(SplitXorSTChunk(chunks[i].bytes, &xor_bytes, &entries));
      RETURN_IF_ERROR(DecodeSTEntries(entries, std::numeric_limits<int64_t>::min(),
                                      std::numeric_limits<int64_t>::max(), &sts));
    }
    size_t k = 0;
    XorIterator it(xor_bytes);
    while (it.Next()) {
      int64_t t = it.At().t_ms;
      while (k < sts.size() && sts[k].t_ms < t) ++k;
      int64_t st = k < sts.size() && sts[k].t_ms == t ? sts[k].st_ms : 0;
      samples.push_back({t, it.At().v, source[i], st});
    }
    if (!it.status().ok()) return it.status();
  }
  std::stable_sort(samples.begin(), samples.end(), [](const TaggedSample& a, const TaggedSample& b) {
    return a.t_ms != b.t_ms ? a.t_ms < b.t_ms : a.block < b.block;
  });
  XorChunk c;
  std::vector<SampleST> chunk_sts;
  auto flush = [&] {
    if (c.num_samples() == 0) return;
    if (chunk_sts.empty()) {
      out->push_back({c.min_time_ms(), c.max_time_ms(), std::string(c.bytes())});
    } else {
      out->push_back({c.min_time_ms(), c.max_time_ms(), EncodeXorSTChunk(c.bytes(), chunk_sts),
                      ChunkEncoding::kXorST});
    }
    c = XorChunk();
    chunk_sts.clear();
  };
  for (size_t i = 0; i < samples.size(); ++i) {
    if (i > 0 && samples[i].t_ms == samples[i - 1].t_ms) continue;
    if (c.num_samples() == kCompactSamplesPerChunk) flush();
    c.Append(samples[i].t_ms, samples[i].v);
    if (samples[i].st_ms != 0) chunk_sts.push_back({samples[i].t_ms, samples[i].st_ms});
  }
  flush();
  return Status::OK();
}

// Merges the chunks of one series from several blocks: `parts[i]` = (input position, chunks).
Status MergeSeriesChunks(std::vector<std::pair<size_t, std::vector<ChunkData>*>> parts,
                         std::vector<ChunkData>* out) {
  struct Ref {
    ChunkData* c;
    size_t block;
  };
  std::vector<Ref> all;
  for (auto& [block, chunks] : parts) {
    for (ChunkData& c : *chunks) all.push_back({&c, block});
  }
  // Float and histogram chunks are separate streams: overlaps are resolved within each (all
  // histogram encodings form one stream), float chunks first.
  auto stream = [](const Ref& r) { return IsHistogramEncoding(r.c->encoding) ? 1 : 0; };
  std::stable_sort(all.begin(), all.end(), [&](const Ref& a, const Ref& b) {
    if (stream(a) != stream(b)) return stream(a) < stream(b);
    return a.c->min_time_ms != b.c->min_time_ms ? a.c->min_time_ms < b.c->min_time_ms
                                                : a.block < b.block;
  });
  for (size_t i = 0; i < all.size();) {
    size_t j = i + 1;
    int64_t cluster_max = all[i].c->max_time_ms;
    while (j < all.size() && stream(all[j]) == stream(all[i]) &&
           all[j].c->min_time_ms <= cluster_max) {
      cluster_max = std::max(cluster_max, all[j].c->max_time_ms);
      ++j;
    }
    if (j == i + 1) {
      out->push_back(std::move(*all[i].c));
    } else {
      std::vector<ChunkData> cluster;
      std::vector<size_t> source;
      for (size_t k = i; k < j; ++k) {
        cluster.push_back(std::move(*all[k].c));
        source.push_back(all[k].block);
      }
      RETURN_IF_ERROR(MergeOverlapping(std::move(cluster), source, out));
    }
    i = j;
  }
  return Status::OK();
}

}  // namespace

std::vector<int64_t> CompactionRanges(int64_t block_range_ms) {
  return {block_range_ms, block_range_ms * 3, block_range_ms * 9, block_range_ms * 27};
}

std::vector<std::vector<BlockPtr>> PlanCompaction(const std::vector<BlockPtr>& blocks,
                                                  int64_t block_range_ms) {
  if (blocks.size() < 2 || block_range_ms <= 0) return {};
  std::vector<BlockPtr> sorted = SortedByMinTime(blocks);
  auto overlapping = OverlappingGroups(sorted);
  if (!overlapping.empty()) return overlapping;

  sorted.pop_back();  // the newest block waits a full range
  if (sorted.empty()) return {};
  const int64_t high_time = sorted.back()->meta().min_time_ms;
  const std::vector<int64_t> ranges = CompactionRanges(block_range_ms);
  for (size_t r = 1; r < ranges.size(); ++r) {
    std::vector<std::vector<BlockPtr>> groups;
    for (auto& part : SplitByRange(sorted, ranges[r])) {
      if (part.size() < 2) continue;
      const int64_t mint = part.front()->meta().min_time_ms;
      const int64_t maxt = part.back()->meta().max_time_ms;
      if (maxt - mint == ranges[r] || maxt <= high_time) groups.push_back(std::move(part));
    }
    if (!groups.empty()) return groups;
  }
  return {};
}

Result<BlockMeta> CompactBlocks(const std::string& parent_dir,
                                const std::vector<BlockPtr>& blocks) {
  if (blocks.empty()) return Status::InvalidArgument("compaction of zero blocks");
  std::vector<std::vector<BlockSeries>> inputs;
  int64_t mint = blocks[0]->meta().min_time_ms, maxt = blocks[0]->meta().max_time_ms;
  int level = 0;
  std::set<std::string> sources;
  for (const BlockPtr& b : blocks) {
    ASSIGN_OR_RETURN(std::vector<BlockSeries> ss, b->ReadAllSeries());
    inputs.push_back(std::move(ss));
    const BlockMeta& m = b->meta();
    mint = std::min(mint, m.min_time_ms);
    maxt = std::max(maxt, m.max_time_ms);
    level = std::max(level, m.level);
    if (m.sources.empty()) sources.insert(m.ulid);
    sources.insert(m.sources.begin(), m.sources.end());
  }

  // k-way merge by label set; k is small, so a linear scan for the minimum.
  std::vector<BlockSeries> merged;
  std::vector<size_t> pos(inputs.size(), 0);
  while (true) {
    const Labels* min = nullptr;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (pos[i] < inputs[i].size() && (!min || inputs[i][pos[i]].labels < *min)) {
        min = &inputs[i][pos[i]].labels;
      }
    }
    if (!min) break;
    BlockSeries s;
    s.labels = *min;
    std::vector<std::pair<size_t, std::vector<ChunkData>*>> parts;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (pos[i] < inputs[i].size() && inputs[i][pos[i]].labels == s.labels) {
        parts.push_back({i, &inputs[i][pos[i]].chunks});
        ++pos[i];
      }
    }
    Status st = MergeSeriesChunks(std::move(parts), &s.chunks);
    if (!st.ok()) return st.WithContext("compact " + s.labels.ToString());
    merged.push_back(std::move(s));
  }
  inputs.clear();
  return WriteBlock(parent_dir, mint, maxt, level + 1,
                    std::vector<std::string>(sources.begin(), sources.end()), std::move(merged));
}

std::vector<BlockPtr> BlocksBeyondRetention(const std::vector<BlockPtr>& blocks,
                                            int64_t retention_time_ms,
                                            uint64_t retention_size_bytes) {
  std::vector<BlockPtr> sorted = SortedByMinTime(blocks);
  std::vector<bool> drop(sorted.size(), false);
  if (retention_time_ms > 0 && !sorted.empty()) {
    int64_t newest = sorted[0]->meta().max_time_ms;
    for (const BlockPtr& b : sorted) newest = std::max(newest, b->meta().max_time_ms);
    for (size_t i = 0; i < sorted.size(); ++i) {
      if (sorted[i]->meta().max_time_ms <= newest - retention_time_ms) drop[i] = true;
    }
  }
  if (retention_size_bytes > 0) {
    uint64_t total = 0;
    for (const BlockPtr& b : sorted) total += b->size_bytes();
    for (size_t i = 0; i < sorted.size() && total > retention_size_bytes; ++i) {
      total -= sorted[i]->size_bytes();
      drop[i] = true;
    }
  }
  std::vector<BlockPtr> out;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (drop[i]) out.push_back(sorted[i]);
  }
  return out;
}

}  // namespace argus::tsdb
