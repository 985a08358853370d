#include "logql/template.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <vector>

#include "logql/convert.h"

namespace argus::logql {

namespace {

struct Value {
  enum class T { kNil, kStr, kNum, kBool };
  T t = T::kNil;
  std::string s;
  double n = 0;
  bool b = false;
  static Value Str(std::string v) { Value x; x.t = T::kStr; x.s = std::move(v); return x; }
  static Value Num(double v) { Value x; x.t = T::kNum; x.n = v; return x; }
  static Value Bool(bool v) { Value x; x.t = T::kBool; x.b = v; return x; }
  std::string ToString() const {
    switch (t) {
      case T::kNil: return "";
      case T::kStr: return s;
      case T::kNum: return FormatFloat(n);
      case T::kBool: return b ? "true" : "false";
    }
    return "";
  }
  bool Truthy() const {
    switch (t) {
      case T::kNil: return false;
      case T::kStr: return !s.empty();
      case T::kNum: return n != 0;
      case T::kBool: return b;
    }
    return false;
  }
  Result<double> ToNum() const {
    if (t == T::kNum) return n;
    if (t == T::kBool) return b ? 1.0 : 0.0;
    if (t == T::kNil) return 0.0;
    auto r = ParseGoFloat(s);
    if (!r.ok()) return Status::InvalidArgument("cannot convert " + s + " to a number");
    return *r;
  }
};

const std::set<std::string, std::less<>>& Functions() {
  static const std::set<std::string, std::less<>> kFuncs = {
      "ToLower", "ToUpper", "lower", "upper", "title", "trunc", "substr", "replace", "trim",
      "trimAll", "trimLeft", "trimRight", "trimPrefix", "trimSuffix", "trimSpace", "contains",
      "hasPrefix", "hasSuffix", "indent", "nindent", "repeat", "regexReplaceAll",
      "regexReplaceAllLiteral", "default", "count", "printf", "print", "println", "len", "and",
      "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "add", "sub", "mul", "div", "mod",
      "addf", "subf", "mulf", "divf", "max", "min", "maxf", "minf", "ceil", "floor", "round",
      "int", "float64", "b64enc", "b64dec", "urlencode", "urldecode", "alignLeft", "alignRight",
      "__line__", "__timestamp__", "unixEpoch", "unixEpochMillis", "unixEpochNanos", "bytes",
      "duration", "duration_seconds", "toString", "quote", "squote", "date", "now", "unixToTime"};
  return kFuncs;
}

struct Pipeline;

struct Arg {
  enum class K { kField, kStr, kNum, kFunc, kSub, kDot, kBool };
  K k = K::kStr;
  std::string s;
  double n = 0;
  std::shared_ptr<Pipeline> sub;
};

struct Command {
  std::vector<Arg> args;
};

struct Pipeline {
  std::vector<Command> cmds;
};

}  // namespace

struct Template::Node {
  enum class K { kList, kText, kAction, kIf };
  K k = K::kList;
  std::string text;
  Pipeline pipe;
  std::vector<std::unique_ptr<Node>> children;  // kList; kIf: [then, else]
};

namespace {

class ActionLexer {
 public:
  ActionLexer(std::string_view name, std::string_view s) : name_(name), s_(s) {}

  Status Err(std::string_view msg) const {
    return Status::InvalidArgument("template: " + std::string(name_) + ":1: " + std::string(msg));
  }

  // Parses a pipeline up to the end of the action or a ')'.
  Result<Pipeline> ParsePipeline() {
    Pipeline p;
    while (true) {
      Command c;
      while (true) {
        SkipSpace();
        if (pos_ >= s_.size() || s_[pos_] == '|' || s_[pos_] == ')') break;
        ASSIGN_OR_RETURN(Arg a, ParseArg());
        c.args.push_back(std::move(a));
      }
      if (c.args.empty()) return Err("missing value for command");
      p.cmds.push_back(std::move(c));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == '|') {
        ++pos_;
        continue;
      }
      break;
    }
    return p;
  }

