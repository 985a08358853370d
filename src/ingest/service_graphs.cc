#include "ingest/service_graphs.h"

#include <fmt/format.h>

#include "model/labels.h"
#include "model/sample.h"

namespace argus::ingest {

namespace otlp = opentelemetry::proto;

namespace {

const otlp::common::v1::AnyValue* Find(
    const google::protobuf::RepeatedPtrField<otlp::common::v1::KeyValue>& attrs, std::string_view key) {
  for (const auto& kv : attrs) {
    if (kv.key() == key) return &kv.value();
  }
  return nullptr;
}

std::string StringAttr(const otlp::trace::v1::Span& s, std::string_view key) {
  const otlp::common::v1::AnyValue* v = Find(s.attributes(), key);
  return v && v->has_string_value() ? v->string_value() : "";
}

std::string Le(double v) { return fmt::format("{}", v); }

}  // namespace

const std::vector<double>& DefaultServiceGraphBuckets() {
  static const std::vector<double> kBuckets = {0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8};
  return kBuckets;
}

ServiceGraphs::ServiceGraphs(AppenderFactory appender, ServiceGraphOptions opts)
    : appender_(std::move(appender)), opts_(std::move(opts)) {}

size_t ServiceGraphs::waiting() const {
  std::lock_guard<std::mutex> l(mu_);
  return edges_.size();
}

void ServiceGraphs::AddTo(Histogram* h, double seconds) const {
  if (h->buckets.empty()) h->buckets.assign(opts_.buckets.size(), 0);
  for (size_t j = 0; j < opts_.buckets.size(); ++j) {
    if (seconds <= opts_.buckets[j]) h->buckets[j] += 1;
  }
  h->sum += seconds;
  h->count += 1;
}

void ServiceGraphs::CompleteLocked(const SeriesKey& key, const Half& client, const Half& server,
                                   int64_t now_ms) {
  EdgeSeries& e = series_[key];
  e.updated_ms = now_ms;
  e.total += 1;
  if (client.failed || server.failed) e.failed += 1;
  AddTo(&e.server, server.seconds);
  AddTo(&e.client, client.seconds);
  touched_.insert(key);
}

void ServiceGraphs::ExpireLocked(int64_t now_ms) {
  while (!order_.empty() && order_.front().first + opts_.wait_ms <= now_ms) {
    auto it = edges_.find(order_.front().second);
    order_.pop_front();
    if (it == edges_.end()) continue;  // paired already
    const Edge& e = it->second;
    if (e.client && !e.client->peer.empty()) {
      // Tempo's virtual nodes: the client span says whom it called.
      Half server;
      server.service = e.client->peer;
      server.seconds = e.client->seconds;
      CompleteLocked({e.client->service, e.client->peer, e.client->peer_is_db ? "database" : "virtual_node"},
                     *e.client, server, now_ms);
    } else {
      SeriesKey k{e.client ? e.client->service : "", e.server ? e.server->service : "", ""};
      unpaired_[k] += 1;
      touched_unpaired_.insert(k);
    }
    edges_.erase(it);
  }
}

Status ServiceGraphs::Observe(const std::vector<const otlp::trace::v1::TracesData*>& traces, int64_t now_ms) {
  std::lock_guard<std::mutex> l(mu_);
  for (const otlp::trace::v1::TracesData* td : traces) {
    for (const auto& rs : td->resource_spans()) {
      std::string service;
      if (const auto* v = Find(rs.resource().attributes(), "service.name"); v && v->has_string_value()) {
        service = v->string_value();
      }
      for (const auto& ss : rs.scope_spans()) {
        for (const auto& s : ss.spans()) {
          using K = otlp::trace::v1::Span;
          bool client = s.kind() == K::SPAN_KIND_CLIENT || s.kind() == K::SPAN_KIND_PRODUCER;
          bool server = s.kind() == K::SPAN_KIND_SERVER || s.kind() == K::SPAN_KIND_CONSUMER;
          if (!client && !server) continue;
          Half h;
          h.service = service;
          h.seconds = s.end_time_unix_nano() > s.start_time_unix_nano()
                          ? static_cast<double>(s.end_time_unix_nano() - s.start_time_unix_nano()) / 1e9
                          : 0;
          h.failed = s.status().code() == otlp::trace::v1::Status::STATUS_CODE_ERROR;
          bool messaging = s.kind() == K::SPAN_KIND_PRODUCER || s.kind() == K::SPAN_KIND_CONSUMER;
          if (server && s.parent_span_id().empty()) {
            // A root server span: the request came from outside (Tempo's "user" node).
            Half user;
            user.service = "user";
            user.seconds = h.seconds;
            CompleteLocked({"user", service, "virtual_node"}, user, h, now_ms);
            continue;
          }
          if (client) {
            h.peer = StringAttr(s, "peer.service");
            if (h.peer.empty()) {
              h.peer = StringAttr(s, "db.name");
              if (h.peer.empty()) h.peer = StringAttr(s, "db.system");
              h.peer_is_db = !h.peer.empty();
            }
          }
          std::string key = s.trace_id() + (client ? s.span_id() : s.parent_span_id());
          auto it = edges_.find(key);
          if (it == edges_.end()) {
            if (edges_.size() >= opts_.max_items) {
              SeriesKey k{client ? service : "", server ? service : "", ""};
              dropped_[k] += 1;
              touched_dropped_.insert(k);
              continue;
            }
            Edge e;
            e.added_ms = now_ms;
            e.messaging = messaging;
            (client ? e.client : e.server) = std::move(h);
            edges_.emplace(key, std::move(e));
            order_.emplace_back(now_ms, key);
            continue;
          }
          Edge& e = it->second;
          std::optional<Half>& slot = client ? e.client : e.server;
          if (slot) continue;  // a second span with the same ID: keep the first
          slot = std::move(h);
          e.messaging = e.messaging || messaging;
          CompleteLocked({e.client->service, e.server->service, e.messaging ? "messaging_system" : ""},
                         *e.client, *e.server, now_ms);
          edges_.erase(it);  // its entry in order_ is skipped when it comes up
        }
      }
    }
  }
  ExpireLocked(now_ms);
  return WriteLocked(now_ms);
}

Status ServiceGraphs::Expire(int64_t now_ms) {
  std::lock_guard<std::mutex> l(mu_);
  ExpireLocked(now_ms);
  return WriteLocked(now_ms);
}

Status ServiceGraphs::Collect(int64_t now_ms, int64_t stale_ms) {
  std::lock_guard<std::mutex> l(mu_);
  ExpireLocked(now_ms);
  for (auto it = series_.begin(); it != series_.end();) {
    if (it->second.updated_ms < now_ms - stale_ms) {
      it = series_.erase(it);
    } else {
      touched_.insert(it->first);
      ++it;
    }
  }
  for (const auto& [k, v] : unpaired_) touched_unpaired_.insert(k);
  for (const auto& [k, v] : dropped_) touched_dropped_.insert(k);
  return WriteLocked(now_ms);
}

Status ServiceGraphs::WriteLocked(int64_t now_ms) {
  if (touched_.empty() && touched_unpaired_.empty() && touched_dropped_.empty()) return Status::OK();
  std::unique_ptr<tsdb::Appender> app = appender_();
  Status st;
  auto add = [&](const Labels& ls, double v) {
    Status a = app->Append(ls, now_ms, v);
    if (!a.ok() && a.code() != StatusCode::kOutOfOrder && st.ok()) st = a;
  };
  auto labels = [](const SeriesKey& k, std::string_view name) {
    LabelsBuilder b;
    b.Set("__name__", name);
    b.Set("client", std::get<0>(k));
    b.Set("server", std::get<1>(k));
    b.Set("connection_type", std::get<2>(k));
    return b;
  };
  auto histogram = [&](const SeriesKey& k, const std::string& name, const Histogram& h) {
    add(labels(k, name + "_sum").Build(), h.sum);
    add(labels(k, name + "_count").Build(), h.count);
    for (size_t j = 0; j <= opts_.buckets.size(); ++j) {
      add(labels(k, name + "_bucket").Set("le", j < opts_.buckets.size() ? Le(opts_.buckets[j]) : "+Inf").Build(),
          j < opts_.buckets.size() ? h.buckets[j] : h.count);
    }
  };
  for (const SeriesKey& k : touched_) {
    const EdgeSeries& e = series_[k];
    add(labels(k, "traces_service_graph_request_total").Build(), e.total);
    add(labels(k, "traces_service_graph_request_failed_total").Build(), e.failed);
    histogram(k, "traces_service_graph_request_server_seconds", e.server);
    histogram(k, "traces_service_graph_request_client_seconds", e.client);
  }
  for (const SeriesKey& k : touched_unpaired_) {
    add(labels(k, "traces_service_graph_unpaired_spans_total").Build(), unpaired_[k]);
  }
  for (const SeriesKey& k : touched_dropped_) {
    add(labels(k, "traces_service_graph_dropped_spans_total").Build(), dropped_[k]);
  }
  if (!st.ok()) {
    app->Rollback();
    return st;
  }
  for (auto [name, type, help, unit] :
       {std::tuple<const char*, MetricType, const char*, const char*>{
            "traces_service_graph_request", MetricType::kCounter, "Requests between two services.", ""},
        {"traces_service_graph_request_failed", MetricType::kCounter, "Failed requests between two services.", ""},
        {"traces_service_graph_request_server_seconds", MetricType::kHistogram,
         "Request durations as seen by the server.", "seconds"},
        {"traces_service_graph_request_client_seconds", MetricType::kHistogram,
         "Request durations as seen by the client.", "seconds"},
        {"traces_service_graph_unpaired_spans", MetricType::kCounter, "Client or server spans never paired.", ""},
        {"traces_service_graph_dropped_spans", MetricType::kCounter, "Spans dropped: too many waiting.", ""}}) {
    app->UpdateMetadata({.metric_family = name, .type = type, .help = help, .unit = unit})
        .IgnoreError();  // metadata only helps /api/v1/metadata
  }
  RETURN_IF_ERROR(app->Commit());
  touched_.clear();
  touched_unpaired_.clear();
  touched_dropped_.clear();
  return Status::OK();
}

}  // namespace argus::ingest
