// Test-only: a tsdb::Appender that records what it is given, for the tests of the ingest
// handlers (remote_write, OTLP, scrape). Not used by production code.
//
// Example:
//   RecordingAppender app;
//   app.append_hook = [](const Labels&, int64_t t_ms, double) {
//     return t_ms < 1000 ? Status::OutOfOrder("out of order sample") : Status::OK();
//   };
//   ... handler(&app) ...
//   EXPECT_EQ(app.committed_samples.size(), 3);
//
// Thread-safety: none (one test, one thread).
#pragma once

#include <cstdint>
#include <functional>
#include <variant>
#include <vector>

#include "model/labels.h"
#include "model/sample.h"
#include "tsdb/storage.h"
#include "util/status.h"

namespace argus::ingest {

class RecordingAppender : public tsdb::Appender {
 public:
  struct AppendedSample {
    Labels labels;
    int64_t t_ms = 0;
    double v = 0;
  };
  struct AppendedExemplar {
    Labels series;
    Exemplar exemplar;
  };
  struct AppendedHistogram {
    Labels labels;
    tsdb::HistogramSample sample;
  };

  // Decides the status of each Append; OK if unset. A refused sample is not recorded.
  std::function<Status(const Labels&, int64_t, double)> append_hook;
  // What Commit returns; on error nothing becomes committed.
  Status commit_status;

  Status Append(const Labels& labels, int64_t t_ms, double v) override {
    ++append_calls;
    Status st = append_hook ? append_hook(labels, t_ms, v) : Status::OK();
    if (st.ok()) pending_samples_.push_back({labels, t_ms, v});
    return st;
  }
  // Validates like the DB does (InvalidArgument with Prometheus' message), then records.
  Status AppendHistogram(const Labels& labels, const tsdb::HistogramSample& s) override {
    Status valid = std::visit([](const auto& h) { return h.Validate(); }, s.value);
    if (!valid.ok()) return valid;
    pending_histograms_.push_back({labels, s});
    return Status::OK();
  }
  Status AppendExemplar(const Labels& labels, const Exemplar& e) override {
    pending_exemplars_.push_back({labels, e});
    return Status::OK();
  }
  Status UpdateMetadata(const MetricMetadata& md) override {
    pending_metadata_.push_back(md);
    return Status::OK();
  }
  Status Commit() override {
    ++commit_calls;
    if (!commit_status.ok()) {
      Discard();
      return commit_status;
    }
    for (auto& s : pending_samples_) committed_samples.push_back(std::move(s));
    for (auto& e : pending_exemplars_) committed_exemplars.push_back(std::move(e));
    for (auto& h : pending_histograms_) committed_histograms.push_back(std::move(h));
    for (auto& m : pending_metadata_) committed_metadata.push_back(std::move(m));
    Discard();
    return Status::OK();
  }
  void Rollback() override {
    ++rollback_calls;
    Discard();
  }

  // Committed samples of the series with exactly these labels.
  std::vector<AppendedSample> SamplesOf(const Labels& labels) const {
    std::vector<AppendedSample> out;
    for (const auto& s : committed_samples) {
      if (s.labels == labels) out.push_back(s);
    }
    return out;
  }
  // Committed samples whose metric name is `name`.
  std::vector<AppendedSample> SamplesNamed(std::string_view name) const {
    std::vector<AppendedSample> out;
    for (const auto& s : committed_samples) {
      if (s.labels.MetricName() == name) out.push_back(s);
    }
    return out;
  }

  std::vector<AppendedSample> committed_samples;
  std::vector<AppendedExemplar> committed_exemplars;
  std::vector<AppendedHistogram> committed_histograms;
  std::vector<MetricMetadata> committed_metadata;
  int append_calls = 0, commit_calls = 0, rollback_calls = 0;

 private:
  void Discard() {
    pending_samples_.clear();
    pending_exemplars_.clear();
    pending_histograms_.clear();
    pending_metadata_.clear();
  }
  std::vector<AppendedSample> pending_samples_;
  std::vector<AppendedExemplar> pending_exemplars_;
  std::vector<AppendedHistogram> pending_histograms_;
  std::vector<MetricMetadata> pending_metadata_;
};

}  // namespace argus::ingest
