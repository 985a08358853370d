// Micro-benchmarks of the two halves of every head cut and compaction: building pages from
// serialized TracesData (PageBuilder::AddTrace, with Finish's compression every page) and
// reading a trace back out of a page (Page::Trace, what a merge reads). Items are spans.
//
// The traces: 30 spans each under one of 8 services, 12 attributes per span (a few of low
// cardinality such as the HTTP method, a few of high cardinality such as a user ID) and 5 per
// resource, about as bench/trace_bench.cc generates them.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "tracestore/span_columns.h"
#include "tracestore/test_util.h"

namespace otlp = opentelemetry::proto;

namespace argus::tracestore {
namespace {

constexpr int kSpansPerTrace = 30;

using testing::Attr;
using testing::AttrInt;

// `n` traces: each a 16-byte ID and its serialized TracesData.
std::vector<std::pair<std::string, std::string>> MakeTraces(int n) {
  std::mt19937_64 rng(1);
  const char* methods[] = {"GET", "POST", "PUT", "DELETE"};
  const char* regions[] = {"eu-west-1", "us-east-1", "ap-south-1"};
  std::vector<std::pair<std::string, std::string>> out;
  for (int t = 0; t < n; ++t) {
    std::string id(16, '\0');
    for (char& c : id) c = static_cast<char>(rng());
    otlp::trace::v1::TracesData td;
    uint64_t start = 1'700'000'000'000'000'000ULL + rng() % 3'600'000'000'000ULL;
    for (int s = 0; s < kSpansPerTrace; ++s) {
      auto* rs = td.add_resource_spans();
      int service = static_cast<int>(rng() % 8);
      Attr(rs->mutable_resource()->mutable_attributes(), "service.name", "service-" + std::to_string(service));
      Attr(rs->mutable_resource()->mutable_attributes(), "service.version", "1.4." + std::to_string(service));
      Attr(rs->mutable_resource()->mutable_attributes(), "host.name", "node-" + std::to_string(rng() % 50));
      Attr(rs->mutable_resource()->mutable_attributes(), "deployment.environment", "production");
      Attr(rs->mutable_resource()->mutable_attributes(), "k8s.namespace.name", "shop");
      auto* span = rs->add_scope_spans()->add_spans();
      span->set_trace_id(id);
      std::string span_id(8, '\0');
      for (char& c : span_id) c = static_cast<char>(rng());
      span->set_span_id(span_id);
      span->set_name("GET /api/v1/items/{id}#" + std::to_string(rng() % 40));
      span->set_kind(static_cast<otlp::trace::v1::Span::SpanKind>(1 + rng() % 3));
      span->set_start_time_unix_nano(start + rng() % 1'000'000'000);
      span->set_end_time_unix_nano(span->start_time_unix_nano() + rng() % 50'000'000);
      auto* a = span->mutable_attributes();
      Attr(a, "http.request.method", methods[rng() % 4]);
      Attr(a, "http.route", "/api/v1/items/" + std::to_string(rng() % 40));
      AttrInt(a, "http.response.status_code", rng() % 20 == 0 ? 500 : 200);
      Attr(a, "server.address", "service-" + std::to_string(service) + ".shop.svc");
      AttrInt(a, "server.port", 8080);
      Attr(a, "user.id", "user-" + std::to_string(rng() % 1'000'000));
      Attr(a, "customer.tier", rng() % 5 == 0 ? "gold" : "standard");
      Attr(a, "cloud.region", regions[rng() % 3]);
      Attr(a, "k8s.pod.name", "service-" + std::to_string(service) + "-7d9f-" + std::to_string(rng() % 20));
      AttrInt(a, "thread.id", static_cast<int64_t>(rng() % 64));
      Attr(a, "db.system", "postgresql");
      Attr(a, "request.id", std::to_string(rng()));
    }
    out.emplace_back(std::move(id), td.SerializeAsString());
  }
  return out;
}

void BM_PageBuilderAddTrace(benchmark::State& state) {
  auto traces = MakeTraces(2000);
  size_t i = 0, spans = 0;
  Dictionary dict;
  PageBuilder builder(&dict);
  for (auto _ : state) {
    const auto& [id, data] = traces[i++ % traces.size()];
    auto info = builder.AddTrace(id, data);
    if (!info.ok()) state.SkipWithError("AddTrace failed");
    spans += kSpansPerTrace;
    if (builder.num_spans() >= kPageSpans) benchmark::DoNotOptimize(builder.Finish());
  }
  state.SetItemsProcessed(static_cast<int64_t>(spans));
}
BENCHMARK(BM_PageBuilderAddTrace);

void BM_PageTrace(benchmark::State& state) {
  auto traces = MakeTraces(kPageSpans / kSpansPerTrace + 1);
  Dictionary dict;
  PageBuilder builder(&dict);
  for (const auto& [id, data] : traces) {
    if (!builder.AddTrace(id, data).ok()) state.SkipWithError("AddTrace failed");
  }
  std::string body = builder.Finish();
  size_t spans = 0;
  for (auto _ : state) {
    // Opened per page, as a merge does: the column decompression is part of the cost.
    auto page = Page::Open(body);
    if (!page.ok()) state.SkipWithError("Page::Open failed");
    for (size_t t = 0; t < (*page)->num_traces(); ++t) {
      auto out = (*page)->Trace(t, traces[t].first, dict);
      if (!out.ok()) state.SkipWithError("Page::Trace failed");
      benchmark::DoNotOptimize(out);
      spans += kSpansPerTrace;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(spans));
}
BENCHMARK(BM_PageTrace);

}  // namespace
}  // namespace argus::tracestore