  bool AtEnd() {
    SkipSpace();
    return pos_ >= s_.size();
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  // The next bare word, without consuming it.
  std::string_view PeekWord() {
    SkipSpace();
    size_t e = pos_;
    while (e < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[e])) || s_[e] == '_')) ++e;
    return s_.substr(pos_, e - pos_);
  }
  void Skip(size_t n) { pos_ += n; }

 private:
  void SkipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }

  Result<Arg> ParseArg() {
    Arg a;
    char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      ASSIGN_OR_RETURN(Pipeline sub, ParsePipeline());
      if (!Consume(')')) return Err("unclosed left paren");
      a.k = Arg::K::kSub;
      a.sub = std::make_shared<Pipeline>(std::move(sub));
      return a;
    }
    if (c == '.') {
      size_t st = ++pos_;
      while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
      if (pos_ == st) {
        a.k = Arg::K::kDot;
      } else {
        a.k = Arg::K::kField;
        a.s = std::string(s_.substr(st, pos_ - st));
      }
      return a;
    }
    if (c == '"') {
      size_t st = ++pos_;
      while (pos_ < s_.size() && s_[pos_] != '"') {
        if (s_[pos_] == '\\') ++pos_;
        ++pos_;
      }
      if (pos_ >= s_.size()) return Err("unterminated quoted string");
      auto u = GoUnescape(s_.substr(st, pos_ - st));
      ++pos_;
      if (!u.ok()) return Err("invalid syntax");
      a.k = Arg::K::kStr;
      a.s = *u;
      return a;
    }
    if (c == '`') {
      size_t st = ++pos_;
      while (pos_ < s_.size() && s_[pos_] != '`') ++pos_;
      if (pos_ >= s_.size()) return Err("unterminated raw quoted string");
      a.k = Arg::K::kStr;
      a.s = std::string(s_.substr(st, pos_ - st));
      ++pos_;
      return a;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+') {
      size_t st = pos_++;
      while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.')) ++pos_;
      auto v = ParseGoFloat(s_.substr(st, pos_ - st));
      if (!v.ok()) return Err("bad number syntax: " + std::string(s_.substr(st, pos_ - st)));
      a.k = Arg::K::kNum;
      a.n = *v;
      return a;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t st = pos_;
      while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
      std::string w(s_.substr(st, pos_ - st));
      if (w == "true" || w == "false") {
        a.k = Arg::K::kBool;
        a.n = w == "true";
        return a;
      }
      if (!Functions().contains(w)) return Err("function \"" + w + "\" not defined");
      a.k = Arg::K::kFunc;
      a.s = w;
      return a;
    }
    return Err(std::string("unexpected \"") + c + "\" in command");
  }

  std::string_view name_;
  std::string_view s_;
  size_t pos_ = 0;
};

struct ExecCtx {
  const LineLabels& labels;
  std::string_view line;
  int64_t ts_ns;
};

Result<Value> ExecPipeline(const Pipeline& p, const ExecCtx& ctx);

std::string GoPrintf(std::string_view fmt, const std::vector<Value>& args) {
  std::string out;
  size_t ai = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out.push_back(fmt[i]);
      continue;
    }
    size_t st = i++;
    while (i < fmt.size() && std::strchr("+-# 0123456789.", fmt[i])) ++i;
    if (i >= fmt.size()) break;
    char verb = fmt[i];
    if (verb == '%') {
      out.push_back('%');
      continue;
    }
    std::string spec(fmt.substr(st, i - st));
    if (ai >= args.size()) {
      out += "%!" + std::string(1, verb) + "(MISSING)";
      continue;
    }
    const Value& v = args[ai++];
    char buf[512];
    switch (verb) {
      case 'd': {
        auto n = v.ToNum();
        std::snprintf(buf, sizeof buf, (spec + "lld").c_str(), static_cast<long long>(n.ok() ? *n : 0));
        out += buf;
        break;
      }
      case 'f': case 'e': case 'g': case 'F': case 'E': case 'G': {
        auto n = v.ToNum();
        std::snprintf(buf, sizeof buf, (spec + verb).c_str(), n.ok() ? *n : 0.0);
        out += buf;
        break;
      }
      case 'q':
        out += "\"" + v.ToString() + "\"";
        break;
      case 'x': case 'X': {
        std::string s = v.ToString();
        if (v.t == Value::T::kNum) {
          std::snprintf(buf, sizeof buf, verb == 'x' ? "%llx" : "%llX", static_cast<long long>(v.n));
          out += buf;
        } else {
          for (unsigned char ch : s) {
            std::snprintf(buf, sizeof buf, verb == 'x' ? "%02x" : "%02X", ch);
            out += buf;
          }
        }
        break;
      }
      default: {
        std::string s = v.ToString();
        std::snprintf(buf, sizeof buf, (spec + "s").c_str(), s.c_str());
        out += s.size() < 400 ? std::string(buf) : s;
      }
    }
  }
  return out;
}

