#include "ingest/compression.h"

#include <fmt/format.h>
#include <snappy.h>
#include <zlib.h>

#include <algorithm>

namespace argus::ingest {

namespace {

// zlib's windowBits: 15 (the maximum window) + 32 = detect a gzip or zlib header.
constexpr int kGzipOrZlibWindowBits = 15 + 32;
constexpr size_t kInflateChunkBytes = 64 * 1024;

// Owns a z_stream so every return path releases it.
class Inflater {
 public:
  Inflater() = default;
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  ~Inflater() {
    if (initialized_) inflateEnd(&zs_);
  }
  bool Init() {
    initialized_ = inflateInit2(&zs_, kGzipOrZlibWindowBits) == Z_OK;
    return initialized_;
  }
  z_stream* stream() { return &zs_; }

 private:
  z_stream zs_{};
  bool initialized_ = false;
};

std::string ZlibMessage(const z_stream& zs, int rc) {
  if (zs.msg != nullptr) return zs.msg;
  return fmt::format("zlib error {}", rc);
}

}  // namespace

Result<std::string> Gunzip(std::string_view compressed, size_t max_bytes) {
  if (compressed.empty()) return Status::InvalidArgument("gzip: empty body");
  Inflater inflater;
  if (!inflater.Init()) return Status::Internal("gzip: inflateInit2 failed");
  z_stream* zs = inflater.stream();
  // zlib takes a non-const input pointer but never writes through it.
  zs->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs->avail_in = static_cast<uInt>(std::min<size_t>(compressed.size(), UINT32_MAX));
  size_t remaining_in = compressed.size() - zs->avail_in;

  std::string out;
  while (true) {
    if (out.size() >= max_bytes + 1) {
      return Status::InvalidArgument(
          fmt::format("gzip: decompressed body exceeds the limit of {} bytes", max_bytes));
    }
    // Never ask for more than one byte past the limit: that byte proves the body is too big.
    size_t room = std::min(kInflateChunkBytes, max_bytes + 1 - out.size());
    size_t old_size = out.size();
    out.resize(old_size + room);
    zs->next_out = reinterpret_cast<Bytef*>(out.data() + old_size);
    zs->avail_out = static_cast<uInt>(room);
    int rc = inflate(zs, Z_NO_FLUSH);
    out.resize(old_size + (room - zs->avail_out));
    if (zs->avail_in == 0 && remaining_in > 0) {
      size_t n = std::min<size_t>(remaining_in, UINT32_MAX);
      zs->avail_in = static_cast<uInt>(n);
      remaining_in -= n;
    }
    if (rc == Z_STREAM_END) {
      if (zs->avail_in == 0) break;
      // Another gzip member follows (RFC 1952 2.2): decode it into the same output.
      if (inflateReset(zs) != Z_OK) return Status::Internal("gzip: inflateReset failed");
      continue;
    }
    if (rc == Z_BUF_ERROR && zs->avail_in == 0) {
      return Status::InvalidArgument("gzip: unexpected end of input (truncated body)");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return Status::InvalidArgument("gzip: " + ZlibMessage(*zs, rc));
    }
  }
  if (out.size() > max_bytes) {
    return Status::InvalidArgument(
        fmt::format("gzip: decompressed body exceeds the limit of {} bytes", max_bytes));
  }
  return out;
}

Result<std::string> SnappyUncompress(std::string_view compressed, size_t max_bytes) {
  size_t decoded_bytes = 0;
  if (!snappy::GetUncompressedLength(compressed.data(), compressed.size(), &decoded_bytes)) {
    return Status::InvalidArgument("snappy: corrupt input");
  }
  if (decoded_bytes > max_bytes) {
    return Status::InvalidArgument(
        fmt::format("snappy: decoded block of {} bytes exceeds the limit of {} bytes",
                    decoded_bytes, max_bytes));
  }
  std::string out(decoded_bytes, '\0');
  if (!snappy::RawUncompress(compressed.data(), compressed.size(), out.data())) {
    return Status::InvalidArgument("snappy: corrupt input");
  }
  return out;
}

}  // namespace argus::ingest
