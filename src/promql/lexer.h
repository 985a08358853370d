// The PromQL lexer (Prometheus promql/parser/lex.go): turns a query into tokens. Numbers
// follow Go's ParseFloat (decimal, hex `0x1f`, exponents, `Inf`/`NaN` in any case); durations
// follow model.ParseDuration (`1h30m`, `5m`, `1.5` is a number); strings are `"..."`, `'...'`
// (Go escapes) or backtick raw strings. Keywords (and, or, by, sum, offset, ...) are matched
// case-insensitively, as upstream does.
//
// Example:
//   Lexer lx("rate(x[5m])");
//   Token t = lx.Next();   // {kIdentifier, "rate", pos 0}
//
// Not thread-safe; one per parse.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace argus::promql {

enum class TokenKind {
  kEof, kError, kIdentifier, kMetricIdentifier, kNumber, kDuration, kString,
  kLeftParen, kRightParen, kLeftBrace, kRightBrace, kLeftBracket, kRightBracket, kComma,
  kColon, kAssign, kAt,
  // operators
  kAdd, kSub, kMul, kDiv, kMod, kPow, kEqlc, kNeq, kLte, kLss, kGte, kGtr, kEqlRegex, kNeqRegex,
  kTrimUpper, kTrimLower,  // "</" and ">/": native histogram trim operators
  // keywords (identifiers that have a meaning in context)
  kLand, kLor, kLunless, kAtan2, kBy, kWithout, kOn, kIgnoring, kGroupLeft, kGroupRight, kBool,
  kOffset, kStart, kEnd, kAggregator,
};

struct Token {
  TokenKind kind = TokenKind::kEof;
  std::string text;  // the raw text; for kString the unquoted value; for kError the message
  int pos = 0;       // byte offset
  double number = 0;      // kNumber
  int64_t duration_ms = 0;  // kDuration
};

// Prometheus' description of a token in errors, e.g. `<op:+>`, `identifier "foo"`, `"("`.
std::string DescribeToken(const Token& t);

// Parses a Prometheus duration ("1h30m", "5m", "1ms", "0"); false if malformed.
bool ParseDurationMs(std::string_view s, int64_t* ms);
// Parses a number as Go's strconv.ParseFloat would (incl. hex, inf, nan); false if malformed.
bool ParseNumber(std::string_view s, double* v);

class Lexer {
 public:
  explicit Lexer(std::string_view input) : in_(input) {}
  Token Next();
  // The token Next() would return, without consuming it.
  const Token& Peek();
  // Open '(' and '[' among the tokens lexed so far (for "unclosed left parenthesis").
  int paren_depth() const { return paren_depth_; }
  int bracket_depth() const { return bracket_depth_; }

 private:
  Token Lex();
  Token LexString(char quote);
  Token LexNumberOrDuration();
  std::string_view in_;
  size_t pos_ = 0;
  int bracket_depth_ = 0;
  int paren_depth_ = 0;  // inside [...] a ':' is always the subquery colon
  bool peeked_ = false;
  Token peek_;
};

}  // namespace argus::promql
