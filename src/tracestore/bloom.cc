#include "tracestore/bloom.h"

#include <cmath>
#include <cstring>

#include "util/coding.h"
#include "util/crc32c.h"

namespace argus::tracestore {
namespace {

uint64_t Mix(uint64_t x) {  // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t Hash(std::string_view key, uint64_t seed) {
  uint64_t h = Mix(seed ^ key.size());
  size_t i = 0;
  for (; i + 8 <= key.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, key.data() + i, 8);
    h = Mix(h ^ w) * 0x9E3779B97F4A7C15ULL;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, key.data() + i, key.size() - i);
  return Mix(h ^ tail);
}

constexpr char kMagic[4] = {'A', 'T', 'B', 'F'};

}  // namespace

BloomFilter BloomFilter::ForCount(size_t n) {
  BloomFilter b;
  // m = -n ln(p) / ln(2)^2 with p = 0.01; k = m/n ln 2.
  double m = std::ceil(static_cast<double>(n) * 9.585);
  b.bits_ = std::max<uint64_t>(64, static_cast<uint64_t>(m));
  b.bits_ = (b.bits_ + 63) / 64 * 64;
  b.probes_ = 7;
  b.words_.assign(b.bits_ / 64, 0);
  return b;
}

void BloomFilter::Add(std::string_view key) {
  if (bits_ == 0) return;
  uint64_t h1 = Hash(key, 0x5bd1e995), h2 = Hash(key, 0x1b873593) | 1;
  for (uint32_t i = 0; i < probes_; ++i) {
    uint64_t bit = (h1 + i * h2) % bits_;
    words_[bit / 64] |= 1ULL << (bit % 64);
  }
}

bool BloomFilter::MayContain(std::string_view key) const {
  if (bits_ == 0) return true;
  uint64_t h1 = Hash(key, 0x5bd1e995), h2 = Hash(key, 0x1b873593) | 1;
  for (uint32_t i = 0; i < probes_; ++i) {
    uint64_t bit = (h1 + i * h2) % bits_;
    if ((words_[bit / 64] & (1ULL << (bit % 64))) == 0) return false;
  }
  return true;
}

std::string BloomFilter::Encode() const {
  std::string out(kMagic, 4);
  PutFixed32(&out, 1);
  PutFixed32(&out, probes_);
  PutFixed64(&out, bits_);
  for (uint64_t w : words_) PutFixed64(&out, w);
  PutFixed32(&out, crc32c::Value(out.data(), out.size()));
  return out;
}

Result<BloomFilter> BloomFilter::Decode(std::string_view bytes) {
  if (bytes.size() < 24 || std::memcmp(bytes.data(), kMagic, 4) != 0) {
    return Status::Corruption("bloom filter: bad magic or too short");
  }
  uint32_t crc = DecodeFixed32(bytes.data() + bytes.size() - 4);
  if (crc != crc32c::Value(bytes.data(), bytes.size() - 4)) {
    return Status::Corruption("bloom filter: checksum mismatch");
  }
  BloomFilter b;
  if (DecodeFixed32(bytes.data() + 4) != 1) return Status::Corruption("bloom filter: unknown version");
  b.probes_ = DecodeFixed32(bytes.data() + 8);
  b.bits_ = DecodeFixed64(bytes.data() + 12);
  if (b.bits_ == 0 || b.bits_ % 64 != 0 || b.probes_ == 0 || b.probes_ > 32 ||
      b.bits_ / 64 != (bytes.size() - 24) / 8 || (bytes.size() - 24) % 8 != 0) {
    return Status::Corruption("bloom filter: inconsistent size");
  }
  b.words_.resize(b.bits_ / 64);
  for (size_t i = 0; i < b.words_.size(); ++i) b.words_[i] = DecodeFixed64(bytes.data() + 20 + 8 * i);
  return b;
}

}  // namespace argus::tracestore
