#include "model/histogram_notation.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>

namespace argus {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

Result<double> ParseNumber(std::string_view s, std::string_view key) {
  std::string t(s);
  std::string lower;
  for (char c : t) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "inf" || lower == "+inf") return HUGE_VAL;
  if (lower == "-inf") return -HUGE_VAL;
  if (lower == "nan") return std::nan("");
  if (!t.empty()) {
    errno = 0;
    char* end = nullptr;
    double v = std::strtod(t.c_str(), &end);
    // strtod also takes "infinity" and "nan(...)"; Prometheus' lexer does not.
    if (end == t.c_str() + t.size() && lower.find("in") == std::string::npos &&
        lower.find("na") == std::string::npos) {
      return v;
    }
  }
  return Status::InvalidArgument("error parsing " + std::string(key) + ": bad number \"" + t + "\"");
}

Result<int64_t> ParseInt(std::string_view s, std::string_view key) {
  std::string t(s);
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(t.c_str(), &end, 10);
  if (t.empty() || end != t.c_str() + t.size() || errno != 0 || v < INT32_MIN || v > INT32_MAX) {
    return Status::InvalidArgument("error parsing " + std::string(key) + ": bad integer \"" + t +
                                   "\"");
  }
  return static_cast<int64_t>(v);
}

Result<std::vector<double>> ParseList(std::string_view s, std::string_view key) {
  s = Trim(s);
  if (s.size() < 2 || s.front() != '[' || s.back() != ']') {
    return Status::InvalidArgument("error parsing " + std::string(key) + ": expected [...]");
  }
  s = s.substr(1, s.size() - 2);
  std::vector<double> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    size_t j = i;
    while (j < s.size() && !IsSpace(s[j])) ++j;
    if (j > i) {
      ASSIGN_OR_RETURN(double v, ParseNumber(s.substr(i, j - i), key));
      out.push_back(v);
    }
    i = j;
  }
  return out;
}

std::vector<Span> OneSpan(int64_t offset, size_t n) {
  if (n == 0) return {};
  return {Span{static_cast<int32_t>(offset), static_cast<uint32_t>(n)}};
}

}  // namespace

bool IsHistogramItem(std::string_view item) { return item.substr(0, 2) == "{{"; }

Result<FloatHistogram> ParseHistogramLiteral(std::string_view text) {
  text = Trim(text);
  if (text.size() < 4 || text.substr(0, 2) != "{{" || text.substr(text.size() - 2) != "}}") {
    return Status::InvalidArgument("histogram literal must be {{...}}: \"" + std::string(text) +
                                   "\"");
  }
  std::string_view body = text.substr(2, text.size() - 4);
  // key -> raw value text
  std::map<std::string, std::string, std::less<>> kv;
  size_t i = 0;
  while (i < body.size()) {
    while (i < body.size() && IsSpace(body[i])) ++i;
    if (i >= body.size()) break;
    size_t colon = body.find(':', i);
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument("histogram literal: expected key:value at \"" +
                                     std::string(body.substr(i)) + "\"");
    }
    std::string key(Trim(body.substr(i, colon - i)));
    size_t v = colon + 1;
    while (v < body.size() && IsSpace(body[v])) ++v;
    size_t end;
    if (v < body.size() && body[v] == '[') {
      end = body.find(']', v);
      if (end == std::string_view::npos) {
        return Status::InvalidArgument("histogram literal: unterminated [ for " + key);
      }
      ++end;
    } else {
      end = v;
      while (end < body.size() && !IsSpace(body[end])) ++end;
    }
    kv[key] = std::string(body.substr(v, end - v));
    i = end;
  }

  FloatHistogram h;
  std::vector<double> pb, nb;
  int64_t offset = 0, n_offset = 0;
  for (const auto& [key, val] : kv) {
    if (key == "schema") {
      ASSIGN_OR_RETURN(int64_t s, ParseInt(val, "schema number"));
      h.schema = static_cast<int32_t>(s);
    } else if (key == "sum") {
      ASSIGN_OR_RETURN(h.sum, ParseNumber(val, key));
    } else if (key == "count") {
      ASSIGN_OR_RETURN(h.count, ParseNumber(val, key));
    } else if (key == "z_bucket") {
      ASSIGN_OR_RETURN(h.zero_count, ParseNumber(val, key));
    } else if (key == "z_bucket_w") {
      ASSIGN_OR_RETURN(h.zero_threshold, ParseNumber(val, key));
    } else if (key == "buckets") {
      ASSIGN_OR_RETURN(pb, ParseList(val, key));
    } else if (key == "n_buckets") {
      ASSIGN_OR_RETURN(nb, ParseList(val, key));
    } else if (key == "custom_values") {
      ASSIGN_OR_RETURN(h.custom_values, ParseList(val, key));
    } else if (key == "offset") {
      ASSIGN_OR_RETURN(offset, ParseInt(val, key));
    } else if (key == "n_offset") {
      ASSIGN_OR_RETURN(n_offset, ParseInt(val, key));
    } else if (key == "counter_reset_hint") {
      if (val == "unknown") {
        h.counter_reset_hint = CounterResetHint::kUnknown;
      } else if (val == "reset") {
        h.counter_reset_hint = CounterResetHint::kCounterReset;
      } else if (val == "not_reset") {
        h.counter_reset_hint = CounterResetHint::kNotCounterReset;
      } else if (val == "gauge") {
        h.counter_reset_hint = CounterResetHint::kGauge;
      } else {
        return Status::InvalidArgument("error parsing counter_reset_hint: \"" + val + "\"");
      }
    } else {
      return Status::InvalidArgument("histogram literal: unknown key \"" + key + "\"");
    }
  }
  h.positive_spans = OneSpan(offset, pb.size());
  h.positive_buckets = std::move(pb);
  h.negative_spans = OneSpan(n_offset, nb.size());
  h.negative_buckets = std::move(nb);
  return h;
}

