#include "tracestore/block.h"

#include <fmt/format.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "util/coding.h"
#include "util/crc32c.h"

namespace argus::tracestore {

namespace otlp = opentelemetry::proto;

namespace {

constexpr char kIndexMagic[4] = {'A', 'T', 'I', 'X'};
constexpr size_t kIndexHeader = 16;  // magic, version, count, reserved
constexpr size_t kEntrySize = 48;    // id 16, offset 8, length 4, crc 4, start 8, end 8

Status WriteFileSynced(const std::string& path, std::string_view data) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return Status::FromErrno("open " + path, errno);
  bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size() && std::fflush(f) == 0 &&
            fdatasync(fileno(f)) == 0;
  int err = errno;
  std::fclose(f);
  if (!ok) return Status::FromErrno("write " + path, err);
  return Status::OK();
}

std::string MetaJson(const BlockMeta& m) {
  std::string from;
  for (const std::string& name : m.compacted_from) from += (from.empty() ? "\"" : ",\"") + name + "\"";
  return fmt::format(
      "{{\"version\":{},\"min_time_unix_nano\":{},\"max_time_unix_nano\":{},\"traces\":{},"
      "\"spans\":{},\"data_bytes\":{},\"wal_segment\":{},\"compacted_from\":[{}]}}\n",
      m.version, m.min_time_unix_nano, m.max_time_unix_nano, m.traces, m.spans, m.data_bytes,
      m.wal_segment, from);
}

// The strings of the array `key` (optional: true and empty when absent). Names are block
// names (hex digits), so no escapes are expected; a backslash makes it invalid.
bool JsonStrings(std::string_view json, std::string_view key, std::vector<std::string>* out) {
  std::string k = fmt::format("\"{}\":[", key);
  size_t p = json.find(k);
  if (p == std::string_view::npos) return true;
  p += k.size();
  while (p < json.size() && json[p] != ']') {
    if (json[p] == ',') {
      ++p;
      continue;
    }
    if (json[p] != '"') return false;
    size_t q = json.find('"', p + 1);
    if (q == std::string_view::npos) return false;
    std::string_view s = json.substr(p + 1, q - p - 1);
    if (s.find('\\') != std::string_view::npos) return false;
    out->emplace_back(s);
    p = q + 1;
  }
  return p < json.size();
}

bool JsonUint(std::string_view json, std::string_view key, uint64_t* v) {
  std::string k = fmt::format("\"{}\":", key);
  size_t p = json.find(k);
  if (p == std::string_view::npos) return false;
  p += k.size();
  uint64_t x = 0;
  size_t digits = 0;
  while (p < json.size() && json[p] >= '0' && json[p] <= '9') {
    x = x * 10 + static_cast<uint64_t>(json[p] - '0');
    ++p;
    ++digits;
  }
  *v = x;
  return digits > 0;
}

}  // namespace

