// libFuzzer target for the TraceQL lexer, parser and validator (src/traceql/parser.h) and the
// search evaluator over a fixed small trace (src/traceql/engine.h).
//
// Invariants checked: no crash; a parse error is InvalidArgument starting with "parse error";
// validation fails only with InvalidArgument or Unimplemented; a valid search evaluates
// without error and returns only spans of the trace.
//
// Build: cmake -DARGUS_FUZZ=ON (clang: libFuzzer; gcc: fuzz/fuzz_main.cc replays files).
// Run:   ./traceql_fuzz fuzz/corpus/traceql
#include <cstdint>
#include <cstdlib>
#include <string>

#include "traceql/engine.h"
#include "traceql/parser.h"

namespace {

const argus::traceql::TraceView& Trace() {
  static const argus::traceql::TraceView* t = [] {
    opentelemetry::proto::trace::v1::TracesData td;
    auto* rs = td.add_resource_spans();
    auto* kv = rs->mutable_resource()->add_attributes();
    kv->set_key("service.name");
    kv->mutable_value()->set_string_value("svc");
    auto* ss = rs->add_scope_spans();
    for (int i = 1; i <= 3; ++i) {
      auto* s = ss->add_spans();
      s->set_trace_id(std::string(16, 'T'));
      s->set_span_id(std::string(7, 'S') + static_cast<char>(i));
      if (i > 1) s->set_parent_span_id(std::string(7, 'S') + static_cast<char>(i - 1));
      s->set_name("op" + std::to_string(i));
      s->set_start_time_unix_nano(1000 * i);
      s->set_end_time_unix_nano(5000 * i);
      auto* a = s->add_attributes();
      a->set_key("n");
      a->mutable_value()->set_int_value(i);
    }
    return argus::traceql::TraceView::Parse(td.SerializeAsString())->release();
  }();
  return *t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string q(reinterpret_cast<const char*>(data), size);
  auto root = argus::traceql::Parse(q);
  if (!root.ok()) {
    if (root.status().code() != argus::StatusCode::kInvalidArgument) std::abort();
    if (!root.status().message().starts_with("parse error")) std::abort();
    return 0;
  }
  argus::Status v = argus::traceql::Validate(**root);
  if (!v.ok()) {
    if (v.code() != argus::StatusCode::kInvalidArgument && v.code() != argus::StatusCode::kUnimplemented) {
      std::abort();
    }
    return 0;
  }
  using argus::traceql::RootKind;
  if ((*root)->kind != RootKind::kPipeline && (*root)->kind != RootKind::kSpansetPipelineExpr) return 0;
  auto r = argus::traceql::EvaluateSearch(**root, Trace());
  if (!r.ok()) std::abort();
  for (const auto& ss : *r) {
    for (int i : ss.spans) {
      if (i < 0 || i >= static_cast<int>(Trace().spans().size())) std::abort();
    }
  }
  return 0;
}