// Go's time.Format for a UTC time `ns`: the reference layout's common tokens (2006 06 01 1 Jan
// January 02 2 _2 15 03 3 04 4 05 5 PM pm Mon Monday MST Z07:00 -07:00 -0700 Z and .000 / .999
// style fractions).
std::string GoFormatTime(std::string_view layout, int64_t ns) {
  int64_t secs = ns >= 0 ? ns / 1'000'000'000 : (ns - 999'999'999) / 1'000'000'000;
  int64_t frac = ns - secs * 1'000'000'000;
  time_t t = static_cast<time_t>(secs);
  struct tm tm;
  gmtime_r(&t, &tm);
  static const char* kMonths[] = {"January", "February", "March", "April", "May", "June", "July",
                                  "August", "September", "October", "November", "December"};
  static const char* kDays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
  std::string out;
  char buf[32];
  auto two = [&](int v) { std::snprintf(buf, sizeof buf, "%02d", v); out += buf; };
  size_t i = 0;
  auto take = [&](std::string_view tok) {
    if (layout.substr(i, tok.size()) == tok) {
      i += tok.size();
      return true;
    }
    return false;
  };
  while (i < layout.size()) {
    if (take("2006")) { std::snprintf(buf, sizeof buf, "%04d", tm.tm_year + 1900); out += buf; }
    else if (take("January")) out += kMonths[tm.tm_mon];
    else if (take("Jan")) out += std::string(kMonths[tm.tm_mon]).substr(0, 3);
    else if (take("Monday")) out += kDays[tm.tm_wday];
    else if (take("Mon")) out += std::string(kDays[tm.tm_wday]).substr(0, 3);
    else if (take("MST")) out += "UTC";
    else if (take("Z07:00") || take("Z0700") || take("Z07")) out += "Z";
    else if (take("-07:00")) out += "+00:00";
    else if (take("-0700")) out += "+0000";
    else if (take("01")) two(tm.tm_mon + 1);
    else if (take("02")) two(tm.tm_mday);
    else if (take("_2")) { std::snprintf(buf, sizeof buf, "%2d", tm.tm_mday); out += buf; }
    else if (take("06")) two(tm.tm_year % 100);
    else if (take("15")) two(tm.tm_hour);
    else if (take("03")) two(tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12);
    else if (take("04")) two(tm.tm_min);
    else if (take("05")) two(tm.tm_sec);
    else if (take("PM")) out += tm.tm_hour >= 12 ? "PM" : "AM";
    else if (take("pm")) out += tm.tm_hour >= 12 ? "pm" : "am";
    else if ((layout[i] == '.' || layout[i] == ',') && i + 1 < layout.size() && (layout[i + 1] == '0' || layout[i + 1] == '9')) {
      char d = layout[i + 1];
      size_t j = i + 1;
      while (j < layout.size() && layout[j] == d) ++j;
      int n = static_cast<int>(j - i - 1);
      std::snprintf(buf, sizeof buf, "%09lld", static_cast<long long>(frac));
      std::string digits(buf, static_cast<size_t>(std::min(n, 9)));
      if (d == '9') {
        while (!digits.empty() && digits.back() == '0') digits.pop_back();
        if (!digits.empty()) out += layout[i] + digits;
      } else {
        out += layout[i] + digits;
      }
      i = j;
    }
    else if (take("1")) out += std::to_string(tm.tm_mon + 1);
    else if (take("2")) out += std::to_string(tm.tm_mday);
    else if (take("3")) out += std::to_string(tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12);
    else if (take("4")) out += std::to_string(tm.tm_min);
    else if (take("5")) out += std::to_string(tm.tm_sec);
    else out.push_back(layout[i++]);
  }
  return out;
}

