#include "traceql/lexer.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>
#include <unordered_map>

namespace argus::traceql {
namespace {

const std::unordered_map<std::string_view, Tok>& Tokens() {
  static const auto* m = new std::unordered_map<std::string_view, Tok>{
      {",", Tok::kComma}, {".", Tok::kDot}, {"{", Tok::kOpenBrace}, {"}", Tok::kCloseBrace},
      {"(", Tok::kOpenParens}, {")", Tok::kCloseParens}, {"=", Tok::kEq}, {"!=", Tok::kNeq},
      {"=~", Tok::kRe}, {"!~", Tok::kNre}, {">", Tok::kGt}, {">=", Tok::kGte}, {"<", Tok::kLt},
      {"<=", Tok::kLte}, {"+", Tok::kAdd}, {"-", Tok::kSub}, {"/", Tok::kDiv}, {"%", Tok::kMod},
      {"*", Tok::kMul}, {"^", Tok::kPow}, {"true", Tok::kTrue}, {"false", Tok::kFalse},
      {"nil", Tok::kNil}, {"ok", Tok::kStatusOk}, {"error", Tok::kStatusError},
      {"unset", Tok::kStatusUnset}, {"unspecified", Tok::kKindUnspecified},
      {"internal", Tok::kKindInternal}, {"server", Tok::kKindServer},
      {"client", Tok::kKindClient}, {"producer", Tok::kKindProducer},
      {"consumer", Tok::kKindConsumer}, {"&&", Tok::kAnd}, {"||", Tok::kOr}, {"!", Tok::kNot},
      {"|", Tok::kPipe}, {">>", Tok::kDesc}, {"<<", Tok::kAnce}, {"~", Tok::kSibl},
      {"!>", Tok::kNotChild}, {"!<", Tok::kNotParent}, {"!>>", Tok::kNotDesc},
      {"!<<", Tok::kNotAnce}, {"&~", Tok::kUnionSibl}, {"&>", Tok::kUnionChild},
      {"&<", Tok::kUnionParent}, {"&>>", Tok::kUnionDesc}, {"&<<", Tok::kUnionAnce},
      {"duration", Tok::kIDuration}, {"childCount", Tok::kChildCount}, {"name", Tok::kName},
      {"status", Tok::kStatus}, {"statusMessage", Tok::kStatusMessage}, {"kind", Tok::kKind},
      {"rootName", Tok::kRootName}, {"rootServiceName", Tok::kRootServiceName},
      {"rootService", Tok::kRootService}, {"traceDuration", Tok::kTraceDuration},
      {"nestedSetLeft", Tok::kNestedSetLeft}, {"nestedSetRight", Tok::kNestedSetRight},
      {"nestedSetParent", Tok::kNestedSetParent}, {"id", Tok::kId}, {"traceID", Tok::kTraceId},
      {"spanID", Tok::kSpanId}, {"parentID", Tok::kParentId},
      {"timeSinceStart", Tok::kTimeSinceStart}, {"version", Tok::kVersion},
      {"parent", Tok::kParent}, {"parent.", Tok::kParentDot}, {"resource.", Tok::kResourceDot},
      {"span.", Tok::kSpanDot}, {"trace:", Tok::kTraceColon}, {"span:", Tok::kSpanColon},
      {"event:", Tok::kEventColon}, {"link:", Tok::kLinkColon},
      {"instrumentation:", Tok::kInstrumentationColon}, {"event.", Tok::kEventDot},
      {"link.", Tok::kLinkDot}, {"instrumentation.", Tok::kInstrumentationDot},
      {"count", Tok::kCount}, {"avg", Tok::kAvg}, {"max", Tok::kMax}, {"min", Tok::kMin},
      {"sum", Tok::kSum}, {"by", Tok::kBy}, {"coalesce", Tok::kCoalesce},
      {"select", Tok::kSelect}, {"rate", Tok::kRate}, {"count_over_time", Tok::kCountOverTime},
      {"min_over_time", Tok::kMinOverTime}, {"max_over_time", Tok::kMaxOverTime},
      {"avg_over_time", Tok::kAvgOverTime}, {"sum_over_time", Tok::kSumOverTime},
      {"quantile_over_time", Tok::kQuantileOverTime},
      {"histogram_over_time", Tok::kHistogramOverTime}, {"compare", Tok::kCompare},
      {"topk", Tok::kTopK}, {"bottomk", Tok::kBottomK}, {"with", Tok::kWith},
  };
  return *m;
}

bool StartsAttribute(Tok t) {
  return t == Tok::kDot || t == Tok::kResourceDot || t == Tok::kSpanDot || t == Tok::kParentDot ||
         t == Tok::kEventDot || t == Tok::kLinkDot || t == Tok::kInstrumentationDot;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsIdentPart(char c) { return IsIdentStart(c) || IsDigit(c); }

// Tempo's isAttributeRune: what may appear unquoted in an attribute name.
bool IsAttributeChar(char c) {
  if (IsSpace(c)) return false;
  switch (c) {
    case '{': case '}': case '(': case ')': case '=': case '~': case '!': case '<': case '>':
    case '&': case '|': case '^': case ',':
      return false;
    default:
      return true;
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view q) : q_(q) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> out;
    for (;;) {
      ASSIGN_OR_RETURN(Token t, Next());
      bool eof = t.tok == Tok::kEof;
      out.push_back(std::move(t));
      if (eof) return out;
    }
  }

 private:
  char Peek(size_t ahead = 0) const { return pos_ + ahead < q_.size() ? q_[pos_ + ahead] : '\0'; }
  bool AtEnd(size_t ahead = 0) const { return pos_ + ahead >= q_.size(); }
  char Advance() {
    char c = q_[pos_++];
    if (c == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    return c;
  }
  Status Error(int line, int col, std::string_view what) const {
    return Status::InvalidArgument(fmt::format("parse error at line {}, col {}: {}", line, col, what));
  }
  Token Make(Tok tok, std::string text, int line, int col) const {
    Token t;
    t.tok = tok;
    t.text = std::move(text);
    t.line = line;
    t.col = col;
    return t;
  }

  Result<Token> Next() {
    if (in_attribute_) {
      if (AtEnd() || !IsAttributeChar(Peek())) {
        in_attribute_ = false;
        return Make(Tok::kEndAttribute, "", line_, col_);
      }
      return LexAttribute();
    }
    SkipSpaceAndComments();
    int line = line_, col = col_;
    if (AtEnd()) return Make(Tok::kEof, "", line, col);
    char c = Peek();
    if (c == '"' || c == '`') return LexString(line, col);
    if (IsDigit(c) || (c == '.' && IsDigit(Peek(1)))) return LexNumber(line, col);

    std::string text;
    if (IsIdentStart(c)) {
      while (!AtEnd() && IsIdentPart(Peek())) text += Advance();
    } else {
      text += Advance();
    }
    // Longest known token that extends the text one character at a time.
    std::optional<Tok> multi;
    std::string ext = text;
    while (!AtEnd()) {
      ext += Peek();
      auto it = Tokens().find(ext);
      if (it == Tokens().end()) break;
      multi = it->second;
      text += Advance();
    }
    Tok tok;
    if (multi) {
      tok = *multi;
    } else if (auto it = Tokens().find(text); it != Tokens().end()) {
      tok = it->second;
    } else {
      return Make(Tok::kIdentifier, text, line, col);
    }
    switch (tok) {
      case Tok::kParentDot: case Tok::kSpanDot: case Tok::kResourceDot: case Tok::kSpanColon:
      case Tok::kTraceColon: case Tok::kEventColon: case Tok::kLinkColon:
      case Tok::kInstrumentationColon: case Tok::kEventDot: case Tok::kLinkDot:
      case Tok::kInstrumentationDot:
        scope_ = tok;
        break;
      default:
        break;
    }
    in_attribute_ = StartsAttribute(tok);
    return Make(tok, text, line, col);
  }

  void SkipSpaceAndComments() {
    for (;;) {
      while (!AtEnd() && IsSpace(Peek())) Advance();
      if (Peek() == '/' && Peek(1) == '/') {
        while (!AtEnd() && Peek() != '\n') Advance();
        continue;
      }
      if (Peek() == '/' && Peek(1) == '*') {
        size_t end = q_.find("*/", pos_ + 2);
        size_t stop = end == std::string_view::npos ? q_.size() : end + 2;
        while (pos_ < stop) Advance();
        continue;
      }
      return;
    }
  }

  // In attribute mode: a scope after `parent.` (`parent.span.x`), else the attribute name.
  Result<Token> LexAttribute() {
    int line = line_, col = col_;
    if (scope_ == Tok::kParentDot) {
      size_t i = 0;
      std::string s;
      while (!AtEnd(i) && i <= 9) {
        char c = Peek(i);
        if (c == '.') {
          s += c;
          ++i;
          break;
        }
        if (!IsAttributeChar(c)) break;
        s += c;
        ++i;
      }
      if (s == "span." || s == "resource.") {
        for (size_t k = 0; k < i; ++k) Advance();
        scope_ = s == "span." ? Tok::kSpanDot : Tok::kResourceDot;
        return Make(scope_, s, line, col);
      }
    }
    std::string name;
    while (!AtEnd()) {
      char c = Peek();
      if (c == '"') {
        Advance();
        bool closed = false;
        while (!AtEnd()) {
          char d = Peek();
          if (d == '"') {
            Advance();
            closed = true;
            break;
          }
          if (d == '\\') {
            Advance();
            char e = Peek();
            if (AtEnd() || (e != '"' && e != '\\')) {
              return Error(line_, col_, "invalid escape sequence in quoted attribute name");
            }
            name += Advance();
            continue;
          }
          name += Advance();
        }
        if (!closed) return Error(line_, col_, "unexpected end of query, expecting \"");
      } else if (IsAttributeChar(c)) {
        name += Advance();
      } else {
        break;
      }
    }
    return Make(Tok::kIdentifier, name, line, col);
  }

  Result<Token> LexString(int line, int col) {
    char quote = Advance();
    std::string out;
    if (quote == '`') {
      while (!AtEnd() && Peek() != '`') out += Advance();
      if (AtEnd()) return Error(line, col, "string literal not terminated");
      Advance();
      return Make(Tok::kString, out, line, col);
    }
    for (;;) {
      if (AtEnd() || Peek() == '\n') return Error(line, col, "string literal not terminated");
      char c = Advance();
      if (c == '"') break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (AtEnd()) return Error(line, col, "string literal not terminated");
      char e = Advance();
      switch (e) {
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case '\\': out += '\\'; break;
        case '"': out += '"'; break;
        case 'x': case 'u': case 'U': {
          int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t v = 0;
          for (int k = 0; k < n; ++k) {
            char h = AtEnd() ? '\0' : Advance();
            int d = IsDigit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                                         : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
            if (d < 0) return Error(line, col, "invalid escape sequence in string");
            v = v * 16 + static_cast<uint32_t>(d);
          }
          if (e == 'x') {
            out += static_cast<char>(v);
          } else {
            if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
              return Error(line, col, "invalid Unicode escape in string");
            }
            AppendUtf8(v, &out);
          }
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            int v = e - '0';
            for (int k = 0; k < 2; ++k) {
              char o = AtEnd() ? '\0' : Advance();
              if (o < '0' || o > '7') return Error(line, col, "invalid escape sequence in string");
              v = v * 8 + (o - '0');
            }
            if (v > 255) return Error(line, col, "invalid escape sequence in string");
            out += static_cast<char>(v);
            break;
          }
          return Error(line, col, "invalid escape sequence in string");
      }
    }
    return Make(Tok::kString, out, line, col);
  }

  static void AppendUtf8(uint32_t v, std::string* out) {
    if (v < 0x80) {
      *out += static_cast<char>(v);
    } else if (v < 0x800) {
      *out += static_cast<char>(0xC0 | (v >> 6));
      *out += static_cast<char>(0x80 | (v & 0x3F));
    } else if (v < 0x10000) {
      *out += static_cast<char>(0xE0 | (v >> 12));
      *out += static_cast<char>(0x80 | ((v >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (v & 0x3F));
    } else {
      *out += static_cast<char>(0xF0 | (v >> 18));
      *out += static_cast<char>(0x80 | ((v >> 12) & 0x3F));
      *out += static_cast<char>(0x80 | ((v >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (v & 0x3F));
    }
  }

  Result<Token> LexNumber(int line, int col) {
    std::string text;
    bool is_float = false;
    while (!AtEnd() && IsDigit(Peek())) text += Advance();
    if (Peek() == '.') {
      is_float = true;
      text += Advance();
      while (!AtEnd() && IsDigit(Peek())) text += Advance();
    }
    if ((Peek() == 'e' || Peek() == 'E') &&
        (IsDigit(Peek(1)) || ((Peek(1) == '+' || Peek(1) == '-') && IsDigit(Peek(2))))) {
      is_float = true;
      text += Advance();
      if (Peek() == '+' || Peek() == '-') text += Advance();
      while (!AtEnd() && IsDigit(Peek())) text += Advance();
    }
    // A duration: the number directly followed by digits, '.', and unit letters.
    size_t n = 0;
    std::string suffix;
    while (!AtEnd(n) && !IsSpace(Peek(n))) {
      char c = Peek(n);
      if (IsDigit(c) || c == '.' || c == 'n' || c == 's' || c == 'u' || c == 'm' || c == 'h' ||
          c == 'd' || c == 'w' || c == 'y') {
        suffix += c;
        ++n;
      } else if (c == '\xC2' && Peek(n + 1) == '\xB5') {  // µ
        suffix += "\xC2\xB5";
        n += 2;
      } else {
        break;
      }
    }
    if (n > 0) {
      int64_t ns = 0;
      if (ParseTraceQLDuration(text + suffix, &ns)) {
        for (size_t k = 0; k < n; ++k) Advance();
        Token t = Make(Tok::kDuration, text + suffix, line, col);
        t.i = ns;
        return t;
      }
    }
    Token t = Make(is_float ? Tok::kFloat : Tok::kInteger, text, line, col);
    errno = 0;
    if (is_float) {
      t.f = std::strtod(text.c_str(), nullptr);
      if (errno == ERANGE && std::isinf(t.f)) return Error(line, col, "number out of range: " + text);
    } else {
      char* end = nullptr;
      long long v = std::strtoll(text.c_str(), &end, 10);
      if (errno == ERANGE) return Error(line, col, "integer out of range: " + text);
      t.i = v;
    }
    return t;
  }

  std::string_view q_;
  size_t pos_ = 0;
  int line_ = 1, col_ = 1;
  bool in_attribute_ = false;
  Tok scope_ = Tok::kEof;
};

// Prometheus' model.ParseDuration: [Ny][Nw][Nd][Nh][Nm][Ns][Nms], at least one, integers only.
bool ParsePromDuration(std::string_view s, int64_t* ns) {
  static constexpr struct { std::string_view unit; int64_t ns; } kUnits[] = {
      {"y", 365LL * 24 * 3600 * 1000000000LL}, {"w", 7LL * 24 * 3600 * 1000000000LL},
      {"d", 24LL * 3600 * 1000000000LL}, {"h", 3600LL * 1000000000LL},
      {"m", 60LL * 1000000000LL}, {"s", 1000000000LL}, {"ms", 1000000LL}};
  if (s.empty()) return false;
  size_t pos = 0, next_unit = 0;
  __int128 total = 0;
  while (pos < s.size()) {
    size_t start = pos;
    while (pos < s.size() && IsDigit(s[pos])) ++pos;
    if (pos == start) return false;
    __int128 v = 0;
    for (size_t k = start; k < pos; ++k) {
      v = v * 10 + (s[k] - '0');
      if (v > (static_cast<__int128>(1) << 70)) return false;
    }
    size_t ustart = pos;
    while (pos < s.size() && !IsDigit(s[pos])) ++pos;
    std::string_view unit = s.substr(ustart, pos - ustart);
    bool found = false;
    for (size_t u = next_unit; u < std::size(kUnits); ++u) {
      if (kUnits[u].unit == unit) {
        total += v * kUnits[u].ns;
        next_unit = u + 1;
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  if (total > INT64_MAX) return false;
  *ns = static_cast<int64_t>(total);
  return true;
}

// Go's time.ParseDuration (unsigned here: the sign is an operator in TraceQL).
bool ParseGoDuration(std::string_view s, int64_t* ns) {
  static constexpr struct { std::string_view unit; double ns; } kUnits[] = {
      {"ns", 1}, {"us", 1e3}, {"\xC2\xB5s", 1e3}, {"\xCE\xBCs", 1e3}, {"ms", 1e6},
      {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  if (s.empty()) return false;
  size_t pos = 0;
  long double total = 0;
  while (pos < s.size()) {
    size_t start = pos;
    while (pos < s.size() && IsDigit(s[pos])) ++pos;
    bool pre = pos > start;
    std::string num(s.substr(start, pos - start));
    bool post = false;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      size_t fs = pos;
      while (pos < s.size() && IsDigit(s[pos])) ++pos;
      post = pos > fs;
      num += "." + std::string(s.substr(fs, pos - fs));
    }
    if (!pre && !post) return false;
    size_t ustart = pos;
    while (pos < s.size() && s[pos] != '.' && !IsDigit(s[pos])) ++pos;
    std::string_view unit = s.substr(ustart, pos - ustart);
    bool found = false;
    for (const auto& u : kUnits) {
      if (u.unit == unit) {
        total += std::strtold(num.c_str(), nullptr) * u.ns;
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  if (total > static_cast<long double>(INT64_MAX)) return false;
  *ns = static_cast<int64_t>(total);
  return true;
}

}  // namespace

bool ParseTraceQLDuration(std::string_view s, int64_t* ns) {
  return ParsePromDuration(s, ns) || ParseGoDuration(s, ns);
}

Result<std::vector<Token>> Lex(std::string_view query) { return Lexer(query).Run(); }

std::string DescribeToken(const Token& t) {
  switch (t.tok) {
    case Tok::kEof: return "end of query";
    case Tok::kEndAttribute: return "end of attribute name";
    case Tok::kIdentifier: return fmt::format("identifier \"{}\"", t.text);
    case Tok::kString: return fmt::format("string \"{}\"", t.text);
    case Tok::kInteger: case Tok::kFloat: case Tok::kDuration:
      return fmt::format("number {}", t.text);
    default: return fmt::format("\"{}\"", t.text);
  }
}

}  // namespace argus::traceql
