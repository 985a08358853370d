// The promqltest series notation for native histograms: parsing and printing the `{{...}}`
// literals of Prometheus' test scripts and promtool rule tests, and expanding the `xK`,
// `A+BxK`, `A-BxK` forms (Prometheus docs: configuration/unit_testing_rules "series";
// grammar: `series_description` / `histogram_series_value` in promql/parser/generated_parser.y).
//
// A literal is `{{` key:value pairs separated by spaces `}}` with the keys
//   schema:<int> sum:<num> count:<num> z_bucket:<num> z_bucket_w:<num> offset:<int>
//   buckets:[<num> ...] n_offset:<int> n_buckets:[<num> ...] custom_values:[<num> ...]
//   counter_reset_hint:(unknown|reset|not_reset|gauge)
// all optional (default 0 / empty / unknown); buckets are absolute counts in one span starting
// at `offset`. Numbers take Prometheus' float forms (1, -2.5, 1e3, 0x1f, Inf, +Inf, -Inf, NaN).
//
// Example:
//   ASSIGN_OR_RETURN(std::vector<FloatHistogram> hs,
//                    ExpandHistogramItem("{{schema:0 sum:5 count:4 buckets:[1 2 1]}}+{{count:1}}x3"));
//   // hs.size() == 4: the base, then base+inc, base+2inc, base+3inc (added one after another).
//   for (std::string_view item : SplitSeriesItems("1 {{count:2}}x2 _ stale")) ...
//   std::string s = FormatHistogramLiteral(hs[0]);  // == hs[0].TestExpression()
//
// Errors are InvalidArgument naming the offending key or text. Thread-safety: stateless.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/histogram.h"
#include "util/status.h"

namespace argus {

// The largest K accepted in `xK` (upstream's corpora use at most 4000): every value is
// materialised, so K bounds the memory a test line can ask for.
inline constexpr uint64_t kMaxHistogramRepetitions = 100000;

// Parses exactly one `{{...}}` literal (surrounding whitespace allowed).
Result<FloatHistogram> ParseHistogramLiteral(std::string_view text);

// Expands one series item that starts with `{{`: `{{H}}` (one value), `{{H}}xK` (K+1 copies),
// `{{A}}+{{B}}xK` / `{{A}}-{{B}}xK` (K+1 values A, A±B, ..., each the previous one plus or
// minus B, as Prometheus' histogramsSeries does; not compacted). Errors: malformed literal,
// bad K or K > kMaxHistogramRepetitions, mixing custom and exponential schemas.
Result<std::vector<FloatHistogram>> ExpandHistogramItem(std::string_view item);

// True if `item` is a histogram item (starts with `{{`).
bool IsHistogramItem(std::string_view item);

// Splits a `load` line's value list (or an expected-value list) into items at whitespace that
// is outside `{{ }}`, so "1 {{buckets:[1 2]}}x2 _" gives "1", "{{buckets:[1 2]}}x2", "_".
// The views point into `values`.
std::vector<std::string_view> SplitSeriesItems(std::string_view values);

// The literal for `h`, exactly as Prometheus' FloatHistogram.TestExpression().
std::string FormatHistogramLiteral(const FloatHistogram& h);

}  // namespace argus
