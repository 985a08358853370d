#include "logql/detect.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "logql/convert.h"
#include "logql/line_labels.h"
#include "logql/stages.h"

namespace argus::logql {

namespace {

constexpr std::string_view kPlaceholder = "<_>";

bool ParsesAsInt(std::string_view v) {
  // strconv.ParseInt(v, 10, 64): optional sign, decimal digits, in range.
  if (v.empty()) return false;
  size_t i = (v[0] == '+' || v[0] == '-') ? 1 : 0;
  if (i == v.size()) return false;
  for (size_t j = i; j < v.size(); ++j) {
    if (!std::isdigit(static_cast<unsigned char>(v[j]))) return false;
  }
  std::string s(v);
  errno = 0;
  (void)std::strtoll(s.c_str(), nullptr, 10);
  return errno == 0;
}

bool ParsesAsBool(std::string_view v) {
  // strconv.ParseBool.
  for (std::string_view b : {"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"}) {
    if (v == b) return true;
  }
  return false;
}

bool IsUuid(std::string_view v) {
  // Go's uuid.Parse forms: 8-4-4-4-12, urn:uuid: prefix, {braced}, 32 hex digits.
  auto hex = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  };
  if (v.size() == 32) return hex(v);
  if (v.size() == 45 && v.substr(0, 9) == "urn:uuid:") v.remove_prefix(9);
  if (v.size() == 38 && v.front() == '{' && v.back() == '}') v = v.substr(1, 36);
  if (v.size() != 36) return false;
  for (size_t i : {8, 13, 18, 23}) {
    if (v[i] != '-') return false;
  }
  return hex(v.substr(0, 8)) && hex(v.substr(9, 4)) && hex(v.substr(14, 4)) && hex(v.substr(19, 4)) &&
         hex(v.substr(24));
}

// Loki's containsAllIDTypes: every value is a float or a UUID.
bool AllIds(const std::set<std::string>& values) {
  for (const std::string& v : values) {
    if (!ParseGoFloat(v).ok() && !IsUuid(v)) return false;
  }
  return true;
}

// Loki's shouldRejectLabel.
bool RejectLabel(const std::set<std::string>& values) {
  if (values.empty()) return true;
  if (values.size() > 2) return AllIds(values);
  for (const std::string& v : values) {
    if (v != "0" && v != "1") return AllIds(values);
  }
  return false;
}

// Walks a JSON object, calling `fn(flat_name, path, value)` for each scalar. Arrays are
// skipped as Loki's json parser skips them.
template <typename Fn>
void WalkJson(simdjson::dom::element el, std::vector<std::string>& path, const Fn& fn) {
  using simdjson::dom::element_type;
  switch (el.type()) {
    case element_type::OBJECT: {
      simdjson::dom::object obj;
      if (el.get_object().get(obj) != simdjson::SUCCESS) return;
      for (auto field : obj) {
        path.emplace_back(field.key);
        WalkJson(field.value, path, fn);
        path.pop_back();
      }
      return;
    }
    case element_type::ARRAY:
      return;
    case element_type::STRING:
      fn(path, std::string_view(el.get_string().value_unsafe()));
      return;
    case element_type::INT64:
      fn(path, std::to_string(el.get_int64().value_unsafe()));
      return;
    case element_type::UINT64:
      fn(path, std::to_string(el.get_uint64().value_unsafe()));
      return;
    case element_type::DOUBLE:
      fn(path, FormatFloat(el.get_double().value_unsafe()));
      return;
    case element_type::BOOL:
      fn(path, el.get_bool().value_unsafe() ? "true" : "false");
      return;
    case element_type::NULL_VALUE:
      return;
  }
}

std::vector<std::string> Tokenize(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.emplace_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool HasDigit(std::string_view t) {
  return std::any_of(t.begin(), t.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

std::string DetectFieldType(std::string_view v) {
  if (ParsesAsInt(v)) return "int";
  if (ParseGoFloat(v).ok()) return "float";
  if (ParsesAsBool(v)) return "boolean";
  if (ParseGoDuration(v).ok()) return "duration";
  if (ParseHumanBytes(v).ok()) return "bytes";
  return "string";
}

void FieldDetector::Record(const std::string& name, std::string_view value, const char* parser,
                           const std::vector<std::string>* json_path) {
  if (value.empty()) return;
  auto [it, fresh] = fields_.try_emplace(name);
  Field& f = it->second;
  if (fresh) {
    f.info.label = name;
    f.info.type = DetectFieldType(value);
    if (json_path) f.info.json_path = *json_path;
  }
  if (parser && std::find(f.info.parsers.begin(), f.info.parsers.end(), parser) == f.info.parsers.end()) {
    f.info.parsers.push_back(parser);
    std::sort(f.info.parsers.begin(), f.info.parsers.end());
  }
  // Bound the memory one high-cardinality field can take; its cardinality saturates there.
  if (f.values.size() < 100000) f.values.emplace(value);
}

void FieldDetector::Add(const Labels& stream, const logstore::LogEntry& entry) {
  auto field_name = [&](std::string name) {
    if (stream.Has(name)) name += "_extracted";
    return name;
  };
  for (const Label& m : entry.metadata) Record(field_name(m.name), m.value, nullptr, nullptr);
  std::string_view line = entry.line;
  size_t first = line.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && line[first] == '{') {
    static thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(line.data(), line.size()).get(doc) == simdjson::SUCCESS &&
        doc.type() == simdjson::dom::element_type::OBJECT) {
      std::vector<std::string> path;
      WalkJson(doc, path, [&](const std::vector<std::string>& p, std::string_view v) {
        std::string flat;
        for (const std::string& k : p) {
          if (!flat.empty()) flat += '_';
          flat += k;
        }
        Record(field_name(SanitizeLabelKey(flat)), v, "json", &p);
      });
      return;
    }
  }
  static const StagePtr logfmt = *MakeLogfmtParser(false, false, {});
  std::string copy(line);
  LineLabels ll;
  logfmt->Process(entry.ts_ns, copy, ll);
  if (ll.HasError()) return;
  for (const auto& [l, src] : ll.entries()) {
    if (src == LineLabels::Source::kParsed) Record(field_name(l.name), l.value, "logfmt", nullptr);
  }
}

std::vector<DetectedField> FieldDetector::Fields(size_t limit) const {
  std::vector<DetectedField> out;
  for (const auto& [name, f] : fields_) {
    if (out.size() >= limit) break;
    out.push_back(f.info);
    out.back().cardinality = f.values.size();
  }
  return out;
}

std::vector<std::string> FieldDetector::Values(std::string_view name, size_t limit) const {
  auto it = fields_.find(std::string(name));
  if (it == fields_.end()) return {};
  std::vector<std::string> out;
  for (const std::string& v : it->second.values) {
    if (out.size() >= limit) break;
    out.push_back(v);
  }
  return out;
}

std::vector<DetectedLabel> DetectLabels(const std::vector<Labels>& streams) {
  static const std::set<std::string> kStatic = {"cluster", "namespace", "instance", "pod"};
  std::map<std::string, std::set<std::string>> values;
  for (const Labels& ls : streams) {
    for (const Label& l : ls) {
      if (l.name.rfind("__", 0) == 0) continue;
      values[l.name].insert(l.value);
    }
  }
  std::vector<DetectedLabel> out;
  for (const auto& [name, vs] : values) {
    if ((kStatic.contains(name) && !vs.empty()) || !RejectLabel(vs)) out.push_back({name, vs.size()});
  }
  return out;
}

std::string EntryLevel(const Labels& stream, const logstore::LogEntry& entry) {
  for (std::string_view name : {"detected_level", "level", "severity"}) {
    for (const Label& m : entry.metadata) {
      if (m.name == name && !m.value.empty()) return m.value;
    }
    std::string_view v = stream.Get(name);
    if (!v.empty()) return std::string(v);
  }
  return "unknown";
}

void PatternMiner::Add(int64_t ts_ns, std::string_view line, std::string_view level) {
  std::vector<std::string> tokens = Tokenize(line);
  if (tokens.empty()) return;
  std::string key = std::to_string(tokens.size());
  key += '\x1f';
  key += HasDigit(tokens[0]) ? kPlaceholder : std::string_view(tokens[0]);
  key += '\x1f';
  key += level;
  std::vector<Cluster>& group = groups_[key];
  Cluster* best = nullptr;
  double best_sim = -1;
  for (Cluster& c : group) {
    size_t same = 0;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (c.tokens[i] == tokens[i]) ++same;
    }
    double sim = static_cast<double>(same) / static_cast<double>(tokens.size());
    if (sim > best_sim) {
      best_sim = sim;
      best = &c;
    }
  }
  if (best && (best_sim >= 0.3 || group.size() >= max_clusters_)) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (best->tokens[i] != tokens[i]) best->tokens[i] = kPlaceholder;
    }
    best->ts_ns.push_back(ts_ns);
    return;
  }
  Cluster c;
  c.tokens = std::move(tokens);
  c.ts_ns.push_back(ts_ns);
  group.push_back(std::move(c));
}