std::string B64Enc(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

std::string B64Dec(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    int v = val(c);
    if (v < 0) continue;
    buf = (buf << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  return out;
}

std::string UrlEncode(std::string_view in) {
  std::string out;
  char buf[4];
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string UrlDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%' && i + 2 < in.size()) {
      out.push_back(static_cast<char>(std::strtol(std::string(in.substr(i + 1, 2)).c_str(), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::string Trim(std::string_view s, std::string_view cut, bool left, bool right) {
  size_t b = 0, e = s.size();
  if (left) while (b < e && cut.find(s[b]) != std::string_view::npos) ++b;
  if (right) while (e > b && cut.find(s[e - 1]) != std::string_view::npos) --e;
  return std::string(s.substr(b, e - b));
}

std::string ReplaceAll(std::string s, std::string_view from, std::string_view to) {
  if (from.empty()) return s;
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t f = s.find(from, pos);
    if (f == std::string::npos) break;
    out.append(s, pos, f - pos);
    out += to;
    pos = f + from.size();
  }
  out.append(s, pos, std::string::npos);
  return out;
}

std::string Title(std::string s) {
  bool start = true;
  for (char& c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      if (start) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      start = false;
    } else {
      start = true;
    }
  }
  return s;
}

Result<Value> CallFunc(const std::string& f, const std::vector<Value>& a, const ExecCtx& ctx) {
  auto need = [&](size_t n) -> Status {
    if (a.size() != n) {
      return Status::InvalidArgument("wrong number of args for " + f + ": want " + std::to_string(n) +
                                     " got " + std::to_string(a.size()));
    }
    return Status::OK();
  };
  auto str = [&](size_t i) { return a[i].ToString(); };
  auto num = [&](size_t i) -> double { auto r = a[i].ToNum(); return r.ok() ? *r : 0.0; };
  auto lower = [](std::string s) { for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c))); return s; };
  auto upper = [](std::string s) { for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c))); return s; };
  if (f == "lower" || f == "ToLower") { RETURN_IF_ERROR(need(1)); return Value::Str(lower(str(0))); }
  if (f == "upper" || f == "ToUpper") { RETURN_IF_ERROR(need(1)); return Value::Str(upper(str(0))); }
  if (f == "title") { RETURN_IF_ERROR(need(1)); return Value::Str(Title(str(0))); }
  if (f == "toString") { RETURN_IF_ERROR(need(1)); return Value::Str(str(0)); }
  if (f == "quote") { RETURN_IF_ERROR(need(1)); return Value::Str("\"" + str(0) + "\""); }
  if (f == "squote") { RETURN_IF_ERROR(need(1)); return Value::Str("'" + str(0) + "'"); }
  if (f == "trunc") {
    RETURN_IF_ERROR(need(2));
    std::string s = str(1);
    long n = static_cast<long>(num(0));
    long len = static_cast<long>(s.size());
    if (n >= 0) return Value::Str(n < len ? s.substr(0, n) : s);
    return Value::Str(-n < len ? s.substr(len + n) : s);
  }
  if (f == "substr") {
    RETURN_IF_ERROR(need(3));
    std::string s = str(2);
    long st = static_cast<long>(num(0)), en = static_cast<long>(num(1));
    long len = static_cast<long>(s.size());
    if (st < 0) return Value::Str(s.substr(0, std::clamp(en, 0L, len)));
    if (en < 0 || en > len) return Value::Str(st < len ? s.substr(st) : "");
    if (st > en) return Value::Str("");
    return Value::Str(s.substr(st, en - st));
  }
  if (f == "replace") { RETURN_IF_ERROR(need(3)); return Value::Str(ReplaceAll(str(2), str(0), str(1))); }
  if (f == "trim" || f == "trimSpace") { RETURN_IF_ERROR(need(1)); return Value::Str(Trim(str(0), " \t\n\r\v\f", true, true)); }
  if (f == "trimAll") { RETURN_IF_ERROR(need(2)); return Value::Str(Trim(str(1), str(0), true, true)); }
  if (f == "trimLeft") { RETURN_IF_ERROR(need(2)); return Value::Str(Trim(str(1), str(0), true, false)); }
  if (f == "trimRight") { RETURN_IF_ERROR(need(2)); return Value::Str(Trim(str(1), str(0), false, true)); }
  if (f == "trimPrefix") {
    RETURN_IF_ERROR(need(2));
    std::string s = str(1), p = str(0);
    return Value::Str(s.starts_with(p) ? s.substr(p.size()) : s);
  }
  if (f == "trimSuffix") {
    RETURN_IF_ERROR(need(2));
    std::string s = str(1), p = str(0);
    return Value::Str(s.ends_with(p) ? s.substr(0, s.size() - p.size()) : s);
  }
  if (f == "contains") { RETURN_IF_ERROR(need(2)); return Value::Bool(str(1).find(str(0)) != std::string::npos); }
  if (f == "hasPrefix") { RETURN_IF_ERROR(need(2)); return Value::Bool(str(1).starts_with(str(0))); }
  if (f == "hasSuffix") { RETURN_IF_ERROR(need(2)); return Value::Bool(str(1).ends_with(str(0))); }
  if (f == "indent" || f == "nindent") {
    RETURN_IF_ERROR(need(2));
    std::string pad(static_cast<size_t>(std::max(0.0, num(0))), ' ');
    std::string s = pad + ReplaceAll(str(1), "\n", "\n" + pad);
    return Value::Str(f == "nindent" ? "\n" + s : s);
  }
  if (f == "repeat") {
    RETURN_IF_ERROR(need(2));
    std::string out, s = str(1);
    for (long i = 0; i < static_cast<long>(num(0)); ++i) out += s;
    return Value::Str(out);
  }
  if (f == "regexReplaceAll" || f == "regexReplaceAllLiteral") {
    RETURN_IF_ERROR(need(3));
    RE2 re(str(0));
    if (!re.ok()) return Status::InvalidArgument("error parsing regexp: " + re.error());
    std::string s = str(1), repl = str(2);  // sprig: regexReplaceAll REGEX STRING REPLACEMENT
    if (f == "regexReplaceAll") {
      // Go's $1 / ${1} become RE2's \1.
      std::string r2;
      for (size_t i = 0; i < repl.size(); ++i) {
        if (repl[i] == '$' && i + 1 < repl.size()) {
          size_t j = i + 1;
          bool br = repl[j] == '{';
          if (br) ++j;
          size_t st = j;
          while (j < repl.size() && std::isdigit(static_cast<unsigned char>(repl[j]))) ++j;
          if (j > st && (!br || (j < repl.size() && repl[j] == '}'))) {
            r2 += "\\" + repl.substr(st, j - st);
            i = br ? j : j - 1;
            continue;
          }
        }
        if (repl[i] == '\\') r2 += "\\";
        r2.push_back(repl[i]);
      }
      repl = r2;
    } else {
      repl = ReplaceAll(repl, "\\", "\\\\");
    }
    RE2::GlobalReplace(&s, re, repl);
    return Value::Str(s);
  }
  if (f == "default") {
    if (a.size() != 2) return need(2);
    return a[1].Truthy() ? a[1] : a[0];
  }
  if (f == "count") {
    RETURN_IF_ERROR(need(2));
    RE2 re(str(0));
    if (!re.ok()) return Status::InvalidArgument("error parsing regexp: " + re.error());
    std::string s = str(1);
    re2::StringPiece sp(s);
    int c = 0;
    while (RE2::FindAndConsume(&sp, re)) {
      ++c;
      if (sp.empty()) break;
    }
    return Value::Num(c);
  }
  if (f == "printf") {
    if (a.empty()) return need(1);
    return Value::Str(GoPrintf(str(0), std::vector<Value>(a.begin() + 1, a.end())));
  }
  if (f == "print" || f == "println") {
    std::string out;
    for (size_t i = 0; i < a.size(); ++i) {
      if (i && (f == "println" || (a[i].t != Value::T::kStr && a[i - 1].t != Value::T::kStr))) out += " ";
      out += str(i);
    }
    if (f == "println") out += "\n";
    return Value::Str(out);
  }
  if (f == "len") { RETURN_IF_ERROR(need(1)); return Value::Num(static_cast<double>(str(0).size())); }
  if (f == "not") { RETURN_IF_ERROR(need(1)); return Value::Bool(!a[0].Truthy()); }
  if (f == "and") {
    if (a.empty()) return need(1);
    for (const Value& v : a) if (!v.Truthy()) return v;
    return a.back();
  }
  if (f == "or") {
    if (a.empty()) return need(1);
    for (const Value& v : a) if (v.Truthy()) return v;
    return a.back();
  }
  if (f == "eq" || f == "ne" || f == "lt" || f == "le" || f == "gt" || f == "ge") {
    RETURN_IF_ERROR(need(2));
    int cmp;
    if (a[0].t == Value::T::kNum || a[1].t == Value::T::kNum) {
      double x = num(0), y = num(1);
      cmp = x < y ? -1 : x > y ? 1 : 0;
    } else {
      std::string x = str(0), y = str(1);
      cmp = x < y ? -1 : x > y ? 1 : 0;
    }
    bool r = f == "eq" ? cmp == 0 : f == "ne" ? cmp != 0 : f == "lt" ? cmp < 0 : f == "le" ? cmp <= 0
             : f == "gt" ? cmp > 0 : cmp >= 0;
    return Value::Bool(r);
  }
  if (f == "add" || f == "sub" || f == "mul" || f == "div" || f == "mod" || f == "max" || f == "min") {
    if (a.size() < 2) return need(2);
    auto toint = [&](size_t i) { return static_cast<long long>(num(i)); };
    long long r = toint(0);
    for (size_t i = 1; i < a.size(); ++i) {
      long long y = toint(i);
      if (f == "add") r += y;
      else if (f == "sub") r -= y;
      else if (f == "mul") r *= y;
      else if (f == "div") { if (y == 0) return Status::InvalidArgument("integer divide by zero"); r /= y; }
      else if (f == "mod") { if (y == 0) return Status::InvalidArgument("integer divide by zero"); r %= y; }
      else if (f == "max") r = std::max(r, y);
      else r = std::min(r, y);
    }
    return Value::Num(static_cast<double>(r));
  }
  if (f == "addf" || f == "subf" || f == "mulf" || f == "divf" || f == "maxf" || f == "minf") {
    if (a.size() < 2) return need(2);
    double r = num(0);
    for (size_t i = 1; i < a.size(); ++i) {
      double y = num(i);
      if (f == "addf") r += y;
      else if (f == "subf") r -= y;
      else if (f == "mulf") r *= y;
      else if (f == "divf") r /= y;
      else if (f == "maxf") r = std::max(r, y);
      else r = std::min(r, y);
    }
    return Value::Num(r);
  }
  if (f == "ceil") { RETURN_IF_ERROR(need(1)); return Value::Num(std::ceil(num(0))); }
  if (f == "floor") { RETURN_IF_ERROR(need(1)); return Value::Num(std::floor(num(0))); }
  if (f == "round") {
    if (a.empty()) return need(1);
    double p = a.size() > 1 ? std::pow(10.0, num(1)) : 1.0;
    return Value::Num(std::round(num(0) * p) / p);
  }
  if (f == "int") { RETURN_IF_ERROR(need(1)); return Value::Num(std::trunc(num(0))); }
  if (f == "float64") { RETURN_IF_ERROR(need(1)); return Value::Num(num(0)); }
  if (f == "b64enc") { RETURN_IF_ERROR(need(1)); return Value::Str(B64Enc(str(0))); }
  if (f == "b64dec") { RETURN_IF_ERROR(need(1)); return Value::Str(B64Dec(str(0))); }
  if (f == "urlencode") { RETURN_IF_ERROR(need(1)); return Value::Str(UrlEncode(str(0))); }
  if (f == "urldecode") { RETURN_IF_ERROR(need(1)); return Value::Str(UrlDecode(str(0))); }
  if (f == "alignLeft" || f == "alignRight") {
    RETURN_IF_ERROR(need(2));
    size_t n = static_cast<size_t>(std::max(0.0, num(0)));
    std::string s = str(1);
    if (s.size() >= n) return Value::Str(f == "alignLeft" ? s.substr(0, n) : s.substr(s.size() - n));
    std::string pad(n - s.size(), ' ');
    return Value::Str(f == "alignLeft" ? s + pad : pad + s);
  }
  if (f == "now") {
    return Value::Num(static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::system_clock::now().time_since_epoch()).count()));
  }
  if (f == "date") {
    RETURN_IF_ERROR(need(2));
    return Value::Str(GoFormatTime(str(0), static_cast<int64_t>(num(1))));
  }
  if (f == "unixToTime") {
    RETURN_IF_ERROR(need(1));
    // Seconds, milliseconds, microseconds or nanoseconds, told apart by the number of digits.
    std::string v = str(0);
    double x = num(0);
    size_t digits = v.size();
    double ns = digits <= 10 ? x * 1e9 : digits <= 13 ? x * 1e6 : digits <= 16 ? x * 1e3 : x;
    return Value::Num(ns);
  }
  if (f == "__line__") return Value::Str(std::string(ctx.line));
  if (f == "__timestamp__") return Value::Num(static_cast<double>(ctx.ts_ns));
  if (f == "unixEpoch") { RETURN_IF_ERROR(need(1)); return Value::Num(std::floor(num(0) / 1e9)); }
  if (f == "unixEpochMillis") { RETURN_IF_ERROR(need(1)); return Value::Num(std::floor(num(0) / 1e6)); }
  if (f == "unixEpochNanos") { RETURN_IF_ERROR(need(1)); return Value::Num(num(0)); }
  if (f == "bytes") {
    RETURN_IF_ERROR(need(1));
    auto b = ParseHumanBytes(str(0));
    if (!b.ok()) return b.status();
    return Value::Num(static_cast<double>(*b));
  }
  if (f == "duration" || f == "duration_seconds") {
    RETURN_IF_ERROR(need(1));
    auto d = ParseGoDuration(str(0));
    if (!d.ok()) return d.status();
    return Value::Num(static_cast<double>(*d) / 1e9);
  }
  return Status::InvalidArgument("function \"" + f + "\" not defined");
}

