// The columnar span storage of a trace block. A block's traces (sorted by trace ID) are cut
// into pages of about kPageSpans spans; each page stores its spans column by column (trace
// structure, span IDs, parents, names, kind and status, times, one column per span attribute
// key, ...), each column zstd-compressed on its own, so that search decompresses only the
// columns a query needs and trace-by-ID only the one page that holds the trace. Strings
// (span names, attribute keys and string values, serialized resources and scopes) are
// dictionary-coded against the block's Dictionary. Format, bit by bit: docs/format/traces.md
// ("data", "dict").
//
// Example:
//   Dictionary dict;
//   PageBuilder pb(&dict);
//   TraceInfo info = pb.AddTrace(trace_id, traces_data);     // ordinal 0 of the page
//   std::string body = pb.Finish();
//   std::string dict_bytes = dict.Encode();
//   ...
//   ASSIGN_OR_RETURN(Dictionary d, Dictionary::Decode(dict_bytes));
//   ASSIGN_OR_RETURN(Page p, Page::Open(body));
//   ASSIGN_OR_RETURN(std::string spans, p.Trace(0, trace_id, d));  // serialized TracesData
//
// Thread-safety: Dictionary is immutable once decoded and safe to share; PageBuilder and Page
// are not thread-safe (each query opens its own Page).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "tracestore/otlp_wire.h"
#include "util/status.h"

namespace argus::tracestore {

enum class ValueType : uint8_t { kString = 0, kInt = 1, kDouble = 2, kBool = 3, kOther = 4 };
enum class AttrScope : uint8_t { kSpan = 0, kResource = 1 };

// Spans per page the writer aims at (a page ends after the trace that reaches it).
inline constexpr size_t kPageSpans = 512;

// The text of an OTLP attribute value as search shows it ("42", "true", "1.5", "GET"), and
// its type (kOther for arrays, maps, bytes and empty values).
std::pair<ValueType, std::string> ValueText(const opentelemetry::proto::common::v1::AnyValue& v);

// The strings of one block. Ids are dense, in the order strings were first interned; id 0 is
// always the empty string.
class Dictionary {
 public:
  Dictionary();
  // Builder only (REQUIRES: not a decoded dictionary): the id of `s`, adding it if new.
  uint32_t Intern(std::string_view s);
  // zstd-compressed: u32 count | zstd(varint length + bytes, per string). See the format doc.
  std::string Encode() const;
  // Errors: Corruption if the bytes do not decode.
  static Result<Dictionary> Decode(std::string_view bytes);

