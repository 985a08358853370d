#include "logql/go_time.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>

namespace argus::logql {

int64_t DaysFromCivil(int64_t y, int m, int d) {
  // H. Hinnant's days_from_civil (proleptic Gregorian, works for negative years).
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

namespace {

// ---- TZif (RFC 8536) ----

int64_t BigEndian(const std::string& s, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(s[pos + i]);
  if (bytes == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
  return static_cast<int64_t>(v);
}

}  // namespace

int32_t TimeZone::OffsetAt(int64_t unix_s) const {
  auto it = std::upper_bound(transitions_s_.begin(), transitions_s_.end(), unix_s);
  if (it == transitions_s_.begin()) return initial_offset_s_;
  return types_[transition_types_[static_cast<size_t>(it - transitions_s_.begin() - 1)]].offset_s;
}

int32_t TimeZone::OffsetForLocal(int64_t local_s) const { return OffsetAt(local_s - OffsetAt(local_s)); }

bool TimeZone::AbbreviationOffset(std::string_view abbr, int32_t* offset_s) const {
  // The latest type with that abbreviation wins (as Go's lookupName prefers the current one).
  for (size_t i = transition_types_.size(); i-- > 0;) {
    const Type& t = types_[transition_types_[i]];
    if (t.abbr == abbr) {
      *offset_s = t.offset_s;
      return true;
    }
  }
  for (const Type& t : types_) {
    if (t.abbr == abbr) {
      *offset_s = t.offset_s;
      return true;
    }
  }
  return false;
}

Result<std::shared_ptr<const TimeZone>> LoadTimeZone(std::string_view name) {
  auto tz = std::make_shared<TimeZone>();
  tz->name_ = std::string(name);
  if (name.empty() || name == "UTC") {
    tz->types_.push_back({0, "UTC"});
    return std::shared_ptr<const TimeZone>(tz);
  }
  auto unknown = Status::InvalidArgument("unknown time zone " + std::string(name));
  if (name.find("..") != std::string_view::npos || name.front() == '/') return unknown;
  std::string path = name == "Local" ? "/etc/localtime" : "/usr/share/zoneinfo/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  if (!in) return unknown;
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto header = [&](size_t pos, int64_t counts[6]) {
    if (s.size() < pos + 44 || s.compare(pos, 4, "TZif") != 0) return false;
    for (int i = 0; i < 6; ++i) counts[i] = BigEndian(s, pos + 20 + 4 * i, 4);
    for (int i = 0; i < 6; ++i) {
      if (counts[i] < 0 || counts[i] > (1 << 20)) return false;
    }
    return true;
  };
  int64_t c[6];  // isutcnt isstdcnt leapcnt timecnt typecnt charcnt
  if (!header(0, c)) return unknown;
  size_t pos = 44;
  int time_bytes = 4;
  if (s[4] >= '2') {
    pos += c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
    if (!header(pos, c)) return unknown;
    pos += 44;
    time_bytes = 8;
  }
  size_t need = c[3] * (time_bytes + 1) + c[4] * 6 + c[5];
  if (s.size() < pos + need || c[4] == 0) return unknown;
  for (int64_t i = 0; i < c[3]; ++i) tz->transitions_s_.push_back(BigEndian(s, pos + i * time_bytes, time_bytes));
  pos += c[3] * time_bytes;
  for (int64_t i = 0; i < c[3]; ++i) {
    uint8_t t = static_cast<uint8_t>(s[pos + i]);
    if (t >= c[4]) return unknown;
    tz->transition_types_.push_back(t);
  }
  pos += c[3];
  size_t abbr_pos = pos + c[4] * 6;
  for (int64_t i = 0; i < c[4]; ++i) {
    int32_t off = static_cast<int32_t>(BigEndian(s, pos + i * 6, 4));
    size_t ai = abbr_pos + static_cast<uint8_t>(s[pos + i * 6 + 5]);
    std::string abbr;
    for (; ai < abbr_pos + c[5] && s[ai] != '\0'; ++ai) abbr.push_back(s[ai]);
    tz->types_.push_back({off, abbr});
  }
  tz->initial_offset_s_ = tz->types_[0].offset_s;
  return std::shared_ptr<const TimeZone>(tz);
}

int64_t GoTime::ToUnixNs(const TimeZone* loc) const {
  int64_t secs = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
  if (has_offset) secs -= offset_s;
  else if (loc != nullptr) secs -= loc->OffsetForLocal(secs);
  return secs * 1'000'000'000 + nanos;
}

std::string_view GoNamedLayout(std::string_view name) {
  static const std::pair<std::string_view, std::string_view> kNamed[] = {
      {"ANSIC", "Mon Jan _2 15:04:05 2006"},
      {"UnixDate", "Mon Jan _2 15:04:05 MST 2006"},
      {"RubyDate", "Mon Jan 02 15:04:05 -0700 2006"},
      {"RFC822", "02 Jan 06 15:04 MST"},
      {"RFC822Z", "02 Jan 06 15:04 -0700"},
      {"RFC850", "Monday, 02-Jan-06 15:04:05 MST"},
      {"RFC1123", "Mon, 02 Jan 2006 15:04:05 MST"},
      {"RFC1123Z", "Mon, 02 Jan 2006 15:04:05 -0700"},
      {"RFC3339", "2006-01-02T15:04:05Z07:00"},
      {"RFC3339Nano", "2006-01-02T15:04:05.999999999Z07:00"},
      {"Kitchen", "3:04PM"},
      {"Stamp", "Jan _2 15:04:05"},
      {"StampMilli", "Jan _2 15:04:05.000"},
      {"StampMicro", "Jan _2 15:04:05.000000"},
      {"StampNano", "Jan _2 15:04:05.000000000"},
      {"DateTime", "2006-01-02 15:04:05"},
      {"DateOnly", "2006-01-02"},
      {"TimeOnly", "15:04:05"},
  };
  for (const auto& [n, l] : kNamed) {
    if (n == name) return l;
  }
  return name;
}

namespace {

enum class Tok {
  kNone, kLongMonth, kMonth, kNumMonth, kZeroMonth, kLongWeekDay, kWeekDay, kDay, kUnderDay, kZeroDay,
  kYearDay, kHour, kHour12, kZeroHour12, kMinute, kZeroMinute, kSecond, kZeroSecond, kLongYear, kYear,
  kPM, kpm, kTZ, kISO8601TZ, kISO8601SecondsTZ, kISO8601ShortTZ, kISO8601ColonTZ, kISO8601ColonSecondsTZ,
  kNumTZ, kNumSecondsTz, kNumShortTZ, kNumColonTZ, kNumColonSecondsTZ, kFracSecond0, kFracSecond9,
};

struct Chunk {
  size_t start = 0;  // where the token starts in the layout
  size_t len = 0;
  Tok tok = Tok::kNone;
  int frac_digits = 0;
};

// Go's nextStdChunk: the first layout token at or after `from`.
Chunk NextChunk(std::string_view l, size_t from) {
  auto at = [&](size_t i, std::string_view t) { return l.substr(i, t.size()) == t; };
  for (size_t i = from; i < l.size(); ++i) {
    char c = l[i];
    auto hit = [&](size_t len, Tok t) { return Chunk{i, len, t, 0}; };
    switch (c) {
      case 'J':
        if (at(i, "January")) return hit(7, Tok::kLongMonth);
        if (at(i, "Jan")) return hit(3, Tok::kMonth);
        break;
      case 'M':
        if (at(i, "Monday")) return hit(6, Tok::kLongWeekDay);
        if (at(i, "Mon")) return hit(3, Tok::kWeekDay);
        if (at(i, "MST")) return hit(3, Tok::kTZ);
        break;
      case '0':
        if (at(i, "002")) return hit(3, Tok::kYearDay);
        if (i + 1 < l.size() && l[i + 1] >= '1' && l[i + 1] <= '6') {
          static const Tok k[] = {Tok::kZeroMonth, Tok::kZeroDay, Tok::kZeroHour12, Tok::kZeroMinute,
                                  Tok::kZeroSecond, Tok::kYear};
          return hit(2, k[l[i + 1] - '1']);
        }
        break;
      case '1':
        if (at(i, "15")) return hit(2, Tok::kHour);
        return hit(1, Tok::kNumMonth);
      case '2':
        if (at(i, "2006")) return hit(4, Tok::kLongYear);
        return hit(1, Tok::kDay);
      case '_':
        if (at(i, "_2") && !at(i, "_2006")) return hit(2, Tok::kUnderDay);
        break;
      case '3': return hit(1, Tok::kHour12);
      case '4': return hit(1, Tok::kMinute);
      case '5': return hit(1, Tok::kSecond);
      case 'P':
        if (at(i, "PM")) return hit(2, Tok::kPM);
        break;
      case 'p':
        if (at(i, "pm")) return hit(2, Tok::kpm);
        break;
      case '-':
        if (at(i, "-070000")) return hit(7, Tok::kNumSecondsTz);
        if (at(i, "-07:00:00")) return hit(9, Tok::kNumColonSecondsTZ);
        if (at(i, "-0700")) return hit(5, Tok::kNumTZ);
        if (at(i, "-07:00")) return hit(6, Tok::kNumColonTZ);
        if (at(i, "-07")) return hit(3, Tok::kNumShortTZ);
        break;
      case 'Z':
        if (at(i, "Z070000")) return hit(7, Tok::kISO8601SecondsTZ);
        if (at(i, "Z07:00:00")) return hit(9, Tok::kISO8601ColonSecondsTZ);
        if (at(i, "Z0700")) return hit(5, Tok::kISO8601TZ);
        if (at(i, "Z07:00")) return hit(6, Tok::kISO8601ColonTZ);
        if (at(i, "Z07")) return hit(3, Tok::kISO8601ShortTZ);
        break;
      case '.':
      case ',':
        if (i + 1 < l.size() && (l[i + 1] == '0' || l[i + 1] == '9')) {
          char d = l[i + 1];
          size_t j = i + 1;
          while (j < l.size() && l[j] == d) ++j;
          if (j < l.size() && std::isdigit(static_cast<unsigned char>(l[j]))) break;
          Chunk ch{i, j - i, d == '0' ? Tok::kFracSecond0 : Tok::kFracSecond9, static_cast<int>(j - i - 1)};
          return ch;
        }
        break;
      default: break;
    }
  }
  return Chunk{l.size(), 0, Tok::kNone, 0};
}

bool IsDigit(std::string_view s, size_t i) { return i < s.size() && s[i] >= '0' && s[i] <= '9'; }

// Go's getnum: one or two digits (exactly two when `fixed`).
bool GetNum(std::string_view& v, bool fixed, int* out) {
  if (!IsDigit(v, 0)) return false;
  if (!IsDigit(v, 1)) {
    if (fixed) return false;
    *out = v[0] - '0';
    v.remove_prefix(1);
    return true;
  }
  *out = (v[0] - '0') * 10 + (v[1] - '0');
  v.remove_prefix(2);
  return true;
}

// Go's skip: literal text, where a run of spaces matches a run of spaces.
bool Skip(std::string_view& v, std::string_view prefix) {
  while (!prefix.empty()) {
    if (prefix[0] == ' ') {
      if (v.empty() || v[0] != ' ') return false;
      while (!prefix.empty() && prefix[0] == ' ') prefix.remove_prefix(1);
      while (!v.empty() && v[0] == ' ') v.remove_prefix(1);
      continue;
    }
    if (v.empty() || v[0] != prefix[0]) return false;
    v.remove_prefix(1);
    prefix.remove_prefix(1);
  }
  return true;
}

bool EqualFold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// Index of the name `v` starts with (case-insensitive), consuming it; -1 if none.
int Lookup(std::string_view& v, const char* const* names, int n, bool abbrev) {
  for (int i = 0; i < n; ++i) {
    std::string_view name = names[i];
    if (abbrev) name = name.substr(0, 3);
    if (v.size() >= name.size() && EqualFold(v.substr(0, name.size()), name)) {
      v.remove_prefix(name.size());
      return i;
    }
  }
  return -1;
}

const char* const kMonths[] = {"January", "February", "March", "April", "May", "June", "July",
                               "August", "September", "October", "November", "December"};
const char* const kDays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

int DaysIn(int month, int year) {
  static const int k[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : k[month - 1];
}

}  // namespace

Result<GoTime> ParseGoTime(std::string_view layout, std::string_view value, const TimeZone* loc) {
  const std::string orig_value(value);
  auto quote = [](std::string_view s) { return "\"" + std::string(s) + "\""; };
  auto cannot = [&](std::string_view rest, std::string_view elem) {
    return Status::InvalidArgument("parsing time " + quote(orig_value) + " as " + quote(layout) + ": cannot parse " +
                                   quote(rest) + " as " + quote(elem));
  };
  auto range = [&](std::string_view what) {
    return Status::InvalidArgument("parsing time " + quote(orig_value) + ": " + std::string(what) + " out of range");
  };
  GoTime t;
  bool pm = false, am = false;
  int yday = -1;
  size_t pos = 0;
  while (true) {
    Chunk ch = NextChunk(layout, pos);
    std::string_view prefix = layout.substr(pos, ch.start - pos);
    std::string_view before = value;
    if (!Skip(value, prefix)) return cannot(before, prefix);
    if (ch.tok == Tok::kNone) {
      if (!value.empty()) {
        return Status::InvalidArgument("parsing time " + quote(orig_value) + ": extra text: " + quote(value));
      }
      break;
    }
    std::string_view elem = layout.substr(ch.start, ch.len);
    pos = ch.start + ch.len;
    std::string_view hold = value;
    bool ok = true;
    int n = 0;
    switch (ch.tok) {
      case Tok::kYear:
        ok = value.size() >= 2 && IsDigit(value, 0) && IsDigit(value, 1);
        if (ok) {
          n = (value[0] - '0') * 10 + (value[1] - '0');
          t.year = n >= 69 ? 1900 + n : 2000 + n;
          t.has_year = true;
          value.remove_prefix(2);
        }
        break;
      case Tok::kLongYear:
        ok = value.size() >= 4 && IsDigit(value, 0) && IsDigit(value, 1) && IsDigit(value, 2) && IsDigit(value, 3);
        if (ok) {
          t.year = std::stoi(std::string(value.substr(0, 4)));
          t.has_year = true;
          value.remove_prefix(4);
        }
        break;
      case Tok::kMonth:
      case Tok::kLongMonth: {
        int m = Lookup(value, kMonths, 12, ch.tok == Tok::kMonth);
        ok = m >= 0;
        t.month = m + 1;
        break;
      }
      case Tok::kNumMonth:
      case Tok::kZeroMonth:
        ok = GetNum(value, ch.tok == Tok::kZeroMonth, &t.month);
        if (ok && (t.month <= 0 || t.month > 12)) return range("month");
        break;
      case Tok::kWeekDay:
      case Tok::kLongWeekDay:
        ok = Lookup(value, kDays, 7, ch.tok == Tok::kWeekDay) >= 0;
        break;
      case Tok::kDay:
      case Tok::kUnderDay:
      case Tok::kZeroDay:
        if (ch.tok == Tok::kUnderDay && !value.empty() && value[0] == ' ') value.remove_prefix(1);
        ok = GetNum(value, ch.tok == Tok::kZeroDay, &t.day);
        break;
      case Tok::kYearDay:
        ok = value.size() >= 3 && IsDigit(value, 0) && IsDigit(value, 1) && IsDigit(value, 2);
        if (ok) {
          yday = std::stoi(std::string(value.substr(0, 3)));
          value.remove_prefix(3);
          if (yday < 1 || yday > 366) return range("day-of-year");
        }
        break;
      case Tok::kHour:
        ok = GetNum(value, false, &t.hour);
        if (ok && t.hour > 23) return range("hour");
        break;
      case Tok::kHour12:
      case Tok::kZeroHour12:
        ok = GetNum(value, ch.tok == Tok::kZeroHour12, &t.hour);
        if (ok && t.hour > 12) return range("hour");
        break;
      case Tok::kMinute:
      case Tok::kZeroMinute:
        ok = GetNum(value, ch.tok == Tok::kZeroMinute, &t.minute);
        if (ok && t.minute > 59) return range("minute");
        break;
      case Tok::kSecond:
      case Tok::kZeroSecond: {
        ok = GetNum(value, ch.tok == Tok::kZeroSecond, &t.second);
        if (!ok) break;
        if (t.second > 59) return range("second");
        // A fraction after the seconds that the layout does not spell out is read anyway.
        Chunk next = NextChunk(layout, pos);
        bool layout_has_frac = next.start == pos && (next.tok == Tok::kFracSecond0 || next.tok == Tok::kFracSecond9);
        if (!layout_has_frac && value.size() >= 2 && (value[0] == '.' || value[0] == ',') && IsDigit(value, 1)) {
          size_t i = 1;
          int64_t ns = 0;
          int digits = 0;
          while (IsDigit(value, i)) {
            if (digits < 9) {
              ns = ns * 10 + (value[i] - '0');
              ++digits;
            }
            ++i;
          }
          while (digits++ < 9) ns *= 10;
          t.nanos = static_cast<int32_t>(ns);
          value.remove_prefix(i);
        }
        break;
      }
      case Tok::kPM:
      case Tok::kpm: {
        ok = value.size() >= 2;
        if (!ok) break;
        std::string_view p = value.substr(0, 2);
        bool upper = ch.tok == Tok::kPM;
        if (p == (upper ? "PM" : "pm")) pm = true;
        else if (p == (upper ? "AM" : "am")) am = true;
        else ok = false;
        if (ok) value.remove_prefix(2);
        break;
      }
      case Tok::kISO8601TZ:
      case Tok::kISO8601ColonTZ:
      case Tok::kISO8601SecondsTZ:
      case Tok::kISO8601ShortTZ:
      case Tok::kISO8601ColonSecondsTZ:
        if (!value.empty() && value[0] == 'Z') {
          value.remove_prefix(1);
          t.has_offset = true;
          t.offset_s = 0;
          break;
        }
        [[fallthrough]];
      case Tok::kNumTZ:
      case Tok::kNumShortTZ:
      case Tok::kNumColonTZ:
      case Tok::kNumSecondsTz:
      case Tok::kNumColonSecondsTZ: {
        bool colon = ch.tok == Tok::kISO8601ColonTZ || ch.tok == Tok::kNumColonTZ ||
                     ch.tok == Tok::kISO8601ColonSecondsTZ || ch.tok == Tok::kNumColonSecondsTZ;
        bool secs = ch.tok == Tok::kISO8601SecondsTZ || ch.tok == Tok::kNumSecondsTz ||
                    ch.tok == Tok::kISO8601ColonSecondsTZ || ch.tok == Tok::kNumColonSecondsTZ;
        bool shrt = ch.tok == Tok::kISO8601ShortTZ || ch.tok == Tok::kNumShortTZ;
        if (value.empty() || (value[0] != '+' && value[0] != '-')) {
          ok = false;
          break;
        }
        int sign = value[0] == '-' ? -1 : 1;
        std::string_view v = value.substr(1);
        int hh = 0, mm = 0, ss = 0;
        auto two = [&](int* out) {
          if (!IsDigit(v, 0) || !IsDigit(v, 1)) return false;
          *out = (v[0] - '0') * 10 + (v[1] - '0');
          v.remove_prefix(2);
          return true;
        };
        auto sep = [&]() {
          if (!colon) return true;
          if (v.empty() || v[0] != ':') return false;
          v.remove_prefix(1);
          return true;
        };
        ok = two(&hh) && (shrt || (sep() && two(&mm))) && (!secs || (sep() && two(&ss)));
        if (!ok) break;
        if (hh > 24 || mm > 59 || ss > 59) return range("time zone offset");
        t.has_offset = true;
        t.offset_s = sign * (hh * 3600 + mm * 60 + ss);
        value = v;
        break;
      }
      case Tok::kTZ: {
        if (value.size() >= 3 && value.substr(0, 3) == "UTC") {
          value.remove_prefix(3);
          t.has_offset = true;
          t.offset_s = 0;
          break;
        }
        size_t i = 0;
        while (i < value.size() && std::isupper(static_cast<unsigned char>(value[i]))) ++i;
        if (i < 3 || i > 5) {
          ok = false;
          break;
        }
        std::string_view abbr = value.substr(0, i);
        value.remove_prefix(i);
        int32_t off = 0;
        t.has_offset = true;
        t.offset_s = (loc != nullptr && loc->AbbreviationOffset(abbr, &off)) ? off : 0;
        break;
      }
      case Tok::kFracSecond0: {
        size_t nd = static_cast<size_t>(ch.frac_digits) + 1;
        ok = value.size() >= nd && (value[0] == '.' || value[0] == ',');
        for (size_t i = 1; ok && i < nd; ++i) ok = IsDigit(value, i);
        if (!ok) break;
        int64_t ns = 0;
        for (size_t i = 1; i < nd && i <= 9; ++i) ns = ns * 10 + (value[i] - '0');
        for (size_t i = nd; i <= 9; ++i) ns *= 10;
        t.nanos = static_cast<int32_t>(ns);
        value.remove_prefix(nd);
        break;
      }
      case Tok::kFracSecond9: {
        if (value.size() < 2 || (value[0] != '.' && value[0] != ',') || !IsDigit(value, 1)) break;  // omitted
        size_t i = 1;
        int64_t ns = 0;
        while (i < 10 && IsDigit(value, i)) ns = ns * 10 + (value[i++] - '0');
        for (size_t k = i; k < 10; ++k) ns *= 10;
        t.nanos = static_cast<int32_t>(ns);
        value.remove_prefix(i);
        break;
      }
      case Tok::kNone: break;
    }
    if (!ok) return cannot(hold, elem);
  }
  if (pm && t.hour < 12) t.hour += 12;
  else if (am && t.hour == 12) t.hour = 0;
  if (yday >= 0) {
    int m = 1, d = yday;
    while (m <= 12 && d > DaysIn(m, t.year)) d -= DaysIn(m++, t.year);
    if (m > 12) return range("day-of-year");
    t.month = m;
    t.day = d;
  }
  if (t.day < 1 || t.day > DaysIn(t.month, t.year)) return range("day");
  return t;
}

}  // namespace argus::logql