Result<Value> EvalArg(const Arg& a, const ExecCtx& ctx) {
  switch (a.k) {
    case Arg::K::kField: {
      if (!ctx.labels.Has(a.s)) return Value();
      return Value::Str(std::string(ctx.labels.Get(a.s)));
    }
    case Arg::K::kDot: {
      std::string s = "map[";
      LabelSet ls = ctx.labels.ToLabelSet();
      for (size_t i = 0; i < ls.size(); ++i) s += (i ? " " : "") + ls[i].name + ":" + ls[i].value;
      return Value::Str(s + "]");
    }
    case Arg::K::kStr: return Value::Str(a.s);
    case Arg::K::kNum: return Value::Num(a.n);
    case Arg::K::kBool: return Value::Bool(a.n != 0);
    case Arg::K::kSub: return ExecPipeline(*a.sub, ctx);
    case Arg::K::kFunc: return CallFunc(a.s, {}, ctx);
  }
  return Value();
}

Result<Value> ExecPipeline(const Pipeline& p, const ExecCtx& ctx) {
  Value prev;
  bool have_prev = false;
  for (const Command& c : p.cmds) {
    if (c.args[0].k == Arg::K::kFunc) {
      std::vector<Value> args;
      for (size_t i = 1; i < c.args.size(); ++i) {
        ASSIGN_OR_RETURN(Value v, EvalArg(c.args[i], ctx));
        args.push_back(std::move(v));
      }
      if (have_prev) args.push_back(prev);
      ASSIGN_OR_RETURN(prev, CallFunc(c.args[0].s, args, ctx));
    } else {
      if (c.args.size() > 1 || have_prev) return Status::InvalidArgument("can't give argument to non-function");
      ASSIGN_OR_RETURN(prev, EvalArg(c.args[0], ctx));
    }
    have_prev = true;
  }
  return prev;
}

