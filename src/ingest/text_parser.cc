#include "ingest/text_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>

namespace argus::ingest {

namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
bool IsLabelStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsLabelChar(char c) { return IsLabelStart(c) || (c >= '0' && c <= '9'); }

std::string_view TrimBlanks(std::string_view s) {
  size_t b = 0;
  while (b < s.size() && IsBlank(s[b])) ++b;
  size_t e = s.size();
  while (e > b && IsBlank(s[e - 1])) --e;
  return s.substr(b, e - b);
}

void SkipBlanks(std::string_view s, size_t* pos) {
  while (*pos < s.size() && IsBlank(s[*pos])) ++*pos;
}

// The token from *pos up to the next blank (or the end).
std::string_view Token(std::string_view s, size_t* pos) {
  size_t b = *pos;
  while (*pos < s.size() && !IsBlank(s[*pos])) ++*pos;
  return s.substr(b, *pos - b);
}

bool HasHighBit(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

// Quoted for error messages, shortened.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out = "\"";
  out.append(s.substr(0, kMax));
  if (s.size() > kMax) out.append("...");
  out.push_back('"');
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool ParseInt64(std::string_view s, int64_t* out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::optional<double> ParsePromFloat(std::string_view s) {
  bool neg = false;
  bool signed_value = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    signed_value = true;
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  double v = 0;
  if (EqualsIgnoreCase(s, "nan")) {
    if (signed_value) return std::nullopt;  // Go accepts a sign before Inf, not before NaN
    v = std::numeric_limits<double>::quiet_NaN();
  } else if (EqualsIgnoreCase(s, "inf") || EqualsIgnoreCase(s, "infinity")) {
    v = std::numeric_limits<double>::infinity();
  } else {
    char c = s[0];
    if (!((c >= '0' && c <= '9') || c == '.')) return std::nullopt;
    std::chars_format fmt = std::chars_format::general;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
      s.remove_prefix(2);
      fmt = std::chars_format::hex;
      // Go requires a 'p' exponent in hex floats.
      if (s.find_first_of("pP") == std::string_view::npos) return std::nullopt;
    }
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, fmt);
    if (p != s.data() + s.size()) return std::nullopt;
    if (ec == std::errc::result_out_of_range) {
      // Go returns ±Inf for overflow and 0 for underflow; from_chars leaves v unchanged, so
      // decide by the exponent's sign.
      size_t e = s.find_first_of(fmt == std::chars_format::hex ? "pP" : "eE");
      bool tiny = e != std::string_view::npos && e + 1 < s.size() && s[e + 1] == '-';
      v = tiny ? 0.0 : std::numeric_limits<double>::infinity();
    } else if (ec != std::errc()) {
      return std::nullopt;
    }
  }
  return neg ? -v : v;
}

std::optional<ExpositionFormat> FormatFromContentType(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  media = TrimBlanks(media);
  if (EqualsIgnoreCase(media, "application/openmetrics-text")) return ExpositionFormat::kOpenMetrics;
  if (EqualsIgnoreCase(media, "text/plain")) return ExpositionFormat::kPrometheusText;
  return std::nullopt;
}

TextParser::TextParser(std::string_view body, ExpositionFormat format, ParseOptions options)
    : body_(body), format_(format), options_(options) {}

Status TextParser::Error(std::string_view what) const {
  return Status::InvalidArgument("line " + std::to_string(line_no_) + ": " + std::string(what));
}

Result<bool> TextParser::Next() {
  while (pos_ < body_.size()) {
    const char* start = body_.data() + pos_;
    const void* nl = std::memchr(start, '\n', body_.size() - pos_);
    size_t len = nl ? static_cast<size_t>(static_cast<const char*>(nl) - start) : body_.size() - pos_;
    std::string_view line(start, len);
    pos_ += len + (nl ? 1 : 0);
    ++line_no_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (saw_eof_) return Error("unexpected data after # EOF");
    ASSIGN_OR_RETURN(bool entry, ParseLine(line));
    if (entry) return true;
  }
  if (format_ == ExpositionFormat::kOpenMetrics && !saw_eof_) {
    return Status::InvalidArgument("line " + std::to_string(line_no_) +
                                   ": data does not end with # EOF");
  }
  return false;
}

Result<bool> TextParser::ParseLine(std::string_view line) {
  std::string_view trimmed = TrimBlanks(line);
  if (trimmed.empty()) {
    if (format_ == ExpositionFormat::kOpenMetrics) return Error("unexpected empty line");
    return false;
  }
  if (format_ == ExpositionFormat::kOpenMetrics && trimmed.size() != line.size() &&
      IsBlank(line[0])) {
    return Error("unexpected leading whitespace");
  }
  if (trimmed[0] == '#') {
    bool is_entry = false;
    RETURN_IF_ERROR(ParseComment(trimmed, &is_entry));
    return is_entry;
  }
  RETURN_IF_ERROR(ParseSample(trimmed));
  if (options_.skip_created_series && format_ == ExpositionFormat::kOpenMetrics &&
      name_.size() == current_family_.size() + 8 && name_.ends_with("_created") &&
      name_.starts_with(current_family_) &&
      (current_type_ == MetricType::kCounter || current_type_ == MetricType::kHistogram ||
       current_type_ == MetricType::kSummary || current_type_ == MetricType::kGaugeHistogram)) {
    return false;
  }
  entry_ = Entry::kSample;
  return true;
}

namespace {

// Reads a double-quoted string starting at s[*pos] == '"'. Unescapes \\ \" \n (others kept)
// into `scratch` when needed. Returns false on an unterminated string.
bool ReadQuoted(std::string_view s, size_t* pos, std::string* scratch, std::string_view* out) {
  size_t b = *pos + 1;
  size_t i = b;
  bool escaped = false;
  while (i < s.size() && s[i] != '"') {
    if (s[i] == '\\') {
      escaped = true;
      if (i + 1 >= s.size()) return false;
      i += 2;
    } else {
      ++i;
    }
  }
  if (i >= s.size()) return false;
  std::string_view raw = s.substr(b, i - b);
  *pos = i + 1;
  if (!escaped) {
    *out = raw;
    return true;
  }
  // REQUIRES (caller): scratch has capacity for the whole line, so appending never
  // reallocates and earlier views into it stay valid.
  size_t start = scratch->size();
  for (size_t k = 0; k < raw.size(); ++k) {
    char c = raw[k];
    if (c == '\\' && k + 1 < raw.size()) {
      char n = raw[k + 1];
      if (n == '\\' || n == '"') {
        scratch->push_back(n);
        ++k;
        continue;
      }
      if (n == 'n') {
        scratch->push_back('\n');
        ++k;
        continue;
      }
    }
    scratch->push_back(c);
  }
  *out = std::string_view(scratch->data() + start, scratch->size() - start);
  return true;
}

}  // namespace

Status TextParser::ParseLabelSet(std::string_view line, size_t* pos, bool allow_name,
                                 std::vector<LabelRef>* out, std::string_view* name_out) {
  // REQUIRES: line[*pos] == '{'.
  ++*pos;
  out->clear();
  while (true) {
    SkipBlanks(line, pos);
    if (*pos >= line.size()) return Error("unterminated label set");
    if (line[*pos] == '}') {
      ++*pos;
      break;
    }
    std::string_view lname;
    bool quoted = false;
    if (line[*pos] == '"') {
      quoted = true;
      if (!ReadQuoted(line, pos, &scratch_, &lname)) return Error("unterminated quoted name");
      if (lname.empty()) return Error("empty quoted label name");
      if (HasHighBit(lname) && !IsValidUtf8(lname)) return Error("invalid UTF-8 in label name");
    } else if (IsLabelStart(line[*pos])) {
      size_t b = *pos;
      while (*pos < line.size() && IsLabelChar(line[*pos])) ++*pos;
      lname = line.substr(b, *pos - b);
    } else {
      return Error("invalid label name starting at " + Quote(line.substr(*pos)));
    }
    SkipBlanks(line, pos);
    if (*pos < line.size() && quoted && (line[*pos] == ',' || line[*pos] == '}')) {
      // A quoted metric name inside the braces (text format 1.0.0).
      if (!allow_name || !name_out->empty()) {
        return Error("unexpected quoted name " + Quote(lname) + " without a value");
      }
      *name_out = lname;
    } else {
      if (*pos >= line.size() || line[*pos] != '=') {
        return Error("expected '=' after label name " + Quote(lname));
      }
      ++*pos;
      SkipBlanks(line, pos);
      if (*pos >= line.size() || line[*pos] != '"') {
        return Error("expected quoted value for label " + Quote(lname));
      }
      std::string_view lvalue;
      if (!ReadQuoted(line, pos, &scratch_, &lvalue)) {
        return Error("unterminated value for label " + Quote(lname));
      }
      if (HasHighBit(lvalue) && !IsValidUtf8(lvalue)) {
        return Error("invalid UTF-8 in value of label " + Quote(lname));
      }
      out->push_back({lname, lvalue});
    }
    SkipBlanks(line, pos);
    if (*pos >= line.size()) return Error("unterminated label set");
    if (line[*pos] == ',') {
      ++*pos;
      continue;
    }
    if (line[*pos] != '}') {
      return Error("expected ',' or '}' in label set, got " + Quote(line.substr(*pos)));
    }
  }
  // Sort by name and reject duplicates (Prometheus rejects them at append time).
  std::sort(out->begin(), out->end(),
            [](const LabelRef& a, const LabelRef& b) { return a.name < b.name; });
  for (size_t i = 1; i < out->size(); ++i) {
    if ((*out)[i].name == (*out)[i - 1].name) {
      return Error("duplicate label name " + Quote((*out)[i].name));
    }
  }
  return Status::OK();
}

Status TextParser::ParseSample(std::string_view line) {
  scratch_.clear();
  if (scratch_.capacity() < line.size()) scratch_.reserve(line.size() * 2);
  name_ = {};
  t_ms_.reset();
  exemplar_.reset();
  size_t pos = 0;
  if (IsNameStart(line[0])) {
    while (pos < line.size() && IsNameChar(line[pos])) ++pos;
    name_ = line.substr(0, pos);
    size_t brace = pos;
    SkipBlanks(line, &brace);
    if (brace < line.size() && line[brace] == '{') pos = brace;
  } else if (line[0] != '{') {
    return Error("invalid metric name starting at " + Quote(line));
  }
  size_t series_end = pos;
  labels_.clear();
  if (pos < line.size() && line[pos] == '{') {
    bool name_in_braces = name_.empty();
    RETURN_IF_ERROR(ParseLabelSet(line, &pos, name_in_braces, &labels_, &name_));
    if (name_.empty()) return Error("missing metric name");
    series_end = pos;
  }
  while (series_end > 0 && IsBlank(line[series_end - 1])) --series_end;
  series_ = line.substr(0, series_end);
  if (HasHighBit(name_) && !IsValidUtf8(name_)) return Error("invalid UTF-8 in metric name");
  for (const LabelRef& l : labels_) {
    if (l.name == kMetricNameLabel) return Error("label __name__ set inside the label set");
  }

  if (pos >= line.size() || !IsBlank(line[pos])) {
    if (pos >= line.size()) return Error("missing value for " + Quote(series_));
    return Error("expected blank before value, got " + Quote(line.substr(pos)));
  }
  SkipBlanks(line, &pos);
  std::string_view vtok = Token(line, &pos);
  std::optional<double> v = ParsePromFloat(vtok);
  if (!v) return Error("invalid value " + Quote(vtok));
  value_ = *v;
  SkipBlanks(line, &pos);
  if (pos < line.size() && line[pos] != '#') {
    std::string_view ttok = Token(line, &pos);
    if (format_ == ExpositionFormat::kOpenMetrics) {
      std::optional<double> ts = ParsePromFloat(ttok);
      if (!ts || !std::isfinite(*ts)) return Error("invalid timestamp " + Quote(ttok));
      double ms = std::round(*ts * 1000.0);
      if (std::fabs(ms) > 9.2e18) return Error("timestamp out of range " + Quote(ttok));
      t_ms_ = static_cast<int64_t>(ms);
    } else {
      int64_t t = 0;
      if (!ParseInt64(ttok, &t)) return Error("invalid timestamp " + Quote(ttok));
      t_ms_ = t;
    }
    SkipBlanks(line, &pos);
  }
  if (pos >= line.size()) return Status::OK();
  if (line[pos] != '#') return Error("unexpected " + Quote(line.substr(pos)) + " after value");
  if (format_ != ExpositionFormat::kOpenMetrics) {
    return Error("exemplars and trailing comments are not allowed in the Prometheus text format");
  }
  // OpenMetrics exemplar: ` # {labels} value [timestamp]`.
  ++pos;
  if (pos >= line.size() || !IsBlank(line[pos])) return Error("expected blank after '#'");
  SkipBlanks(line, &pos);
  if (pos >= line.size() || line[pos] != '{') return Error("expected exemplar label set");
  std::string_view unused_name;
  RETURN_IF_ERROR(ParseLabelSet(line, &pos, false, &exemplar_labels_, &unused_name));
  ParsedExemplar ex;
  SkipBlanks(line, &pos);
  std::string_view evtok = Token(line, &pos);
  std::optional<double> ev = ParsePromFloat(evtok);
  if (!ev) return Error("invalid exemplar value " + Quote(evtok));
  ex.value = *ev;
  SkipBlanks(line, &pos);
  if (pos < line.size()) {
    std::string_view ettok = Token(line, &pos);
    std::optional<double> ets = ParsePromFloat(ettok);
    if (!ets || !std::isfinite(*ets) || std::fabs(*ets) > 9.2e15) {
      return Error("invalid exemplar timestamp " + Quote(ettok));
    }
    ex.t_ms = static_cast<int64_t>(std::round(*ets * 1000.0));
    SkipBlanks(line, &pos);
    if (pos < line.size()) return Error("unexpected " + Quote(line.substr(pos)) + " after exemplar");
  }
  std::vector<Label> els;
  els.reserve(exemplar_labels_.size());
  for (const LabelRef& l : exemplar_labels_) els.push_back({std::string(l.name), std::string(l.value)});
  ex.labels = Labels::FromSorted(std::move(els));
  exemplar_ = std::move(ex);
  return Status::OK();
}

Status TextParser::ParseComment(std::string_view line, bool* is_entry) {
  *is_entry = false;
  size_t pos = 1;
  bool om = format_ == ExpositionFormat::kOpenMetrics;
  if (om && line == "# EOF") {
    saw_eof_ = true;
    return Status::OK();
  }
  if (pos >= line.size() || !IsBlank(line[pos])) {
    if (om) return Error("invalid comment " + Quote(line));
    return Status::OK();
  }
  SkipBlanks(line, &pos);
  std::string_view keyword = Token(line, &pos);
  Entry kind;
  if (keyword == "HELP") {
    kind = Entry::kHelp;
  } else if (keyword == "TYPE") {
    kind = Entry::kType;
  } else if (keyword == "UNIT" && om) {
    kind = Entry::kUnit;
  } else {
    if (om) return Error("invalid metadata line " + Quote(line));
    return Status::OK();  // a plain comment
  }
  if (pos >= line.size()) return Error("missing metric name after # " + std::string(keyword));
  SkipBlanks(line, &pos);
  if (pos >= line.size()) return Error("missing metric name after # " + std::string(keyword));
  help_scratch_.clear();
  if (help_scratch_.capacity() < line.size()) help_scratch_.reserve(line.size() * 2);
  if (line[pos] == '"') {
    if (!ReadQuoted(line, &pos, &help_scratch_, &name_)) return Error("unterminated quoted name");
    if (name_.empty()) return Error("empty metric name");
    if (HasHighBit(name_) && !IsValidUtf8(name_)) return Error("invalid UTF-8 in metric name");
  } else {
    size_t b = pos;
    while (pos < line.size() && IsNameChar(line[pos])) ++pos;
    name_ = line.substr(b, pos - b);
    if (name_.empty() || !IsNameStart(name_[0])) {
      return Error("invalid metric name in # " + std::string(keyword) + " line");
    }
  }
  if (pos < line.size() && !IsBlank(line[pos])) {
    return Error("invalid metric name in # " + std::string(keyword) + " line");
  }
  // Exactly one blank separates the name from the text; the rest belongs to the text.
  if (pos < line.size()) ++pos;
  std::string_view rest = line.substr(pos);
  entry_ = kind;
  *is_entry = true;
  switch (kind) {
    case Entry::kHelp: {
      if (rest.find('\\') == std::string_view::npos) {
        text_ = rest;
        break;
      }
      size_t start = help_scratch_.size();
      for (size_t k = 0; k < rest.size(); ++k) {
        char c = rest[k];
        if (c == '\\' && k + 1 < rest.size()) {
          char n = rest[k + 1];
          if (n == '\\' || n == 'n' || (om && n == '"')) {
            help_scratch_.push_back(n == 'n' ? '\n' : n);
            ++k;
            continue;
          }
        }
        help_scratch_.push_back(c);
      }
      text_ = std::string_view(help_scratch_.data() + start, help_scratch_.size() - start);
      break;
    }
    case Entry::kType: {
      std::string_view t = TrimBlanks(rest);
      MetricType mt;
      if (t == "counter") mt = MetricType::kCounter;
      else if (t == "gauge") mt = MetricType::kGauge;
      else if (t == "histogram") mt = MetricType::kHistogram;
      else if (t == "summary") mt = MetricType::kSummary;
      else if (t == "untyped" && !om) mt = MetricType::kUnknown;
      else if (t == "unknown" && om) mt = MetricType::kUnknown;
      else if (t == "gaugehistogram" && om) mt = MetricType::kGaugeHistogram;
      else if (t == "info" && om) mt = MetricType::kInfo;
      else if (t == "stateset" && om) mt = MetricType::kStateSet;
      else return Error("invalid metric type " + Quote(t));
      type_ = mt;
      current_family_.assign(name_);
      current_type_ = mt;
      break;
    }
    case Entry::kUnit: {
      text_ = TrimBlanks(rest);
      if (!text_.empty() && !(name_.ends_with(text_) && name_.size() > text_.size() &&
                              name_[name_.size() - text_.size() - 1] == '_')) {
        return Error("unit " + Quote(text_) + " is not a suffix of metric " + Quote(name_));
      }
      break;
    }
    case Entry::kSample:
      break;
  }
  return Status::OK();
}

Labels TextParser::labels() const {
  std::vector<Label> out;
  out.reserve(labels_.size() + 1);
  bool name_done = false;
  for (const LabelRef& l : labels_) {
    if (!name_done && l.name > kMetricNameLabel) {
      out.push_back({std::string(kMetricNameLabel), std::string(name_)});
      name_done = true;
    }
    if (l.value.empty()) continue;  // an empty value is an absent label
    out.push_back({std::string(l.name), std::string(l.value)});
  }
  if (!name_done) out.push_back({std::string(kMetricNameLabel), std::string(name_)});
  return Labels::FromSorted(std::move(out));
}

Result<ParsedPage> ParseExposition(std::string_view body, ExpositionFormat format,
                                   ParseOptions options) {
  ParsedPage page;
  TextParser p(body, format, options);
  std::unordered_map<std::string, size_t> family_index;
  auto family = [&](std::string_view name) -> MetricMetadata& {
    auto [it, inserted] = family_index.try_emplace(std::string(name), page.metadata.size());
    if (inserted) {
      MetricMetadata md;
      md.metric_family = std::string(name);
      page.metadata.push_back(std::move(md));
    }
    return page.metadata[it->second];
  };
  while (true) {
    ASSIGN_OR_RETURN(bool more, p.Next());
    if (!more) break;
    switch (p.entry()) {
      case TextParser::Entry::kSample:
        page.samples.push_back({p.labels(), p.t_ms(), p.value(), p.exemplar()});
        break;
      case TextParser::Entry::kType: family(p.family()).type = p.type(); break;
      case TextParser::Entry::kHelp: family(p.family()).help = std::string(p.help()); break;
      case TextParser::Entry::kUnit: family(p.family()).unit = std::string(p.unit()); break;
    }
  }
  return page;
}

}  // namespace argus::ingest
