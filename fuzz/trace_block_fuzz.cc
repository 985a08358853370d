// libFuzzer target for the trace block decoders (src/tracestore/span_columns.h, bloom.h): the
// bytes of a `columns` or `bloom` file from a hostile disk.
//
// The first input byte picks the decoder (even: columns, odd: bloom). Invariants checked: no
// crash; errors are Corruption; a decoded SpanColumns only has in-range ids (every accessor is
// called on every row); a decoded bloom filter answers lookups.
//
// Build: cmake -DARGUS_FUZZ=ON (clang: libFuzzer; gcc: fuzz/fuzz_main.cc replays files).
// Run:   ./trace_block_fuzz fuzz/corpus/trace_block
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tracestore/bloom.h"
#include "tracestore/span_columns.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) {
    auto b = argus::tracestore::BloomFilter::Decode(bytes);
    if (!b.ok()) {
      if (b.status().code() != argus::StatusCode::kCorruption) std::abort();
      return 0;
    }
    (void)b->MayContain("0123456789abcdef");
    return 0;
  }
  auto c = argus::tracestore::SpanColumns::Decode(bytes);
  if (!c.ok()) {
    if (c.status().code() != argus::StatusCode::kCorruption) std::abort();
    return 0;
  }
  size_t total = 0;
  for (size_t i = 0; i < c->num_spans(); ++i) {
    total += c->Str(c->service(i)).size() + c->Str(c->name(i)).size();
    if (c->trace(i) >= c->num_traces()) std::abort();
    for (const auto& a : c->attrs(i)) total += c->Str(a.key).size() + c->Str(a.value).size();
  }
  for (size_t t = 0; t < c->num_traces(); ++t) total += c->Str(c->root_service(t)).size();
  return total == SIZE_MAX ? 1 : 0;
}
