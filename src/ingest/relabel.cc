#include "ingest/relabel.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace argus::ingest {

namespace {

struct ActionName {
  RelabelAction action;
  std::string_view name;
};
constexpr std::array<ActionName, 11> kActions = {{
    {RelabelAction::kReplace, "replace"},
    {RelabelAction::kKeep, "keep"},
    {RelabelAction::kDrop, "drop"},
    {RelabelAction::kKeepEqual, "keepequal"},
    {RelabelAction::kDropEqual, "dropequal"},
    {RelabelAction::kHashMod, "hashmod"},
    {RelabelAction::kLabelMap, "labelmap"},
    {RelabelAction::kLabelDrop, "labeldrop"},
    {RelabelAction::kLabelKeep, "labelkeep"},
    {RelabelAction::kLowercase, "lowercase"},
    {RelabelAction::kUppercase, "uppercase"},
}};

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char AsciiUpper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool IsTemplateNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Whether `s` contains a `$name` or `${name}` reference (Prometheus' varInRegexTemplate checks
// for any '$').
bool HasTemplateVar(std::string_view s) { return s.find('$') != std::string_view::npos; }

// Valid label name for the UTF-8 name validation of Prometheus 3: non-empty valid UTF-8.
bool IsValidLabelName(std::string_view s) { return !s.empty() && IsValidUtf8(s); }

// A label set under construction: unsorted, unique names, no empty values.
class WorkingSet {
 public:
  explicit WorkingSet(const Labels& ls) : labels_(ls.labels()) {}
  std::string_view Get(std::string_view name) const {
    for (const Label& l : labels_) {
      if (l.name == name) return l.value;
    }
    return {};
  }
  void Set(std::string_view name, std::string_view value) {
    if (value.empty()) {
      Del(name);
      return;
    }
    for (Label& l : labels_) {
      if (l.name == name) {
        l.value.assign(value);
        return;
      }
    }
    labels_.push_back({std::string(name), std::string(value)});
  }
  void Del(std::string_view name) {
    std::erase_if(labels_, [&](const Label& l) { return l.name == name; });
  }
  const std::vector<Label>& labels() const { return labels_; }
  Labels Build() && {
    std::sort(labels_.begin(), labels_.end(),
              [](const Label& a, const Label& b) { return a.name < b.name; });
    return Labels::FromSorted(std::move(labels_));
  }

 private:
  std::vector<Label> labels_;
};

bool FullMatch(const re2::RE2& re, std::string_view s) {
  return RE2::FullMatch(re2::StringPiece(s.data(), s.size()), re);
}

// Runs `re` (already anchored) on `s`, filling `groups`; false if no match.
bool MatchGroups(const re2::RE2& re, std::string_view s, std::vector<std::string_view>* groups) {
  int n = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> sp(static_cast<size_t>(n));
  if (!re.Match(re2::StringPiece(s.data(), s.size()), 0, s.size(), RE2::UNANCHORED, sp.data(), n)) {
    return false;
  }
  groups->clear();
  for (const auto& g : sp) {
    groups->push_back(g.data() == nullptr ? std::string_view() : std::string_view(g.data(), g.size()));
  }
  return true;
}

bool ApplyOne(const RelabelConfig& c, WorkingSet* ws) {
  std::string val;
  for (size_t i = 0; i < c.source_labels.size(); ++i) {
    if (i > 0) val.append(c.separator);
    val.append(ws->Get(c.source_labels[i]));
  }
  const re2::RE2& re = c.re();
  switch (c.action) {
    case RelabelAction::kDrop:
      if (FullMatch(re, val)) return false;
      break;
    case RelabelAction::kKeep:
      if (!FullMatch(re, val)) return false;
      break;
    case RelabelAction::kDropEqual:
      if (ws->Get(c.target_label) == val) return false;
      break;
    case RelabelAction::kKeepEqual:
      if (ws->Get(c.target_label) != val) return false;
      break;
    case RelabelAction::kReplace: {
      std::vector<std::string_view> groups;
      if (!MatchGroups(re, val, &groups)) break;
      std::string target = ExpandTemplate(c.target_label, re, groups);
      if (!IsValidLabelName(target)) break;
      std::string res = ExpandTemplate(c.replacement, re, groups);
      ws->Set(target, res);  // an empty result deletes the label
      break;
    }
    case RelabelAction::kLowercase:
      std::transform(val.begin(), val.end(), val.begin(), AsciiLower);
      ws->Set(c.target_label, val);
      break;
    case RelabelAction::kUppercase:
      std::transform(val.begin(), val.end(), val.begin(), AsciiUpper);
      ws->Set(c.target_label, val);
      break;
    case RelabelAction::kHashMod: {
      std::string digest = Md5(val);
      uint64_t h = 0;
      for (int i = 8; i < 16; ++i) h = (h << 8) | static_cast<unsigned char>(digest[i]);
      ws->Set(c.target_label, std::to_string(h % c.modulus));
      break;
    }
    case RelabelAction::kLabelMap: {
      // Iterate over a snapshot: labels added here are not visited (as Go's Builder.Range).
      std::vector<Label> snapshot = ws->labels();
      std::sort(snapshot.begin(), snapshot.end(),
                [](const Label& a, const Label& b) { return a.name < b.name; });
      std::vector<std::string_view> groups;
      for (const Label& l : snapshot) {
        if (!MatchGroups(re, l.name, &groups)) continue;
        std::string name = ExpandTemplate(c.replacement, re, groups);
        if (IsValidLabelName(name)) ws->Set(name, l.value);
      }
      break;
    }
    case RelabelAction::kLabelDrop: {
      std::vector<Label> snapshot = ws->labels();
      for (const Label& l : snapshot) {
        if (FullMatch(re, l.name)) ws->Del(l.name);
      }
      break;
    }
    case RelabelAction::kLabelKeep: {
      std::vector<Label> snapshot = ws->labels();
      for (const Label& l : snapshot) {
        if (!FullMatch(re, l.name)) ws->Del(l.name);
      }
      break;
    }
  }
  return true;
}

}  // namespace

std::string_view RelabelActionName(RelabelAction a) {
  for (const auto& an : kActions) {
    if (an.action == a) return an.name;
  }
  return "unknown";
}

Result<RelabelAction> ParseRelabelAction(std::string_view s) {
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(), AsciiLower);
  for (const auto& an : kActions) {
    if (an.name == lower) return an.action;
  }
  return Status::InvalidArgument("unknown relabel action \"" + std::string(s) + "\"");
}

