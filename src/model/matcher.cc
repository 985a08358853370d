#include "model/matcher.h"

#include <re2/re2.h>

namespace argus {

std::string_view MatchTypeString(MatchType t) {
  switch (t) {
    case MatchType::kEqual: return "=";
    case MatchType::kNotEqual: return "!=";
    case MatchType::kRegexMatch: return "=~";
    case MatchType::kRegexNoMatch: return "!~";
  }
  return "?";
}

namespace {
// Splits "a|b|c" into literals when it has no other regex metacharacters.
std::vector<std::string> LiteralAlternatives(const std::string& re) {
  static constexpr std::string_view kMeta = "\\.+*?()[]{}^$";
  std::vector<std::string> out;
  std::string cur;
  for (char c : re) {
    if (kMeta.find(c) != std::string_view::npos) return {};
    if (c == '|') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}
}  // namespace

Result<Matcher> Matcher::Make(MatchType type, std::string name, std::string value) {
  Matcher m;
  m.type_ = type;
  m.name_ = std::move(name);
  m.value_ = std::move(value);
  if (type == MatchType::kRegexMatch || type == MatchType::kRegexNoMatch) {
    RE2::Options opts;
    opts.set_log_errors(false);
    opts.set_dot_nl(true);  // Prometheus compiles with (?s).
    auto re = std::make_shared<RE2>("^(?:" + m.value_ + ")$", opts);
    if (!re->ok()) {
      return Status::InvalidArgument("error parsing regexp: " + re->error() + ": `" + m.value_ +
                                     "`");
    }
    m.re_ = std::move(re);
    m.set_matches_ = LiteralAlternatives(m.value_);
  }
  return m;
}

bool Matcher::Matches(std::string_view v) const {
  switch (type_) {
    case MatchType::kEqual: return v == value_;
    case MatchType::kNotEqual: return v != value_;
    case MatchType::kRegexMatch: return RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re_);
    case MatchType::kRegexNoMatch:
      return !RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re_);
  }
  return false;
}

std::string Matcher::ToString() const {
  std::string out = name_;
  out.append(MatchTypeString(type_));
  out.push_back('"');
  for (char c : value_) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

bool MatchesAll(const std::vector<Matcher>& ms, const Labels& ls) {
  for (const auto& m : ms) {
    if (!m.Matches(ls.Get(m.name()))) return false;
  }
  return true;
}

}  // namespace argus
