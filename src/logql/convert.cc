#include "logql/convert.h"

#include <arpa/inet.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace argus::logql {

namespace {

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

Result<double> ParseGoFloat(std::string_view s) {
  auto bad = [&] {
    return Status::InvalidArgument("strconv.ParseFloat: parsing " + GoQuote(s) + ": invalid syntax");
  };
  std::string_view t = s;
  bool neg = false;
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
    neg = t[0] == '-';
    t.remove_prefix(1);
  }
  if (IEquals(t, "inf") || IEquals(t, "infinity")) return neg ? -INFINITY : INFINITY;
  if (IEquals(t, "nan")) return NAN;
  if (t.empty()) return bad();
  size_t i = 0;
  bool hex = t.size() > 1 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X');
  bool digits = false;
  if (hex) {
    i = 2;
    while (i < t.size() && std::isxdigit(static_cast<unsigned char>(t[i]))) ++i, digits = true;
    if (i < t.size() && t[i] == '.') {
      ++i;
      while (i < t.size() && std::isxdigit(static_cast<unsigned char>(t[i]))) ++i, digits = true;
    }
    if (!digits || i >= t.size() || (t[i] != 'p' && t[i] != 'P')) return bad();
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    size_t e = i;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
    if (i == e || i != t.size()) return bad();
  } else {
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i, digits = true;
    if (i < t.size() && t[i] == '.') {
      ++i;
      while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i, digits = true;
    }
    if (!digits) return bad();
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
      ++i;
      if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
      size_t e = i;
      while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
      if (i == e) return bad();
    }
    if (i != t.size()) return bad();
  }
  std::string buf(s);
  return std::strtod(buf.c_str(), nullptr);
}

Result<int64_t> ParseGoDuration(std::string_view orig, bool allow_dwy) {
  auto invalid = [&] { return Status::InvalidArgument("time: invalid duration " + GoQuote(orig)); };
  std::string_view s = orig;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return int64_t{0};
  if (s.empty()) return invalid();
  double total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || std::isdigit(static_cast<unsigned char>(s[0])))) return invalid();
    size_t i = 0;
    bool pre = false, post = false;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, pre = true;
    std::string num(s.substr(0, i));
    if (i < s.size() && s[i] == '.') {
      ++i;
      size_t st = i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, post = true;
      num += "." + std::string(s.substr(st, i - st));
    }
    if (!pre && !post) return invalid();
    size_t u = i;
    while (i < s.size() && s[i] != '.' && !std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    std::string_view unit = s.substr(u, i - u);
    if (unit.empty()) return Status::InvalidArgument("time: missing unit in duration " + GoQuote(orig));
    double mult;
    if (unit == "ns") mult = 1;
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs") mult = 1e3;
    else if (unit == "ms") mult = 1e6;
    else if (unit == "s") mult = 1e9;
    else if (unit == "m") mult = 60e9;
    else if (unit == "h") mult = 3600e9;
    else if (allow_dwy && unit == "d") mult = 86400e9;
    else if (allow_dwy && unit == "w") mult = 7 * 86400e9;
    else if (allow_dwy && unit == "y") mult = 365 * 86400e9;
    else return Status::InvalidArgument("time: unknown unit " + GoQuote(unit) + " in duration " + GoQuote(orig));
    total += std::strtod(num.c_str(), nullptr) * mult;
    s.remove_prefix(i);
  }
  if (total > 9.2233720368547758e18) return invalid();
  int64_t v = static_cast<int64_t>(std::llround(total));
  return neg ? -v : v;
}

Result<uint64_t> ParseHumanBytes(std::string_view s) {
  size_t last = 0;
  bool comma = false;
  while (last < s.size() && (std::isdigit(static_cast<unsigned char>(s[last])) || s[last] == '.' || s[last] == ',')) {
    if (s[last] == ',') comma = true;
    ++last;
  }
  std::string num(s.substr(0, last));
  if (comma) std::erase(num, ',');
  ASSIGN_OR_RETURN(double f, ParseGoFloat(num));
  std::string extra;
  std::string_view rest = s.substr(last);
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front()))) rest.remove_prefix(1);
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.back()))) rest.remove_suffix(1);
  for (char c : rest) extra.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  static const struct { const char* name; double mult; } kTable[] = {
      {"", 1}, {"b", 1}, {"kib", 1024.0}, {"ki", 1024.0}, {"kb", 1e3}, {"k", 1e3},
      {"mib", 1048576.0}, {"mi", 1048576.0}, {"mb", 1e6}, {"m", 1e6},
      {"gib", 1073741824.0}, {"gi", 1073741824.0}, {"gb", 1e9}, {"g", 1e9},
      {"tib", 1099511627776.0}, {"ti", 1099511627776.0}, {"tb", 1e12}, {"t", 1e12},
      {"pib", 1125899906842624.0}, {"pi", 1125899906842624.0}, {"pb", 1e15}, {"p", 1e15},
      {"eib", 1152921504606846976.0}, {"ei", 1152921504606846976.0}, {"eb", 1e18}, {"e", 1e18},
  };
  for (const auto& e : kTable) {
    if (extra == e.name) {
      double v = f * e.mult;
      if (v >= 1.8446744073709552e19) return Status::InvalidArgument("too large: " + std::string(s));
      return static_cast<uint64_t>(v);
    }
  }
  return Status::InvalidArgument("unhandled size name: " + extra);
}

