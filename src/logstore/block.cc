#include "logstore/block.h"

#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>

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
  for (size_t i = 0; i + 3 <= e.line.size(); ++i) {
    uint32_t h = TrigramHash(e.line.data() + i);
    trigrams_[h >> 6] |= uint64_t{1} << (h & 63);
  }
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
  // The filter: as many bits as distinct trigram hashes (at least 2^10), so about half are set
  // and a needle of n trigrams passes a block without it with probability ~2^-n.
  size_t distinct = 0;
  for (uint64_t w : trigrams_) distinct += static_cast<size_t>(__builtin_popcountll(w));
  int log2 = 10;
  while (log2 < 16 && (size_t{1} << log2) < distinct) ++log2;
  std::string filter((size_t{1} << log2) / 8, '\0');
  const int shift = 16 - log2;
  for (size_t wi = 0; wi < trigrams_.size(); ++wi) {
    for (uint64_t w = trigrams_[wi]; w != 0; w &= w - 1) {
      uint32_t bit = static_cast<uint32_t>(wi * 64 + static_cast<size_t>(__builtin_ctzll(w))) >> shift;
      filter[bit >> 3] = static_cast<char>(filter[bit >> 3] | (1 << (bit & 7)));
    }
  }
  std::fill(trigrams_.begin(), trigrams_.end(), 0);
  out.push_back(static_cast<char>(log2));
  out += filter;
  out += comp;
  PutFixed32(&out, crc32c::Value(out.data(), out.size()));
  raw_.clear();
  count_ = 0;
  return out;
}

Result<BlockHeader> ReadBlockHeader(std::string_view bytes) {
  std::string_view in = bytes;
  if (in.empty()) return Status::Corruption("log block: bad magic");
  const uint8_t magic = static_cast<uint8_t>(in[0]);
  if (magic != kBlockMagic && magic != kBlockMagicV1) return Status::Corruption("log block: bad magic");
  in.remove_prefix(1);
  BlockHeader h;
  uint64_t mn, mx;
  if (!GetFixed64(&in, &mn) || !GetFixed64(&in, &mx) || !GetVarint64(&in, &h.count) ||
      !GetVarint64(&in, &h.raw_len) || !GetVarint64(&in, &h.comp_len)) {
    return Status::Corruption("log block: truncated header");
  }
  h.min_ts_ns = static_cast<int64_t>(mn);
  h.max_ts_ns = static_cast<int64_t>(mx);
  if (magic == kBlockMagic) {
    if (in.empty()) return Status::Corruption("log block: truncated header");
    h.filter_log2 = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    if (h.filter_log2 != 0) {
      if (h.filter_log2 < 3 || h.filter_log2 > 16) return Status::Corruption("log block: bad filter size");
      size_t n = (size_t{1} << h.filter_log2) / 8;
      if (in.size() < n) return Status::Corruption("log block: truncated filter");
      h.filter = in.substr(0, n);
      in.remove_prefix(n);
    }
  }
  if (h.comp_len > in.size() || in.size() - h.comp_len < 4) return Status::Corruption("log block: truncated payload");
  size_t body = bytes.size() - in.size() + h.comp_len;
  uint32_t want = DecodeFixed32(bytes.data() + body);
  if (crc32c::Value(bytes.data(), body) != want) return Status::Corruption("log block: checksum mismatch");
  if (h.raw_len > (1ull << 32)) return Status::Corruption("log block: implausible size");
  h.size_bytes = body + 4;
  return h;
}

bool BlockMayContain(const BlockHeader& h, std::span<const std::string> needles) {
  if (h.filter_log2 == 0) return true;
  const int shift = 16 - h.filter_log2;
  for (const std::string& n : needles) {
    for (size_t i = 0; i + 3 <= n.size(); ++i) {
      uint32_t bit = TrigramHash(n.data() + i) >> shift;
      if (!(static_cast<uint8_t>(h.filter[bit >> 3]) & (1 << (bit & 7)))) return false;
    }
  }
  return true;
}

namespace {

// One zstd context per thread, reused: ZSTD_decompress would allocate and set up one per call.
ZSTD_DCtx* ThreadDCtx() {
  struct Free {
    void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
  };
  thread_local std::unique_ptr<ZSTD_DCtx, Free> ctx(ZSTD_createDCtx());
  return ctx.get();
}

}  // namespace

Status DecompressBlock(std::string_view bytes, const BlockHeader& h, std::string* raw) {
  const char* comp = bytes.data() + (h.size_bytes - 4 - h.comp_len);
  raw->resize(h.raw_len);
  size_t n = ZSTD_decompressDCtx(ThreadDCtx(), raw->data(), raw->size(), comp, h.comp_len);
  if (ZSTD_isError(n) || n != h.raw_len) return Status::Corruption("log block: bad zstd payload");
  return Status::OK();
}

Status DecompressBlock(std::string_view bytes, std::string* raw) {
  ASSIGN_OR_RETURN(BlockHeader h, ReadBlockHeader(bytes));
  return DecompressBlock(bytes, h, raw);
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

namespace {

constexpr size_t kNpos = std::string_view::npos;

// First-and-last-byte filter (W. Mula's "SIMD-friendly" substring search): compare a vector
// of positions with the needle's first byte and the same positions + k-1 with its last byte,
// and memcmp only where both match. Text rarely has both bytes at the right distance, so
// this runs at vector speed where memmem's two-way setup per call and byte loop do not.
// REQUIRES: k >= 2. Returns the offset in s[0..n) or kNpos.
#if defined(__x86_64__)
__attribute__((target("avx2"))) size_t FindAvx2(const char* s, size_t n, const char* needle, size_t k) {
  const __m256i first = _mm256_set1_epi8(needle[0]);
  const __m256i last = _mm256_set1_epi8(needle[k - 1]);
  size_t i = 0;
  for (; i + k - 1 + 32 <= n; i += 32) {
    __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i));
    __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i + k - 1));
    uint32_t mask = static_cast<uint32_t>(
        _mm256_movemask_epi8(_mm256_and_si256(_mm256_cmpeq_epi8(a, first), _mm256_cmpeq_epi8(b, last))));
    while (mask != 0) {
      unsigned bit = static_cast<unsigned>(__builtin_ctz(mask));
      if (std::memcmp(s + i + bit + 1, needle + 1, k - 2) == 0) return i + bit;
      mask &= mask - 1;
    }
  }
  const void* p = ::memmem(s + i, n - i, needle, k);
  return p ? static_cast<size_t>(static_cast<const char*>(p) - s) : kNpos;
}

