#include "ingest/service_graphs.h"

#include <gtest/gtest.h>

#include "ingest/span_observer_test_util.h"

#include "ingest/testing_appender.h"

namespace argus::ingest {
namespace {

namespace otlp = opentelemetry::proto;

class Forward : public tsdb::Appender {
 public:
  explicit Forward(RecordingAppender* r) : r_(r) {}
  Status Append(const Labels& l, int64_t t, double v) override { return r_->Append(l, t, v); }
  Status AppendExemplar(const Labels& l, const Exemplar& e) override { return r_->AppendExemplar(l, e); }
  Status UpdateMetadata(const MetricMetadata& md) override { return r_->UpdateMetadata(md); }
  Status Commit() override { return r_->Commit(); }
  void Rollback() override { r_->Rollback(); }

 private:
  RecordingAppender* r_;
};

struct SpanSpec {
  int id;
  int parent;  // 0: root
  const char* service;
  int kind;
  int duration_ms;
  bool error = false;
  const char* peer = nullptr;  // peer.service
};

TestBatch Batch(char trace, std::vector<SpanSpec> spans) {
  TestBatch b;
  b.trace_id = std::string(16, trace);
  for (const SpanSpec& sp : spans) {
    auto* rs = b.spans.add_resource_spans();
    auto* kv = rs->mutable_resource()->add_attributes();
    kv->set_key("service.name");
    kv->mutable_value()->set_string_value(sp.service);
    auto* s = rs->add_scope_spans()->add_spans();
    s->set_trace_id(b.trace_id);
    s->set_span_id(std::string(7, '\x03') + static_cast<char>(sp.id));
    if (sp.parent) s->set_parent_span_id(std::string(7, '\x03') + static_cast<char>(sp.parent));
    s->set_name("op");
    s->set_kind(static_cast<otlp::trace::v1::Span::SpanKind>(sp.kind));
    s->set_start_time_unix_nano(1'000'000'000);
    s->set_end_time_unix_nano(1'000'000'000 + static_cast<uint64_t>(sp.duration_ms) * 1'000'000);
    if (sp.error) s->mutable_status()->set_code(otlp::trace::v1::Status::STATUS_CODE_ERROR);
    if (sp.peer) {
      auto* a = s->add_attributes();
      a->set_key("peer.service");
      a->mutable_value()->set_string_value(sp.peer);
    }
  }
  return b;
}

constexpr int kServer = 2, kClient = 3, kProducer = 4, kConsumer = 5, kInternal = 1;

class ServiceGraphsTest : public ::testing::Test {
 protected:
  ServiceGraphs graphs_{[this] { return std::make_unique<Forward>(&rec_); }};
  RecordingAppender rec_;

  // The last committed value of `name` for the edge client -> server.
  double Last(const std::string& name, const std::string& client, const std::string& server,
              const std::string& extra_key = "", const std::string& extra_value = "") {
    double v = -1;
    for (const auto& s : rec_.committed_samples) {
      if (s.labels.MetricName() == name && s.labels.Get("client") == client && s.labels.Get("server") == server &&
          (extra_key.empty() || s.labels.Get(extra_key) == extra_value)) {
        v = s.v;
      }
    }
    return v;
  }

  void Feed(std::vector<TestBatch> batches, int64_t now_ms) {
    std::vector<size_t> all;
    for (size_t i = 0; i < batches.size(); ++i) all.push_back(i);
    ASSERT_TRUE(Observe(graphs_, batches, all, now_ms).ok());
  }
};

TEST_F(ServiceGraphsTest, PairsClientAndServerAcrossBatches) {
  // frontend (server, root) -> frontend client span 2 -> cart server span 3 (error, 50 ms).
  Feed({Batch('a', {{1, 0, "frontend", kServer, 300}, {2, 1, "frontend", kClient, 120}})}, 1000);
  EXPECT_EQ(Last("traces_service_graph_request_total", "frontend", "cart"), -1);  // not yet paired
  EXPECT_EQ(graphs_.waiting(), 1u);
  Feed({Batch('a', {{3, 2, "cart", kServer, 50, true}})}, 2000);
  EXPECT_EQ(graphs_.waiting(), 0u);
  EXPECT_EQ(Last("traces_service_graph_request_total", "frontend", "cart"), 1);
  EXPECT_EQ(Last("traces_service_graph_request_failed_total", "frontend", "cart"), 1);
  // Server seconds: 0.05 s falls in every bucket; client 0.12 s from 0.2 on.
  EXPECT_EQ(Last("traces_service_graph_request_server_seconds_bucket", "frontend", "cart", "le", "0.1"), 1);
  EXPECT_EQ(Last("traces_service_graph_request_client_seconds_bucket", "frontend", "cart", "le", "0.1"), 0);
  EXPECT_EQ(Last("traces_service_graph_request_client_seconds_bucket", "frontend", "cart", "le", "0.2"), 1);
  EXPECT_EQ(Last("traces_service_graph_request_client_seconds_bucket", "frontend", "cart", "le", "+Inf"), 1);
  EXPECT_DOUBLE_EQ(Last("traces_service_graph_request_client_seconds_sum", "frontend", "cart"), 0.12);
  EXPECT_EQ(Last("traces_service_graph_request_server_seconds_count", "frontend", "cart"), 1);
  // The root server span is a request from outside: Tempo's "user" virtual node.
  EXPECT_EQ(Last("traces_service_graph_request_total", "user", "frontend", "connection_type", "virtual_node"), 1);

  // A second, successful request on the same edge accumulates.
  Feed({Batch('b', {{3, 2, "cart", kServer, 10}, {2, 1, "frontend", kClient, 20}})}, 3000);
  EXPECT_EQ(Last("traces_service_graph_request_total", "frontend", "cart"), 2);
  EXPECT_EQ(Last("traces_service_graph_request_failed_total", "frontend", "cart"), 1);
}

TEST_F(ServiceGraphsTest, MessagingEdgesAndInternalSpans) {
  Feed({Batch('c', {{2, 1, "orders", kProducer, 5}, {3, 2, "billing", kConsumer, 40}, {4, 3, "billing", kInternal, 1}})},
       1000);
  EXPECT_EQ(Last("traces_service_graph_request_total", "orders", "billing", "connection_type", "messaging_system"), 1);
  EXPECT_EQ(graphs_.waiting(), 0u);  // the internal span takes no part
}

TEST_F(ServiceGraphsTest, UnpairedHalvesExpireAfterWait) {
  Feed({Batch('d', {{2, 1, "frontend", kClient, 5}, {7, 6, "cart", kServer, 5}})}, 1000);
  EXPECT_EQ(graphs_.waiting(), 2u);
  ASSERT_TRUE(graphs_.Expire(5000).ok());  // before wait (10 s)
  EXPECT_EQ(graphs_.waiting(), 2u);
  ASSERT_TRUE(graphs_.Expire(11'000).ok());
  EXPECT_EQ(graphs_.waiting(), 0u);
  EXPECT_EQ(Last("traces_service_graph_unpaired_spans_total", "frontend", ""), 1);
  EXPECT_EQ(Last("traces_service_graph_unpaired_spans_total", "", "cart"), 1);
  EXPECT_EQ(Last("traces_service_graph_request_total", "frontend", ""), -1);
}

TEST_F(ServiceGraphsTest, ClientNamingItsPeerBecomesAVirtualNode) {
  Feed({Batch('e', {{2, 1, "frontend", kClient, 5, false, "payments-api"}})}, 1000);
  ASSERT_TRUE(graphs_.Expire(20'000).ok());
  EXPECT_EQ(Last("traces_service_graph_request_total", "frontend", "payments-api", "connection_type", "virtual_node"),
            1);
  EXPECT_EQ(Last("traces_service_graph_unpaired_spans_total", "frontend", ""), -1);
}

TEST(ServiceGraphs, DropsHalvesBeyondMaxItems) {
  RecordingAppender rec;
  ServiceGraphOptions o;
  o.max_items = 1;
  ServiceGraphs g([&] { return std::make_unique<Forward>(&rec); }, o);
  std::vector<TestBatch> b{Batch('f', {{2, 1, "a", kClient, 1}, {4, 3, "a", kClient, 1}})};
  ASSERT_TRUE(Observe(g, b, {0}, 1000).ok());
  EXPECT_EQ(g.waiting(), 1u);
  bool dropped = false;
  for (const auto& s : rec.committed_samples) {
    if (s.labels.MetricName() == "traces_service_graph_dropped_spans_total" && s.v == 1) dropped = true;
  }
  EXPECT_TRUE(dropped);
}

TEST(ServiceGraphs, AppenderErrorKeepsCountsForNextWrite) {
  RecordingAppender rec;
  rec.commit_status = Status::IOError("disk full");
  ServiceGraphs g([&] { return std::make_unique<Forward>(&rec); });
  std::vector<TestBatch> b{Batch('g', {{2, 1, "a", kClient, 1}, {3, 2, "b", kServer, 1}})};
  EXPECT_FALSE(Observe(g, b, {0}, 1000).ok());
  rec.commit_status = Status::OK();
  ASSERT_TRUE(g.Expire(1001).ok());
  bool written = false;
  for (const auto& s : rec.committed_samples) {
    if (s.labels.MetricName() == "traces_service_graph_request_total" && s.labels.Get("client") == "a") written = true;
  }
  EXPECT_TRUE(written);
}

TEST_F(ServiceGraphsTest, CollectRewritesLiveEdgesAndForgetsStaleOnes) {
  Feed({Batch('a', {{1, 0, "frontend", kClient, 120}, {2, 1, "cart", kServer, 50}})}, 1000);
  EXPECT_EQ(Last("traces_service_graph_request_total", "frontend", "cart"), 1);
  size_t before = rec_.committed_samples.size();
  ASSERT_TRUE(graphs_.Collect(20000, 60000).ok());
  EXPECT_GT(rec_.committed_samples.size(), before);
  EXPECT_EQ(rec_.committed_samples.back().t_ms, 20000);
  EXPECT_EQ(Last("traces_service_graph_request_total", "frontend", "cart"), 1);
  before = rec_.committed_samples.size();
  ASSERT_TRUE(graphs_.Collect(70000, 60000).ok());  // no request for 69 s: forgotten
  EXPECT_EQ(rec_.committed_samples.size(), before);
}

}  // namespace
}  // namespace argus::ingest