bool IsBytesLiteral(std::string_view s) {
  static const char* kUnits[] = {"B", "kB", "KB", "KiB", "MB", "MiB", "GB", "GiB", "TB", "TiB",
                                 "PB", "PiB", "EB", "EiB"};
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return false;
  std::string_view unit = s.substr(i);
  for (const char* u : kUnits) {
    if (unit == u) return ParseGoFloat(s.substr(0, i)).ok();
  }
  return false;
}

bool ParseIp(std::string_view s, std::array<uint8_t, 16>* out) {
  if (s.empty() || s.size() > 64) return false;
  std::string buf(s);
  in_addr a4;
  if (inet_pton(AF_INET, buf.c_str(), &a4) == 1) {
    out->fill(0);
    (*out)[10] = 0xff;
    (*out)[11] = 0xff;
    std::memcpy(out->data() + 12, &a4, 4);
    return true;
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, buf.c_str(), &a6) == 1) {
    std::memcpy(out->data(), &a6, 16);
    return true;
  }
  return false;
}

Result<IpRange> ParseIpPattern(std::string_view s) {
  auto bad = [&] { return Status::InvalidArgument("ip: invalid pattern: " + std::string(s)); };
  IpRange r;
  size_t dash = s.find('-');
  size_t slash = s.find('/');
  if (dash != std::string_view::npos) {
    if (!ParseIp(s.substr(0, dash), &r.lo) || !ParseIp(s.substr(dash + 1), &r.hi)) return bad();
    if (r.hi < r.lo) return bad();
    return r;
  }
  if (slash != std::string_view::npos) {
    std::array<uint8_t, 16> base;
    std::string_view addr = s.substr(0, slash);
    if (!ParseIp(addr, &base)) return bad();
    std::string bits_s(s.substr(slash + 1));
    if (bits_s.empty() || bits_s.size() > 3) return bad();
    for (char c : bits_s) if (!std::isdigit(static_cast<unsigned char>(c))) return bad();
    int bits = std::atoi(bits_s.c_str());
    bool v4 = addr.find(':') == std::string_view::npos;
    if (v4) {
      if (bits > 32) return bad();
      bits += 96;
    } else if (bits > 128) {
      return bad();
    }
    r.lo = base;
    r.hi = base;
    for (int i = bits; i < 128; ++i) {
      r.lo[i / 8] &= static_cast<uint8_t>(~(0x80 >> (i % 8)));
      r.hi[i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
    }
    return r;
  }
  if (!ParseIp(s, &r.lo)) return bad();
  r.hi = r.lo;
  return r;
}

bool IpInRange(const IpRange& r, const std::array<uint8_t, 16>& ip) {
  return !(ip < r.lo) && !(r.hi < ip);
}

bool TextHasIpInRange(const IpRange& r, std::string_view text) {
  size_t i = 0;
  auto ipchar = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == ':'; };
  while (i < text.size()) {
    while (i < text.size() && !ipchar(text[i])) ++i;
    size_t st = i;
    while (i < text.size() && ipchar(text[i])) ++i;
    std::string_view tok = text.substr(st, i - st);
    while (!tok.empty() && (tok.back() == '.' || tok.back() == ':')) tok.remove_suffix(1);
    std::array<uint8_t, 16> ip;
    if (tok.size() >= 2 && ParseIp(tok, &ip) && IpInRange(r, ip)) return true;
  }
  return false;
}

Result<std::string> GoUnescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hexval = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  auto put_utf8 = [&](uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  };
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i >= s.size()) return Status::InvalidArgument("invalid syntax");
    char e = s[i];
    switch (e) {
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'v': out.push_back('\v'); break;
      case '\\': out.push_back('\\'); break;
      case '"': out.push_back('"'); break;
      case '\'': out.push_back('\''); break;
      case 'x': case 'u': case 'U': {
        int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        uint32_t v = 0;
        for (int k = 1; k <= n; ++k) {
          if (i + k >= s.size()) return Status::InvalidArgument("invalid syntax");
          int h = hexval(s[i + k]);
          if (h < 0) return Status::InvalidArgument("invalid syntax");
          v = v * 16 + static_cast<uint32_t>(h);
        }
        i += n;
        if (e == 'x') out.push_back(static_cast<char>(v)); else put_utf8(v);
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          if (i + 2 >= s.size()) return Status::InvalidArgument("invalid syntax");
          uint32_t v = 0;
          for (int k = 0; k < 3; ++k) {
            char d = s[i + k];
            if (d < '0' || d > '7') return Status::InvalidArgument("invalid syntax");
            v = v * 8 + static_cast<uint32_t>(d - '0');
          }
          i += 2;
          out.push_back(static_cast<char>(v));
          break;
        }
        return Status::InvalidArgument("invalid syntax");
    }
  }
  return out;
}

std::string FormatFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s(buf);
  // Go prints exponents as e+06 -> e+06; keep plain numbers plain for integers up to 1e21.
  if (s.find('e') != std::string::npos && std::fabs(v) < 1e21 && v == std::floor(v)) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    s = buf;
  }
  return s;
}

}  // namespace argus::logql
