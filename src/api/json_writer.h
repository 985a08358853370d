// A small streaming JSON writer for the fixed shapes of the HTTP APIs (Prometheus docs,
// querying/api "Format overview"). Strings are escaped per RFC 8259; invalid UTF-8 is replaced
// by U+FFFD so every answer is valid JSON. Floats are written the way Prometheus' API writes
// sample values: as strings formatted like Go's strconv.FormatFloat(v, 'f', -1, 64), with
// "NaN", "+Inf" and "-Inf".
//
// Example:
//   JsonWriter w;
//   w.BeginObject(); w.Key("status"); w.String("success"); w.EndObject();
//   std::string body = w.Take();   // {"status":"success"}
//
// The caller is responsible for well-formed nesting. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace argus::api {

class JsonWriter {
 public:
  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  void Key(std::string_view k);
  void String(std::string_view s);
  void Int(int64_t v);
  void Uint(uint64_t v);
  void Bool(bool b);
  void Null();
  // A raw number (e.g. a timestamp in seconds with millisecond precision: 1700000000.123).
  void Double(double v);
  // A number in the shortest form that reads back as `v` (0.4, not 0.40000000000000002), as
  // protobuf's JSON mapping (Go's protojson) writes doubles; null if not finite.
  void ShortestDouble(double v);
  // A sample value as Prometheus writes it: a JSON string.
  void SampleValue(double v) { String(FormatSampleValue(v)); }
  // A Prometheus timestamp in seconds from milliseconds, e.g. 1435781451.781.
  void TimestampMs(int64_t t_ms);

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

  // Go's strconv.FormatFloat(v, 'f', -1, 64) for finite v; "NaN", "+Inf", "-Inf" otherwise.
  static std::string FormatSampleValue(double v);

 private:
  void Sep();
  std::string out_;
  bool need_comma_ = false;
};

}  // namespace argus::api
