// CRC-32C (Castagnoli, polynomial 0x1EDC6F41 reflected as 0x82F63B78), the checksum of every
// WAL record and block file, as in Prometheus' TSDB and LevelDB. Uses the SSE4.2 `crc32`
// instruction when the CPU has it, a table otherwise; both give identical results.
//
// Example:
//   uint32_t c = crc32c::Value("123456789", 9);   // == 0xE3069283
//   c = crc32c::Extend(c, more.data(), more.size());
//
// Thread-safety: stateless functions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace argus::crc32c {

// Returns the CRC-32C of data[0, n) continuing from `crc` (the CRC of the bytes before).
uint32_t Extend(uint32_t crc, const void* data, size_t n);

// Returns the CRC-32C of data[0, n).
inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }

}  // namespace argus::crc32c
