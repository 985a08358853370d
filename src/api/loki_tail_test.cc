#include "api/loki_tail.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>

namespace argus::api {
namespace {

constexpr int64_t kSec = 1'000'000'000;

int64_t WallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class LokiTailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/argus_loki_tail_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    logstore::LogStoreOptions o;
    o.wal.sync = wal::SyncPolicy::kNone;
    o.ooo_window_ns = 0;
    store_ = std::move(*logstore::LogStore::Open(dir_, o));
    now_ = WallNs();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Push(const std::string& app, int64_t ts_ns, const std::string& line) {
    ASSERT_TRUE(store_->Push({{Labels::FromMap({{"app", app}}), {{ts_ns, line, {}}}}}).ok());
  }
  UpgradeResult Start(std::vector<std::pair<std::string, std::string>> params) {
    HttpRequest req;
    req.method = "GET";
    req.path = "/loki/api/v1/tail";
    req.params = std::move(params);
    return StartLokiTail(store_.get(), req, now_);
  }
  static std::vector<std::string> Poll(PushSession& s, int64_t now_ns) {
    std::vector<std::string> out;
    EXPECT_TRUE(s.Poll(now_ns, &out));
    return out;
  }

  std::string dir_;
  std::unique_ptr<logstore::LogStore> store_;
  int64_t now_ = 0;
};

TEST_F(LokiTailTest, RejectsBadParametersWithLokiMessages) {
  auto no_query = Start({});
  EXPECT_EQ(no_query.session, nullptr);
  EXPECT_EQ(no_query.error.status, 400);
  auto metric = Start({{"query", R"(count_over_time({app="a"}[1m]))"}});
  EXPECT_EQ(metric.session, nullptr);
  EXPECT_EQ(metric.error.status, 400);
  auto delay = Start({{"query", R"({app="a"})"}, {"delay_for", "6"}});
  EXPECT_EQ(delay.session, nullptr);
  EXPECT_EQ(delay.error.body, "delay_for can't be greater than 5");
  EXPECT_EQ(Start({{"query", R"({app="a"})"}, {"limit", "0"}}).error.status, 400);
  EXPECT_EQ(Start({{"query", R"({app="a"})"}, {"start", "yesterday"}}).error.status, 400);
  EXPECT_EQ(Start({{"query", R"({app="a"} |= )"}}).error.status, 400);
}

TEST_F(LokiTailTest, LookbackThenLiveEntriesThroughThePipeline) {
  Push("web", now_ - 3 * kSec, "old error one");
  Push("web", now_ - 2 * kSec, "old fine");
  Push("web", now_ - 1 * kSec, "old error two");
  auto up = Start({{"query", R"({app="web"} |= "error")"}, {"start", std::to_string(now_ - 10 * kSec)}});
  ASSERT_NE(up.session, nullptr) << up.error.body;
  auto first = Poll(*up.session, WallNs());
  ASSERT_EQ(first.size(), 1u);
  std::string want = R"({"streams":[{"stream":{"app":"web"},"values":[[")" + std::to_string(now_ - 3 * kSec) +
                     R"(","old error one"],[")" + std::to_string(now_ - kSec) + R"(","old error two"]]}]})";
  EXPECT_EQ(first[0], want);
  EXPECT_TRUE(Poll(*up.session, WallNs()).empty());  // nothing new

  Push("web", now_ + kSec, "new error");
  Push("web", now_ + 2 * kSec, "new fine");
  Push("db", now_ + 3 * kSec, "db error");
  auto live = Poll(*up.session, WallNs());
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0], R"({"streams":[{"stream":{"app":"web"},"values":[[")" + std::to_string(now_ + kSec) +
                         R"(","new error"]]}]})");
}

TEST_F(LokiTailTest, LimitCapsTheLookback) {
  for (int i = 0; i < 5; ++i) Push("web", now_ - (5 - i) * kSec, "line " + std::to_string(i));
  auto up = Start({{"query", R"({app="web"})"}, {"limit", "2"}});
  ASSERT_NE(up.session, nullptr);
  auto first = Poll(*up.session, WallNs());
  ASSERT_EQ(first.size(), 1u);
  EXPECT_NE(first[0].find("line 0"), std::string::npos);  // oldest first
  EXPECT_NE(first[0].find("line 1"), std::string::npos);
  EXPECT_EQ(first[0].find("line 2"), std::string::npos);
}

TEST_F(LokiTailTest, DelayForHoldsEntriesBack) {
  auto up = Start({{"query", R"({app="web"})"}, {"delay_for", "5"}});
  ASSERT_NE(up.session, nullptr);
  Push("web", now_, "late");
  int64_t t = WallNs();
  EXPECT_TRUE(Poll(*up.session, t).empty());
  auto later = Poll(*up.session, t + 6 * kSec);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_NE(later[0].find("late"), std::string::npos);
}

TEST_F(LokiTailTest, SlowClientsGetDroppedEntries) {
  auto up = Start({{"query", R"({app="web"})"}});
  ASSERT_NE(up.session, nullptr);
  std::vector<logstore::LogEntry> es;
  for (size_t i = 0; i < kTailMaxPendingEntries + 3; ++i) es.push_back({now_ + static_cast<int64_t>(i), "x", {}});
  ASSERT_TRUE(store_->Push({{Labels::FromMap({{"app", "web"}}), es}}).ok());
  auto frames = Poll(*up.session, WallNs());
  ASSERT_EQ(frames.size(), 1u);
  std::string first_dropped = R"("dropped_entries":[{"labels":{"app":"web"},"timestamp":")" + std::to_string(now_) + "\"}";
  EXPECT_NE(frames[0].find(first_dropped), std::string::npos);
  EXPECT_EQ(frames[0].find("\"timestamp\":\"" + std::to_string(now_ + 3) + "\""), std::string::npos);  // 3 dropped
}

TEST_F(LokiTailTest, EndedSessionIsNoLongerFed) {
  auto up = Start({{"query", R"({app="web"})"}});
  ASSERT_NE(up.session, nullptr);
  up.session.reset();
  Push("web", now_, "after");  // must not touch the destroyed session
  EXPECT_EQ(store_->stats().entries, 1u);
}

}  // namespace
}  // namespace argus::api