Result<std::vector<FloatHistogram>> ExpandHistogramItem(std::string_view item) {
  item = Trim(item);
  size_t close = item.find("}}");
  if (!IsHistogramItem(item) || close == std::string_view::npos) {
    return Status::InvalidArgument("not a histogram item: \"" + std::string(item) + "\"");
  }
  ASSIGN_OR_RETURN(FloatHistogram base, ParseHistogramLiteral(item.substr(0, close + 2)));
  std::string_view rest = item.substr(close + 2);
  if (rest.empty()) return std::vector<FloatHistogram>{std::move(base)};

  auto parse_times = [&](std::string_view t) -> Result<uint64_t> {
    if (t.size() < 2 || t[0] != 'x') {
      return Status::InvalidArgument("histogram item: expected xK after }} in \"" +
                                     std::string(item) + "\"");
    }
    std::string digits(t.substr(1));
    char* end = nullptr;
    unsigned long long k = std::strtoull(digits.c_str(), &end, 10);
    if (digits.empty() || end != digits.c_str() + digits.size() || !std::isdigit(digits[0])) {
      return Status::InvalidArgument("histogram item: bad repetition count in \"" +
                                     std::string(item) + "\"");
    }
    if (k > kMaxHistogramRepetitions) {
      return Status::InvalidArgument("histogram item: repetition count " + digits +
                                     " is above the limit of " +
                                     std::to_string(kMaxHistogramRepetitions));
    }
    return static_cast<uint64_t>(k);
  };

  if (rest[0] == 'x') {
    ASSIGN_OR_RETURN(uint64_t k, parse_times(rest));
    return std::vector<FloatHistogram>(k + 1, base);
  }
  if (rest[0] != '+' && rest[0] != '-') {
    return Status::InvalidArgument("histogram item: unexpected \"" + std::string(rest) + "\"");
  }
  bool sub = rest[0] == '-';
  rest.remove_prefix(1);
  size_t close2 = rest.find("}}");
  if (!IsHistogramItem(rest) || close2 == std::string_view::npos) {
    return Status::InvalidArgument("histogram item: expected {{...}} after +/- in \"" +
                                   std::string(item) + "\"");
  }
  ASSIGN_OR_RETURN(FloatHistogram inc, ParseHistogramLiteral(rest.substr(0, close2 + 2)));
  ASSIGN_OR_RETURN(uint64_t k, parse_times(rest.substr(close2 + 2)));
  std::vector<FloatHistogram> out;
  out.reserve(k + 1);
  out.push_back(base);
  for (uint64_t i = 1; i <= k; ++i) {
    FloatHistogram cur = out.back();
    Result<AddResult> r = sub ? cur.Sub(inc) : cur.Add(inc);
    if (!r.ok()) {
      return Status::InvalidArgument("error combining histograms: " + r.status().message());
    }
    out.push_back(std::move(cur));
  }
  return out;
}

std::vector<std::string_view> SplitSeriesItems(std::string_view values) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < values.size()) {
    while (i < values.size() && IsSpace(values[i])) ++i;
    if (i >= values.size()) break;
    size_t j = i;
    int depth = 0;
    while (j < values.size()) {
      if (values.compare(j, 2, "{{") == 0) {
        ++depth;
        j += 2;
        continue;
      }
      if (values.compare(j, 2, "}}") == 0 && depth > 0) {
        --depth;
        j += 2;
        continue;
      }
      if (depth == 0 && IsSpace(values[j])) break;
      ++j;
    }
    out.push_back(values.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string FormatHistogramLiteral(const FloatHistogram& h) { return h.TestExpression(); }

}  // namespace argus
