#include "api/json_writer.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>

#include "model/labels.h"

namespace argus::api {

void JsonWriter::Sep() {
  if (need_comma_) out_.push_back(',');
  need_comma_ = true;
}

void JsonWriter::BeginObject() {
  Sep();
  out_.push_back('{');
  need_comma_ = false;
}
void JsonWriter::EndObject() {
  out_.push_back('}');
  need_comma_ = true;
}
void JsonWriter::BeginArray() {
  Sep();
  out_.push_back('[');
  need_comma_ = false;
}
void JsonWriter::EndArray() {
  out_.push_back(']');
  need_comma_ = true;
}
void JsonWriter::Key(std::string_view k) {
  String(k);
  out_.push_back(':');
  need_comma_ = false;
}

void JsonWriter::String(std::string_view s) {
  Sep();
  out_.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out_.append("\\\""); break;
        case '\\': out_.append("\\\\"); break;
        case '\n': out_.append("\\n"); break;
        case '\r': out_.append("\\r"); break;
        case '\t': out_.append("\\t"); break;
        default:
          if (c < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", c);
            out_.append(b);
          } else {
            out_.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len != 0 && i + len <= s.size() && IsValidUtf8(s.substr(i, len))) {
      out_.append(s.substr(i, len));
      i += len;
    } else {
      out_.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  out_.push_back('"');
}

void JsonWriter::Int(int64_t v) {
  Sep();
  out_.append(std::to_string(v));
}
void JsonWriter::Uint(uint64_t v) {
  Sep();
  out_.append(std::to_string(v));
}
void JsonWriter::Bool(bool b) {
  Sep();
  out_.append(b ? "true" : "false");
}
void JsonWriter::Null() {
  Sep();
  out_.append("null");
}
void JsonWriter::Double(double v) {
  Sep();
  if (!std::isfinite(v)) {
    out_.append("null");
    return;
  }
  char b[64];
  std::snprintf(b, sizeof b, "%.17g", v);
  out_.append(b);
}

void JsonWriter::ShortestDouble(double v) {
  Sep();
  if (!std::isfinite(v)) {
    out_.append("null");
    return;
  }
  out_.append(fmt::format("{}", v));
}

void JsonWriter::TimestampMs(int64_t t_ms) {
  Sep();
  int64_t sec = t_ms / 1000;
  int64_t ms = t_ms % 1000;
  if (ms < 0) {
    ms += 1000;
    sec -= 1;
  }
  out_.append(std::to_string(sec));
  if (ms != 0) {
    char b[8];
    std::snprintf(b, sizeof b, ".%03d", static_cast<int>(ms));
    std::string frac(b);
    while (frac.back() == '0') frac.pop_back();
    out_.append(frac);
  }
}

std::string JsonWriter::FormatSampleValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Shortest representation that round-trips, as Go's 'f' with precision -1 (no exponent).
  char b[512];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(b, sizeof b, "%.*g", prec, v);
    if (std::strtod(b, nullptr) == v) break;
  }
  std::string s(b);
  size_t e = s.find_first_of("eE");
  if (e == std::string::npos) return s;
  // Expand the exponent into plain decimal form as Go's 'f' format does.
  std::string mant = s.substr(0, e);
  int exp = std::stoi(s.substr(e + 1));
  bool neg = !mant.empty() && mant[0] == '-';
  if (neg) mant = mant.substr(1);
  std::string digits;
  int point = static_cast<int>(mant.find('.'));
  if (point < 0) point = static_cast<int>(mant.size());
  for (char c : mant) {
    if (c != '.') digits.push_back(c);
  }
  int new_point = point + exp;
  std::string out;
  if (new_point <= 0) {
    out = "0." + std::string(-new_point, '0') + digits;
  } else if (new_point >= static_cast<int>(digits.size())) {
    out = digits + std::string(new_point - digits.size(), '0');
  } else {
    out = digits.substr(0, new_point) + "." + digits.substr(new_point);
  }
  return neg ? "-" + out : out;
}

}  // namespace argus::api
