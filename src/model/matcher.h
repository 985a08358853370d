// Label matchers: the `name="v"`, `!=`, `=~` and `!~` of PromQL selectors (Prometheus docs,
// querying/basics "Time series selectors"), shared by the metrics, logs and traces engines.
// Regex matchers are fully anchored and use RE2 (Go's regexp syntax, which PromQL specifies).
// An absent label matches as the empty string, so `foo=""` selects series without `foo`.
//
// Example:
//   ASSIGN_OR_RETURN(Matcher m, Matcher::Make(MatchType::kRegexMatch, "job", "node|api"));
//   m.Matches("node");   // true
//   m.Matches("node2");  // false: anchored
//
// Thread-safety: immutable after Make; Matches may be called from many threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/labels.h"
#include "util/status.h"

namespace re2 {
class RE2;
}

namespace argus {

enum class MatchType { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

// "=", "!=", "=~", "!~".
std::string_view MatchTypeString(MatchType t);

class Matcher {
 public:
  // Returns InvalidArgument for a regex RE2 does not accept (message carries RE2's error).
  static Result<Matcher> Make(MatchType type, std::string name, std::string value);

  MatchType type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }

  // Whether a label whose value is `v` ("" when absent) satisfies the matcher.
  bool Matches(std::string_view v) const;
  // Whether the empty string matches (then series lacking the label are selected too).
  bool MatchesEmpty() const { return Matches(""); }

  // For regex matchers that are a plain alternation of literals ("a|b|c"), the literals;
  // lets the index look them up instead of scanning all values. Empty otherwise.
  const std::vector<std::string>& set_matches() const { return set_matches_; }

  // `name="value"` with the value quoted as PromQL prints it.
  std::string ToString() const;

 private:
  Matcher() = default;
  MatchType type_ = MatchType::kEqual;
  std::string name_;
  std::string value_;
  std::shared_ptr<const re2::RE2> re_;  // shared: Matcher is copied into query plans.
  std::vector<std::string> set_matches_;
};

// True if every matcher matches the corresponding value of `ls`.
bool MatchesAll(const std::vector<Matcher>& ms, const Labels& ls);

}  // namespace argus
