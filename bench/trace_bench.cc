// argus_trace_bench: the traces path in one process, without sockets. Used by bench/run-traces;
// see bench/README.md.
//
// The load: --traces traces (default 400000, about 12 M spans) across 8 services, each trace a
// tree of 10 to 50 spans (a server span per service hop with the client span that called it,
// internal spans in between), every span with 12 attributes (http.*, db.*, user/customer IDs,
// region, pod, ...) and its resource with 5 (service.name, version, host, environment,
// k8s namespace); about 3 % of requests fail at some hop, and the error propagates up as
// Tempo's example apps do. Start times spread over the last --hours (1). Generated with a
// fixed --seed, encoded as OTLP ExportTraceServiceRequest protobuf, --batch traces per request.
//
// Measured (each request is generated and encoded with the clocks stopped):
//   ingest   requests through TraceIngester::HandleHttp (protobuf decode, split by trace,
//            WAL append, head), with the store's maintenance (head cuts, compaction) run
//            inline: spans per second of wall time and per CPU-second of this process; then
//            the same without the maintenance's CPU, and the maintenance's share of it
//   disk     the store is closed (head cut), reopened and compacted as if every group had
//            settled (Compact at now + compaction_settle_ms, until nothing merges); bytes under its
//            directory (blocks and WAL) per span
//   by ID    --lookups random trace IDs through TempoApi GET /api/v2/traces/<id> (protobuf,
//            as Grafana asks, no time range): p50 / p99 / max
//   search   --runs runs of each TraceQL search through TempoApi GET /api/search
//            (limit 20, the whole window): median and max
// Output: a table on stdout. Exit status 1 if a request fails.
//
// Usage: argus_trace_bench [--traces 400000] [--hours 1] [--batch 50] [--lookups 1000]
//          [--runs 5] [--dir /tmp/argus-trace-bench] [--seed 1] [--keep]
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "api/tempo_api.h"
#include "ingest/otlp_traces.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "tracestore/test_util.h"
#include "tracestore/trace_store.h"

namespace otlp = opentelemetry::proto;
using argus::tracestore::TraceStore;

namespace {

// CPU time of the process (the ingest runs on this thread; the WAL has no thread of its own
// with the batch policy's fsync timer aside, which is counted too).
double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

using argus::tracestore::testing::Attr;
using argus::tracestore::testing::AttrInt;

const char* kServices[] = {"frontend", "cart", "checkout", "payment", "shipping", "email", "inventory", "db"};
const char* kRoutes[] = {"/", "/cart", "/checkout", "/api/pay", "/api/ship", "/api/items/{id}", "/login", "/search"};
const char* kRegions[] = {"eu-west-1", "us-east-1", "ap-south-1"};

struct Generator {
  std::mt19937_64 rng;
  uint64_t spans = 0;

  uint64_t R(uint64_t n) { return rng() % n; }

  std::string Bytes(size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  }

