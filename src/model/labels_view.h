// Borrowed label sets: a series' labels viewed in memory someone else owns (a decoded
// remote_write body), so that the head can find an existing series without copying them.
//
// Example:
//   std::vector<LabelRef> refs = {{"__name__", "up"}, {"job", "node"}};  // sorted
//   LabelsView view(refs);
//   view.Hash() == Labels::FromMap({{"__name__", "up"}, {"job", "node"}}).Hash();  // true
//   Labels owned = view.ToLabels();
//
// Thread-safety: a view is a value type over const data; safe from many threads as long as the
// viewed strings stay alive and unchanged.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "model/labels.h"

namespace argus {

// A label pair borrowed from memory the caller owns (for example a decoded request body).
struct LabelRef {
  std::string_view name;
  std::string_view value;
};

// A label set borrowed from memory the caller owns: the same invariants as Labels (sorted by
// name, unique names, no empty values), checked by whoever builds it. It hashes and compares
// exactly as the Labels it describes, so a store can find an existing series without copying
// its labels. Cheap to copy; valid only while the viewed pairs and their strings are.
class LabelsView {
 public:
  // REQUIRES: `sorted` satisfies the Labels invariants.
  explicit LabelsView(std::span<const LabelRef> sorted) : labels_(sorted) {}

  std::span<const LabelRef> labels() const { return labels_; }
  size_t size() const { return labels_.size(); }
  // The value of `name`, or "" if absent.
  std::string_view Get(std::string_view name) const;
  // Equal to ToLabels().Hash().
  uint64_t Hash() const;
  // An owning copy.
  Labels ToLabels() const;

  friend bool operator==(const LabelsView& a, const Labels& b);

 private:
  std::span<const LabelRef> labels_;
};

}  // namespace argus
