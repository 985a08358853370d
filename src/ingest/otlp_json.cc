#include "ingest/otlp_json.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <array>

namespace argus::ingest {

namespace {

constexpr std::array<std::string_view, 6> kIdKeys = {"traceId",  "spanId",  "parentSpanId",
                                                     "trace_id", "span_id", "parent_span_id"};

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Base64 (RFC 4648, with padding) of the bytes that the hex string `hex` spells.
Result<std::string> HexToBase64(std::string_view key, std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return Status::InvalidArgument(
        fmt::format("OTLP/JSON: {} {:?} is not a hex string (odd length)", key, hex));
  }
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexDigit(hex[i]), lo = HexDigit(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument(
          fmt::format("OTLP/JSON: {} {:?} is not a hex string", key, hex));
    }
    bytes.push_back(static_cast<char>(hi << 4 | lo));
  }
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  auto byte = [&bytes](size_t j) { return static_cast<uint32_t>(static_cast<uint8_t>(bytes[j])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Returns the index just past the JSON string starting at json[start] == '"', or npos if it is
// not terminated. Sets *has_escape if it contains a backslash escape.
size_t SkipString(std::string_view json, size_t start, bool* has_escape) {
  *has_escape = false;
  for (size_t i = start + 1; i < json.size(); ++i) {
    if (json[i] == '\\') {
      *has_escape = true;
      ++i;
    } else if (json[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace

Result<std::string> RewriteOtlpJsonIds(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  size_t copied = 0;  // json[0, copied) is already in `out`
  size_t i = 0;
  while (i < json.size()) {
    if (json[i] != '"') {
      ++i;
      continue;
    }
    bool escaped = false;
    size_t end = SkipString(json, i, &escaped);
    // An unterminated string: leave it to the JSON parser to report.
    if (end == std::string_view::npos) break;
    std::string_view key = json.substr(i + 1, end - i - 2);
    i = end;
    if (escaped || std::find(kIdKeys.begin(), kIdKeys.end(), key) == kIdKeys.end()) continue;
    size_t j = i;
    while (j < json.size() && IsJsonSpace(json[j])) ++j;
    if (j >= json.size() || json[j] != ':') continue;  // a string value, not a key
    ++j;
    while (j < json.size() && IsJsonSpace(json[j])) ++j;
    if (j >= json.size() || json[j] != '"') continue;  // not a string: the parser will complain
    size_t value_end = SkipString(json, j, &escaped);
    if (value_end == std::string_view::npos) break;
    std::string_view hex = json.substr(j + 1, value_end - j - 2);
    if (escaped) {
      return Status::InvalidArgument(fmt::format("OTLP/JSON: {} must be a plain hex string", key));
    }
    ASSIGN_OR_RETURN(std::string b64, HexToBase64(key, hex));
    out.append(json.substr(copied, j + 1 - copied));
    out.append(b64);
    out.push_back('"');
    copied = value_end;
    i = value_end;
  }
  out.append(json.substr(copied));
  return out;
}

Status ParseOtlpJson(std::string_view json, google::protobuf::Message* msg) {
  ASSIGN_OR_RETURN(std::string rewritten, RewriteOtlpJsonIds(json));
  msg->Clear();
  google::protobuf::util::JsonParseOptions options;
  // OTLP spec: receivers must ignore unknown fields so that newer senders keep working.
  options.ignore_unknown_fields = true;
  auto st = google::protobuf::util::JsonStringToMessage(rewritten, msg, options);
  if (!st.ok()) {
    return Status::InvalidArgument("OTLP/JSON: " + std::string(st.message()));
  }
  return Status::OK();
}

}  // namespace argus::ingest
