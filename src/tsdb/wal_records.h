// The records the metrics engine writes to its WAL (src/wal/): series, samples, exemplars and
// metadata. Each is one WAL record whose first byte says its type; the WAL frames and
// checksums it. The byte layout, with a worked example, is in docs/format/head.md.
//
//   series     0x01, then per series: uvarint ref, uvarint #labels,
//                                     #labels x (uvarint len, name, uvarint len, value)
//   samples    0x02, varsint base_t_ms (the first sample's time), then per sample:
//                    uvarint ref, varsint t_ms - base_t_ms, fixed64 value bits (little-endian)
//   exemplars  0x03, then per exemplar: uvarint ref, varsint t_ms, fixed64 value bits,
//                    uvarint #labels, labels as in series records
//   metadata   0x04, then per family: uvarint len, family name, u8 MetricType,
//                    uvarint len, unit, uvarint len, help
//   histograms 0x05, varsint base_t_ms, then per sample: uvarint ref,
//                    varsint t_ms - base_t_ms, histogram body (histogram_chunk.h; integer or
//                    float, told by the body's flag byte; bit 3 of it: with start timestamp)
//   samples+ST 0x06, as samples, each sample followed by varsint t_ms - st_ms: the float
//                    samples that carry a start timestamp (st_ms != 0). Samples without one
//                    stay in 0x02 records, so a WAL of a series without start timestamps is
//                    byte for byte what it was before they existed.
//
// Example:
//   std::string rec;
//   EncodeSamplesRecord({{ref, t_ms, v}}, &rec);
//   ...
//   std::vector<RefSample> samples;
//   RETURN_IF_ERROR(DecodeSamplesRecord(rec, &samples));
//
// Decoders return Corruption for a wrong type byte, truncation, bad varints or malformed
// labels, and never read outside the given bytes. Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/labels.h"
#include "model/sample.h"
#include "tsdb/storage.h"
#include "util/status.h"

namespace argus::tsdb {

enum class WalRecordType : uint8_t {
  kSeries = 1,
  kSamples = 2,
  kExemplars = 3,
  kMetadata = 4,
  kHistogramSamples = 5,
  kSamplesWithST = 6,
};

struct RefSeries {
  uint64_t ref = 0;
  Labels labels;
};

struct RefSample {
  uint64_t ref = 0;
  int64_t t_ms = 0;
  double v = 0;
  int64_t st_ms = 0;  // start timestamp (ms); 0 = unknown (and not written in 0x02 records)
};

struct RefHistogramSample {
  uint64_t ref = 0;
  HistogramSample sample;
};

struct RefExemplar {
  uint64_t ref = 0;
  Exemplar exemplar;
};

// The type of a record; Corruption if empty or of an unknown type.
Result<WalRecordType> WalRecordTypeOf(std::string_view rec);

// Each Encode* appends one whole record to `*out`.
void EncodeSeriesRecord(const std::vector<RefSeries>& series, std::string* out);
// Writes every sample's value and time; start timestamps are dropped (see the next one).
void EncodeSamplesRecord(const std::vector<RefSample>& samples, std::string* out);
// A 0x06 record: samples with their start timestamps.
void EncodeSamplesWithSTRecord(const std::vector<RefSample>& samples, std::string* out);
void EncodeExemplarsRecord(const std::vector<RefExemplar>& exemplars, std::string* out);
void EncodeMetadataRecord(const std::vector<MetricMetadata>& metadata, std::string* out);
void EncodeHistogramSamplesRecord(const std::vector<RefHistogramSample>& samples,
                                  std::string* out);

// Each Decode* appends the entries of `rec` to `*out`; Corruption if `rec` is not a
// well-formed record of that type (entries decoded before the fault may have been appended).
Status DecodeSeriesRecord(std::string_view rec, std::vector<RefSeries>* out);
Status DecodeSamplesRecord(std::string_view rec, std::vector<RefSample>* out);
Status DecodeSamplesWithSTRecord(std::string_view rec, std::vector<RefSample>* out);
Status DecodeExemplarsRecord(std::string_view rec, std::vector<RefExemplar>* out);
Status DecodeMetadataRecord(std::string_view rec, std::vector<MetricMetadata>* out);
Status DecodeHistogramSamplesRecord(std::string_view rec, std::vector<RefHistogramSample>* out);

}  // namespace argus::tsdb
