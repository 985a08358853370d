// The labels of one log entry as it moves through a LogQL pipeline.
//
// An entry's labels come from three sources: the stream's labels, the entry's structured
// metadata and the fields the parsers extract. When a name occurs in more than one source the
// base name goes to the highest-precedence one (stream > structured metadata > parsed) and the
// losing value goes to `<name>_extracted`, where the precedence is the opposite (parsed >
// structured metadata > stream), as Loki's LabelsBuilder does. Unlike model::Labels, a label
// with an empty value is kept: `age=""` is present and differs from a missing label.
//
// Example:
//   LineLabels l(stream_labels);
//   l.AddMetadata("trace_id", "abc");
//   l.SetParsed("level", "info");
//   l.Get("level");  // "info"
//
// Thread-safety: a value; not safe for concurrent mutation.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/labels.h"

namespace argus::logql {

inline constexpr std::string_view kErrorLabel = "__error__";
inline constexpr std::string_view kErrorDetailsLabel = "__error_details__";

// A sorted label list that may hold empty values.
using LabelSet = std::vector<Label>;

// `{a="b", c=""}` with values escaped like Go's %q; the form results print in.
std::string LabelSetString(const LabelSet& ls);

class LineLabels {
 public:
  enum class Source { kStream, kMetadata, kParsed };

  LineLabels() = default;
  explicit LineLabels(const Labels& stream);

  // Adds structured metadata: a name the stream already has goes to `<name>_extracted`.
  void AddMetadata(std::string_view name, std::string_view value);
  // Sets a parsed field. A name taken by the stream or metadata goes to `<name>_extracted`;
  // a name an earlier field of the same line already set is kept (first wins) unless
  // `overwrite`.
  void SetParsed(std::string_view name, std::string_view value, bool overwrite = false);
  // Sets or replaces a label regardless of source (formatters, error labels).
  void Set(std::string_view name, std::string_view value);
  void Del(std::string_view name);

  bool Has(std::string_view name) const;
  // The value, or "" when absent.
  std::string_view Get(std::string_view name) const;
  // True if `name` was set by a parser in this line.
  bool HasParsed(std::string_view name) const;

  bool HasError() const { return Has(kErrorLabel); }
  // Sets __error__ and __error_details__ unless an earlier failure already set them.
  void SetError(std::string_view error, std::string_view details);

  // Keeps only the labels named (keep) or removes them.
  void Keep(const std::vector<std::string>& names);

  // Sorted labels for the result.
  LabelSet ToLabelSet() const;

  // For templates: each label by name.
  const std::vector<std::pair<Label, Source>>& entries() const { return entries_; }

 private:
  int Find(std::string_view name) const;
  std::vector<std::pair<Label, Source>> entries_;
};

}  // namespace argus::logql
