#include "logql/line_labels.h"

#include <algorithm>

namespace argus::logql {

namespace {

void AppendQuoted(std::string& out, std::string_view v) {
  static const char* kHex = "0123456789abcdef";
  out.push_back('"');
  for (unsigned char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

}  // namespace

std::string LabelSetString(const LabelSet& ls) {
  std::string out = "{";
  for (size_t i = 0; i < ls.size(); ++i) {
    if (i) out += ", ";
    out += ls[i].name;
    out += '=';
    AppendQuoted(out, ls[i].value);
  }
  out += '}';
  return out;
}

LineLabels::LineLabels(const Labels& stream) {
  entries_.reserve(stream.size() + 4);
  for (const Label& l : stream) entries_.push_back({l, Source::kStream});
}

int LineLabels::Find(std::string_view name) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].first.name == name) return static_cast<int>(i);
  }
  return -1;
}

void LineLabels::AddMetadata(std::string_view name, std::string_view value) {
  int i = Find(name);
  if (i >= 0) {
    std::string ext = std::string(name) + "_extracted";
    int j = Find(ext);
    if (j >= 0) {
      entries_[j].first.value = std::string(value);
    } else {
      entries_.push_back({Label{ext, std::string(value)}, Source::kMetadata});
    }
    return;
  }
  entries_.push_back({Label{std::string(name), std::string(value)}, Source::kMetadata});
}

void LineLabels::SetParsed(std::string_view name, std::string_view value, bool overwrite) {
  int i = Find(name);
  if (i >= 0 && entries_[i].second == Source::kParsed) {
    if (overwrite) entries_[i].first.value = std::string(value);
    return;
  }
  if (i >= 0) {
    std::string ext = std::string(name) + "_extracted";
    int j = Find(ext);
    if (j >= 0) {
      if (entries_[j].second == Source::kParsed && !overwrite) return;
      entries_[j] = {Label{ext, std::string(value)}, Source::kParsed};
    } else {
      entries_.push_back({Label{ext, std::string(value)}, Source::kParsed});
    }
    return;
  }
  entries_.push_back({Label{std::string(name), std::string(value)}, Source::kParsed});
}

void LineLabels::Set(std::string_view name, std::string_view value) {
  int i = Find(name);
  if (i >= 0) {
    entries_[i].first.value = std::string(value);
  } else {
    entries_.push_back({Label{std::string(name), std::string(value)}, Source::kParsed});
  }
}

void LineLabels::Del(std::string_view name) {
  int i = Find(name);
  if (i >= 0) entries_.erase(entries_.begin() + i);
}

bool LineLabels::Has(std::string_view name) const { return Find(name) >= 0; }

std::string_view LineLabels::Get(std::string_view name) const {
  int i = Find(name);
  return i >= 0 ? std::string_view(entries_[i].first.value) : std::string_view();
}

bool LineLabels::HasParsed(std::string_view name) const {
  int i = Find(name);
  return i >= 0 && entries_[i].second == Source::kParsed;
}

void LineLabels::SetError(std::string_view error, std::string_view details) {
  if (HasError()) return;
  Set(kErrorLabel, error);
  if (!details.empty() && !Has(kErrorDetailsLabel)) Set(kErrorDetailsLabel, details);
}

void LineLabels::Keep(const std::vector<std::string>& names) {
  std::erase_if(entries_, [&](const auto& e) {
    return std::find(names.begin(), names.end(), e.first.name) == names.end();
  });
}

LabelSet LineLabels::ToLabelSet() const {
  LabelSet out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) out.push_back(e.first);
  std::sort(out.begin(), out.end(), [](const Label& a, const Label& b) { return a.name < b.name; });
  return out;
}

}  // namespace argus::logql