  size_t size() const { return offsets_.size() - 1; }
  // REQUIRES: id < size().
  std::string_view Str(uint32_t id) const {
    return std::string_view(bytes_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  // The id of `s`, or -1 if the block has no such string.
  int64_t Find(std::string_view s) const;

 private:
  std::string bytes_;              // all strings back to back
  std::vector<uint32_t> offsets_;  // size() + 1 entries
  // An open-addressing table of ids (kEmptySlot = free) keyed by the hash of their string,
  // linear probing from slot hash * size / 2^64; no allocation per string. The builder keeps
  // it at most half full and keeps each id's hash (to grow the table and to skip most string
  // compares); a decoded dictionary's is at most 2/3 full, 6 bytes per string, without them.
  static constexpr uint32_t kEmptySlot = UINT32_MAX;
  size_t Home(uint64_t h) const {
    return static_cast<size_t>((static_cast<unsigned __int128>(h) * slots_.size()) >> 64);
  }
  size_t NextSlot(size_t i) const { return i + 1 == slots_.size() ? 0 : i + 1; }
  void Grow();
  std::vector<uint32_t> slots_;
  std::vector<uint64_t> hashes_;
};

// What a block's index keeps of a trace written into a page.
struct TraceInfo {
  uint64_t start_unix_nano = 0;  // earliest span start (0 without spans)
  uint64_t end_unix_nano = 0;    // latest span end
  uint32_t spans = 0;
  uint32_t root_service = 0;     // dictionary ids; 0 ("") if no span without parent
  uint32_t root_name = 0;
};

// The kinds of a page's columns (u32 in the column table).
enum class ColumnKind : uint32_t {
  kStructure = 1, kSpanIds = 2, kParents = 3, kNames = 4, kKindStatus = 5,
  kStatusMessages = 6, kTimes = 7, kAttrLayout = 8, kExtras = 9, kAttribute = 10,
};

// Builds one page. Strings go into the dictionary given (which must outlive the builder).
class PageBuilder {
 public:
  explicit PageBuilder(Dictionary* dict) : dict_(dict) {}
  // Appends one trace from its serialized TracesData, read at the wire level (otlp_wire.h):
  // its spans in their order, under their resource and scope spans. Errors: InvalidArgument
  // if the bytes are malformed (the builder is unchanged).
  Result<TraceInfo> AddTrace(std::string_view trace_id, std::string_view traces_data);
  size_t num_spans() const { return spans_; }
  size_t num_traces() const { return traces_; }
  // The span attribute keys (dictionary ids) of the page, in column order.
  const std::vector<uint32_t>& attribute_keys() const { return keys_; }
  // The dictionary ids of the page's serialized resources and span names, with repeats.
  const std::vector<uint32_t>& resource_ids() const { return resources_; }
  const std::vector<uint32_t>& name_ids() const { return names_list_; }
  // The encoded page (column table and compressed columns); the builder is empty afterwards.
  std::string Finish();

 private:
  Dictionary* dict_;
  size_t spans_ = 0, traces_ = 0;
  std::string structure_, span_ids_, parents_, names_, kind_status_, status_messages_, times_,
      layout_, extras_;
  std::vector<uint32_t> keys_;             // column order -> dictionary id of the key
  std::unordered_map<uint32_t, uint32_t> key_column_;  // dictionary id -> column order
  std::vector<std::string> key_data_;      // per key column
  std::vector<uint64_t> key_last_row_;     // per key column: row of the previous entry
  std::string layout_pending_;             // the current span's attribute column orders
  std::vector<uint32_t> resources_, names_list_;

  // AddTrace's views of the trace being added: kept to reuse their memory from trace to trace.
  struct ScopeRef {
    std::string_view scope, schema;
    size_t first_span = 0, spans = 0;
  };
  struct ResourceRef {
    std::string_view resource, schema;
    size_t first_scope = 0, scopes = 0;
  };
  std::vector<ResourceRef> scratch_resources_;
  std::vector<ScopeRef> scratch_scopes_;
  std::vector<std::string_view> scratch_span_bytes_;
  std::vector<SpanView> scratch_spans_;
  std::unordered_map<std::string_view, uint32_t> scratch_row_of_;
  std::string scratch_extra_;

  // Adds the serialized KeyValue `key_value` of span `row` to its key's column.
  void AddAttribute(uint64_t row, std::string_view key_value);
};

// One span attribute value as a page decodes it.
struct AttrValue {
  uint32_t row = 0;  // span row in the page
  ValueType type = ValueType::kString;
  uint64_t bits = 0;            // kString: dictionary id; kInt: the value; kDouble: its bits; kBool
  std::string_view other;       // kOther: serialized AnyValue (into the page's column buffer)
};

// A decoded page: columns are decompressed on first use. Every accessor that decodes returns
// Corruption for bytes that do not decode, never crashes.
class Page {
 public:
  // Parses the column table and the structure column of `body` (which must outlive the Page).
  // Errors: Corruption.
  static Result<std::unique_ptr<Page>> Open(std::string_view body);

  size_t num_traces() const { return traces_.size(); }
  size_t num_spans() const { return span_resource_.size(); }
  // Span rows [first, last) of trace `t`. REQUIRES: t < num_traces().
  std::pair<uint32_t, uint32_t> TraceRows(size_t t) const {
    return {traces_[t].first_row, traces_[t].first_row + traces_[t].spans};
  }
  // The dictionary id of the serialized Resource of each span row.
  uint32_t SpanResource(size_t row) const { return span_resource_[row]; }
  // The dictionary ids of the serialized Resources the page references.
  std::vector<uint32_t> Resources() const;
  // The span attribute keys (dictionary ids) with a column in this page.
  std::vector<uint32_t> AttributeKeys() const;

  // Names, kind/status and times of every span row. Errors: Corruption.
  Status LoadCore();
  // REQUIRES: LoadCore() succeeded.
  uint32_t name(size_t row) const { return names_[row]; }
  uint8_t kind(size_t row) const { return kinds_[row]; }
  uint8_t status(size_t row) const { return codes_[row]; }
  uint64_t start_unix_nano(size_t row) const { return starts_[row]; }
  uint64_t duration_nano(size_t row) const { return ends_[row] > starts_[row] ? ends_[row] - starts_[row] : 0; }

  // The entries of the attribute column of key `key` (a dictionary id), sorted by row; empty
  // if the page has no such column. Errors: Corruption.
  Result<std::span<const AttrValue>> Attribute(uint32_t key);

  // Trace `t` as serialized OTLP TracesData, with `trace_id` set on each span. Errors:
  // Corruption (also for dictionary ids out of range of `dict`).
  Result<std::string> Trace(size_t t, std::string_view trace_id, const Dictionary& dict);

 private:
  struct ColumnRef {
    ColumnKind kind;
    uint32_t key;
    std::string_view compressed;
    uint32_t raw_size;
  };
  struct ScopeSpansRef {
    uint32_t scope, schema_url, spans;
  };
  struct ResourceSpansRef {
    uint32_t resource, schema_url;
    uint32_t first_scope, scopes;  // into scopes_
  };
  struct TraceRef {
    uint64_t start = 0;
    uint32_t first_row = 0, spans = 0;
    uint32_t first_resource = 0, resources = 0;  // into resources_
  };
  Page() = default;
  Result<std::string_view> Column(ColumnKind kind, uint32_t key);
  Status LoadAll();

  std::vector<ColumnRef> columns_;
  std::vector<uint32_t> attr_keys_;  // attribute columns in table order: their key ids
  std::vector<std::unique_ptr<std::string>> buffers_;  // decompressed columns
  std::vector<TraceRef> traces_;
  std::vector<ResourceSpansRef> resources_;
  std::vector<ScopeSpansRef> scopes_;
  std::vector<uint32_t> span_resource_;
  bool core_ = false, all_ = false;
  std::vector<uint32_t> names_;
  std::vector<uint8_t> kinds_, codes_, has_status_;
  std::vector<uint64_t> starts_, ends_;
  std::vector<std::string_view> span_ids_, extras_;
  std::vector<uint32_t> status_messages_;
  std::vector<int64_t> parents_;                  // -1 none, -2 raw, else row in the page
  std::vector<std::string_view> raw_parents_;
  std::vector<uint32_t> layout_offsets_, layout_;  // per row: column orders
  std::unordered_map<uint32_t, std::vector<AttrValue>> attrs_;  // key id -> entries
  // Trace's buffers, kept to reuse their memory from trace to trace.
  struct TraceScratch {
    std::vector<int64_t> cursor;
    std::vector<std::span<const AttrValue>> cols;
    std::string rs, ss, span, sub, kv, own_trace_id, trace_state, middle, late;
  } scratch_;
};

}  // namespace argus::tracestore
