#include "tsdb/postings.h"

#include <algorithm>
#include <mutex>

namespace argus::tsdb {

void MemPostings::Add(uint64_t ref, const Labels& labels) {
  std::unique_lock lock(mu_);
  for (const auto& l : labels) {
    auto name_it = index_.find(l.name);
    if (name_it == index_.end()) name_it = index_.emplace(l.name, Values{}).first;
    auto value_it = name_it->second.find(l.value);
    if (value_it == name_it->second.end()) {
      value_it = name_it->second.emplace(l.value, ::Roaring64Map{}).first;
    }
    value_it->second.add(ref);
  }
  all_.add(ref);
}

void MemPostings::Delete(uint64_t ref, const Labels& labels) {
  std::unique_lock lock(mu_);
  for (const auto& l : labels) {
    auto name_it = index_.find(l.name);
    if (name_it == index_.end()) continue;
    auto value_it = name_it->second.find(l.value);
    if (value_it == name_it->second.end()) continue;
    value_it->second.remove(ref);
    if (value_it->second.isEmpty()) name_it->second.erase(value_it);
    if (name_it->second.empty()) index_.erase(name_it);
  }
  all_.remove(ref);
}

::Roaring64Map MemPostings::UnionWhere(const Matcher& m, bool want) const {
  ::Roaring64Map out;
  auto name_it = index_.find(m.name());
  if (name_it == index_.end()) return out;
  const Values& values = name_it->second;
  auto add_value = [&](std::string_view v) {
    auto it = values.find(v);
    if (it != values.end()) out |= it->second;
  };
  // The values for which Matches(v) == want, when they are a known finite set, are looked
  // up directly; otherwise every value of the label is tested.
  const bool positive_type =
      m.type() == MatchType::kEqual || m.type() == MatchType::kRegexMatch;
  const bool lookup = (want == positive_type);
  if (lookup && (m.type() == MatchType::kEqual || m.type() == MatchType::kNotEqual)) {
    add_value(m.value());
    return out;
  }
  if (lookup && !m.set_matches().empty()) {
    for (const auto& v : m.set_matches()) add_value(v);
    return out;
  }
  for (const auto& [v, refs] : values) {
    if (m.Matches(v) == want) out |= refs;
  }
  return out;
}

::Roaring64Map MemPostings::Select(const std::vector<Matcher>& matchers) const {
  std::shared_lock lock(mu_);
  ::Roaring64Map result;
  bool have_base = false;
  // Matchers that require the label first: they shrink the set the fastest.
  for (const auto& m : matchers) {
    if (m.MatchesEmpty()) continue;
    ::Roaring64Map r = UnionWhere(m, true);
    if (!have_base) {
      result = std::move(r);
      have_base = true;
    } else {
      result &= r;
    }
    if (result.isEmpty()) return result;
  }
  if (!have_base) result = all_;
  for (const auto& m : matchers) {
    if (!m.MatchesEmpty()) continue;
    result -= UnionWhere(m, false);
    if (result.isEmpty()) return result;
  }
  return result;
}

::Roaring64Map MemPostings::Get(std::string_view name, std::string_view value) const {
  std::shared_lock lock(mu_);
  auto name_it = index_.find(name);
  if (name_it == index_.end()) return {};
  auto value_it = name_it->second.find(value);
  if (value_it == name_it->second.end()) return {};
  return value_it->second;
}

::Roaring64Map MemPostings::All() const {
  std::shared_lock lock(mu_);
  return all_;
}

std::vector<std::string> MemPostings::LabelNames() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  out.reserve(index_.size());
  for (const auto& [name, values] : index_) out.push_back(name);
  return out;
}

std::vector<std::string> MemPostings::LabelValues(std::string_view name) const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  auto it = index_.find(name);
  if (it == index_.end()) return out;
  out.reserve(it->second.size());
  for (const auto& [v, refs] : it->second) out.push_back(v);
  return out;
}

uint64_t MemPostings::NumSeries() const {
  std::shared_lock lock(mu_);
  return all_.cardinality();
}

}  // namespace argus::tsdb
