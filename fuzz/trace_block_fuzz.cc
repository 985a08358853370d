// libFuzzer target for the trace block decoders (src/tracestore/span_columns.h, bloom.h): the
// bytes of a page of the `data` file, a `dict` file or a `bloom` file from a hostile disk.
//
// The first input byte picks the decoder (mod 3: 0 page, 1 dictionary, 2 bloom). Invariants
// checked: no crash; errors are Corruption; an opened page gives every trace back or says
// Corruption (against a dictionary of 64 strings, so ids both in and out of range occur), and
// its search columns answer for every row; a decoded dictionary finds each of its strings; a
// decoded bloom filter answers lookups.
//
// Build: cmake -DARGUS_FUZZ=ON (clang: libFuzzer; gcc: fuzz/fuzz_main.cc replays files).
// Run:   ./trace_block_fuzz fuzz/corpus/trace_block
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tracestore/bloom.h"
#include "tracestore/span_columns.h"

namespace {

void Check(const argus::Status& st) {
  if (!st.ok() && st.code() != argus::StatusCode::kCorruption) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace argus::tracestore;
  if (size == 0) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto p = Page::Open(bytes);
      if (!p.ok()) {
        Check(p.status());
        return 0;
      }
      Dictionary dict;
      for (int i = 1; i < 64; ++i) dict.Intern("s" + std::to_string(i));
      for (size_t t = 0; t < (*p)->num_traces(); ++t) {
        auto [first, last] = (*p)->TraceRows(t);
        if (first > last || last > (*p)->num_spans()) std::abort();
        Check((*p)->Trace(t, "0123456789abcdef", dict).status());
      }
      argus::Status core = (*p)->LoadCore();
      Check(core);
      size_t total = 0;
      for (size_t r = 0; core.ok() && r < (*p)->num_spans(); ++r) {
        total += (*p)->name(r) + (*p)->kind(r) + (*p)->duration_nano(r) + (*p)->SpanResource(r);
      }
      for (uint32_t k : (*p)->AttributeKeys()) {
        auto col = (*p)->Attribute(k);
        Check(col.status());
        if (col.ok()) {
          for (const AttrValue& v : *col) {
            if (v.row >= (*p)->num_spans()) std::abort();
          }
        }
      }
      return total == SIZE_MAX ? 1 : 0;
    }
    case 1: {
      auto d = Dictionary::Decode(bytes);
      if (!d.ok()) {
        Check(d.status());
        return 0;
      }
      for (uint32_t i = 0; i < d->size(); ++i) {
        int64_t id = d->Find(d->Str(i));
        if (id < 0 || d->Str(static_cast<uint32_t>(id)) != d->Str(i)) std::abort();
      }
      return 0;
    }
    default: {
      auto b = BloomFilter::Decode(bytes);
      if (!b.ok()) {
        Check(b.status());
        return 0;
      }
      (void)b->MayContain("0123456789abcdef");
      return 0;
    }
  }
}
