// The searchable columns of a trace block: one row per span with the fields TraceQL and the
// Tempo search API filter on (service, name, kind, status, start, duration, and the span and
// resource attributes as dictionary-coded key/value pairs), plus each trace's root service and
// root span name. Search reads these columns to pick candidate traces and decompresses only
// those. Encoding: docs/format/traces.md ("columns").
//
// Example:
//   SpanColumns c;
//   c.AddTrace(traces_data);                 // trace ordinal 0
//   std::string bytes = c.Encode();
//   ASSIGN_OR_RETURN(SpanColumns d, SpanColumns::Decode(bytes));
//   d.Str(d.service(0)) == "frontend"
//
// Thread-safety: building is not thread-safe; a decoded SpanColumns is immutable.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "util/status.h"

namespace argus::tracestore {

enum class ValueType : uint8_t { kString = 0, kInt = 1, kDouble = 2, kBool = 3, kOther = 4 };
enum class AttrScope : uint8_t { kSpan = 0, kResource = 1 };

struct ColumnAttr {
  AttrScope scope = AttrScope::kSpan;
  ValueType type = ValueType::kString;
  uint32_t key = 0;    // dictionary id
  uint32_t value = 0;  // dictionary id of the value's text ("42", "true", "1.5", "GET")
};

// The text of an OTLP attribute value as the columns keep it, and its type.
std::pair<ValueType, std::string> ValueText(const opentelemetry::proto::common::v1::AnyValue& v);

class SpanColumns {
 public:
  // Appends the spans of one trace (its ordinal is the number of traces added before).
  void AddTrace(const opentelemetry::proto::trace::v1::TracesData& trace);

  std::string Encode() const;
  // Errors: Corruption for a bad magic, checksum, or out-of-range dictionary id or offset.
  static Result<SpanColumns> Decode(std::string_view bytes);

  size_t num_traces() const { return root_service_.size(); }
  size_t num_spans() const { return trace_.size(); }
  uint32_t trace(size_t span) const { return trace_[span]; }
  uint32_t service(size_t span) const { return service_[span]; }
  uint32_t name(size_t span) const { return name_[span]; }
  uint8_t kind(size_t span) const { return kind_[span]; }
  uint8_t status(size_t span) const { return status_[span]; }
  uint64_t start_unix_nano(size_t span) const { return start_[span]; }
  uint64_t duration_nano(size_t span) const { return duration_[span]; }
  std::span<const ColumnAttr> attrs(size_t span) const {
    return {attrs_.data() + attr_offsets_[span], attr_offsets_[span + 1] - attr_offsets_[span]};
  }
  uint32_t root_service(size_t trace) const { return root_service_[trace]; }
  uint32_t root_name(size_t trace) const { return root_name_[trace]; }

  std::string_view Str(uint32_t id) const { return strings_[id]; }
  // The dictionary id of `s`, or -1 if no row uses it.
  int64_t Find(std::string_view s) const;

 private:
  uint32_t Intern(std::string_view s);

  std::vector<std::string> strings_;
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<uint32_t> root_service_, root_name_;
  std::vector<uint32_t> trace_, service_, name_;
  std::vector<uint8_t> kind_, status_;
  std::vector<uint64_t> start_, duration_;
  std::vector<uint32_t> attr_offsets_{0};
  std::vector<ColumnAttr> attrs_;
};

}  // namespace argus::tracestore