  // One trace into `req`: resource spans per service.
  void Trace(otlp::collector::trace::v1::ExportTraceServiceRequest* req, uint64_t start_ns, std::string* id_out) {
    std::string trace_id = Bytes(16);
    *id_out = trace_id;
    int n = 10 + static_cast<int>(R(41));
    bool fails = R(100) < 3;
    struct S {
      int parent;
      int service;
      int kind;
      uint64_t start, dur;
      bool error;
    };
    std::vector<S> sp;
    sp.push_back({-1, 0, 2, start_ns, 0, false});
    while (static_cast<int>(sp.size()) < n) {
      int parent = static_cast<int>(R(sp.size()));
      uint64_t st = sp[parent].start + 1000 + R(2'000'000);
      if (sp.size() + 2 <= static_cast<size_t>(n) && R(3) == 0) {
        // A hop: client span in the parent's service, server span in another.
        int svc = 1 + static_cast<int>(R(7));
        sp.push_back({parent, sp[parent].service, 3, st, 0, false});
        sp.push_back({static_cast<int>(sp.size()) - 1, svc, 2, st + 200'000, 0, false});
      } else {
        sp.push_back({parent, sp[parent].service, 1, st, 0, false});
      }
    }
    if (fails) sp[n - 1].error = true;
    // Durations: children end before parents (computed bottom-up), errors propagate up.
    for (int i = n - 1; i >= 0; --i) {
      if (sp[i].dur == 0) sp[i].dur = 100'000 + R(20'000'000);
      if (sp[i].parent >= 0) {
        S& p = sp[sp[i].parent];
        uint64_t end = sp[i].start + sp[i].dur + 50'000;
        if (p.start + p.dur < end) p.dur = end - p.start;
        if (sp[i].error) p.error = true;
      }
    }
    std::vector<otlp::trace::v1::ScopeSpans*> by_service(8, nullptr);
    for (int i = 0; i < n; ++i) {
      if (!by_service[sp[i].service]) {
        auto* rs = req->add_resource_spans();
        auto* ra = rs->mutable_resource()->mutable_attributes();
        Attr(ra, "service.name", kServices[sp[i].service]);
        Attr(ra, "service.version", fmt::format("1.{}.0", sp[i].service));
        Attr(ra, "host.name", fmt::format("node-{}", R(20)));
        Attr(ra, "deployment.environment", "production");
        Attr(ra, "k8s.namespace.name", "shop");
        auto* ss = rs->add_scope_spans();
        ss->mutable_scope()->set_name("io.opentelemetry.http");
        ss->mutable_scope()->set_version("1.30.0");
        by_service[sp[i].service] = ss;
      }
      auto* s = by_service[sp[i].service]->add_spans();
      s->set_trace_id(trace_id);
      std::string span_id(8, '\0');
      for (int b = 0; b < 4; ++b) span_id[b] = trace_id[b];
      span_id[4] = static_cast<char>(i >> 8);
      span_id[5] = static_cast<char>(i);
      span_id[6] = 1;
      span_id[7] = 2;
      s->set_span_id(span_id);
      if (sp[i].parent >= 0) {
        std::string p = span_id;
        p[4] = static_cast<char>(sp[i].parent >> 8);
        p[5] = static_cast<char>(sp[i].parent);
        s->set_parent_span_id(p);
      }
      const char* route = kRoutes[R(8)];
      s->set_name(sp[i].kind == 1 ? fmt::format("step-{}", R(12)) : fmt::format("GET {}", route));
      s->set_kind(static_cast<otlp::trace::v1::Span::SpanKind>(sp[i].kind));
      s->set_start_time_unix_nano(sp[i].start);
      s->set_end_time_unix_nano(sp[i].start + sp[i].dur);
      auto* a = s->mutable_attributes();
      Attr(a, "http.request.method", R(4) ? "GET" : "POST");
      Attr(a, "http.route", route);
      AttrInt(a, "http.response.status_code", sp[i].error ? 500 : 200);
      Attr(a, "url.scheme", "https");
      Attr(a, "server.address", fmt::format("{}.shop.svc", kServices[sp[i].service]));
      AttrInt(a, "server.port", 8080);
      Attr(a, "user.id", fmt::format("u{}", R(100000)));
      Attr(a, "customer.tier", R(10) ? "standard" : "gold");
      Attr(a, "cloud.region", kRegions[R(3)]);
      Attr(a, "k8s.pod.name", fmt::format("{}-{:x}", kServices[sp[i].service], R(1 << 20)));
      AttrInt(a, "thread.id", static_cast<int64_t>(R(64)));
      if (sp[i].service == 7) {
        Attr(a, "db.system", "postgresql");
      } else {
        Attr(a, "component", "http");
      }
      if (sp[i].error) {
        s->mutable_status()->set_code(otlp::trace::v1::Status::STATUS_CODE_ERROR);
        s->mutable_status()->set_message("upstream failed");
      }
      ++spans;
    }
  }
};

uint64_t DirBytes(const std::string& dir) {
  uint64_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"argus_trace_bench: the traces path in one process (bench/README.md)"};
  uint64_t traces = 400000, batch = 50, lookups = 1000, seed = 1;
  int runs = 5;
  double hours = 1;
  std::string dir = "/tmp/argus-trace-bench";
  bool keep = false;
  app.add_option("--traces", traces, "Traces to generate (10-50 spans each)")->capture_default_str();
  app.add_option("--hours", hours, "Window the start times spread over, ending now")->capture_default_str();
  app.add_option("--batch", batch, "Traces per OTLP request")->capture_default_str();
  app.add_option("--lookups", lookups, "Trace-by-ID lookups")->capture_default_str();
  app.add_option("--runs", runs, "Runs of each search query")->capture_default_str();
  app.add_option("--dir", dir, "Store directory (emptied first)")->capture_default_str();
  app.add_option("--seed", seed, "Random seed")->capture_default_str();
  app.add_flag("--keep", keep, "Keep the store directory");
  CLI11_PARSE(app, argc, argv);

  std::filesystem::remove_all(dir);
  Generator gen{std::mt19937_64(seed)};
  const uint64_t now_ns = static_cast<uint64_t>(argus::tracestore::NowMs()) * 1'000'000;
  const uint64_t window_ns = static_cast<uint64_t>(hours * 3600e9);
  std::vector<std::string> ids;
  ids.reserve(traces);
  argus::tracestore::TraceStoreOptions o;
  o.maintenance_interval_ms = 0;  // run inline below, so its cost is counted
  o.retention_ms = 0;
  o.max_live_traces = 0;
  auto store = TraceStore::Open(dir, o);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  // Each request is generated and encoded outside the measured part (the clocks run only
  // around the ingester and the maintenance), so the load never has to fit in memory.
  uint64_t body_bytes = 0, requests = 0;
  double ingest_cpu = 0, ingest_wall = 0, gen_wall = 0, maintain_cpu = 0;
  {
    argus::ingest::TraceIngester ing(store->get(), argus::ingest::TraceIngestLimits{}, [] { return true; });
    for (uint64_t i = 0; i < traces; i += batch) {
      double g0 = WallSeconds();
      otlp::collector::trace::v1::ExportTraceServiceRequest req;
      for (uint64_t k = i; k < std::min(traces, i + batch); ++k) {
        std::string id;
        gen.Trace(&req, now_ns - window_ns + window_ns * k / traces, &id);
        ids.push_back(std::move(id));
      }
      std::string body = req.SerializeAsString();
      body_bytes += body.size();
      gen_wall += WallSeconds() - g0;
      double cpu0 = CpuSeconds(), wall0 = WallSeconds();
      argus::ingest::OtlpHttpReply r = ing.HandleHttp("POST", "application/x-protobuf", "", body);
      if (r.status != 200) {
        std::fprintf(stderr, "request %llu: %d %s\n", static_cast<unsigned long long>(requests), r.status,
                     r.body.c_str());
        return 1;
      }
      if (++requests % 64 == 0) {
        double m0 = CpuSeconds();
        argus::Status m = (*store)->Maintain(argus::tracestore::NowMs(), false);
        if (!m.ok()) std::fprintf(stderr, "maintain: %s\n", m.ToString().c_str());
        maintain_cpu += CpuSeconds() - m0;
      }
      ingest_cpu += CpuSeconds() - cpu0;
      ingest_wall += WallSeconds() - wall0;
    }
  }
  std::fprintf(stderr, "sent %zu traces, %llu spans, %llu requests (%.1f MB); generating took %.1f s\n",
               ids.size(), static_cast<unsigned long long>(gen.spans), static_cast<unsigned long long>(requests),
               static_cast<double>(body_bytes) / 1e6, gen_wall);
  const uint64_t ingest_compactions = (*store)->stats().compactions;
  if (!(*store)->Close().ok()) return 1;
  store->reset();
  auto reopened = TraceStore::Open(dir, o);
  if (!reopened.ok()) return 1;
  TraceStore* st = reopened->get();
  while (true) {
    // As if the groups had settled: merge everything there is to merge.
    auto c = st->Compact(argus::tracestore::NowMs() + o.compaction_settle_ms);
    if (!c.ok() || !*c) break;
  }
  uint64_t disk = DirBytes(dir);
  argus::tracestore::TraceStoreStats stats = st->stats();

  argus::api::TempoApi api(st, argus::api::BuildInfo{"bench", "", "", ""});
  auto get = [&](const std::string& path, std::vector<std::pair<std::string, std::string>> params,
                 const std::string& accept, argus::api::HttpResponse* resp) {
    argus::api::HttpRequest req;
    req.method = "GET";
    req.path = path;
    req.params = std::move(params);
    if (!accept.empty()) req.headers["accept"] = accept;
    double s = WallSeconds();
    api.Handle(req, resp);
    return (WallSeconds() - s) * 1000;
  };
  std::vector<double> by_id;
  std::mt19937_64 pick(seed + 1);
  for (uint64_t i = 0; i < lookups; ++i) {
    const std::string& id = ids[pick() % ids.size()];
    std::string hex;
    for (unsigned char c : id) hex += fmt::format("{:02x}", c);
    argus::api::HttpResponse r;
    by_id.push_back(get("/api/v2/traces/" + hex, {}, "application/protobuf", &r));
    if (r.status != 200) {
      std::fprintf(stderr, "trace %s: %d\n", hex.c_str(), r.status);
      return 1;
    }
  }
  struct Query {
    const char* what;
    std::string q;
  };
  std::vector<Query> queries = {
      {"attribute filter", "{ resource.service.name = \"payment\" && span.http.response.status_code = 500 }"},
      {"structural", "{ resource.service.name = \"frontend\" } >> { resource.service.name = \"db\" && status = error }"},
  };
  std::string start = std::to_string((now_ns - window_ns) / 1'000'000'000);
  std::string end = std::to_string(now_ns / 1'000'000'000 + 60);
  std::vector<std::pair<std::string, std::vector<double>>> search;
  for (const Query& q : queries) {
    std::vector<double> ms;
    for (int r = 0; r < runs; ++r) {
      argus::api::HttpResponse resp;
      ms.push_back(get("/api/search", {{"q", q.q}, {"start", start}, {"end", end}, {"limit", "20"}}, "", &resp));
      if (resp.status != 200) {
        std::fprintf(stderr, "search %s: %d %s\n", q.q.c_str(), resp.status, resp.body.c_str());
        return 1;
      }
    }
    search.emplace_back(q.what, ms);
  }

  double spans = static_cast<double>(gen.spans);
  std::printf("traces bench: %zu traces, %.0f spans, %llu compactions during ingest, %llu blocks after compaction\n",
              ids.size(), spans, static_cast<unsigned long long>(ingest_compactions),
              static_cast<unsigned long long>(stats.blocks));
  std::printf("%-44s %14s\n", "figure", "argus");
  std::printf("%-44s %14.0f\n", "ingest spans/s (wall, 1 thread)", spans / ingest_wall);
  std::printf("%-44s %14.0f\n", "ingest spans/s per core (CPU time)", spans / ingest_cpu);
  std::printf("%-44s %14.0f\n", "  receive, WAL and head only (no maintenance)", spans / (ingest_cpu - maintain_cpu));
  std::printf("%-44s %14.1f\n", "  head cuts and compaction, % of ingest CPU", 100 * maintain_cpu / ingest_cpu);
  std::printf("%-44s %14.1f\n", "bytes/span on disk (blocks + WAL)", static_cast<double>(disk) / spans);
  std::printf("%-44s %14.1f\n", "OTLP protobuf bytes/span (for scale)", static_cast<double>(body_bytes) / spans);
  std::printf("%-44s %14.3f\n", "trace by ID p50 ms", Quantile(by_id, 0.5));
  std::printf("%-44s %14.3f\n", "trace by ID p99 ms", Quantile(by_id, 0.99));
  std::printf("%-44s %14.3f\n", "trace by ID max ms", Quantile(by_id, 1));
  for (const auto& [what, ms] : search) {
    std::printf("%-44s %14.1f\n", fmt::format("search {} median ms", what).c_str(), Quantile(ms, 0.5));
    std::printf("%-44s %14.1f\n", fmt::format("search {} max ms", what).c_str(), Quantile(ms, 1));
  }
  st->Close().IgnoreError();
  if (!keep) std::filesystem::remove_all(dir);
  return 0;
}
