// The TraceQL lexer: turns a query into tokens the way Tempo's lexer does (grafana/tempo
// pkg/traceql/lexer.go), including its two quirks that the grammar depends on:
//   - after `.`, `span.`, `resource.`, `parent.`, `event.`, `link.` or `instrumentation.` the
//     lexer reads an attribute name: every character up to whitespace or one of
//     `{ } ( ) = ~ ! < > & | ^ ,` (so `.http.status` is one name), with `"..."` parts quoted
//     (escapes `\"` and `\\` only), followed by an END_ATTRIBUTE token;
//   - a number directly followed by duration units is a duration (`1.5ms`, `1h30m`, `2d`),
//     spelled as in Prometheus or Go.
// Multi-character operators are the longest match (`!>>`, `&>>`, `=~`).
//
// Example:
//   ASSIGN_OR_RETURN(std::vector<Token> toks, Lex("{ .a = 1 }"));
//   toks: kOpenBrace kDot kIdentifier("a") kEndAttribute kEq kInteger(1) kCloseBrace kEof
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace argus::traceql {

enum class Tok {
  kEof,
  kIdentifier, kString, kInteger, kFloat, kDuration,
  kComma, kDot, kOpenBrace, kCloseBrace, kOpenParens, kCloseParens,
  kEq, kNeq, kRe, kNre, kGt, kGte, kLt, kLte,
  kAdd, kSub, kDiv, kMod, kMul, kPow,
  kAnd, kOr, kNot, kPipe,
  kDesc, kAnce, kSibl,                                       // >> << ~
  kNotChild, kNotParent, kNotDesc, kNotAnce,                  // !> !< !>> !<<
  kUnionSibl, kUnionChild, kUnionParent, kUnionDesc, kUnionAnce,  // &~ &> &< &>> &<<
  kTrue, kFalse, kNil,
  kStatusOk, kStatusError, kStatusUnset,
  kKindUnspecified, kKindInternal, kKindServer, kKindClient, kKindProducer, kKindConsumer,
  kIDuration, kChildCount, kName, kStatus, kStatusMessage, kKind, kRootName, kRootServiceName,
  kRootService, kTraceDuration, kNestedSetLeft, kNestedSetRight, kNestedSetParent, kId,
  kTraceId, kSpanId, kParentId, kTimeSinceStart, kVersion, kParent,
  kParentDot, kResourceDot, kSpanDot, kTraceColon, kSpanColon, kEventColon, kLinkColon,
  kInstrumentationColon, kEventDot, kLinkDot, kInstrumentationDot,
  kCount, kAvg, kMax, kMin, kSum, kBy, kCoalesce, kSelect,
  kRate, kCountOverTime, kMinOverTime, kMaxOverTime, kAvgOverTime, kSumOverTime,
  kQuantileOverTime, kHistogramOverTime, kCompare, kTopK, kBottomK, kWith,
  kEndAttribute,
};

struct Token {
  Tok tok = Tok::kEof;
  std::string text;     // identifier/attribute name, unquoted string, or the source text
  int64_t i = 0;        // kInteger; kDuration in nanoseconds
  double f = 0;         // kFloat
  int line = 1, col = 1;  // 1-based position of the token's first character
};

// The tokens of `query`, ending with kEof. InvalidArgument ("parse error at line L, col C:
// ...") for an unterminated string, a bad escape or an out-of-range number.
Result<std::vector<Token>> Lex(std::string_view query);

// A short description of a token for error messages, e.g. `"}"` or `identifier "foo"`.
std::string DescribeToken(const Token& t);

// Parses a duration as Prometheus (`1d2h`, `1w`, `1y`) or Go (`1.5ms`, `2h45m`, `1µs`) spells
// it; nanoseconds, or nullopt.
bool ParseTraceQLDuration(std::string_view s, int64_t* ns);

}  // namespace argus::traceql
