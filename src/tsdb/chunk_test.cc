#include "tsdb/chunk.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace argus::tsdb {
namespace {

std::vector<Sample> Decode(std::string_view bytes, Status* st) {
  std::vector<Sample> out;
  XorIterator it(bytes);
  while (it.Next()) out.push_back(it.At());
  *st = it.status();
  return out;
}

// Compares bit patterns so NaN payloads (stale markers) count as equal only when identical.
void ExpectSameSamples(const std::vector<Sample>& want, const std::vector<Sample>& got) {
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(want[i].t_ms, got[i].t_ms) << "sample " << i;
    EXPECT_EQ(DoubleBits(want[i].v), DoubleBits(got[i].v)) << "sample " << i;
  }
}

void RoundTrip(const std::vector<Sample>& samples) {
  XorChunk c;
  for (const auto& s : samples) c.Append(s.t_ms, s.v);
  ASSERT_EQ(c.num_samples(), static_cast<int>(samples.size()));
  if (!samples.empty()) {
    EXPECT_EQ(c.min_time_ms(), samples.front().t_ms);
    EXPECT_EQ(c.max_time_ms(), samples.back().t_ms);
  }
  Status st;
  ExpectSameSamples(samples, Decode(c.bytes(), &st));
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST(XorChunkTest, EmptyChunk) {
  XorChunk c;
  EXPECT_EQ(c.num_samples(), 0);
  EXPECT_EQ(c.bytes().size(), 2u);
  XorIterator it = c.Iterator();
  EXPECT_FALSE(it.Next());
  EXPECT_TRUE(it.status().ok());
}

TEST(XorChunkTest, WorkedExampleBytes) {
  // The example of docs/format/chunks.md and chunk.cc.
  XorChunk c;
  c.Append(1000, 1.0);
  c.Append(16000, 2.0);
  c.Append(31500, 4.0);
  const std::vector<uint8_t> want = {0x00, 0x03, 0xD0, 0x0F, 0x3F, 0xF0, 0x00, 0x00, 0x00,
                                     0x00, 0x00, 0x00, 0x98, 0x75, 0xC2, 0x5F, 0xFF, 0x81,
                                     0xF4, 0x80, 0x08};
  std::string_view b = c.bytes();
  ASSERT_EQ(b.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(static_cast<uint8_t>(b[i]), want[i]) << "byte " << i;
  }
}

TEST(XorChunkTest, RandomValuesIrregularTimestamps) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> val(-1e6, 1e6);
  std::uniform_int_distribution<int64_t> step(1, 100000);
  for (int round = 0; round < 50; ++round) {
    std::vector<Sample> s;
    int64_t t = 1700000000000 + static_cast<int64_t>(rng() % 1000000);
    for (int i = 0; i < 120; ++i) {
      s.push_back({t, val(rng)});
      t += step(rng);
    }
    RoundTrip(s);
  }
}

TEST(XorChunkTest, ConstantAndCounterValues) {
  std::vector<Sample> constant, counter;
  for (int i = 0; i < 120; ++i) {
    constant.push_back({i * 15000, 7.5});
    counter.push_back({i * 15000 + (i % 3), static_cast<double>(i * i)});
  }
  RoundTrip(constant);
  RoundTrip(counter);
  // A regular, constant series compresses to about 2 bits per sample after the first two.
  XorChunk c;
  for (const auto& s : constant) c.Append(s.t_ms, s.v);
  EXPECT_LT(c.bytes().size(), 2u + 10 + 8 + 3 + 120 * 2 / 8 + 2);
}

TEST(XorChunkTest, SpecialValues) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<Sample> s = {{1, 0.0},        {2, -0.0},       {3, std::nan("")}, {4, StaleNaN()},
                           {5, inf},        {6, -inf},       {7, 1.0},          {8, StaleNaN()},
                           {9, std::numeric_limits<double>::denorm_min()},
                           {10, std::numeric_limits<double>::max()},
                           {11, -std::numeric_limits<double>::max()}, {12, 1.0}};
  RoundTrip(s);
  XorChunk c;
  for (const auto& x : s) c.Append(x.t_ms, x.v);
  XorIterator it = c.Iterator();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(it.Next());
  EXPECT_TRUE(IsStaleNaN(it.At().v));
}