size_t FindSse2(const char* s, size_t n, const char* needle, size_t k) {
  const __m128i first = _mm_set1_epi8(needle[0]);
  const __m128i last = _mm_set1_epi8(needle[k - 1]);
  size_t i = 0;
  for (; i + k - 1 + 16 <= n; i += 16) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i + k - 1));
    uint32_t mask = static_cast<uint32_t>(_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last))));
    while (mask != 0) {
      unsigned bit = static_cast<unsigned>(__builtin_ctz(mask));
      if (std::memcmp(s + i + bit + 1, needle + 1, k - 2) == 0) return i + bit;
      mask &= mask - 1;
    }
  }
  const void* p = ::memmem(s + i, n - i, needle, k);
  return p ? static_cast<size_t>(static_cast<const char*>(p) - s) : kNpos;
}
#endif

// Offset of the first `needle` in raw[from..), or npos.
size_t Find(std::string_view raw, size_t from, std::string_view needle) {
  if (from > raw.size()) return kNpos;
  const char* s = raw.data() + from;
  const size_t n = raw.size() - from;
  size_t at = kNpos;
  if (needle.size() < 2 || n < needle.size()) {
    const void* p = ::memmem(s, n, needle.data(), needle.size());
    at = p ? static_cast<size_t>(static_cast<const char*>(p) - s) : kNpos;
  } else {
#if defined(__x86_64__)
    static const bool avx2 = __builtin_cpu_supports("avx2");
    at = avx2 ? FindAvx2(s, n, needle.data(), needle.size()) : FindSse2(s, n, needle.data(), needle.size());
#else
    const void* p = ::memmem(s, n, needle.data(), needle.size());
    at = p ? static_cast<size_t>(static_cast<const char*>(p) - s) : kNpos;
#endif
  }
  return at == kNpos ? kNpos : at + from;
}

bool ContainsAll(std::string_view line, std::span<const std::string> needles) {
  for (const std::string& n : needles) {
    if (Find(line, 0, n) == kNpos) return false;
  }
  return true;
}

// GetVarint64 with the one-byte case inline (most deltas, lengths and counts).
inline bool NextVarint(std::string_view* in, uint64_t* v) {
  if (!in->empty() && static_cast<uint8_t>((*in)[0]) < 0x80) {
    *v = static_cast<uint8_t>((*in)[0]);
    in->remove_prefix(1);
    return true;
  }
  return GetVarint64(in, v);
}

}  // namespace

Result<size_t> ParseRawInto(std::string_view raw, uint64_t count, int64_t min_ts_ns, int64_t start_ns,
                            int64_t end_ns, std::span<const std::string> needles, std::vector<LogEntry>* out) {
  const bool filter = !needles.empty();
  size_t hit = filter ? Find(raw, 0, needles[0]) : 0;
  size_t n = 0;
  int64_t ts = min_ts_ns;
  std::string_view in = raw;
  for (uint64_t i = 0; i < count; ++i) {
    if (hit == std::string_view::npos) return n;  // no further entry can match
    uint64_t zd, len, nmeta;
    if (!NextVarint(&in, &zd) || !NextVarint(&in, &len) || len > in.size()) return Status::Corruption("log block: bad entry");
    std::string_view line = in.substr(0, len);
    in.remove_prefix(len);
    if (!NextVarint(&in, &nmeta) || nmeta > in.size()) return Status::Corruption("log block: bad entry");
    ts += ZigZagDecode(zd);
    std::string_view meta = in;
    for (uint64_t m = 0; m < nmeta; ++m) {
      std::string_view k, v;
      if (!GetLengthPrefixed(&in, &k) || !GetLengthPrefixed(&in, &v)) return Status::Corruption("log block: bad metadata");
    }
    const size_t entry_end = raw.size() - in.size();
    if (filter && hit >= entry_end) continue;  // the next hit is in a later entry
    bool keep = ts >= start_ns && ts <= end_ns && (!filter || ContainsAll(line, needles));
    if (filter) hit = Find(raw, entry_end, needles[0]);
    if (!keep) continue;
    if (out->size() <= n) out->resize(n + 1);
    LogEntry& e = (*out)[n++];
    e.ts_ns = ts;
    e.line.assign(line);
    e.metadata.clear();
    for (uint64_t m = 0; m < nmeta; ++m) {
      std::string_view k, v;
      GetLengthPrefixed(&meta, &k);
      GetLengthPrefixed(&meta, &v);
      e.metadata.push_back({std::string(k), std::string(v)});
    }
  }
  if (!in.empty()) return Status::Corruption("log block: trailing bytes");
  return n;
}

Result<std::vector<LogEntry>> DecodeBlock(std::string_view bytes) {
  ASSIGN_OR_RETURN(BlockHeader h, ReadBlockHeader(bytes));
  std::string raw;
  RETURN_IF_ERROR(DecompressBlock(bytes, &raw));
  return ParseRaw(raw, h.count, h.min_ts_ns);
}

}  // namespace argus::logstore
