// XOR chunk encoding (Gorilla, VLDB 2015 section 4.1; the same bit layout as Prometheus'
// `chunkenc.XORChunk`). docs/format/chunks.md has the same description in prose.
//
// Bits are written most significant first into successive bytes; the last byte is zero-padded.
//
//   bytes 0-1   sample count, uint16 big-endian
//   sample 0    t: zig-zag varint (LEB128 bytes written through the bit stream), v: 64 raw bits
//   sample 1    t - t0: unsigned varint; v: XOR encoding (below)
//   sample n>=2 dod = (t_n - t_n-1) - (t_n-1 - t_n-2), in the first bucket that holds it:
//                 '0'                          dod == 0
//                 '10'   + 14-bit two's compl. -8191 <= dod <= 8192
//                 '110'  + 17-bit              -65535 <= dod <= 65536
//                 '1110' + 20-bit              -524287 <= dod <= 524288
//                 '1111' + 64-bit              anything else
//               then v: XOR encoding
//
//   XOR encoding of v against the previous value p, x = bits(v) ^ bits(p):
//     '0'                                   x == 0 (same value, incl. the same NaN payload)
//     '1' '0' + (64-L-T) bits of x >> T     x fits the previous window: leading zeros >= L
//                                           and trailing zeros >= T
//     '1' '1' + 5 bits L' + 6 bits M + M bits of x >> T'
//                                           a new window; L' = min(leading zeros, 31),
//                                           T' = trailing zeros, M = 64-L'-T' (64 stored as 0)
//
// Worked example: (1000, 1.0), (16000, 2.0), (31500, 4.0)
//   00 03                      3 samples
//   D0 0F                      zig-zag(1000) = 2000 as a varint
//   3F F0 00 00 00 00 00 00    1.0
//   98 75                      delta 15000 as a varint
//   C2 5F FF                   x = 0x7FF0000000000000: '1' '1' 00001 001011 11111111111
//   81 F4 80 08                dod 500: '10' 00000111110100;
//                              x = 0x0010000000000000 fits L=1,T=52: '1' '0' 00000000001;
//                              3 bits of padding

#include "tsdb/chunk.h"

#include <algorithm>
#include <bit>

#include "util/coding.h"

