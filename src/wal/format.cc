#include "wal/format.h"

#include <algorithm>
#include <cstdio>

#include "util/coding.h"
#include "util/crc32c.h"
#include "util/file.h"

namespace argus::wal {
namespace {

size_t VarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

bool AllZero(std::string_view s) { return s.find_first_not_of('\0') == std::string_view::npos; }

// Decodes a checked payload into records; false if it does not parse to exactly its length.
bool DecodePayload(std::string_view payload, std::vector<std::string_view>* recs) {
  uint64_t count;
  // Each record takes at least its one-byte length, which bounds a hostile count.
  if (!GetVarint64(&payload, &count) || count > payload.size()) return false;
  recs->clear();
  recs->reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view r;
    if (!GetLengthPrefixed(&payload, &r)) return false;
    recs->push_back(r);
  }
  return payload.empty();
}

}  // namespace

Status AppendBatch(const std::vector<std::string_view>& records, std::string* out) {
  uint64_t payload_size = VarintLength(records.size());
  for (auto r : records) payload_size += VarintLength(r.size()) + r.size();
  if (payload_size > kMaxBatchPayloadBytes) {
    return Status::InvalidArgument("wal batch of " + std::to_string(payload_size) +
                                   " bytes exceeds the limit of 4 GiB - 1");
  }
  const size_t start = out->size();
  out->reserve(start + kBatchHeaderSize + payload_size);
  out->resize(start + kBatchHeaderSize);
  PutVarint64(out, records.size());
  for (auto r : records) PutLengthPrefixed(out, r);
  char* header = out->data() + start;
  header[8] = static_cast<char>(kBatchType);
  EncodeFixed32(header, static_cast<uint32_t>(payload_size));
  // The type byte directly precedes the payload, so one pass covers both.
  EncodeFixed32(header + 4, crc32c::Value(header + 8, 1 + payload_size));
  return Status::OK();
}

std::string_view ScanEndName(ScanEnd e) {
  switch (e) {
    case ScanEnd::kClean:
      return "clean";
    case ScanEnd::kZeroTail:
      return "zero-filled";
    case ScanEnd::kTorn:
      return "torn";
    case ScanEnd::kCorrupt:
      return "corrupt";
  }
  return "unknown";
}

Status ScanBatches(std::string_view data, const std::function<Status(std::string_view)>& fn,
                   ScanResult* res) {
  *res = ScanResult{};
  std::vector<std::string_view> recs;
  size_t off = 0;
  while (off < data.size()) {
    const std::string_view rest = data.substr(off);
    ScanEnd bad = ScanEnd::kClean;
    uint32_t len = 0;
    if (rest.size() < kBatchHeaderSize) {
      bad = ScanEnd::kTorn;
    } else {
      len = DecodeFixed32(rest.data());
      const uint32_t crc = DecodeFixed32(rest.data() + 4);
      if (static_cast<uint8_t>(rest[8]) != kBatchType || len == 0) {
        bad = ScanEnd::kCorrupt;
      } else if (rest.size() - kBatchHeaderSize < len) {
        bad = ScanEnd::kTorn;
      } else if (crc32c::Value(rest.data() + 8, 1 + size_t{len}) != crc ||
                 !DecodePayload(rest.substr(kBatchHeaderSize, len), &recs)) {
        bad = ScanEnd::kCorrupt;
      }
    }
    if (bad != ScanEnd::kClean) {
      res->end = AllZero(rest) ? ScanEnd::kZeroTail : bad;
      break;
    }
    ++res->batches;
    for (auto r : recs) {
      RETURN_IF_ERROR(fn(r));
      ++res->records;
    }
    off += kBatchHeaderSize + len;
    res->valid_bytes = off;
  }
  return Status::OK();
}

std::string SegmentName(int index) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08d", index);
  return buf;
}

std::optional<int> ParseSegmentName(std::string_view name) {
  if (name.size() != 8) return std::nullopt;
  int v = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

Result<std::vector<int>> ListSegments(const std::string& dir) {
  Result<std::vector<std::string>> names = ListDir(dir);
  if (!names.ok()) {
    if (names.status().code() == StatusCode::kNotFound) return std::vector<int>{};
    return names.status();
  }
  std::vector<int> out;
  for (const auto& n : *names) {
    if (auto i = ParseSegmentName(n)) out.push_back(*i);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace argus::wal
