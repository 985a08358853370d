#include "wal/format.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "util/coding.h"
#include "util/crc32c.h"

namespace argus::wal {
namespace {

using Batches = std::vector<std::vector<std::string>>;

// Frames `batches` back to back; *ends gets the offset after each batch.
std::string Encode(const Batches& batches, std::vector<size_t>* ends = nullptr) {
  std::string out;
  for (const auto& b : batches) {
    std::vector<std::string_view> views(b.begin(), b.end());
    EXPECT_TRUE(AppendBatch(views, &out).ok());
    if (ends != nullptr) ends->push_back(out.size());
  }
  return out;
}

std::vector<std::string> Scan(std::string_view data, ScanResult* res) {
  std::vector<std::string> out;
  Status st = ScanBatches(
      data,
      [&](std::string_view r) {
        out.emplace_back(r);
        return Status::OK();
      },
      res);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

// The records of the first `n` batches.
std::vector<std::string> Flatten(const Batches& batches, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n && i < batches.size(); ++i) {
    out.insert(out.end(), batches[i].begin(), batches[i].end());
  }
  return out;
}

Batches RandomBatches(std::mt19937* rng, int count) {
  Batches out(count);
  for (auto& b : out) {
    int records = std::uniform_int_distribution<int>(1, 5)(*rng);
    for (int i = 0; i < records; ++i) {
      std::string r(std::uniform_int_distribution<int>(0, 200)(*rng), '\0');
      for (auto& c : r) c = static_cast<char>((*rng)());
      b.push_back(std::move(r));
    }
  }
  return out;
}

// The worked example of docs/format/wal.md, byte for byte.
TEST(WalFormatTest, WorkedExample) {
  std::string frame;
  ASSERT_TRUE(AppendBatch({"ab", "c"}, &frame).ok());
  const unsigned char want[] = {0x06, 0x00, 0x00, 0x00,              // payload length
                                0xcb, 0x09, 0x2f, 0xd1,              // crc32c 0xD12F09CB
                                0x01,                                // type
                                0x02, 0x02, 'a',  'b',  0x01, 'c'};  // payload
  ASSERT_EQ(frame, std::string(reinterpret_cast<const char*>(want), sizeof want));
  EXPECT_EQ(DecodeFixed32(frame.data() + 4), crc32c::Value(frame.data() + 8, 7));
}

TEST(WalFormatTest, AppendBatchAppends) {
  std::string out = "prefix";
  ASSERT_TRUE(AppendBatch({"x"}, &out).ok());
  EXPECT_EQ(out.substr(0, 6), "prefix");
  ScanResult res;
  EXPECT_EQ(Scan(std::string_view(out).substr(6), &res), std::vector<std::string>{"x"});
}

TEST(WalFormatTest, RoundTripRandomBatches) {
  std::mt19937 rng(7);
  Batches batches = RandomBatches(&rng, 100);
  batches.push_back({});        // a batch of no records is valid
  batches.push_back({"", ""});  // and so are empty records
  std::string data = Encode(batches);
  ScanResult res;
  EXPECT_EQ(Scan(data, &res), Flatten(batches, batches.size()));
  EXPECT_EQ(res.end, ScanEnd::kClean);
  EXPECT_EQ(res.valid_bytes, data.size());
  EXPECT_EQ(res.batches, batches.size());
}

TEST(WalFormatTest, CutAtEveryOffsetYieldsWholeBatchesOnly) {
  Batches batches = {{"first", "batch"}, {"second", std::string(300, 's')}, {"third"}};
  std::vector<size_t> ends;
  std::string data = Encode(batches, &ends);
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    size_t whole = 0;
    while (whole < ends.size() && ends[whole] <= cut) ++whole;
    ScanResult res;
    ASSERT_EQ(Scan(std::string_view(data).substr(0, cut), &res), Flatten(batches, whole))
        << "cut at " << cut;
    EXPECT_EQ(res.valid_bytes, whole == 0 ? 0 : ends[whole - 1]);
    bool at_boundary = cut == res.valid_bytes;
    EXPECT_EQ(res.end, at_boundary ? ScanEnd::kClean : ScanEnd::kTorn) << "cut at " << cut;
  }
}

TEST(WalFormatTest, ZeroTailEndsTheSegment) {
  std::string data = Encode({{"a"}, {"b"}});
  const size_t good = data.size();
  ScanResult res;
  for (size_t zeros : {1, 8, 9, 4096}) {
    std::string padded = data + std::string(zeros, '\0');
    EXPECT_EQ(Scan(padded, &res), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(res.end, ScanEnd::kZeroTail) << zeros;
    EXPECT_EQ(res.valid_bytes, good);
  }
  // Zeros followed by anything else are not a preallocated tail.
  std::string gap = data + std::string(100, '\0') + "x";
  Scan(gap, &res);
  EXPECT_EQ(res.end, ScanEnd::kCorrupt);
  EXPECT_EQ(res.valid_bytes, good);
}

// Each single-byte change is caught (CRC-32C detects every burst of up to 32 bits): the scan
// returns exactly the batches before the damaged one.
TEST(WalFormatTest, EverySingleByteChangeIsDetected) {
  Batches batches = {{"aaaa", "bbbb"}, {"cccccccc"}, {"dd", "", "eee"}};
  std::vector<size_t> ends;
  std::string data = Encode(batches, &ends);
  for (size_t pos = 0; pos < data.size(); ++pos) {
    for (int mask : {0x01, 0x80, 0xff}) {
      std::string bad = data;
      bad[pos] = static_cast<char>(bad[pos] ^ mask);
      size_t damaged = 0;
      while (ends[damaged] <= pos) ++damaged;
      ScanResult res;
      ASSERT_EQ(Scan(bad, &res), Flatten(batches, damaged)) << "pos " << pos << " mask " << mask;
      EXPECT_NE(res.end, ScanEnd::kClean);
      EXPECT_EQ(res.valid_bytes, damaged == 0 ? 0 : ends[damaged - 1]);
    }
  }
}

// Random damage never crashes the decoder, and what it returns is always a run of whole
// batches from the start.
TEST(WalFormatTest, RandomDamageYieldsAPrefixOfWholeBatches) {
  std::mt19937 rng(99);
  Batches batches = RandomBatches(&rng, 20);
  std::vector<size_t> ends;
  const std::string data = Encode(batches, &ends);
  for (int iter = 0; iter < 2000; ++iter) {
    std::string bad = data;
    int edits = std::uniform_int_distribution<int>(1, 8)(rng);
    for (int e = 0; e < edits; ++e) {
      size_t pos = std::uniform_int_distribution<size_t>(0, bad.size() - 1)(rng);
      switch (rng() % 3) {
        case 0:
          bad[pos] = static_cast<char>(rng());
          break;
        case 1:
          bad.resize(pos + 1);
          break;
        default:
          bad.insert(pos, std::string(rng() % 16, static_cast<char>(rng())));
          break;
      }
    }
    ScanResult res;
    std::vector<std::string> got = Scan(bad, &res);
    ASSERT_LE(res.valid_bytes, bad.size());
    bool is_prefix = false;
    for (size_t n = 0; n <= batches.size() && !is_prefix; ++n) {
      is_prefix = got == Flatten(batches, n);
    }
    ASSERT_TRUE(is_prefix) << "iteration " << iter;
  }
}

// A frame whose CRC is right but whose payload lies must be rejected, not trusted.
TEST(WalFormatTest, MalformedPayloadWithGoodCrcIsCorrupt) {
  auto frame = [](std::string payload) {
    std::string f(kBatchHeaderSize, '\0');
    EncodeFixed32(f.data(), static_cast<uint32_t>(payload.size()));
    f[8] = static_cast<char>(kBatchType);
    f += payload;
    EncodeFixed32(f.data() + 4, crc32c::Value(f.data() + 8, 1 + payload.size()));
    return f;
  };
  std::string huge_count;
  PutVarint64(&huge_count, 1ull << 60);
  std::string trailing;
  PutVarint64(&trailing, 1);
  PutLengthPrefixed(&trailing, "x");
  trailing += "junk";
  std::string overlong;
  PutVarint64(&overlong, 1);
  PutVarint64(&overlong, 50);
  overlong += "short";
  std::string good = frame(std::string("\x01\x01y", 3));
  for (const std::string& payload : {huge_count, trailing, overlong}) {
    ScanResult res;
    EXPECT_TRUE(Scan(good + frame(payload), &res) == std::vector<std::string>{"y"});
    EXPECT_EQ(res.end, ScanEnd::kCorrupt);
    EXPECT_EQ(res.valid_bytes, good.size());
  }
  // An unknown type byte, and a zero length with a non-zero type.
  std::string bad_type = frame(std::string("\x01\x01z", 3));
  bad_type[8] = 2;
  std::string zero_len(kBatchHeaderSize, '\0');
  zero_len[8] = static_cast<char>(kBatchType);
  for (const std::string& f : {bad_type, zero_len}) {
    ScanResult res;
    Scan(f, &res);
    EXPECT_EQ(res.end, ScanEnd::kCorrupt);
    EXPECT_EQ(res.valid_bytes, 0u);
  }
}

TEST(WalFormatTest, CallbackErrorStopsTheScan) {
  std::string data = Encode({{"a", "b"}, {"c"}});
  int calls = 0;
  ScanResult res;
  Status st = ScanBatches(
      data,
      [&](std::string_view r) {
        ++calls;
        return r == "b" ? Status::Internal("stop") : Status::OK();
      },
      &res);
  EXPECT_EQ(st.code(), StatusCode::kInternal);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(res.records, 1u);
}

TEST(WalFormatTest, SegmentNames) {
  EXPECT_EQ(SegmentName(0), "00000000");
  EXPECT_EQ(SegmentName(42), "00000042");
  EXPECT_EQ(ParseSegmentName("00000042"), 42);
  EXPECT_EQ(ParseSegmentName(SegmentName(kMaxSegmentIndex)), kMaxSegmentIndex);
  for (std::string_view bad : {"0000042", "000000042", "0000004a", "checkpoint.00000001", ""}) {
    EXPECT_FALSE(ParseSegmentName(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace argus::wal
