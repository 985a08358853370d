// The head's inverted index: for each label name and value, the set of series refs carrying that
// pair ("postings"), as CRoaring 64-bit bitmaps. Select evaluates PromQL label matchers against
// it the way Prometheus' `tsdb.PostingsForMatchers` does:
//
//   - a matcher that does NOT match the empty string requires the label: the result is
//     intersected with the union of the postings of the values it matches (`=` and literal
//     alternations `=~"a|b"` are direct lookups; other regexes scan the label's values);
//   - a matcher that matches the empty string also selects series lacking the label: the
//     postings of the values it rejects are subtracted instead (`!="x"` subtracts `x`);
//   - if no matcher requires a label, the starting set is every series.
//
// Example:
//   MemPostings p;
//   p.Add(1, Labels::FromMap({{"__name__", "up"}, {"job", "node"}}));
//   p.Add(2, Labels::FromMap({{"__name__", "up"}}));
//   ::Roaring64Map r = p.Select({*Matcher::Make(MatchType::kEqual, "job", "")});  // {2}
//
// Thread-safety: all methods may be called concurrently (a shared mutex inside).
// (Debian 12 ships CRoaring 0.2.66, whose C++ classes live in the global namespace.)
#pragma once

#include <cstdint>
#include <map>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include <roaring/roaring64map.hh>

#include "model/labels.h"
#include "model/matcher.h"

namespace argus::tsdb {

class MemPostings {
 public:
  // Adds `ref` to the postings of every pair of `labels` and to the all-series set.
  void Add(uint64_t ref, const Labels& labels);
  // Removes `ref` from the postings of `labels` (the labels it was added with); drops lists
  // and names that become empty.
  void Delete(uint64_t ref, const Labels& labels);

  // Refs of the series matching every matcher (all series if `matchers` is empty).
  ::Roaring64Map Select(const std::vector<Matcher>& matchers) const;
  // Refs of the series carrying name=value (empty if none).
  ::Roaring64Map Get(std::string_view name, std::string_view value) const;
  ::Roaring64Map All() const;

  // Sorted label names present in the index.
  std::vector<std::string> LabelNames() const;
  // Sorted values of `name` present in the index.
  std::vector<std::string> LabelValues(std::string_view name) const;
  uint64_t NumSeries() const;

 private:
  using Values = std::map<std::string, ::Roaring64Map, std::less<>>;
  // The union of the postings of the values v of m.name() for which m.Matches(v) == want.
  // REQUIRES: mu_ held (shared).
  ::Roaring64Map UnionWhere(const Matcher& m, bool want) const;

  mutable std::shared_mutex mu_;
  std::map<std::string, Values, std::less<>> index_;  // GUARDED_BY(mu_)
  ::Roaring64Map all_;                          // GUARDED_BY(mu_)
};

}  // namespace argus::tsdb
