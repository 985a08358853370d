// libFuzzer target for the exposition-format parser (src/ingest/text_parser.h).
//
// The first input byte picks the format (even: Prometheus text, odd: OpenMetrics) and whether
// `_created` series are skipped (bit 1); the rest is the page. Invariants checked: no crash;
// an error is InvalidArgument with a "line N:" prefix; every sample has a metric name and a
// sorted label set without duplicates or empty values.
//
// Build: cmake -DARGUS_FUZZ=ON (clang: libFuzzer; gcc: fuzz/fuzz_main.cc replays files).
// Run:   ./text_parser_fuzz fuzz/corpus/text_parser
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/text_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using argus::ingest::ExpositionFormat;
  ExpositionFormat format =
      (data[0] & 1) ? ExpositionFormat::kOpenMetrics : ExpositionFormat::kPrometheusText;
  argus::ingest::ParseOptions opts;
  opts.skip_created_series = (data[0] & 2) != 0;
  std::string_view page(reinterpret_cast<const char*>(data + 1), size - 1);
  auto r = argus::ingest::ParseExposition(page, format, opts);
  if (!r.ok()) {
    if (r.status().code() != argus::StatusCode::kInvalidArgument) std::abort();
    if (!r.status().message().starts_with("line ")) std::abort();
    return 0;
  }
  for (const auto& s : r->samples) {
    if (s.labels.MetricName().empty()) std::abort();
    const auto& ls = s.labels.labels();
    for (size_t i = 0; i < ls.size(); ++i) {
      if (ls[i].value.empty()) std::abort();
      if (i > 0 && !(ls[i - 1].name < ls[i].name)) std::abort();
    }
  }
  return 0;
}