Status WriteBlock(const std::string& dir, std::vector<BlockTrace> traces, uint64_t wal_segment,
                  std::vector<std::string> compacted_from) {
  for (const BlockTrace& t : traces) {
    if (t.trace_id.size() != 16) return Status::InvalidArgument("trace ID is not 16 bytes");
  }
  std::stable_sort(traces.begin(), traces.end(),
                   [](const BlockTrace& a, const BlockTrace& b) { return a.trace_id < b.trace_id; });
  // Merge fragments of the same trace.
  std::vector<BlockTrace> merged;
  for (BlockTrace& t : traces) {
    if (!merged.empty() && merged.back().trace_id == t.trace_id) {
      merged.back().traces_data += t.traces_data;
    } else {
      merged.push_back(std::move(t));
    }
  }

  std::string data, index(kIndexMagic, 4);
  PutFixed32(&index, 1);
  PutFixed32(&index, static_cast<uint32_t>(merged.size()));
  PutFixed32(&index, 0);
  BloomFilter bloom = BloomFilter::ForCount(merged.size());
  SpanColumns columns;
  BlockMeta meta;
  meta.wal_segment = wal_segment;
  meta.compacted_from = std::move(compacted_from);
  meta.min_time_unix_nano = UINT64_MAX;
  std::string compressed;
  for (const BlockTrace& t : merged) {
    otlp::trace::v1::TracesData td;
    if (!td.ParseFromString(t.traces_data)) {
      return Status::InvalidArgument("spans of a trace do not parse as OTLP TracesData");
    }
    uint64_t start = UINT64_MAX, end = 0;
    for (const auto& rs : td.resource_spans()) {
      for (const auto& ss : rs.scope_spans()) {
        for (const auto& s : ss.spans()) {
          start = std::min<uint64_t>(start, s.start_time_unix_nano());
          end = std::max<uint64_t>(end, std::max(s.end_time_unix_nano(), s.start_time_unix_nano()));
          ++meta.spans;
        }
      }
    }
    if (start == UINT64_MAX) start = 0;
    columns.AddTrace(td);
    compressed.resize(ZSTD_compressBound(t.traces_data.size()));
    size_t n = ZSTD_compress(compressed.data(), compressed.size(), t.traces_data.data(),
                             t.traces_data.size(), 3);
    if (ZSTD_isError(n)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(n));
    compressed.resize(n);
    index.append(t.trace_id);
    PutFixed64(&index, data.size());
    PutFixed32(&index, static_cast<uint32_t>(n));
    PutFixed32(&index, crc32c::Value(compressed.data(), n));
    PutFixed64(&index, start);
    PutFixed64(&index, end);
    data += compressed;
    bloom.Add(t.trace_id);
    meta.min_time_unix_nano = std::min(meta.min_time_unix_nano, start);
    meta.max_time_unix_nano = std::max(meta.max_time_unix_nano, end);
  }
  if (merged.empty()) meta.min_time_unix_nano = 0;
  PutFixed32(&index, crc32c::Value(index.data(), index.size()));
  meta.traces = merged.size();
  meta.data_bytes = data.size();

  std::string tmp = dir + ".tmp";
  RETURN_IF_ERROR(RemoveAll(tmp));
  RETURN_IF_ERROR(CreateDirs(tmp));
  RETURN_IF_ERROR(WriteFileSynced(tmp + "/data", data));
  RETURN_IF_ERROR(WriteFileSynced(tmp + "/index", index));
  RETURN_IF_ERROR(WriteFileSynced(tmp + "/bloom", bloom.Encode()));
  RETURN_IF_ERROR(WriteFileSynced(tmp + "/columns", columns.Encode()));
  RETURN_IF_ERROR(WriteFileSynced(tmp + "/meta.json", MetaJson(meta)));
  RETURN_IF_ERROR(SyncDir(tmp));
  if (std::rename(tmp.c_str(), dir.c_str()) != 0) return Status::FromErrno("rename " + tmp, errno);
  return SyncDir(dir.substr(0, dir.find_last_of('/')));
}

