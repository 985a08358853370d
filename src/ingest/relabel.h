// Relabeling: the rules that rewrite, keep or drop label sets of scrape targets (before a
// scrape) and of scraped series (metric_relabel_configs). Follows Prometheus docs,
// configuration/configuration "<relabel_config>", and Prometheus' model/relabel semantics:
//
//   action      effect (val = values of source_labels joined by separator)
//   replace     if regex matches val: target_label (expanded) = replacement (expanded);
//               an empty result deletes target_label. No match: no change. (default action)
//   keep/drop   keep (drop) the set if regex matches val; otherwise drop (keep) it
//   keepequal   keep the set if val equals the value of target_label
//   dropequal   drop the set if val equals the value of target_label
//   hashmod     target_label = (last 8 bytes of MD5(val), big-endian) mod modulus
//   labelmap    for each label whose name matches regex: copy its value to the name
//               `replacement` expanded against that match
//   labeldrop   delete labels whose names match regex
//   labelkeep   delete labels whose names do not match regex
//   lowercase   target_label = ASCII-lowercased val
//   uppercase   target_label = ASCII-uppercased val
//
// Defaults: separator ";", regex "(.*)", replacement "$1", action replace. The regex is RE2
// (Go's syntax), fully anchored and compiled with (?s) as Prometheus does. Replacements expand
// $1, ${1}, $name and ${name} like Go's Regexp.Expand ($$ is a literal $; an unknown group is
// empty; a name is the longest run of [A-Za-z0-9_], so "$1x" means group "1x").
//
// Example:
//   RelabelConfig c;
//   c.source_labels = {"__address__"};
//   c.regex = "(.*):9100";
//   c.target_label = "node";
//   RETURN_IF_ERROR(c.Compile());
//   std::optional<Labels> out = Relabel(in, {c});   // nullopt: dropped
//
// Thread-safety: a compiled RelabelConfig is immutable and may be shared between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/labels.h"
#include "util/status.h"

namespace re2 {
class RE2;
}

namespace argus::ingest {

enum class RelabelAction {
  kReplace,
  kKeep,
  kDrop,
  kKeepEqual,
  kDropEqual,
  kHashMod,
  kLabelMap,
  kLabelDrop,
  kLabelKeep,
  kLowercase,
  kUppercase,
};

// "replace", "keep", ... as written in YAML.
std::string_view RelabelActionName(RelabelAction a);
// Parses an action name, case-insensitively (as Prometheus does). InvalidArgument if unknown.
Result<RelabelAction> ParseRelabelAction(std::string_view s);

struct RelabelConfig {
  std::vector<std::string> source_labels;
  std::string separator = ";";
  std::string regex = "(.*)";  // as configured, without the anchors
  uint64_t modulus = 0;
  std::string target_label;
  std::string replacement = "$1";
  RelabelAction action = RelabelAction::kReplace;

  // Validates the fields for the action (as Prometheus' config loader does) and compiles the
  // regex. Must succeed before the config is used. Errors: InvalidArgument naming the field.
  Status Compile();
  bool compiled() const { return re_ != nullptr; }
  // REQUIRES: compiled().
  const re2::RE2& re() const { return *re_; }

  // Equal configuration (the compiled regex is not compared).
  friend bool operator==(const RelabelConfig& a, const RelabelConfig& b) {
    return a.source_labels == b.source_labels && a.separator == b.separator &&
           a.regex == b.regex && a.modulus == b.modulus && a.target_label == b.target_label &&
           a.replacement == b.replacement && a.action == b.action;
  }

 private:
  // shared_ptr: configs are copied into every target's scrape loop; RE2 is immutable.
  std::shared_ptr<const re2::RE2> re_;
};

// Applies `cfgs` in order to `labels`. Returns the result (possibly empty), or nullopt if a
// keep, drop, keepequal or dropequal rule dropped the set. REQUIRES: every config compiled.
std::optional<Labels> Relabel(const Labels& labels, const std::vector<RelabelConfig>& cfgs);

// Expands `tmpl` like Go's Regexp.Expand against a match of `re`; `groups` holds the
// submatches (groups[0] is the whole match; an unmatched group is empty).
std::string ExpandTemplate(std::string_view tmpl, const re2::RE2& re,
                           const std::vector<std::string_view>& groups);

// MD5 of `data` (RFC 1321), as 16 bytes. Used by hashmod; exposed for tests.
std::string Md5(std::string_view data);

}  // namespace argus::ingest