Status RelabelConfig::Compile() {
  const std::string an(RelabelActionName(action));
  const RelabelConfig defaults;
  auto err = [&](const std::string& m) { return Status::InvalidArgument(m); };
  bool needs_target = action == RelabelAction::kReplace || action == RelabelAction::kHashMod ||
                      action == RelabelAction::kLowercase || action == RelabelAction::kUppercase ||
                      action == RelabelAction::kKeepEqual || action == RelabelAction::kDropEqual;
  if (needs_target && target_label.empty()) {
    return err("relabel configuration for " + an + " action requires 'target_label' value");
  }
  if (action == RelabelAction::kReplace) {
    // A templated name is checked after expansion, when the rule is applied.
    if (!HasTemplateVar(target_label) && !IsValidLabelName(target_label)) return err("\"" + target_label + "\" is invalid 'target_label' for replace action");
  }
  bool plain_target = action == RelabelAction::kHashMod || action == RelabelAction::kLowercase ||
                      action == RelabelAction::kUppercase ||
                      action == RelabelAction::kKeepEqual || action == RelabelAction::kDropEqual;
  if (plain_target && (HasTemplateVar(target_label) || !IsValidLabelName(target_label))) {
    return err("\"" + target_label + "\" is invalid 'target_label' for " + an + " action");
  }
  if ((action == RelabelAction::kLowercase || action == RelabelAction::kUppercase) &&
      replacement != defaults.replacement) {
    return err("'replacement' can not be set for " + an + " action");
  }
  if (action == RelabelAction::kLabelMap && !HasTemplateVar(replacement) &&
      !IsValidLabelName(replacement)) {
    return err("\"" + replacement + "\" is invalid 'replacement' for labelmap action");
  }
  if (action == RelabelAction::kHashMod && modulus == 0) {
    return err("relabel configuration for hashmod requires non-zero modulus");
  }
  if ((action == RelabelAction::kKeepEqual || action == RelabelAction::kDropEqual) &&
      (regex != defaults.regex || modulus != 0 || separator != defaults.separator ||
       replacement != defaults.replacement)) {
    return err(an + " action requires only 'source_labels' and 'target_label', and no other fields");
  }
  if ((action == RelabelAction::kLabelDrop || action == RelabelAction::kLabelKeep) &&
      (!source_labels.empty() || !target_label.empty() || modulus != 0 ||
       separator != defaults.separator || replacement != defaults.replacement)) {
    return err(an + " action requires only 'regex', and no other fields");
  }
  RE2::Options opts;
  opts.set_log_errors(false);
  opts.set_dot_nl(true);  // Prometheus compiles "^(?s:" + regex + ")$"
  auto re = std::make_shared<RE2>("^(?:" + regex + ")$", opts);
  if (!re->ok()) {
    return err("invalid 'regex' \"" + regex + "\": " + re->error());
  }
  re_ = std::move(re);
  return Status::OK();
}

