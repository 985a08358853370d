#include "promql/lexer.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>

namespace argus::promql {

namespace {

bool IsAlpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }

std::string Lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

const std::map<std::string, TokenKind>& Keywords() {
  static const auto* m = new std::map<std::string, TokenKind>{
      {"and", TokenKind::kLand},         {"or", TokenKind::kLor},
      {"unless", TokenKind::kLunless},   {"atan2", TokenKind::kAtan2},
      {"by", TokenKind::kBy},            {"without", TokenKind::kWithout},
      {"on", TokenKind::kOn},            {"ignoring", TokenKind::kIgnoring},
      {"group_left", TokenKind::kGroupLeft}, {"group_right", TokenKind::kGroupRight},
      {"bool", TokenKind::kBool},        {"offset", TokenKind::kOffset},
      {"start", TokenKind::kStart},      {"end", TokenKind::kEnd},
      {"sum", TokenKind::kAggregator},   {"avg", TokenKind::kAggregator},
      {"count", TokenKind::kAggregator}, {"min", TokenKind::kAggregator},
      {"max", TokenKind::kAggregator},   {"group", TokenKind::kAggregator},
      {"stddev", TokenKind::kAggregator}, {"stdvar", TokenKind::kAggregator},
      {"topk", TokenKind::kAggregator},  {"bottomk", TokenKind::kAggregator},
      {"quantile", TokenKind::kAggregator}, {"count_values", TokenKind::kAggregator},
      {"limitk", TokenKind::kAggregator}, {"limit_ratio", TokenKind::kAggregator},
  };
  return *m;
}

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

bool ParseDurationMs(std::string_view s, int64_t* ms) {
  if (s == "0") {
    *ms = 0;
    return true;
  }
  if (s.empty()) return false;
  static const std::pair<const char*, int64_t> kUnits[] = {
      {"y", 365LL * 86400000}, {"w", 7LL * 86400000}, {"d", 86400000}, {"h", 3600000},
      {"m", 60000},            {"s", 1000},           {"ms", 1}};
  size_t i = 0;
  int64_t total = 0;
  int last_unit = -1;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i == start) return false;
    int64_t n = 0;
    for (size_t k = start; k < i; ++k) {
      if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) return false;
      n = n * 10 + (s[k] - '0');
    }
    int unit = -1;
    if (s.substr(i, 2) == "ms") {
      unit = 6;
      i += 2;
    } else if (i < s.size()) {
      for (int u = 0; u < 6; ++u) {
        if (s[i] == kUnits[u].first[0]) unit = u;
      }
      if (unit >= 0) ++i;
    }
    if (unit < 0 || unit <= last_unit) return false;
    last_unit = unit;
    if (n > std::numeric_limits<int64_t>::max() / kUnits[unit].second) return false;
    total += n * kUnits[unit].second;
    if (total < 0) return false;
  }
  *ms = total;
  return true;
}

bool ParseNumber(std::string_view s, double* v) {
  std::string l = Lower(s);
  std::string_view body = l;
  bool neg = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body == "inf" || body == "infinity") {
    *v = neg ? -INFINITY : INFINITY;
    return true;
  }
  if (body == "nan") {
    *v = std::nan("");
    return true;
  }
  if (body.empty()) return false;
  std::string str(l);
  char* end = nullptr;
  if (body.size() > 2 && body[0] == '0' && body[1] == 'x') {
    // Hex integers (Go also allows hex floats with a p exponent).
    errno = 0;
    double d = std::strtod(str.c_str(), &end);
    if (end != str.c_str() + str.size()) return false;
    *v = d;
    return true;
  }
  for (char c : body) {
    if (!(IsDigit(c) || c == '.' || c == 'e' || c == '+' || c == '-')) return false;
  }
  double d = std::strtod(str.c_str(), &end);
  if (end != str.c_str() + str.size()) return false;
  *v = d;
  return true;
}

std::string DescribeToken(const Token& t) {
  switch (t.kind) {
    case TokenKind::kEof: return "end of input";
    case TokenKind::kError: return t.text;
    case TokenKind::kIdentifier:
    case TokenKind::kMetricIdentifier: return "identifier \"" + t.text + "\"";
    case TokenKind::kNumber: return "number \"" + t.text + "\"";
    case TokenKind::kDuration: return "duration \"" + t.text + "\"";
    case TokenKind::kString: return "string \"" + t.text + "\"";
    case TokenKind::kLeftParen: return "\"(\"";
    case TokenKind::kRightParen: return "\")\"";
    case TokenKind::kLeftBrace: return "\"{\"";
    case TokenKind::kRightBrace: return "\"}\"";
    case TokenKind::kLeftBracket: return "\"[\"";
    case TokenKind::kRightBracket: return "\"]\"";
    case TokenKind::kComma: return "\",\"";
    case TokenKind::kColon: return "\":\"";
    case TokenKind::kAssign: return "\"=\"";
    case TokenKind::kAt: return "\"@\"";
    case TokenKind::kAggregator: return "aggregation \"" + t.text + "\"";
    case TokenKind::kLand:
    case TokenKind::kLor:
    case TokenKind::kLunless:
    case TokenKind::kAtan2:
    case TokenKind::kAdd:
    case TokenKind::kSub:
    case TokenKind::kMul:
    case TokenKind::kDiv:
    case TokenKind::kMod:
    case TokenKind::kPow:
    case TokenKind::kEqlc:
    case TokenKind::kNeq:
    case TokenKind::kLte:
    case TokenKind::kLss:
    case TokenKind::kGte:
    case TokenKind::kGtr:
    case TokenKind::kEqlRegex:
    case TokenKind::kNeqRegex:
    case TokenKind::kTrimUpper:
    case TokenKind::kTrimLower: return "<op:" + t.text + ">";
    default: return "\"" + t.text + "\"";
  }
}

