#include "ingest/span_metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "model/labels.h"
#include "model/sample.h"

namespace argus::ingest {

namespace otlp = opentelemetry::proto;

namespace {

std::string KindName(int kind) {
  static const char* kNames[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
                                 "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"};
  return kind >= 0 && kind < 6 ? kNames[kind] : "SPAN_KIND_UNSPECIFIED";
}

std::string StatusName(int code) {
  return code == 1 ? "STATUS_CODE_OK" : code == 2 ? "STATUS_CODE_ERROR" : "STATUS_CODE_UNSET";
}

std::string Hex(const std::string& b) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// Prometheus' le formatting: shortest round-trip float ("0.002", "1.02", "+Inf").
std::string Le(double v) { return fmt::format("{}", v); }

}  // namespace

const std::vector<double>& DefaultSpanMetricsBuckets() {
  static const std::vector<double> kBuckets = {0.002, 0.004, 0.008, 0.016, 0.032, 0.064,
                                               0.128, 0.256, 0.512, 1.02,  2.05,  4.10};
  return kBuckets;
}

SpanMetrics::SpanMetrics(AppenderFactory appender, std::vector<double> buckets)
    : appender_(std::move(appender)), bounds_(std::move(buckets)) {}

Status SpanMetrics::Observe(const std::vector<const otlp::trace::v1::TracesData*>& traces, int64_t now_ms) {
  std::lock_guard<std::mutex> l(mu_);
  std::set<Key> touched;
  for (const otlp::trace::v1::TracesData* td : traces) {
    for (const auto& rs : td->resource_spans()) {
      std::string service;
      for (const auto& kv : rs.resource().attributes()) {
        if (kv.key() == "service.name" && kv.value().has_string_value()) service = kv.value().string_value();
      }
      for (const auto& ss : rs.scope_spans()) {
        for (const auto& s : ss.spans()) {
          Key k{service, s.name(), static_cast<int>(s.kind()), static_cast<int>(s.status().code())};
          Series& se = series_[k];
          if (se.buckets.empty()) se.buckets.assign(bounds_.size(), 0);
          double d = s.end_time_unix_nano() > s.start_time_unix_nano()
                         ? static_cast<double>(s.end_time_unix_nano() - s.start_time_unix_nano()) / 1e9
                         : 0;
          se.calls += 1;
          se.size_bytes += static_cast<double>(s.ByteSizeLong());
          se.sum_s += d;
          for (size_t j = 0; j < bounds_.size(); ++j) {
            if (d <= bounds_[j]) se.buckets[j] += 1;
          }
          se.exemplar_trace = Hex(s.trace_id());
          se.exemplar_s = d;
          se.exemplar_pending = true;
          se.updated_ms = now_ms;
          touched.insert(k);
        }
      }
    }
  }
  return WriteLocked(std::vector<Key>(touched.begin(), touched.end()), now_ms);
}

Status SpanMetrics::Collect(int64_t now_ms, int64_t stale_ms) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<Key> live;
  for (auto it = series_.begin(); it != series_.end();) {
    if (it->second.updated_ms < now_ms - stale_ms) {
      it = series_.erase(it);
    } else {
      live.push_back(it->first);
      ++it;
    }
  }
  return WriteLocked(live, now_ms);
}

Status SpanMetrics::WriteLocked(const std::vector<Key>& keys, int64_t now_ms) {
  if (keys.empty()) return Status::OK();
  std::unique_ptr<tsdb::Appender> app = appender_();
  for (const Key& k : keys) {
    Series& se = series_[k];
    LabelsBuilder base;
    base.Set("service", std::get<0>(k));
    base.Set("span_name", std::get<1>(k));
    base.Set("span_kind", KindName(std::get<2>(k)));
    base.Set("status_code", StatusName(std::get<3>(k)));
    auto with_name = [&](std::string_view name) { return LabelsBuilder(base.Build()).Set("__name__", name).Build(); };
    Status st;
    auto add = [&](const Labels& ls, double v) {
      Status a = app->Append(ls, now_ms, v);
      if (!a.ok() && st.ok()) st = a;
    };
    add(with_name("traces_spanmetrics_calls_total"), se.calls);
    add(with_name("traces_spanmetrics_size_total"), se.size_bytes);
    add(with_name("traces_spanmetrics_latency_sum"), se.sum_s);
    add(with_name("traces_spanmetrics_latency_count"), se.calls);
    for (size_t j = 0; j <= bounds_.size(); ++j) {
      Labels ls = LabelsBuilder(base.Build())
                      .Set("__name__", "traces_spanmetrics_latency_bucket")
                      .Set("le", j < bounds_.size() ? Le(bounds_[j]) : "+Inf")
                      .Build();
      add(ls, j < bounds_.size() ? se.buckets[j] : se.calls);
    }
    if (se.exemplar_pending) {
      se.exemplar_pending = false;
      Exemplar e;
      e.labels = Labels::FromMap({{"trace_id", se.exemplar_trace}});
      e.value = se.exemplar_s;
      e.t_ms = now_ms;
      // On the bucket the observation fell into, as Tempo's generator and Prometheus' client
      // libraries attach histogram exemplars: histogram_quantile(... _bucket ...) panels find it.
      size_t at = static_cast<size_t>(
          std::lower_bound(bounds_.begin(), bounds_.end(), se.exemplar_s) - bounds_.begin());
      Labels bucket_ls = LabelsBuilder(base.Build())
                             .Set("__name__", "traces_spanmetrics_latency_bucket")
                             .Set("le", at < bounds_.size() ? Le(bounds_[at]) : "+Inf")
                             .Build();
      Status ex = app->AppendExemplar(bucket_ls, e);
      if (!ex.ok() && st.ok()) st = ex;
    }
    if (!st.ok() && st.code() != StatusCode::kOutOfOrder) {
      app->Rollback();
      return st;
    }
  }
  for (auto [name, type, help, unit] :
       {std::tuple<const char*, MetricType, const char*, const char*>{
            "traces_spanmetrics_calls", MetricType::kCounter, "Spans, by service, name, kind and status.", ""},
        {"traces_spanmetrics_size", MetricType::kCounter, "Bytes of spans.", "bytes"},
        {"traces_spanmetrics_latency", MetricType::kHistogram, "Span durations.", "seconds"}}) {
    app->UpdateMetadata({.metric_family = name, .type = type, .help = help, .unit = unit})
        .IgnoreError();  // metadata only helps /api/v1/metadata
  }
  return app->Commit();
}

}  // namespace argus::ingest
