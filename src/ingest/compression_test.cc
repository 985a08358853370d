#include "ingest/compression.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <snappy.h>
#include <zlib.h>

#include <random>
#include <string>

namespace argus::ingest {
namespace {

using ::testing::HasSubstr;

// gzip-compresses `raw` with zlib (one gzip member).
std::string GzipCompress(const std::string& raw) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&zs, raw.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string RandomText(size_t n) {
  std::mt19937 rng(42);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

TEST(GunzipTest, RoundTrip) {
  std::string raw = RandomText(300000);  // several inflate chunks
  Result<std::string> out = Gunzip(GzipCompress(raw), 1 << 20);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, raw);
}

TEST(GunzipTest, EmptyPayloadRoundTrips) {
  Result<std::string> out = Gunzip(GzipCompress(""), 100);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "");
}

TEST(GunzipTest, ConcatenatedMembers) {
  Result<std::string> out = Gunzip(GzipCompress("hello, ") + GzipCompress("world"), 100);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "hello, world");
}

TEST(GunzipTest, ExactlyAtTheLimitIsAccepted) {
  std::string raw(1000, 'z');
  EXPECT_TRUE(Gunzip(GzipCompress(raw), 1000).ok());
  Result<std::string> over = Gunzip(GzipCompress(raw), 999);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(over.status().message(), HasSubstr("exceeds the limit of 999 bytes"));
}

TEST(GunzipTest, BombIsStoppedAtTheLimit) {
  std::string raw(50 << 20, '\0');  // 50 MiB of zeros compresses to ~50 KiB
  std::string bomb = GzipCompress(raw);
  EXPECT_LT(bomb.size(), 100u << 10);
  Result<std::string> out = Gunzip(bomb, 1 << 20);
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out.status().message(), HasSubstr("exceeds the limit"));
}

TEST(GunzipTest, TruncatedAndGarbageInput) {
  std::string gz = GzipCompress(RandomText(5000));
  Result<std::string> truncated = Gunzip(std::string_view(gz).substr(0, gz.size() / 2), 1 << 20);
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(truncated.status().message(), HasSubstr("truncated"));

  Result<std::string> garbage = Gunzip("definitely not gzip", 1 << 20);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().code(), StatusCode::kInvalidArgument);

  EXPECT_FALSE(Gunzip("", 10).ok());

  std::string corrupt = gz;
  corrupt[corrupt.size() / 2] ^= 0x55;
  corrupt[corrupt.size() / 2 + 1] ^= 0x55;
  EXPECT_FALSE(Gunzip(corrupt, 1 << 20).ok());
}

TEST(SnappyUncompressTest, RoundTripAndErrors) {
  std::string raw = RandomText(10000);
  std::string compressed;
  snappy::Compress(raw.data(), raw.size(), &compressed);
  Result<std::string> out = SnappyUncompress(compressed, 1 << 20);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, raw);

  Result<std::string> limited = SnappyUncompress(compressed, 9999);
  ASSERT_FALSE(limited.ok());
  EXPECT_THAT(limited.status().message(), HasSubstr("exceeds the limit"));

  Result<std::string> corrupt =
      SnappyUncompress(compressed.substr(0, compressed.size() - 10), 1 << 20);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.status().message(), "snappy: corrupt input");
}

}  // namespace
}  // namespace argus::ingest
