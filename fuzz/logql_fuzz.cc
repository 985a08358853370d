// libFuzzer target for the LogQL parser and engine (src/logql).
//
// The input is a query. Invariants checked: no crash; a parse error is InvalidArgument; a
// parsed query evaluates (instant and range) over a small in-memory store without crashing,
// and any failure is InvalidArgument.
//
// Build: cmake -DARGUS_FUZZ=ON (clang: libFuzzer; gcc: fuzz/fuzz_main.cc replays files).
// Run:   ./logql_fuzz fuzz/corpus/logql
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "logql/engine.h"
#include "logql/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace argus;
  static const logql::MemoryReader mem = [] {
    logql::MemoryReader m;
    const char* lines[] = {"level=info msg=\"hi\" took=2s size=3MB", R"({"a":{"b":1},"c":"d"})",
                           "GET /x 200 10.0.0.1", "\x1b[31mred\x1b[0m"};
    for (int i = 0; i < 40; ++i) {
      m.Append(Labels::FromMap({{"app", i % 2 ? "a" : "b"}}),
                {static_cast<int64_t>(i) * 1'000'000'000, lines[i % 4], {{"k", i % 3 ? "v" : ""}}});
    }
    return m;
  }();
  std::string_view q(reinterpret_cast<const char*>(data), size);
  auto e = logql::ParseExpr(q);
  if (!e.ok()) {
    if (e.status().code() != StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  logql::QueryParams instant{.start_ns = 30'000'000'000, .end_ns = 30'000'000'000};
  logql::QueryParams range{.start_ns = 0, .end_ns = 40'000'000'000, .step_ns = 5'000'000'000};
  for (const auto& p : {instant, range}) {
    auto r = logql::Evaluate(mem, **e, p);
    if (!r.ok() && r.status().code() != StatusCode::kInvalidArgument) std::abort();
  }
  return 0;
}
