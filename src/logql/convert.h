// Value conversions with Go's semantics, as LogQL applies them to label values and literals:
// strconv.ParseFloat, time.ParseDuration (plus the d/w/y units of query literals),
// humanize.ParseBytes, and IP address/range/CIDR matching for ip().
//
// Example:
//   ParseGoDuration("1h30m");   // 5.4e12 ns
//   ParseHumanBytes("1.5KiB");  // 1536
//   ParseGoFloat("0x1p3");      // 8
//
// Errors carry Go's own messages (`time: invalid duration "oops"`,
// `strconv.ParseFloat: parsing "": invalid syntax`) because Loki puts them in
// __error_details__ and users match on them. Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace argus::logql {

// strconv.ParseFloat(s, 64): decimal, hex floats with a p exponent, inf/infinity/nan.
Result<double> ParseGoFloat(std::string_view s);
// time.ParseDuration in ns; `allow_dwy` adds d (24h), w (7d) and y (365d) for query literals.
Result<int64_t> ParseGoDuration(std::string_view s, bool allow_dwy = false);
// humanize.ParseBytes: "3MB", "1.5KiB", "2,048" (case-insensitive units).
Result<uint64_t> ParseHumanBytes(std::string_view s);
// True if `s` is exactly a bytes literal of the query language (case-sensitive units).
bool IsBytesLiteral(std::string_view s);

// An inclusive range of IP addresses (IPv4 mapped into IPv6 space).
struct IpRange {
  std::array<uint8_t, 16> lo{}, hi{};
};
// Parses ip()'s argument: an address, `a-b` range or CIDR. InvalidArgument "ip: invalid pattern".
Result<IpRange> ParseIpPattern(std::string_view s);
// Parses one address; false if `s` is not an address.
bool ParseIp(std::string_view s, std::array<uint8_t, 16>* out);
bool IpInRange(const IpRange& r, const std::array<uint8_t, 16>& ip);
// True if any address-looking token of `text` is in the range.
bool TextHasIpInRange(const IpRange& r, std::string_view text);

// Interprets Go string-literal escapes (\n, \t, \xHH, \uHHHH, \", ...) in `s`, the text
// between the quotes of an interpreted string literal. InvalidArgument on a bad escape.
Result<std::string> GoUnescape(std::string_view s);

// Formats a float the way Go's strconv.FormatFloat(v, 'g'/-1) style Prometheus uses.
std::string FormatFloat(double v);

}  // namespace argus::logql
