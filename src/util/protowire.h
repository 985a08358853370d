// The protobuf wire format (protobuf.dev/programming-guides/encoding): a bounds-checked reader
// over one message's bytes and the writer helpers that go with it, for the protocols Argus
// reads without materializing messages (remote_write, OTLP traces in the request path). The
// field numbers and meanings belong to the callers' .proto files.
//
// Example:
//   WireReader r(bytes);
//   WireField f;
//   while (r.Next(&f)) {
//     if (f.number == 1 && f.type == WireReader::kLengthDelimited) name = f.bytes;
//   }
//   if (r.error()) return Status::InvalidArgument("malformed");
//   std::string out;
//   PutLengthDelimitedField(&out, 1, name);     // tag, length, bytes
//
// Thread-safety: a WireReader is a cursor over caller-owned bytes (which must outlive it and
// the views it returns); one thread at a time.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "util/coding.h"

namespace argus {

// One field as read: its number and wire type, and its value (varint or fixed) or payload.
struct WireField {
  uint64_t number = 0;
  uint64_t type = 0;
  uint64_t value = 0;       // kVarint, kFixed64, kFixed32
  std::string_view bytes;   // kLengthDelimited: the payload, into the reader's input
};

class WireReader {
 public:
  explicit WireReader(std::string_view in) : in_(in) {}
  bool done() const { return in_.empty(); }
  // Bytes not yet read.
  std::string_view rest() const { return in_; }

  bool ReadVarint(uint64_t* v) {
    // Most tags and lengths fit in one byte.
    if (!in_.empty() && static_cast<uint8_t>(in_.front()) < 0x80) {
      *v = static_cast<uint8_t>(in_.front());
      in_.remove_prefix(1);
      return true;
    }
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return false;
      uint8_t b = static_cast<uint8_t>(in_.front());
      in_.remove_prefix(1);
      *v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool ReadBytes(std::string_view* out) {
    uint64_t n;
    if (!ReadVarint(&n) || n > in_.size()) return false;
    *out = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool ReadFixed64(uint64_t* v) {
    if (in_.size() < 8) return false;
    std::memcpy(v, in_.data(), 8);  // little-endian on the wire and on every target we build
    in_.remove_prefix(8);
    return true;
  }
  bool ReadFixed32(uint64_t* v) {
    if (in_.size() < 4) return false;
    uint32_t u;
    std::memcpy(&u, in_.data(), 4);
    *v = u;
    in_.remove_prefix(4);
    return true;
  }
  // Skips a field of wire type `wt` (groups are not used by the protocols we read: malformed).
  bool Skip(uint64_t wt) {
    uint64_t v;
    std::string_view s;
    switch (wt) {
      case kVarint: return ReadVarint(&v);
      case kFixed64: return ReadFixed64(&v);
      case kLengthDelimited: return ReadBytes(&s);
      case kFixed32: return ReadFixed32(&v);
      default: return false;
    }
  }

  // Reads the next field whole; false at the end of the input or when the rest is malformed
  // (truncated, a bad varint, a group or an unknown wire type), which sets error().
  bool Next(WireField* f) {
    if (in_.empty()) return false;
    uint64_t tag;
    bool ok = ReadVarint(&tag);
    if (ok) {
      f->number = tag >> 3;
      f->type = tag & 7;
      switch (f->type) {
        case kVarint: ok = ReadVarint(&f->value); break;
        case kFixed64: ok = ReadFixed64(&f->value); break;
        case kLengthDelimited: ok = ReadBytes(&f->bytes); break;
        case kFixed32: ok = ReadFixed32(&f->value); break;
        default: ok = false;
      }
    }
    if (!ok || f->number == 0 || f->number > kMaxFieldNumber) {
      error_ = true;
      in_ = {};
      return false;
    }
    return true;
  }
  bool error() const { return error_; }

  static constexpr uint64_t kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;
  static constexpr uint64_t kMaxFieldNumber = (1u << 29) - 1;

 private:
  std::string_view in_;
  bool error_ = false;
};

// Appends field `number` of wire type `wt`'s tag.
inline void PutFieldTag(std::string* out, uint64_t number, uint64_t wt) { PutVarint64(out, number << 3 | wt); }
// Appends a length-delimited field (a string, bytes or an embedded message).
inline void PutLengthDelimitedField(std::string* out, uint64_t number, std::string_view bytes) {
  PutFieldTag(out, number, WireReader::kLengthDelimited);
  PutLengthPrefixed(out, bytes);
}

}  // namespace argus