namespace argus::tsdb {

namespace {

// Whether x fits in an nbits two's-complement bucket as Prometheus defines it:
// -(2^(nbits-1) - 1) <= x <= 2^(nbits-1).
bool FitsBucket(int64_t x, int nbits) {
  const int64_t half = int64_t{1} << (nbits - 1);
  return -(half - 1) <= x && x <= half;
}

// Inverse of writing the low nbits of a value that passed FitsBucket.
int64_t FromBucket(uint64_t bits, int nbits) {
  if (bits > (uint64_t{1} << (nbits - 1))) {
    return static_cast<int64_t>(bits) - (int64_t{1} << nbits);
  }
  return static_cast<int64_t>(bits);
}

}  // namespace

XorChunk::XorChunk() : b_(2, '\0') {}

Result<XorChunk> XorChunk::FromBytes(std::string bytes) {
  if (bytes.size() < 2) return Status::Corruption("xor chunk shorter than its 2-byte header");
  XorChunk c;
  c.b_ = std::move(bytes);
  // Recover the append state so the chunk can be extended (the head re-opens chunks this way).
  XorIterator it(c.b_);
  int n = 0;
  while (it.Next()) {
    Sample s = it.At();
    if (n == 0) c.first_t_ = s.t_ms;
    ++n;
    c.t_ = s.t_ms;
    c.v_ = s.v;
  }
  if (it.status().ok()) {
    c.t_delta_ = it.t_delta_;
    c.leading_ = it.window_set_ ? it.leading_ : 0xff;
    c.trailing_ = it.trailing_;
    // Drop bytes past the last sample so that appends continue at the right bit.
    size_t used_bytes = (it.pos_bits_ + 7) / 8;
    c.b_.resize(std::max<size_t>(used_bytes, 2));
    c.bit_count_ = static_cast<int>(it.pos_bits_ % 8);
    if (c.bit_count_ != 0) {  // clear padding bits that the next append will fill
      c.b_.back() = static_cast<char>(static_cast<uint8_t>(c.b_.back()) &
                                      (0xff00 >> c.bit_count_));
    }
  }
  return c;
}

int XorChunk::num_samples() const {
  return (static_cast<uint8_t>(b_[0]) << 8) | static_cast<uint8_t>(b_[1]);
}

void XorChunk::WriteBit(bool bit) {
  if (bit_count_ == 0) b_.push_back('\0');
  if (bit) b_.back() = static_cast<char>(b_.back() | (0x80 >> bit_count_));
  bit_count_ = (bit_count_ + 1) & 7;
}

void XorChunk::WriteBits(uint64_t v, int nbits) {
  while (nbits > 0) {
    if (bit_count_ == 0) b_.push_back('\0');
    const int avail = 8 - bit_count_;
    const int take = std::min(avail, nbits);
    const uint8_t bits = static_cast<uint8_t>((v >> (nbits - take)) & ((1u << take) - 1));
    b_.back() = static_cast<char>(static_cast<uint8_t>(b_.back()) | (bits << (avail - take)));
    bit_count_ = (bit_count_ + take) & 7;
    nbits -= take;
  }
}

void XorChunk::Append(int64_t t_ms, double v) {
  const int n = num_samples();
  if (n == 0) {
    uint64_t z = ZigZagEncode(t_ms);
    while (z >= 0x80) {
      WriteBits((z & 0x7f) | 0x80, 8);
      z >>= 7;
    }
    WriteBits(z, 8);
    WriteBits(DoubleBits(v), 64);
    first_t_ = t_ms;
  } else {
    // Unsigned arithmetic: wraps instead of overflowing for extreme timestamps; the decoder
    // wraps the same way.
    const uint64_t delta = static_cast<uint64_t>(t_ms) - static_cast<uint64_t>(t_);
    if (n == 1) {
      uint64_t d = delta;
      while (d >= 0x80) {
        WriteBits((d & 0x7f) | 0x80, 8);
        d >>= 7;
      }
      WriteBits(d, 8);
    } else {
      const int64_t dod = static_cast<int64_t>(delta - static_cast<uint64_t>(t_delta_));
      const uint64_t udod = static_cast<uint64_t>(dod);
      if (dod == 0) {
        WriteBit(false);
      } else if (FitsBucket(dod, 14)) {
        WriteBits(0b10, 2);
        WriteBits(udod, 14);
      } else if (FitsBucket(dod, 17)) {
        WriteBits(0b110, 3);
        WriteBits(udod, 17);
      } else if (FitsBucket(dod, 20)) {
        WriteBits(0b1110, 4);
        WriteBits(udod, 20);
      } else {
        WriteBits(0b1111, 4);
        WriteBits(udod, 64);
      }
    }
    t_delta_ = static_cast<int64_t>(delta);

    const uint64_t x = DoubleBits(v) ^ DoubleBits(v_);
    if (x == 0) {
      WriteBit(false);
    } else {
      WriteBit(true);
      int lead = std::countl_zero(x);
      const int trail = std::countr_zero(x);
      if (lead > 31) lead = 31;  // 5 bits
      if (leading_ != 0xff && lead >= leading_ && trail >= trailing_) {
        WriteBit(false);
        WriteBits(x >> trailing_, 64 - leading_ - trailing_);
      } else {
        leading_ = static_cast<uint8_t>(lead);
        trailing_ = static_cast<uint8_t>(trail);
        WriteBit(true);
        WriteBits(static_cast<uint64_t>(lead), 5);
        const int sig = 64 - lead - trail;
        WriteBits(static_cast<uint64_t>(sig & 63), 6);  // 64 is stored as 0
        WriteBits(x >> trail, sig);
      }
    }
  }
  t_ = t_ms;
  v_ = v;
  const int count = n + 1;
  b_[0] = static_cast<char>(count >> 8);
  b_[1] = static_cast<char>(count & 0xff);
}

XorIterator XorChunk::Iterator() const { return XorIterator(b_); }

XorIterator::XorIterator(std::string_view bytes) : b_(bytes) {
  if (b_.size() < 2) {
    status_ = Status::Corruption("xor chunk shorter than its 2-byte header");
    return;
  }
  total_ = (static_cast<uint8_t>(b_[0]) << 8) | static_cast<uint8_t>(b_[1]);
}

bool XorIterator::ReadBit(bool* bit) {
  if (pos_bits_ >= b_.size() * 8) return false;
  const uint8_t byte = static_cast<uint8_t>(b_[pos_bits_ >> 3]);
  *bit = (byte >> (7 - (pos_bits_ & 7))) & 1;
  ++pos_bits_;
  return true;
}

bool XorIterator::ReadBits(int nbits, uint64_t* v) {
  if (pos_bits_ + static_cast<size_t>(nbits) > b_.size() * 8) return false;
  uint64_t out = 0;
  while (nbits > 0) {
    const uint8_t byte = static_cast<uint8_t>(b_[pos_bits_ >> 3]);
    const int avail = 8 - static_cast<int>(pos_bits_ & 7);
    const int take = std::min(avail, nbits);
    const uint64_t bits = (byte >> (avail - take)) & ((1u << take) - 1);
    out = (out << take) | bits;
    nbits -= take;
    pos_bits_ += take;
  }
  *v = out;
  return true;
}

bool XorIterator::ReadVarint(uint64_t* v) {
  uint64_t result = 0;
  for (int i = 0; i < 10; ++i) {
    uint64_t byte;
    if (!ReadBits(8, &byte)) return false;
    result |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;  // longer than any 64-bit varint
}

bool XorIterator::Next() {
  if (!status_.ok() || read_ >= total_) return false;
  auto corrupt = [this](const char* what) {
    status_ = Status::Corruption(std::string("xor chunk: ") + what + " at sample " +
                                 std::to_string(read_) + " of " + std::to_string(total_));
    return false;
  };
  if (read_ == 0) {
    uint64_t z, bits;
    if (!ReadVarint(&z)) return corrupt("truncated or malformed first timestamp");
    if (!ReadBits(64, &bits)) return corrupt("truncated first value");
    t_ = ZigZagDecode(z);
    v_ = BitsDouble(bits);
    ++read_;
    return true;
  }
  if (read_ == 1) {
    uint64_t delta;
    if (!ReadVarint(&delta)) return corrupt("truncated or malformed timestamp delta");
    t_delta_ = static_cast<int64_t>(delta);
  } else {
    // Count leading 1 bits of the bucket prefix (at most 4).
    int ones = 0;
    while (ones < 4) {
      bool bit;
      if (!ReadBit(&bit)) return corrupt("truncated timestamp");
      if (!bit) break;
      ++ones;
    }
    static constexpr int kBucketBits[5] = {0, 14, 17, 20, 64};
    const int nbits = kBucketBits[ones];
    int64_t dod = 0;
    if (nbits == 64) {
      uint64_t bits;
      if (!ReadBits(64, &bits)) return corrupt("truncated timestamp");
      dod = static_cast<int64_t>(bits);
    } else if (nbits > 0) {
      uint64_t bits;
      if (!ReadBits(nbits, &bits)) return corrupt("truncated timestamp");
      dod = FromBucket(bits, nbits);
    }
    t_delta_ = static_cast<int64_t>(static_cast<uint64_t>(t_delta_) + static_cast<uint64_t>(dod));
  }
  t_ = static_cast<int64_t>(static_cast<uint64_t>(t_) + static_cast<uint64_t>(t_delta_));

  bool bit;
  if (!ReadBit(&bit)) return corrupt("truncated value");
  if (bit) {
    if (!ReadBit(&bit)) return corrupt("truncated value");
    if (bit) {
      uint64_t lead, sig;
      if (!ReadBits(5, &lead) || !ReadBits(6, &sig)) return corrupt("truncated value window");
      if (sig == 0) sig = 64;
      if (lead + sig > 64) return corrupt("value window wider than 64 bits");
      leading_ = static_cast<uint8_t>(lead);
      trailing_ = static_cast<uint8_t>(64 - lead - sig);
      window_set_ = true;
    }
    const int sig = 64 - leading_ - trailing_;
    uint64_t x;
    if (!ReadBits(sig, &x)) return corrupt("truncated value");
    v_ = BitsDouble(DoubleBits(v_) ^ (x << trailing_));
  }
  ++read_;
  return true;
}

}  // namespace argus::tsdb