TEST(XorChunkTest, TimestampBucketsAndExtremes) {
  // Deltas chosen to hit every dod bucket boundary, negative timestamps and huge jumps.
  std::vector<int64_t> deltas = {1,      8192,    1,      8193,   65537, 1,
                                 524289, 1,       7,      5000000000LL, 1, 3};
  std::vector<Sample> s;
  int64_t t = -1000000;
  s.push_back({t, 1});
  for (size_t i = 0; i < deltas.size(); ++i) {
    t += deltas[i];
    s.push_back({t, static_cast<double>(i)});
  }
  RoundTrip(s);
  // dod exactly at each bucket edge: -8191, 8192, -65535, 65536, -524287, 524288.
  std::vector<Sample> edges;
  int64_t d = 1000000;
  t = 0;
  edges.push_back({t, 0});
  for (int64_t dod : {0LL, -8191LL, 8192LL, -65535LL, 65536LL, -524287LL, 524288LL, -524288LL,
                      524289LL, 0LL}) {
    d += dod;
    t += d;
    edges.push_back({t, 0});
  }
  RoundTrip(edges);
  RoundTrip({{std::numeric_limits<int64_t>::min() / 2, 1},
             {0, 2},
             {std::numeric_limits<int64_t>::max() / 2, 3},
             {std::numeric_limits<int64_t>::max() / 2 + 1, 4}});
  RoundTrip({{std::numeric_limits<int64_t>::min(), 1}, {std::numeric_limits<int64_t>::max(), 2}});
}

TEST(XorChunkTest, FromBytesContinuesAppending) {
  std::mt19937_64 rng(7);
  std::vector<Sample> s;
  int64_t t = 5000;
  for (int i = 0; i < 60; ++i) {
    t += 1 + static_cast<int64_t>(rng() % 30000);
    s.push_back({t, static_cast<double>(rng() % 100) / 4});
  }
  for (size_t split : {0ul, 1ul, 2ul, 3ul, 30ul, 60ul}) {
    XorChunk a;
    for (size_t i = 0; i < split; ++i) a.Append(s[i].t_ms, s[i].v);
    Result<XorChunk> b = XorChunk::FromBytes(std::string(a.bytes()));
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->num_samples(), static_cast<int>(split));
    if (split > 0) {
      EXPECT_EQ(b->min_time_ms(), s[0].t_ms);
      EXPECT_EQ(b->max_time_ms(), s[split - 1].t_ms);
    }
    for (size_t i = split; i < s.size(); ++i) b->Append(s[i].t_ms, s[i].v);
    XorChunk whole;
    for (const auto& x : s) whole.Append(x.t_ms, x.v);
    EXPECT_EQ(b->bytes(), whole.bytes()) << "split " << split;
  }
}

TEST(XorChunkTest, FromBytesRejectsShortHeader) {
  EXPECT_EQ(XorChunk::FromBytes("").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(XorChunk::FromBytes("\x01").status().code(), StatusCode::kCorruption);
  XorIterator it(std::string_view("\x01", 1));
  EXPECT_FALSE(it.Next());
  EXPECT_EQ(it.status().code(), StatusCode::kCorruption);
}

TEST(XorChunkTest, EveryTruncationIsCorruption) {
  std::mt19937_64 rng(3);
  XorChunk c;
  int64_t t = 0;
  for (int i = 0; i < 120; ++i) {
    t += 1 + static_cast<int64_t>(rng() % 100000);
    c.Append(t, static_cast<double>(rng()) / 3);
  }
  const std::string full(c.bytes());
  for (size_t len = 2; len < full.size(); ++len) {
    // A heap copy of exactly `len` bytes so ASan flags any read past the end.
    std::unique_ptr<char[]> buf(new char[len]);
    std::memcpy(buf.get(), full.data(), len);
    Status st;
    std::vector<Sample> got = Decode(std::string_view(buf.get(), len), &st);
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << "len " << len;
    EXPECT_LT(got.size(), 120u);
  }
}

TEST(XorChunkTest, RandomGarbageNeverCrashes) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 2000; ++round) {
    size_t len = rng() % 64;
    std::string b(len, '\0');
    for (auto& ch : b) ch = static_cast<char>(rng());
    XorIterator it(b);
    int n = 0;
    while (it.Next()) ++n;
    EXPECT_LE(n, 0xffff);
    if (len < 2) {
      EXPECT_EQ(it.status().code(), StatusCode::kCorruption);
    }
  }
}

TEST(XorChunkTest, RejectsOversizedValueWindow) {
  // Two samples whose second value record claims 31 leading zeros and 40 significant bits.
  XorChunk c;
  c.Append(0, 1.0);
  std::string b(c.bytes());
  b[1] = 2;
  // delta 1 (one varint byte), then '1' '1' 11111 101000 and enough bits to be otherwise valid.
  b.push_back(0x01);
  b.push_back(static_cast<char>(0b11111111));
  b.push_back(static_cast<char>(0b01000000));
  b.append(8, '\0');
  Status st;
  std::vector<Sample> got = Decode(b, &st);
  EXPECT_EQ(got.size(), 1u);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace argus::tsdb