std::optional<Labels> Relabel(const Labels& labels, const std::vector<RelabelConfig>& cfgs) {
  if (cfgs.empty()) return labels;
  WorkingSet ws(labels);
  for (const RelabelConfig& c : cfgs) {
    if (!ApplyOne(c, &ws)) return std::nullopt;
  }
  return std::move(ws).Build();
}

std::string ExpandTemplate(std::string_view tmpl, const re2::RE2& re,
                           const std::vector<std::string_view>& groups) {
  std::string out;
  while (!tmpl.empty()) {
    size_t d = tmpl.find('$');
    if (d == std::string_view::npos) break;
    out.append(tmpl.substr(0, d));
    tmpl.remove_prefix(d + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      out.push_back('$');
      tmpl.remove_prefix(1);
      continue;
    }
    // Extract a name: `name` or `{name}`, name = [A-Za-z0-9_]+.
    std::string_view t = tmpl;
    bool brace = !t.empty() && t[0] == '{';
    if (brace) t.remove_prefix(1);
    size_t i = 0;
    while (i < t.size() && IsTemplateNameChar(t[i])) ++i;
    if (i == 0 || (brace && (i >= t.size() || t[i] != '}'))) {
      out.push_back('$');  // malformed: the '$' is literal text
      continue;
    }
    std::string_view name = t.substr(0, i);
    tmpl = t.substr(i + (brace ? 1 : 0));
    int num = 0;
    for (char c : name) {
      if (c < '0' || c > '9' || num >= 100000000) {
        num = -1;
        break;
      }
      num = num * 10 + (c - '0');
    }
    if (name.size() > 1 && name[0] == '0') num = -1;
    if (num >= 0) {
      if (static_cast<size_t>(num) < groups.size()) out.append(groups[static_cast<size_t>(num)]);
    } else {
      const auto& named = re.NamedCapturingGroups();
      auto it = named.find(std::string(name));
      if (it != named.end() && static_cast<size_t>(it->second) < groups.size()) {
        out.append(groups[static_cast<size_t>(it->second)]);
      }
    }
  }
  out.append(tmpl);
  return out;
}

// MD5 per RFC 1321.
std::string Md5(std::string_view data) {
  static constexpr uint32_t kS[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                      5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                      4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                      6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
  static constexpr uint32_t kK[64] = {
      0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
      0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
      0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
      0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
      0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
      0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
      0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
      0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
      0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
      0xeb86d391};
  uint32_t a0 = 0x67452301, b0 = 0xefcdab89, c0 = 0x98badcfe, d0 = 0x10325476;
  std::string msg(data);
  uint64_t bit_len = static_cast<uint64_t>(data.size()) * 8;
  msg.push_back(static_cast<char>(0x80));
  while (msg.size() % 64 != 56) msg.push_back('\0');
  for (int i = 0; i < 8; ++i) msg.push_back(static_cast<char>((bit_len >> (8 * i)) & 0xff));
  auto rotl = [](uint32_t x, uint32_t c) { return (x << c) | (x >> (32 - c)); };
  for (size_t off = 0; off < msg.size(); off += 64) {
    uint32_t m[16];
    for (int i = 0; i < 16; ++i) {
      const auto* p = reinterpret_cast<const unsigned char*>(msg.data() + off + 4 * i);
      m[i] = static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
             (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
    }
    uint32_t a = a0, b = b0, c = c0, d = d0;
    for (uint32_t i = 0; i < 64; ++i) {
      uint32_t f, g;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) % 16;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) % 16;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) % 16;
      }
      f = f + a + kK[i] + m[g];
      a = d;
      d = c;
      c = b;
      b = b + rotl(f, kS[i]);
    }
    a0 += a;
    b0 += b;
    c0 += c;
    d0 += d;
  }
  std::string out(16, '\0');
  uint32_t words[4] = {a0, b0, c0, d0};
  for (int w = 0; w < 4; ++w) {
    for (int i = 0; i < 4; ++i) out[4 * w + i] = static_cast<char>((words[w] >> (8 * i)) & 0xff);
  }
  return out;
}

}  // namespace argus::ingest
