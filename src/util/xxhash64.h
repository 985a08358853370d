// XXH64, the 64-bit xxHash of Yann Collet (xxHash spec, "XXH64 algorithm", seed 0 by default).
// Prometheus hashes label sets with it (Go's cespare/xxhash, labels.Labels.Hash), and PromQL's
// limit_ratio picks series by that hash, so Argus needs the same function to select the same
// series. Written here because Debian ships only the runtime library (libxxhash0), not its
// header; the output is checked against the reference test vectors in xxhash64_test.cc.
//
// Example:
//   uint64_t h = xxhash64::Hash("abc", 3);        // == 0x44BC2CF5AD770999
//
// Thread-safety: stateless functions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace argus::xxhash64 {

// Returns XXH64 of data[0, n) with `seed`.
uint64_t Hash(const void* data, size_t n, uint64_t seed = 0);

}  // namespace argus::xxhash64
