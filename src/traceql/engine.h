// TraceQL evaluation for search (Tempo docs, traceql/ "Construct a TraceQL query"): spanset
// filters, `&&` / `||` between spansets, the structural operators (`>`, `>>`, `<`, `<<`, `~`,
// their `!` negations and `&` union forms), and pipelines (scalar filters with
// count/avg/min/max/sum, by(), coalesce(), select()) over one trace at a time.
//
// Semantics (as Tempo's engine):
//   - every side of a spanset operator is evaluated against the same input spanset;
//   - `A && B` matches when both sides match and returns the spans of both; `A || B` either;
//   - `A > B` returns the spans of B whose parent is in A; `A < B` the spans of B that are the
//     parent of a span in A; `>>` / `<<` the same for ancestors; `A ~ B` the spans of B with a
//     sibling (same parent, other span) in A; `!op` the spans of B for which the relation holds
//     with no span of A; `&op` the spans of both sides that take part in the relation;
//   - unscoped `.attr` is looked up on the span, then its resource; a missing attribute makes
//     every comparison false except `!= nil`; regexes are RE2, fully anchored;
//   - durations are nanoseconds and compare with numbers as such.
//
// Example:
//   ASSIGN_OR_RETURN(auto q, ParseAndValidate("{ .http.status_code >= 500 } >> { kind = client }"));
//   ASSIGN_OR_RETURN(TraceView t, TraceView::Parse(traces_data_bytes));
//   ASSIGN_OR_RETURN(std::vector<Spanset> matches, EvaluateSearch(*q, t));
//
// Thread-safety: a TraceView is immutable after Parse; evaluation is pure.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/arena.h>

#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "traceql/ast.h"
#include "util/status.h"

namespace argus::traceql {

// One span of a trace with its resource, scope and position in the span tree.
struct SpanRef {
  const opentelemetry::proto::trace::v1::Span* span = nullptr;
  const opentelemetry::proto::resource::v1::Resource* resource = nullptr;
  const opentelemetry::proto::common::v1::InstrumentationScope* scope = nullptr;
  int parent = -1;              // index of the parent span in the trace, -1 if none here
  std::vector<int> children;
  int64_t nested_left = 0, nested_right = 0;  // nested-set numbering (depth-first)
};

// A decoded trace ready for evaluation. Owns its protobuf; SpanRefs point into it.
class TraceView {
 public:
  // Parses serialized OTLP TracesData. Errors: Corruption if it does not parse.
  static Result<std::unique_ptr<TraceView>> Parse(const std::string& traces_data);

  const std::vector<SpanRef>& spans() const { return spans_; }
  uint64_t start_unix_nano() const { return start_; }
  uint64_t end_unix_nano() const { return end_; }
  // The root span (no parent, earliest start), -1 if the trace has none yet.
  int root() const { return root_; }
  std::string_view root_service() const;
  std::string_view root_name() const;
  // The service.name of a span's resource ("" if none).
  static std::string_view ServiceName(const SpanRef& s);

 private:
  TraceView() = default;
  // The spans live on the arena: one allocation block per trace rather than one per string
  // and message, and no destructor walk (search parses every trace it evaluates).
  google::protobuf::Arena arena_;
  opentelemetry::proto::trace::v1::TracesData* data_ = nullptr;  // on arena_
  std::vector<SpanRef> spans_;
  uint64_t start_ = 0, end_ = 0;
  int root_ = -1;
};

// A result spanset: span indices into the TraceView, the value of the scalar filter that
// kept it (if any), and the group of a by().
struct Spanset {
  std::vector<int> spans;
  bool has_scalar = false;
  double scalar = 0;
  std::string group_key;       // the by() attribute, e.g. "span.http.method"
  std::string group_value;     // its value's text
};

// Evaluates a search query (RootKind kPipeline or kSpansetPipelineExpr) on one trace; the
// trace matches if the result is not empty. Errors: InvalidArgument for a metrics query or a
// scalar pipeline filter (not searches).
Result<std::vector<Spanset>> EvaluateSearch(const RootExpr& q, const TraceView& trace);

// Evaluates one pipeline (as in a metrics query's `pipeline | rate()`) on one trace, starting
// from all its spans.
std::vector<Spanset> EvaluatePipeline(const Pipeline& p, const TraceView& trace);

// Whether span `i` of `trace` satisfies the field expression `filter` (the inside of `{...}`).
bool SpanMatches(const TraceView& trace, int i, const FieldExpr& filter);

// The attributes a query refers to (filters, by(), select()), for showing matched spans.
std::vector<Attribute> ReferencedAttributes(const RootExpr& q);

// A value as TraceQL sees it, for output: the text and whether it is a string/int/double/bool.
struct OutputValue {
  enum class Type { kNone, kString, kInt, kDouble, kBool } type = Type::kNone;
  std::string s;
  int64_t i = 0;
  double d = 0;
  bool b = false;
};
// The value of `attr` on span `i` of `trace` (kNone if missing).
OutputValue AttributeValue(const TraceView& trace, int i, const Attribute& attr);

}  // namespace argus::traceql