Status ExecNode(const Template::Node& n, const ExecCtx& ctx, std::string& out) {
  switch (n.k) {
    case Template::Node::K::kText: out += n.text; return Status::OK();
    case Template::Node::K::kAction: {
      ASSIGN_OR_RETURN(Value v, ExecPipeline(n.pipe, ctx));
      out += v.ToString();
      return Status::OK();
    }
    case Template::Node::K::kList:
      for (const auto& c : n.children) RETURN_IF_ERROR(ExecNode(*c, ctx, out));
      return Status::OK();
    case Template::Node::K::kIf: {
      ASSIGN_OR_RETURN(Value v, ExecPipeline(n.pipe, ctx));
      if (v.Truthy()) return ExecNode(*n.children[0], ctx, out);
      if (n.children.size() > 1 && n.children[1]) return ExecNode(*n.children[1], ctx, out);
      return Status::OK();
    }
  }
  return Status::OK();
}

}  // namespace

Template::~Template() = default;

Result<std::shared_ptr<const Template>> Template::Parse(std::string_view name, std::string_view text) {
  auto err = [&](std::string_view m) {
    return Status::InvalidArgument("template: " + std::string(name) + ":1: " + std::string(m));
  };
  // Stack of open lists: the root, then for each open `if` its current branch.
  auto root = std::make_unique<Node>();
  std::vector<Node*> lists = {root.get()};
  std::vector<Node*> ifs;
  size_t pos = 0;
  bool trim_next = false;
  while (pos <= text.size()) {
    size_t open = text.find("{{", pos);
    std::string chunk(text.substr(pos, open == std::string_view::npos ? std::string_view::npos : open - pos));
    if (trim_next) {
      size_t b = 0;
      while (b < chunk.size() && std::isspace(static_cast<unsigned char>(chunk[b]))) ++b;
      chunk.erase(0, b);
    }
    bool trim_prev = open != std::string_view::npos && open + 2 < text.size() && text[open + 2] == '-' &&
                     open + 3 < text.size() && std::isspace(static_cast<unsigned char>(text[open + 3]));
    if (trim_prev) {
      while (!chunk.empty() && std::isspace(static_cast<unsigned char>(chunk.back()))) chunk.pop_back();
    }
    if (!chunk.empty()) {
      auto t = std::make_unique<Node>();
      t->k = Node::K::kText;
      t->text = chunk;
      lists.back()->children.push_back(std::move(t));
    }
    if (open == std::string_view::npos) break;
    size_t st = open + 2 + (trim_prev ? 1 : 0);
    // Find the closing braces outside of quotes.
    size_t i = st;
    char q = 0;
    size_t close = std::string_view::npos;
    while (i < text.size()) {
      char c = text[i];
      if (q) {
        if (c == '\\' && q == '"') ++i;
        else if (c == q) q = 0;
      } else if (c == '"' || c == '`') {
        q = c;
      } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
        close = i;
        break;
      }
      ++i;
    }
    if (close == std::string_view::npos) return err("unclosed action");
    size_t end = close;
    trim_next = false;
    if (end > st && text[end - 1] == '-' && end - 1 > st && std::isspace(static_cast<unsigned char>(text[end - 2]))) {
      trim_next = true;
      --end;
    }
    std::string_view body = text.substr(st, end - st);
    pos = close + 2;
    ActionLexer lx(name, body);
    std::string_view w = lx.PeekWord();
    if (w == "if") {
      lx.Skip(2);
      ASSIGN_OR_RETURN(Pipeline p, lx.ParsePipeline());
      auto n = std::make_unique<Node>();
      n->k = Node::K::kIf;
      n->pipe = std::move(p);
      n->children.push_back(std::make_unique<Node>());
      Node* raw = n.get();
      lists.back()->children.push_back(std::move(n));
      ifs.push_back(raw);
      lists.push_back(raw->children[0].get());
    } else if (w == "else") {
      if (ifs.empty()) return err("unexpected {{else}}");
      lx.Skip(4);
      Node* cur = ifs.back();
      auto branch = std::make_unique<Node>();
      Node* braw = branch.get();
      cur->children.push_back(std::move(branch));
      lists.back() = braw;
      if (lx.PeekWord() == "if") {
        lx.Skip(2);
        ASSIGN_OR_RETURN(Pipeline p, lx.ParsePipeline());
        auto n = std::make_unique<Node>();
        n->k = Node::K::kIf;
        n->pipe = std::move(p);
        n->children.push_back(std::make_unique<Node>());
        Node* raw = n.get();
        braw->children.push_back(std::move(n));
        // The nested if closes with the same {{end}}: replace the top if.
        ifs.back() = raw;
        lists.back() = raw->children[0].get();
      }
    } else if (w == "end") {
      if (ifs.empty()) return err("unexpected {{end}}");
      ifs.pop_back();
      lists.pop_back();
    } else if (w == "range" || w == "with" || w == "define" || w == "template" || w == "block") {
      return err("{{" + std::string(w) + "}} is not supported");
    } else {
      if (lx.AtEnd()) return err("missing value for command");
      ASSIGN_OR_RETURN(Pipeline p, lx.ParsePipeline());
      if (!lx.AtEnd()) return err("unexpected \")\" in operand");
      auto n = std::make_unique<Node>();
      n->k = Node::K::kAction;
      n->pipe = std::move(p);
      lists.back()->children.push_back(std::move(n));
    }
  }
  if (!ifs.empty()) return err("unexpected EOF");
  auto t = std::shared_ptr<Template>(new Template());
  t->root_ = std::move(root);
  return std::shared_ptr<const Template>(t);
}

Result<std::string> Template::Execute(const LineLabels& labels, std::string_view line, int64_t ts_ns) const {
  std::string out;
  ExecCtx ctx{labels, line, ts_ns};
  RETURN_IF_ERROR(ExecNode(*root_, ctx, out));
  return out;
}

}  // namespace argus::logql