Result<std::unique_ptr<Block>> Block::Open(const std::string& dir) {
  std::unique_ptr<Block> b(new Block());
  b->dir_ = dir;
  auto meta = ReadFile(dir + "/meta.json");
  if (!meta.ok()) return Status::NotFound("trace block " + dir + " has no meta.json");
  uint64_t version = 0;
  if (!JsonUint(*meta, "version", &version) || version != 1 ||
      !JsonUint(*meta, "min_time_unix_nano", &b->meta_.min_time_unix_nano) ||
      !JsonUint(*meta, "max_time_unix_nano", &b->meta_.max_time_unix_nano) ||
      !JsonUint(*meta, "traces", &b->meta_.traces) || !JsonUint(*meta, "spans", &b->meta_.spans) ||
      !JsonUint(*meta, "data_bytes", &b->meta_.data_bytes) ||
      !JsonUint(*meta, "wal_segment", &b->meta_.wal_segment) ||
      !JsonStrings(*meta, "compacted_from", &b->meta_.compacted_from)) {
    return Status::Corruption("trace block " + dir + ": bad meta.json");
  }
  ASSIGN_OR_RETURN(b->index_, ReadFile(dir + "/index"));
  const std::string& ix = b->index_;
  if (ix.size() < kIndexHeader + 4 || std::memcmp(ix.data(), kIndexMagic, 4) != 0 ||
      DecodeFixed32(ix.data() + ix.size() - 4) != crc32c::Value(ix.data(), ix.size() - 4) ||
      DecodeFixed32(ix.data() + 4) != 1) {
    return Status::Corruption("trace block " + dir + ": bad index header or checksum");
  }
  b->count_ = DecodeFixed32(ix.data() + 8);
  if (ix.size() != kIndexHeader + b->count_ * kEntrySize + 4 || b->count_ != b->meta_.traces) {
    return Status::Corruption("trace block " + dir + ": index size does not match its count");
  }
  ASSIGN_OR_RETURN(b->data_, MmapFile::Open(dir + "/data"));
  if (b->data_.data().size() != b->meta_.data_bytes) {
    return Status::Corruption("trace block " + dir + ": data file size mismatch");
  }
  for (size_t i = 0; i < b->count_; ++i) {
    IndexEntry e = b->Entry(i);
    if (e.offset > b->data_.data().size() || e.length > b->data_.data().size() - e.offset) {
      return Status::Corruption("trace block " + dir + ": index entry out of the data file");
    }
    if (i > 0 && !(b->Entry(i - 1).trace_id < e.trace_id)) {
      return Status::Corruption("trace block " + dir + ": index not sorted by trace ID");
    }
  }
  ASSIGN_OR_RETURN(std::string bloom, ReadFile(dir + "/bloom"));
  ASSIGN_OR_RETURN(b->bloom_, BloomFilter::Decode(bloom));
  ASSIGN_OR_RETURN(std::string columns, ReadFile(dir + "/columns"));
  ASSIGN_OR_RETURN(b->columns_, SpanColumns::Decode(columns));
  if (b->columns_.num_traces() != b->count_) {
    return Status::Corruption("trace block " + dir + ": columns do not match the index");
  }
  return b;
}

IndexEntry Block::Entry(size_t i) const {
  const char* p = index_.data() + kIndexHeader + i * kEntrySize;
  IndexEntry e;
  e.trace_id = std::string_view(p, 16);
  e.offset = DecodeFixed64(p + 16);
  e.length = DecodeFixed32(p + 24);
  e.crc = DecodeFixed32(p + 28);
  e.start_unix_nano = DecodeFixed64(p + 32);
  e.end_unix_nano = DecodeFixed64(p + 40);
  return e;
}

Result<std::string> Block::ReadTrace(const IndexEntry& e) const {
  std::string_view c = data_.data().substr(e.offset, e.length);
  if (crc32c::Value(c.data(), c.size()) != e.crc) {
    return Status::Corruption("trace block " + dir_ + ": trace data checksum mismatch");
  }
  unsigned long long size = ZSTD_getFrameContentSize(c.data(), c.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1ULL << 31)) {
    return Status::Corruption("trace block " + dir_ + ": bad zstd frame");
  }
  std::string out(size, '\0');
  size_t n = ZSTD_decompress(out.data(), out.size(), c.data(), c.size());
  if (ZSTD_isError(n) || n != size) {
    return Status::Corruption("trace block " + dir_ + ": trace data does not decompress");
  }
  return out;
}

Result<std::optional<std::string>> Block::FindTrace(std::string_view trace_id) const {
  if (trace_id.size() != 16 || !MayContain(trace_id)) return std::optional<std::string>();
  size_t lo = 0, hi = count_;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (Entry(mid).trace_id < trace_id) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == count_ || Entry(lo).trace_id != trace_id) return std::optional<std::string>();
  ASSIGN_OR_RETURN(std::string t, ReadTrace(Entry(lo)));
  return std::optional<std::string>(std::move(t));
}

}  // namespace argus::tracestore
