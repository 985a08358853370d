// Go's time.Parse with reference layouts ("Mon Jan 2 15:04:05 -0700 MST 2006"), and IANA time
// zones read from the system's TZif files, for the places that take a Go layout from users:
// Promtail-style `timestamp` pipeline stages (ingest/pipeline) and LogQL templates. The
// formatter for the same layouts is GoFormatTime in logql/template.
//
// Follows Go's time package (pkg.go.dev/time, "Parse" and the layout constants): numeric
// fields 2006 06 01 1 02 2 _2 002 15 03 3 04 4 05 5, names Jan January Mon Monday (matched
// without regard to case), PM pm, zones MST Z07:00:00 Z0700 Z07:00 Z07 -07:00:00 -0700
// -07:00 -07, fractions .000 .999 ,000 ,999, and a fraction after the seconds even when the
// layout has none. A run of spaces in the layout matches a run of spaces in the value. Fields
// the layout lacks default as in Go (year 0, January, day 1, midnight).
//
// Example:
//   ASSIGN_OR_RETURN(GoTime t, ParseGoTime("2006-01-02 15:04:05,000", "2015-10-18 18:01:47,978"));
//   t.ToUnixNs(nullptr);  // 1445191307978000000
//
// Thread-safety: pure functions; a TimeZone is immutable after LoadTimeZone.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace argus::logql {

// An IANA zone (transitions from /usr/share/zoneinfo/<name>, TZif versions 1 to 4).
class TimeZone {
 public:
  // The offset from UTC (seconds east) in force at `unix_s`.
  int32_t OffsetAt(int64_t unix_s) const;
  // The offset for a wall-clock time in this zone (seconds since the epoch as if UTC); a time
  // in a gap or an overlap takes the offset before the transition, as Go does.
  int32_t OffsetForLocal(int64_t local_s) const;
  // The offset of the zone abbreviation `abbr` ("CEST"), or false if the zone has none.
  bool AbbreviationOffset(std::string_view abbr, int32_t* offset_s) const;
  const std::string& name() const { return name_; }

 private:
  friend Result<std::shared_ptr<const TimeZone>> LoadTimeZone(std::string_view name);
  std::string name_;
  std::vector<int64_t> transitions_s_;  // ascending
  std::vector<uint8_t> transition_types_;
  struct Type {
    int32_t offset_s;
    std::string abbr;
  };
  std::vector<Type> types_;
  int32_t initial_offset_s_ = 0;  // before the first transition
};

// Loads `name` ("Europe/Berlin", "UTC", "Local" = /etc/localtime). InvalidArgument
// `unknown time zone <name>` (Go's message) when absent or unreadable.
Result<std::shared_ptr<const TimeZone>> LoadTimeZone(std::string_view name);

// A parsed wall-clock time: fields as read, and the zone offset if the value carried one.
struct GoTime {
  int year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  int32_t nanos = 0;
  bool has_offset = false;  // the value carried a numeric offset, Z, or a known abbreviation
  int32_t offset_s = 0;
  bool has_year = false;    // the layout had 2006 or 06

  // Unix ns: with the value's own offset if it had one, else in `loc` (nullptr = UTC).
  int64_t ToUnixNs(const TimeZone* loc) const;
};

// Parses `value` with Go `layout`. InvalidArgument in Go's words, e.g.
// `parsing time "x" as "2006-01-02": cannot parse "x" as "2006"`.
// `loc` (nullptr = UTC) resolves a zone abbreviation such as CEST, as Go's ParseInLocation.
Result<GoTime> ParseGoTime(std::string_view layout, std::string_view value, const TimeZone* loc = nullptr);

// Go's named layouts (ANSIC, UnixDate, RubyDate, RFC822, RFC822Z, RFC850, RFC1123, RFC1123Z,
// RFC3339, RFC3339Nano, Kitchen, Stamp, StampMilli, StampMicro, StampNano, DateTime, DateOnly,
// TimeOnly) to their layout; any other name is returned unchanged.
std::string_view GoNamedLayout(std::string_view name);

// Days since 1970-01-01 of a proleptic Gregorian date (month 1-12).
int64_t DaysFromCivil(int64_t y, int m, int d);

}  // namespace argus::logql
