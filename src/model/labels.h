// Label sets: the identity of a series (and, in the logs engine, of a stream).
//
// A Labels is a list of (name, value) pairs sorted by name with unique names, as in Prometheus'
// `labels.Labels`. The metric name is the label `__name__`. Empty values are equivalent to an
// absent label and are dropped by the builder. Follows the Prometheus data model
// (docs: concepts/data_model): names match [a-zA-Z_][a-zA-Z0-9_]* for legacy validation; Argus
// accepts any valid UTF-8 name, as Prometheus 3 does.
//
// Example:
//   Labels ls = Labels::FromMap({{"__name__", "up"}, {"job", "node"}});
//   ls.Get("job");        // "node"
//   ls.ToString();        // up{job="node"}
//   ls.Hash();            // stable 64-bit hash of the sorted pairs
//
// Thread-safety: a value type; const methods are safe from many threads.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

namespace argus {

inline constexpr std::string_view kMetricNameLabel = "__name__";

struct Label {
  std::string name;
  std::string value;
  friend bool operator==(const Label&, const Label&) = default;
  friend auto operator<=>(const Label&, const Label&) = default;
};

class Labels {
 public:
  Labels() = default;
  // REQUIRES: `sorted` is sorted by name with unique names and no empty values.
  static Labels FromSorted(std::vector<Label> sorted) { return Labels(std::move(sorted)); }
  // Sorts, drops empty values; a later duplicate name wins.
  static Labels FromMap(std::initializer_list<std::pair<std::string, std::string>> pairs);
  // Sorts and drops empty values; returns InvalidArgument on a duplicate name.
  static Result<Labels> FromUnsorted(std::vector<Label> pairs);

  const std::vector<Label>& labels() const { return labels_; }
  size_t size() const { return labels_.size(); }
  bool empty() const { return labels_.empty(); }
  auto begin() const { return labels_.begin(); }
  auto end() const { return labels_.end(); }

  // The value of `name`, or "" if absent.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const;
  std::string_view MetricName() const { return Get(kMetricNameLabel); }

  // A copy without `__name__`.
  Labels WithoutMetricName() const;
  // A copy keeping only (keep=true) or dropping (keep=false) the given names.
  Labels Filter(const std::vector<std::string>& names, bool keep) const;

  // FNV-1a 64 over name\xff value\xff ...; stable across runs and builds.
  uint64_t Hash() const;

  // Prometheus' text form: `name{a="b", c="d"}` (label values escaped like Go's %q).
  std::string ToString() const;

  friend bool operator==(const Labels&, const Labels&) = default;
  friend bool operator<(const Labels& a, const Labels& b) { return a.labels_ < b.labels_; }

 private:
  explicit Labels(std::vector<Label> l) : labels_(std::move(l)) {}
  std::vector<Label> labels_;
};

// Builds a Labels by setting and deleting names on top of a base set.
// Not thread-safe.
class LabelsBuilder {
 public:
  LabelsBuilder() = default;
  explicit LabelsBuilder(const Labels& base);
  // Sets name=value; an empty value deletes the name.
  LabelsBuilder& Set(std::string_view name, std::string_view value);
  LabelsBuilder& Del(std::string_view name);
  std::string_view Get(std::string_view name) const;
  Labels Build() const;

 private:
  std::map<std::string, std::string, std::less<>> m_;
};

// True if `name` is a valid label name under legacy (Prometheus 2) rules.
bool IsLegacyLabelName(std::string_view name);
// True if `name` is a valid legacy metric name: [a-zA-Z_:][a-zA-Z0-9_:]*.
bool IsLegacyMetricName(std::string_view name);
// True if `s` is well-formed UTF-8.
bool IsValidUtf8(std::string_view s);

}  // namespace argus