const Token& Lexer::Peek() {
  if (!peeked_) {
    peek_ = Lex();
    peeked_ = true;
  }
  return peek_;
}

Token Lexer::Next() {
  if (peeked_) {
    peeked_ = false;
    return std::move(peek_);
  }
  return Lex();
}

Token Lexer::LexString(char quote) {
  Token t;
  t.kind = TokenKind::kString;
  t.pos = static_cast<int>(pos_);
  ++pos_;
  std::string out;
  while (true) {
    if (pos_ >= in_.size()) {
      t.kind = TokenKind::kError;
      t.text = "unterminated quoted string";
      return t;
    }
    char c = in_[pos_];
    if (c == quote) {
      ++pos_;
      break;
    }
    if (quote != '`' && c == '\n') {
      t.kind = TokenKind::kError;
      t.text = "unterminated quoted string";
      return t;
    }
    if (c == '\\' && quote != '`') {
      if (pos_ + 1 >= in_.size()) {
        t.kind = TokenKind::kError;
        t.text = "unterminated quoted string";
        return t;
      }
      char n = in_[pos_ + 1];
      pos_ += 2;
      auto hex = [&](int digits) -> bool {
        if (pos_ + digits > in_.size()) return false;
        uint32_t v = 0;
        for (int k = 0; k < digits; ++k) {
          char h = in_[pos_ + k];
          if (!std::isxdigit(static_cast<unsigned char>(h))) return false;
          v = v * 16 + (IsDigit(h) ? h - '0' : (std::tolower(h) - 'a' + 10));
        }
        pos_ += digits;
        if (digits == 2) {
          out.push_back(static_cast<char>(v));
        } else {
          AppendUtf8(&out, v);
        }
        return true;
      };
      bool ok = true;
      switch (n) {
        case 'a': out.push_back('\a'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'v': out.push_back('\v'); break;
        case '\\': out.push_back('\\'); break;
        case 'x': ok = hex(2); break;
        case 'u': ok = hex(4); break;
        case 'U': ok = hex(8); break;
        default:
          if (n == quote) {
            out.push_back(n);
          } else if (n >= '0' && n <= '7' && pos_ + 1 < in_.size()) {
            int v = n - '0';
            for (int k = 0; k < 2; ++k) {
              char o = in_[pos_];
              if (o < '0' || o > '7') {
                ok = false;
                break;
              }
              v = v * 8 + (o - '0');
              ++pos_;
            }
            out.push_back(static_cast<char>(v));
          } else {
            ok = false;
          }
      }
      if (!ok) {
        t.kind = TokenKind::kError;
        t.text = "unknown escape sequence";
        return t;
      }
      continue;
    }
    out.push_back(c);
    ++pos_;
  }
  t.text = std::move(out);
  return t;
}

Token Lexer::LexNumberOrDuration() {
  Token t;
  t.pos = static_cast<int>(pos_);
  size_t start = pos_;
  // Scan digits, hex, '.', exponents, then unit letters for durations.
  if (in_.substr(pos_, 2) == "0x" || in_.substr(pos_, 2) == "0X") {
    pos_ += 2;
    while (pos_ < in_.size() && std::isxdigit(static_cast<unsigned char>(in_[pos_]))) ++pos_;
  } else {
    while (pos_ < in_.size() && (IsDigit(in_[pos_]) || in_[pos_] == '_')) ++pos_;
    if (pos_ < in_.size() && in_[pos_] == '.') {
      ++pos_;
      while (pos_ < in_.size() && IsDigit(in_[pos_])) ++pos_;
    }
    if (pos_ < in_.size() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
      size_t save = pos_;
      ++pos_;
      if (pos_ < in_.size() && (in_[pos_] == '+' || in_[pos_] == '-')) ++pos_;
      if (pos_ < in_.size() && IsDigit(in_[pos_])) {
        while (pos_ < in_.size() && IsDigit(in_[pos_])) ++pos_;
      } else {
        pos_ = save;
      }
    }
  }
  // A unit letter right after an integer makes it a duration (5m, 1h30m, 100ms).
  if (pos_ < in_.size() && IsAlpha(in_[pos_])) {
    while (pos_ < in_.size() && IsAlnum(in_[pos_])) ++pos_;
    t.text = std::string(in_.substr(start, pos_ - start));
    int64_t ms;
    if (ParseDurationMs(t.text, &ms)) {
      t.kind = TokenKind::kDuration;
      t.duration_ms = ms;
      return t;
    }
    t.kind = TokenKind::kError;
    t.text = "bad number or duration syntax: \"" + t.text + "\"";
    return t;
  }
  t.text = std::string(in_.substr(start, pos_ - start));
  std::string digits;
  for (char c : t.text) {
    if (c != '_') digits.push_back(c);
  }
  if (!ParseNumber(digits, &t.number)) {
    t.kind = TokenKind::kError;
    t.text = "bad number or duration syntax: \"" + t.text + "\"";
    return t;
  }
  t.kind = TokenKind::kNumber;
  return t;
}

Token Lexer::Lex() {
  while (pos_ < in_.size()) {
    char c = in_[pos_];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++pos_;
    } else if (c == '#') {  // comment to end of line
      while (pos_ < in_.size() && in_[pos_] != '\n') ++pos_;
    } else {
      break;
    }
  }
  Token t;
  t.pos = static_cast<int>(pos_);
  if (pos_ >= in_.size()) {
    t.kind = TokenKind::kEof;
    return t;
  }
  char c = in_[pos_];
  auto one = [&](TokenKind k, size_t n) {
    t.kind = k;
    t.text = std::string(in_.substr(pos_, n));
    pos_ += n;
    return t;
  };
  char n = pos_ + 1 < in_.size() ? in_[pos_ + 1] : '\0';
  switch (c) {
    case '(':
      ++paren_depth_;
      return one(TokenKind::kLeftParen, 1);
    case ')':
      if (paren_depth_ > 0) --paren_depth_;
      return one(TokenKind::kRightParen, 1);
    case '{': return one(TokenKind::kLeftBrace, 1);
    case '}': return one(TokenKind::kRightBrace, 1);
    case '[':
      ++bracket_depth_;
      return one(TokenKind::kLeftBracket, 1);
    case ']':
      if (bracket_depth_ > 0) --bracket_depth_;
      return one(TokenKind::kRightBracket, 1);
    case ',': return one(TokenKind::kComma, 1);
    case ':':
      if (bracket_depth_ == 0 && (IsAlpha(n) || n == ':')) break;  // a metric name may start with ':'
      return one(TokenKind::kColon, 1);
    case '@': return one(TokenKind::kAt, 1);
    case '+': return one(TokenKind::kAdd, 1);
    case '-': return one(TokenKind::kSub, 1);
    case '*': return one(TokenKind::kMul, 1);
    case '/': return one(TokenKind::kDiv, 1);
    case '%': return one(TokenKind::kMod, 1);
    case '^': return one(TokenKind::kPow, 1);
    case '=':
      if (n == '=') return one(TokenKind::kEqlc, 2);
      if (n == '~') return one(TokenKind::kEqlRegex, 2);
      return one(TokenKind::kAssign, 1);
    case '!':
      if (n == '=') return one(TokenKind::kNeq, 2);
      if (n == '~') return one(TokenKind::kNeqRegex, 2);
      t.kind = TokenKind::kError;
      t.text = "unexpected character after '!': '" + std::string(1, n) + "'";
      return t;
    case '<':
      if (n == '=') return one(TokenKind::kLte, 2);
      if (n == '/') return one(TokenKind::kTrimUpper, 2);
      return one(TokenKind::kLss, 1);
    case '>':
      if (n == '=') return one(TokenKind::kGte, 2);
      if (n == '/') return one(TokenKind::kTrimLower, 2);
      return one(TokenKind::kGtr, 1);
    case '"':
    case '\'':
    case '`': return LexString(c);
    default: break;
  }
  if (IsDigit(c) || (c == '.' && IsDigit(n))) return LexNumberOrDuration();
  if (IsAlpha(c) || c == ':') {
    size_t start = pos_;
    bool colon = false;
    while (pos_ < in_.size() && (IsAlnum(in_[pos_]) || in_[pos_] == ':')) {
      if (in_[pos_] == ':') colon = true;
      ++pos_;
    }
    t.text = std::string(in_.substr(start, pos_ - start));
    if (colon) {
      t.kind = TokenKind::kMetricIdentifier;
      return t;
    }
    std::string low = Lower(t.text);
    if (low == "inf" || low == "nan") {
      t.kind = TokenKind::kNumber;
      ParseNumber(low, &t.number);
      return t;
    }
    auto it = Keywords().find(low);
    t.kind = it == Keywords().end() ? TokenKind::kIdentifier : it->second;
    return t;
  }
  t.kind = TokenKind::kError;
  t.text = std::string("unexpected character: '") + c + "'";
  ++pos_;
  return t;
}

}  // namespace argus::promql
