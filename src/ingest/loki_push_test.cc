#include "ingest/loki_push.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include "loki/push.pb.h"

namespace argus::ingest {
namespace {

constexpr int64_t kNow = 1'700'000'000'000'000'000;

class CollectingWriter : public logstore::LogWriter {
 public:
  Status Push(const std::vector<logstore::PushStream>& s) override {
    streams.insert(streams.end(), s.begin(), s.end());
    return Status::OK();
  }
  size_t entries() const {
    size_t n = 0;
    for (const auto& s : streams) n += s.entries.size();
    return n;
  }
  std::vector<logstore::PushStream> streams;
};

TEST(LokiPushTest, JsonWithStructuredMetadata) {
  CollectingWriter w;
  LokiPushHandler h(LokiLimits{}, &w);
  std::string body = R"({"streams":[{"stream":{"app":"a","env":"prod"},"values":[["1700000000000000000","hello"],
      ["1700000000000000001","world",{"trace_id":"abc"}]]}]})";
  ASSERT_TRUE(h.HandleHttp(body, "application/json", "", kNow, nullptr).ok());
  ASSERT_EQ(w.streams.size(), 1u);
  EXPECT_EQ(w.streams[0].labels.ToString(), R"({app="a", env="prod"})");
  ASSERT_EQ(w.streams[0].entries.size(), 2u);
  EXPECT_EQ(w.streams[0].entries[1].metadata[0].value, "abc");
  EXPECT_EQ(w.streams[0].entries[1].ts_ns, 1700000000000000001);
}

TEST(LokiPushTest, SnappyProtobuf) {
  logproto::PushRequest req;
  auto* s = req.add_streams();
  s->set_labels(R"({job="x", path="/var/log/a \"b\""})");
  auto* e = s->add_entries();
  e->mutable_timestamp()->set_seconds(1'700'000'000);
  e->mutable_timestamp()->set_nanos(5);
  e->set_line("line one");
  auto* md = e->add_structuredmetadata();
  md->set_name("k");
  md->set_value("v");
  std::string raw = req.SerializeAsString(), comp;
  snappy::Compress(raw.data(), raw.size(), &comp);
  CollectingWriter w;
  LokiPushHandler h(LokiLimits{}, &w);
  ASSERT_TRUE(h.HandleHttp(comp, "application/x-protobuf", "", kNow, nullptr).ok());
  ASSERT_EQ(w.entries(), 1u);
  EXPECT_EQ(w.streams[0].labels.Get("path"), "/var/log/a \"b\"");
  EXPECT_EQ(w.streams[0].entries[0].ts_ns, 1'700'000'000'000'000'005);
  EXPECT_EQ(w.streams[0].entries[0].metadata[0].name, "k");
}

TEST(LokiPushTest, BadInputIsInvalidArgument) {
  CollectingWriter w;
  LokiPushHandler h(LokiLimits{}, &w);
  EXPECT_EQ(h.HandleHttp("not json", "application/json", "", kNow, nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(h.HandleHttp("\xff\xff\xff", "application/x-protobuf", "", kNow, nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(h.HandleHttp(R"({"streams":[{"stream":{"1bad":"x"},"values":[["1","l"]]}]})", "application/json", "", kNow,
                         nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseLabelsText("{a=\"b\"").ok());
  EXPECT_EQ(w.entries(), 0u);
}

TEST(LokiPushTest, LimitsRejectEntriesButKeepTheRest) {
  CollectingWriter w;
  LokiLimits lim;
  lim.max_line_size_bytes = 10;
  LokiPushHandler h(lim, &w);
  std::vector<logstore::PushStream> ps = {{Labels::FromMap({{"app", "a"}}),
                                           {{kNow, "short", {}}, {kNow, "this line is too long", {}},
                                            {kNow - 8 * 24 * 3600LL * 1'000'000'000, "old", {}}}}};
  PushStats stats;
  Status st = h.Push(ps, kNow, &stats);
  ASSERT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("Max entry size '10' bytes exceeded for stream '{app=\"a\"}'"), std::string::npos);
  EXPECT_NE(st.message().find("timestamp too old"), std::string::npos);
  EXPECT_EQ(stats.rejected, 2u);
  EXPECT_EQ(w.entries(), 1u);
  std::vector<Label> many;
  for (int i = 0; i < 16; ++i) many.push_back({"l" + std::to_string(i), "v"});
  Status st2 = h.Push({{*Labels::FromUnsorted(many), {{kNow, "x", {}}}}}, kNow, nullptr);
  EXPECT_NE(st2.message().find("has 16 label names; limit 15"), std::string::npos);
}

TEST(LokiPushTest, RateLimitIs429AndStoresNothing) {
  CollectingWriter w;
  LokiLimits lim;
  lim.ingestion_rate_bytes_per_s = 100;
  lim.ingestion_burst_bytes = 150;
  LokiPushHandler h(lim, &w);
  std::string line(100, 'x');
  ASSERT_TRUE(h.Push({{Labels::FromMap({{"app", "a"}}), {{kNow, line, {}}}}}, kNow, nullptr).ok());
  Status st = h.Push({{Labels::FromMap({{"app", "a"}}), {{kNow, line, {}}}}}, kNow, nullptr);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("Ingestion rate limit exceeded"), std::string::npos);
  EXPECT_EQ(w.entries(), 1u);
  // A second later the bucket has refilled.
  EXPECT_TRUE(h.Push({{Labels::FromMap({{"app", "a"}}), {{kNow, line, {}}}}}, kNow + 1'000'000'000, nullptr).ok());
}

TEST(LokiPushTest, OtlpResourceAttributesBecomeLabels) {
  opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest req;
  auto* rl = req.add_resource_logs();
  auto* a = rl->mutable_resource()->add_attributes();
  a->set_key("service.name");
  a->mutable_value()->set_string_value("checkout");
  auto* b = rl->mutable_resource()->add_attributes();
  b->set_key("host.name");
  b->mutable_value()->set_string_value("h1");
  auto* rec = rl->add_scope_logs()->add_log_records();
  rec->set_time_unix_nano(42);
  rec->mutable_body()->set_string_value("hello");
  rec->set_trace_id(std::string("\x01\x02", 2));
  rec->set_severity_text("INFO");
  auto out = TranslateOtlpLogs(req, kNow);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].labels.ToString(), R"({service_name="checkout"})");
  ASSERT_EQ(out[0].entries.size(), 1u);
  const auto& md = out[0].entries[0].metadata;
  auto get = [&](const std::string& n) {
    for (const auto& l : md) if (l.name == n) return l.value;
    return std::string("<absent>");
  };
  EXPECT_EQ(get("host_name"), "h1");
  EXPECT_EQ(get("trace_id"), "0102");
  EXPECT_EQ(get("severity_text"), "INFO");
  EXPECT_EQ(out[0].entries[0].ts_ns, 42);
  req.mutable_resource_logs(0)->mutable_resource()->clear_attributes();
  EXPECT_EQ(TranslateOtlpLogs(req, kNow)[0].labels.Get("service_name"), "unknown_service");
}

}  // namespace
}  // namespace argus::ingest
