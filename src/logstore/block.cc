#include "logstore/block.h"

#include <zstd.h>

#include "util/coding.h"
#include "util/crc32c.h"

namespace argus::logstore {

void BlockBuilder::Add(const LogEntry& e) {
  if (count_ == 0) {
    min_ts_ = e.ts_ns;
    prev_ts_ = e.ts_ns;
  }
  PutVarsint64(&raw_, e.ts_ns - prev_ts_);
  prev_ts_ = e.ts_ns;
  max_ts_ = std::max(max_ts_, e.ts_ns);
  if (count_ == 0) max_ts_ = e.ts_ns;
  PutLengthPrefixed(&raw_, e.line);
  PutVarint64(&raw_, e.metadata.size());
  for (const Label& m : e.metadata) {
    PutLengthPrefixed(&raw_, m.name);
    PutLengthPrefixed(&raw_, m.value);
  }
  ++count_;
}

std::string BlockBuilder::Finish(int level) {
  std::string comp(ZSTD_compressBound(raw_.size()), '\0');
  size_t n = ZSTD_compress(comp.data(), comp.size(), raw_.data(), raw_.size(), level);
  comp.resize(ZSTD_isError(n) ? 0 : n);
  std::string out;
  out.push_back(static_cast<char>(kBlockMagic));
  PutFixed64(&out, static_cast<uint64_t>(min_ts_));
  PutFixed64(&out, static_cast<uint64_t>(max_ts_));
  PutVarint64(&out, count_);
  PutVarint64(&out, raw_.size());
  PutVarint64(&out, comp.size());
  out += comp;
  PutFixed32(&out, crc32c::Value(out.data(), out.size()));
  raw_.clear();
  count_ = 0;
  return out;
}

Result<BlockHeader> ReadBlockHeader(std::string_view bytes) {
  std::string_view in = bytes;
  if (in.empty() || static_cast<uint8_t>(in[0]) != kBlockMagic) return Status::Corruption("log block: bad magic");
  in.remove_prefix(1);
  BlockHeader h;
  uint64_t mn, mx;
  if (!GetFixed64(&in, &mn) || !GetFixed64(&in, &mx) || !GetVarint64(&in, &h.count) ||
      !GetVarint64(&in, &h.raw_len) || !GetVarint64(&in, &h.comp_len)) {
    return Status::Corruption("log block: truncated header");
  }
  h.min_ts_ns = static_cast<int64_t>(mn);
  h.max_ts_ns = static_cast<int64_t>(mx);
  if (h.comp_len > in.size() || in.size() - h.comp_len < 4) return Status::Corruption("log block: truncated payload");
  size_t body = bytes.size() - in.size() + h.comp_len;
  uint32_t want = DecodeFixed32(bytes.data() + body);
  if (crc32c::Value(bytes.data(), body) != want) return Status::Corruption("log block: checksum mismatch");
  if (h.raw_len > (1ull << 32)) return Status::Corruption("log block: implausible size");
  h.size_bytes = body + 4;
  return h;
}

Status DecompressBlock(std::string_view bytes, std::string* raw) {
  ASSIGN_OR_RETURN(BlockHeader h, ReadBlockHeader(bytes));
  const char* comp = bytes.data() + (h.size_bytes - 4 - h.comp_len);
  raw->resize(h.raw_len);
  size_t n = ZSTD_decompress(raw->data(), raw->size(), comp, h.comp_len);
  if (ZSTD_isError(n) || n != h.raw_len) return Status::Corruption("log block: bad zstd payload");
  return Status::OK();
}

Result<std::vector<LogEntry>> ParseRaw(std::string_view in, uint64_t count, int64_t min_ts_ns) {
  std::vector<LogEntry> out;
  out.reserve(count);
  int64_t ts = min_ts_ns;
  for (uint64_t i = 0; i < count; ++i) {
    int64_t d;
    std::string_view line;
    uint64_t nmeta;
    if (!GetVarsint64(&in, &d) || !GetLengthPrefixed(&in, &line) || !GetVarint64(&in, &nmeta) ||
        nmeta > in.size()) {
      return Status::Corruption("log block: bad entry");
    }
    ts += d;
    LogEntry e;
    e.ts_ns = ts;
    e.line = std::string(line);
    for (uint64_t m = 0; m < nmeta; ++m) {
      std::string_view k, v;
      if (!GetLengthPrefixed(&in, &k) || !GetLengthPrefixed(&in, &v)) return Status::Corruption("log block: bad metadata");
      e.metadata.push_back({std::string(k), std::string(v)});
    }
    out.push_back(std::move(e));
  }
  if (!in.empty()) return Status::Corruption("log block: trailing bytes");
  return out;
}

Result<std::vector<LogEntry>> DecodeBlock(std::string_view bytes) {
  ASSIGN_OR_RETURN(BlockHeader h, ReadBlockHeader(bytes));
  std::string raw;
  RETURN_IF_ERROR(DecompressBlock(bytes, &raw));
  return ParseRaw(raw, h.count, h.min_ts_ns);
}

}  // namespace argus::logstore
