// Service graphs, as Tempo's metrics-generator "service-graphs" processor makes them (Tempo
// docs, metrics-generator/service_graphs): a request between two services is a pair of spans
// of one trace, a client span (kind CLIENT, or PRODUCER for messaging) and the server span
// (kind SERVER, or CONSUMER) whose parent it is. Each pair (an edge) is counted into
//   traces_service_graph_request_total            counter of requests
//   traces_service_graph_request_failed_total     counter of requests where either span is an error
//   traces_service_graph_request_server_seconds   histogram of the server span's duration
//   traces_service_graph_request_client_seconds   histogram of the client span's duration
// with the labels `client`, `server` (the spans' service.name) and `connection_type` (empty
// for RPC, "messaging_system" for producer/consumer, "virtual_node" / "database" for inferred
// servers, below), Tempo's default buckets 0.1 s .. 12.8 s (powers of two).
//
// A half waits for its other half for `wait_ms` (default 10 s, Tempo's `wait`); at most
// `max_items` halves wait (default 10000, Tempo's `max_items`; more are dropped and counted in
// traces_service_graph_dropped_spans_total). A half that expires alone is counted in
//   traces_service_graph_unpaired_spans_total{client="svc", server=""} (or the reverse)
// unless it is a client span naming its server, as Tempo infers virtual nodes: `peer.service`
// gives an edge with connection_type "virtual_node", `db.name` or `db.system` one with
// "database". Values are cumulative since the start of the process; every Observe/Expire
// appends the current values of the series it touched, through tsdb::Appender, at `now_ms`;
// Collect (every 15 s) appends every edge that saw a request in the last 15 minutes, and
// forgets the others (Tempo's collection interval and stale_duration).
//
// Example:
//   ServiceGraphs g([&] { return db->NewAppender(); });
//   RETURN_IF_ERROR(g.Observe(traces, NowMs()));
//   RETURN_IF_ERROR(g.Expire(NowMs()));   // periodically: unpaired halves
//
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "tsdb/storage.h"
#include "util/status.h"

namespace argus::ingest {

// Tempo's default service-graph histogram buckets (seconds): 0.1 * 2^k, k = 0..7.
const std::vector<double>& DefaultServiceGraphBuckets();

struct ServiceGraphOptions {
  int64_t wait_ms = 10'000;   // how long a half waits for its pair (ms, default 10 s)
  size_t max_items = 10'000;  // halves waiting at most (default 10000)
  std::vector<double> buckets = DefaultServiceGraphBuckets();
};

class ServiceGraphs {
 public:
  using AppenderFactory = std::function<std::unique_ptr<tsdb::Appender>()>;
  explicit ServiceGraphs(AppenderFactory appender, ServiceGraphOptions opts = {});

  // Pairs the client/server spans of `traces` (not owned), expires halves
  // older than wait_ms, and writes the touched series. Errors: the appender's (the counts
  // stay; the next call writes them again).
  Status Observe(const std::vector<const opentelemetry::proto::trace::v1::TracesData*>& traces,
                 int64_t now_ms);

  // Expires halves that waited longer than wait_ms (unpaired or virtual edges) and writes
  // the touched series. Errors: the appender's.
  Status Expire(int64_t now_ms);

  // Expires halves as Expire does, drops the edges without a request for `stale_ms`, and
  // appends the current values of every other series. Errors: the appender's.
  Status Collect(int64_t now_ms, int64_t stale_ms = 15 * 60 * 1000);

  // Halves waiting for their pair (for tests and stats).
  size_t waiting() const;

 private:
  struct Half {
    std::string service;
    double seconds = 0;
    bool failed = false;
    std::string peer;           // client: peer.service, else db.name / db.system
    bool peer_is_db = false;
  };
  struct Edge {
    std::optional<Half> client, server;
    bool messaging = false;
    int64_t added_ms = 0;
  };
  using SeriesKey = std::tuple<std::string, std::string, std::string>;  // client, server, type
  struct Histogram {
    std::vector<double> buckets;  // cumulative counts per upper bound
    double sum = 0, count = 0;
  };
  struct EdgeSeries {
    double total = 0, failed = 0;
    Histogram server, client;
    int64_t updated_ms = 0;  // the last request counted
  };

  void CompleteLocked(const SeriesKey& key, const Half& client, const Half& server, int64_t now_ms);
  void ExpireLocked(int64_t now_ms);
  void AddTo(Histogram* h, double seconds) const;
  Status WriteLocked(int64_t now_ms);

  AppenderFactory appender_;
  const ServiceGraphOptions opts_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Edge> edges_;              // GUARDED_BY(mu_): key = trace + span ID
  std::deque<std::pair<int64_t, std::string>> order_;        // GUARDED_BY(mu_): (added_ms, key)
  std::map<SeriesKey, EdgeSeries> series_;                   // GUARDED_BY(mu_)
  std::map<SeriesKey, double> unpaired_, dropped_;           // GUARDED_BY(mu_)
  std::set<SeriesKey> touched_, touched_unpaired_, touched_dropped_;  // GUARDED_BY(mu_)
};

}  // namespace argus::ingest