std::vector<DetectedPattern> PatternMiner::Patterns(int64_t step_ns) const {
  // Clusters whose templates converged to the same text are reported as one pattern.
  std::map<std::pair<std::string, std::string>, std::map<int64_t, uint64_t>> merged;
  for (const auto& [key, group] : groups_) {
    std::string level = key.substr(key.rfind('\x1f') + 1);
    for (const Cluster& c : group) {
      std::string text;
      for (const std::string& t : c.tokens) {
        if (!text.empty()) text += ' ';
        text += t;
      }
      auto& buckets = merged[{text, level}];
      for (int64_t ts : c.ts_ns) {
        int64_t mod = ts % step_ns;
        if (mod < 0) mod += step_ns;
        ++buckets[ts - mod];
      }
    }
  }
  std::vector<DetectedPattern> out;
  for (auto& [k, buckets] : merged) {
    DetectedPattern p;
    p.pattern = k.first;
    p.level = k.second;
    for (const auto& [t, n] : buckets) {
      p.samples.emplace_back(t, n);
      p.total += n;
    }
    out.push_back(std::move(p));
  }
  std::stable_sort(out.begin(), out.end(), [](const DetectedPattern& a, const DetectedPattern& b) {
    return a.total > b.total;
  });
  return out;
}

}  // namespace argus::logql
