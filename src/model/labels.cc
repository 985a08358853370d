#include "model/labels.h"
#include "model/labels_view.h"

#include <algorithm>
#include <cstring>

namespace argus {

Labels Labels::FromMap(std::initializer_list<std::pair<std::string, std::string>> pairs) {
  LabelsBuilder b;
  for (const auto& [n, v] : pairs) b.Set(n, v);
  return b.Build();
}

Result<Labels> Labels::FromUnsorted(std::vector<Label> pairs) {
  std::erase_if(pairs, [](const Label& l) { return l.value.empty(); });
  std::sort(pairs.begin(), pairs.end(),
            [](const Label& a, const Label& b) { return a.name < b.name; });
  for (size_t i = 1; i < pairs.size(); ++i) {
    if (pairs[i].name == pairs[i - 1].name) {
      return Status::InvalidArgument("duplicate label name \"" + pairs[i].name + "\"");
    }
  }
  return Labels(std::move(pairs));
}

std::string_view Labels::Get(std::string_view name) const {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  if (it != labels_.end() && it->name == name) return it->value;
  return {};
}

bool Labels::Has(std::string_view name) const { return !Get(name).empty(); }

Labels Labels::WithoutMetricName() const {
  std::vector<Label> out;
  out.reserve(labels_.size());
  for (const auto& l : labels_) {
    if (l.name != kMetricNameLabel) out.push_back(l);
  }
  return Labels(std::move(out));
}

Labels Labels::Filter(const std::vector<std::string>& names, bool keep) const {
  std::vector<Label> out;
  for (const auto& l : labels_) {
    bool listed = std::find(names.begin(), names.end(), l.name) != names.end();
    if (listed == keep) out.push_back(l);
  }
  return Labels(std::move(out));
}

namespace {

// FNV-1a 64 over name\xff value\xff ... of a sorted label list; Labels and LabelsView share it
// so that a borrowed label set finds the series its owning copy created.
class LabelHasher {
 public:
  void Add(std::string_view s) {
    for (unsigned char c : s) {
      h_ ^= c;
      h_ *= 1099511628211ull;
    }
    h_ ^= 0xff;
    h_ *= 1099511628211ull;
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 14695981039346656037ull;
};

}  // namespace

uint64_t Labels::Hash() const {
  LabelHasher h;
  for (const auto& l : labels_) {
    h.Add(l.name);
    h.Add(l.value);
  }
  return h.value();
}

uint64_t LabelsView::Hash() const {
  LabelHasher h;
  for (const auto& l : labels_) {
    h.Add(l.name);
    h.Add(l.value);
  }
  return h.value();
}

std::string_view LabelsView::Get(std::string_view name) const {
  for (const auto& l : labels_) {
    if (l.name == name) return l.value;
  }
  return {};
}

Labels LabelsView::ToLabels() const {
  std::vector<Label> out;
  out.reserve(labels_.size());
  for (const auto& l : labels_) out.push_back(Label{std::string(l.name), std::string(l.value)});
  return Labels::FromSorted(std::move(out));
}

bool operator==(const LabelsView& a, const Labels& b) {
  if (a.labels_.size() != b.size()) return false;
  for (size_t i = 0; i < a.labels_.size(); ++i) {
    const Label& l = b.labels()[i];
    if (a.labels_[i].name != l.name || a.labels_[i].value != l.value) return false;
  }
  return true;
}

namespace {
void AppendQuoted(std::string* out, std::string_view v) {
  out->push_back('"');
  for (char c : v) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      default: out->push_back(c);
    }
  }
  out->push_back('"');
}
}  // namespace

std::string Labels::ToString() const {
  std::string out(MetricName());
  out.push_back('{');
  bool first = true;
  for (const auto& l : labels_) {
    if (l.name == kMetricNameLabel) continue;
    if (!first) out.append(", ");
    first = false;
    out.append(l.name);
    out.push_back('=');
    AppendQuoted(&out, l.value);
  }
  out.push_back('}');
  return out;
}

LabelsBuilder::LabelsBuilder(const Labels& base) {
  for (const auto& l : base) m_.emplace(l.name, l.value);
}

LabelsBuilder& LabelsBuilder::Set(std::string_view name, std::string_view value) {
  if (value.empty()) return Del(name);
  m_.insert_or_assign(std::string(name), std::string(value));
  return *this;
}

LabelsBuilder& LabelsBuilder::Del(std::string_view name) {
  auto it = m_.find(name);
  if (it != m_.end()) m_.erase(it);
  return *this;
}

std::string_view LabelsBuilder::Get(std::string_view name) const {
  auto it = m_.find(name);
  return it == m_.end() ? std::string_view() : std::string_view(it->second);
}

Labels LabelsBuilder::Build() const {
  std::vector<Label> v;
  v.reserve(m_.size());
  for (const auto& [n, val] : m_) v.push_back({n, val});
  return Labels::FromSorted(std::move(v));
}

bool IsLegacyLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsLegacyMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  while (i < n) {
    // Label names and values are almost always ASCII: skip 8 such bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if ((w & 0x8080808080808080ull) != 0) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace argus
