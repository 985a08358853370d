#include "tsdb/db.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "util/file.h"

namespace argus::tsdb {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;

Matcher M(MatchType t, std::string name, std::string value) {
  Result<Matcher> m = Matcher::Make(t, std::move(name), std::move(value));
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return *m;
}

Labels SeriesLabels(int i) {
  return Labels::FromMap({{"__name__", "m"}, {"series", std::to_string(i)}});
}

class DbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/argus_db_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { RemoveAll(dir_).IgnoreError(); }

  std::unique_ptr<DB> MustOpen(const DbOptions& opts = {}, const std::string& dir = "") {
    Result<std::unique_ptr<DB>> db = DB::Open(dir.empty() ? dir_ : dir, opts);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(*db) : nullptr;
  }

  // Appends, for each t in [from, to) step `step`, the value t/1000 + series to `n` series.
  static void AppendRange(DB& db, int n, int64_t from, int64_t to, int64_t step) {
    for (int64_t t = from; t < to; t += step) {
      auto app = db.NewAppender();
      for (int i = 0; i < n; ++i) {
        ASSERT_TRUE(app->Append(SeriesLabels(i), t, double(t / 1000 + i)).ok());
      }
      ASSERT_TRUE(app->Commit().ok());
    }
  }

  // Checks that every series has exactly the samples AppendRange wrote.
  static void ExpectRange(DB& db, int n, int64_t from, int64_t to, int64_t step) {
    auto q = db.NewQuerier(INT64_MIN / 2, INT64_MAX / 2);
    ASSERT_TRUE(q.ok());
    auto ss = (*q)->Select({M(MatchType::kEqual, "__name__", "m")}, {});
    ASSERT_TRUE(ss.ok()) << ss.status().ToString();
    ASSERT_EQ(ss->size(), size_t(n));
    for (const auto& s : *ss) {
      const int i = std::stoi(std::string(s.labels.Get("series")));
      ASSERT_EQ(s.samples.size(), size_t((to - from + step - 1) / step)) << s.labels.ToString();
      int64_t t = from;
      for (const auto& x : s.samples) {
        ASSERT_EQ(x.t_ms, t);
        ASSERT_EQ(x.v, double(t / 1000 + i));
        t += step;
      }
    }
  }

  std::string dir_;
};

TEST_F(DbTest, AppendCommitQuery) {
  auto db = MustOpen();
  AppendRange(*db, 3, 0, 100 * 15000, 15000);
  ExpectRange(*db, 3, 0, 100 * 15000, 15000);
  // Append errors leave the batch usable.
  auto app = db->NewAppender();
  EXPECT_EQ(app->Append(Labels::FromMap({{"job", "x"}}), 1, 1).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(app->Append(SeriesLabels(0), 0, 42).code(), StatusCode::kOutOfOrder);
  EXPECT_TRUE(app->Append(SeriesLabels(9), 5, 5).ok());
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(app->Commit().code(), StatusCode::kInternal);  // not reusable
  // A rolled-back batch is not visible.
  auto rb = db->NewAppender();
  ASSERT_TRUE(rb->Append(SeriesLabels(10), 5, 5).ok());
  rb->Rollback();
  auto q = db->NewQuerier(0, 10);
  ASSERT_TRUE(q.ok());
  auto ss = (*q)->Select({M(MatchType::kRegexMatch, "series", "9|10")}, {});
  ASSERT_TRUE(ss.ok());
  ASSERT_EQ(ss->size(), 1u);
  EXPECT_EQ((*ss)[0].labels, SeriesLabels(9));
  DB::Stats st = db->GetStats();
  EXPECT_EQ(st.head_samples_appended, 301u);
  EXPECT_EQ(st.min_time_ms, 0);
  EXPECT_EQ(st.max_time_ms, 99 * 15000);
  EXPECT_GT(st.wal_bytes, 0u);
  ASSERT_TRUE(db->Close().ok());
  ASSERT_TRUE(db->Close().ok());  // idempotent
  auto late = db->NewAppender();
  ASSERT_TRUE(late->Append(SeriesLabels(0), 10000000, 1).ok());
  EXPECT_EQ(late->Commit().code(), StatusCode::kUnavailable);
}

TEST_F(DbTest, BorrowedLabelsFindAndCreateSeriesLikeOwnedOnes) {
  {
    auto db = MustOpen();
    auto app = db->NewAppender();
    ASSERT_TRUE(app->Append(SeriesLabels(1), 1000, 1).ok());
    ASSERT_TRUE(app->Commit().ok());
    // The same series borrowed, a new one borrowed, and a new one named twice in a batch.
    const Labels one = SeriesLabels(1), two = SeriesLabels(2);
    std::vector<LabelRef> r1, r2;
    for (const auto& l : one) r1.push_back({l.name, l.value});
    for (const auto& l : two) r2.push_back({l.name, l.value});
    auto b = db->NewAppender();
    ASSERT_TRUE(b->AppendBorrowed(LabelsView(r1), 2000, 2).ok());
    ASSERT_TRUE(b->AppendBorrowed(LabelsView(r2), 2000, 20).ok());
    ASSERT_TRUE(b->AppendBorrowed(LabelsView(r2), 3000, 30).ok());
    // A different value at a committed timestamp: refused like an owned label set's.
    EXPECT_EQ(b->AppendBorrowed(LabelsView(r1), 1000, 9).code(), StatusCode::kOutOfOrder);
    ASSERT_TRUE(b->Commit().ok());
    EXPECT_EQ(db->GetStats().head_series, 2u);
    ASSERT_TRUE(db->Close().ok());
  }
  // After replay: one series record per series, every sample in place.
  auto db = MustOpen();
  auto q = db->NewQuerier(0, 10000);
  ASSERT_TRUE(q.ok());
  auto ss = (*q)->Select({M(MatchType::kEqual, "__name__", "m")}, {});
  ASSERT_TRUE(ss.ok());
  ASSERT_EQ(ss->size(), 2u);
  for (const auto& s : *ss) {
    if (s.labels == SeriesLabels(1)) {
      EXPECT_EQ(s.samples, (std::vector<Sample>{{1000, 1}, {2000, 2}}));
    } else {
      EXPECT_EQ(s.labels, SeriesLabels(2));
      EXPECT_EQ(s.samples, (std::vector<Sample>{{2000, 20}, {3000, 30}}));
    }
  }
}

TEST_F(DbTest, NewSeriesFarBehindTheHeadIsOutOfBounds) {
  auto db = MustOpen();
  const int64_t now_ms = 30LL * 24 * 3600 * 1000;
  AppendRange(*db, 1, now_ms, now_ms + 15000, 15000);
  auto app = db->NewAppender();
  // Older than the newest sample minus 1 h (half the 2 h chunk range; the OOO window is 10m).
  Status st = app->Append(SeriesLabels(7), now_ms - 3600 * 1000 - 1, 1);
  EXPECT_EQ(st.code(), StatusCode::kOutOfOrder);
  EXPECT_EQ(st.message(), "out of bounds");
  EXPECT_TRUE(app->Append(SeriesLabels(8), now_ms - 3600 * 1000, 1).ok());
  ASSERT_TRUE(app->Commit().ok());
  auto q = db->NewQuerier(0, now_ms);
  ASSERT_TRUE(q.ok());
  auto ss = (*q)->Select({M(MatchType::kRegexMatch, "series", "7|8")}, {});
  ASSERT_TRUE(ss.ok());
  ASSERT_EQ(ss->size(), 1u);  // the refused sample created no series either
  EXPECT_EQ((*ss)[0].labels, SeriesLabels(8));
}

TEST_F(DbTest, SecondOpenOfTheSameDirectoryFails) {
  auto db = MustOpen();
  Result<std::unique_ptr<DB>> other = DB::Open(dir_, {});
  EXPECT_EQ(other.status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(DbTest, ReopenReplaysTheWal) {
  {
    auto db = MustOpen();
    AppendRange(*db, 5, 0, 200 * 10000, 10000);
    auto app = db->NewAppender();
    Exemplar e{Labels::FromMap({{"trace_id", "abc"}}), 7, 1000};
    ASSERT_TRUE(app->AppendExemplar(SeriesLabels(1), e).ok());
    ASSERT_TRUE(app->UpdateMetadata({"m", MetricType::kGauge, "A gauge.", "bytes"}).ok());
    // Out-of-order samples are replayed too.
    ASSERT_TRUE(app->Append(SeriesLabels(0), 199 * 10000 - 5000, -1).ok());
    ASSERT_TRUE(app->Commit().ok());
    ASSERT_TRUE(db->Close().ok());
  }
  auto db = MustOpen();
  EXPECT_EQ(db->replay_stats().series, 5u);
  EXPECT_EQ(db->replay_stats().samples, 1001u);
  EXPECT_EQ(db->replay_stats().samples_skipped, 0u);
  auto q = db->NewQuerier(0, INT64_MAX);
  ASSERT_TRUE(q.ok());
  auto ss = (*q)->Select({M(MatchType::kEqual, "series", "0")}, {});
  ASSERT_TRUE(ss.ok());
  ASSERT_EQ(ss->size(), 1u);
  ASSERT_EQ((*ss)[0].samples.size(), 201u);
  EXPECT_EQ((*ss)[0].samples[199], (Sample{199 * 10000 - 5000, -1}));
  auto ex = db->QueryExemplars(0, 5000, {{M(MatchType::kEqual, "__name__", "m")}});
  ASSERT_TRUE(ex.ok());
  ASSERT_EQ(ex->size(), 1u);
  EXPECT_EQ((*ex)[0].first, SeriesLabels(1));
  EXPECT_EQ((*ex)[0].second[0].labels.Get("trace_id"), "abc");
  std::vector<MetricMetadata> md = db->Metadata("m");
  ASSERT_EQ(md.size(), 1u);
  EXPECT_EQ(md[0].unit, "bytes");
  // New series after the replay get refs that do not collide with replayed ones.
  AppendRange(*db, 7, 300 * 10000, 301 * 10000, 10000);
  ASSERT_TRUE(db->Close().ok());
  db = MustOpen();
  EXPECT_EQ(db->GetStats().head_series, 7u);
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(DbTest, CrashSnapshotWithoutCloseKeepsCommittedData) {
  auto db = MustOpen();
  AppendRange(*db, 4, 0, 500 * 1000, 1000);
  // A copy of the directory taken now is what a crash would leave (the kernel's page cache
  // survives a process crash): nothing was closed or flushed explicitly.
  const std::string copy = dir_ + "/../" + fs::path(dir_).filename().string() + "_copy";
  fs::copy(dir_, copy, fs::copy_options::recursive);
  fs::remove(copy + "/lock");
  auto recovered = MustOpen({}, copy);
  ASSERT_NE(recovered, nullptr);
  ExpectRange(*recovered, 4, 0, 500 * 1000, 1000);
  ASSERT_TRUE(recovered->Close().ok());
  RemoveAll(copy).IgnoreError();
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(DbTest, MaintainCutsABlockAndQueriesSpanHeadAndBlock) {
  auto db = MustOpen();
  // 3h10m of data at 1 sample/min: more than 1.5 block ranges.
  AppendRange(*db, 3, 0, 3 * kHour + 10 * kMinute, kMinute);
  ASSERT_TRUE(db->Maintain().ok());
  std::vector<std::shared_ptr<Block>> blocks = db->Blocks();
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0]->meta().min_time_ms, 0);
  EXPECT_EQ(blocks[0]->meta().max_time_ms, 2 * kHour);
  EXPECT_EQ(blocks[0]->meta().num_samples, 3u * 120);
  EXPECT_TRUE(fs::exists(dir_ + "/" + blocks[0]->meta().ulid + "/meta.json"));
  DB::Stats st = db->GetStats();
  EXPECT_EQ(st.blocks, 1u);
  EXPECT_EQ(st.min_time_ms, 0);
  EXPECT_EQ(st.max_time_ms, 3 * kHour + 9 * kMinute);
  EXPECT_EQ(db->GetStats().head_chunks, 3u);  // [2h, 3h10m) per series: 70 samples, 1 chunk
  ExpectRange(*db, 3, 0, 3 * kHour + 10 * kMinute, kMinute);
  // Samples in the block's range are now rejected as out of bounds.
  auto app = db->NewAppender();
  Status oob = app->Append(SeriesLabels(0), 2 * kHour - kMinute + 1, 1);
  EXPECT_EQ(oob.code(), StatusCode::kOutOfOrder);
  EXPECT_EQ(oob.message(), "out of bounds");
  app->Rollback();
  // A second Maintain has nothing to do.
  ASSERT_TRUE(db->Maintain().ok());
  EXPECT_EQ(db->Blocks().size(), 1u);
  // Label queries see both.
  auto q = db->NewQuerier(0, kHour);
  ASSERT_TRUE(q.ok());
  auto lv = (*q)->LabelValues("series", {});
  ASSERT_TRUE(lv.ok());
  EXPECT_EQ(*lv, (std::vector<std::string>{"0", "1", "2"}));
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(DbTest, WalCheckpointAndReopenKeepEverything) {
  {
    auto db = MustOpen();
    AppendRange(*db, 3, 0, 11 * kMinute, kMinute);
    // A series that only has old data: it leaves the head (and the checkpoint) with the cut.
    // (Written while it is recent: 3 h later it would be out of bounds.)
    auto app = db->NewAppender();
    ASSERT_TRUE(app->Append(Labels::FromMap({{"__name__", "old"}}), 10 * kMinute + 1, 1).ok());
    ASSERT_TRUE(app->Commit().ok());
    AppendRange(*db, 3, 11 * kMinute, 3 * kHour + 10 * kMinute, kMinute);
    const uint64_t wal_before = db->GetStats().wal_bytes;
    ASSERT_TRUE(db->Maintain().ok());
    EXPECT_EQ(db->GetStats().head_series, 3u);
    // The segments were replaced by a checkpoint.
    EXPECT_LT(db->GetStats().wal_bytes, wal_before);
    auto names = ListDir(dir_ + "/wal");
    ASSERT_TRUE(names.ok());
    EXPECT_EQ(std::count_if(names->begin(), names->end(),
                            [](const std::string& n) { return n.rfind("checkpoint.", 0) == 0; }),
              1);
    AppendRange(*db, 3, 3 * kHour + 10 * kMinute, 3 * kHour + 30 * kMinute, kMinute);
    ASSERT_TRUE(db->Close().ok());
  }
  EXPECT_TRUE(fs::exists(dir_ + "/wal"));
  auto db = MustOpen();
  // Only what the head still needs was replayed: the checkpoint dropped older samples.
  EXPECT_EQ(db->replay_stats().samples_skipped, 0u);
  EXPECT_EQ(db->replay_stats().samples, 3u * (90));  // 2h..3h30m at 1/min
  EXPECT_EQ(db->GetStats().head_series, 3u);
  EXPECT_EQ(db->Blocks().size(), 1u);
  ExpectRange(*db, 3, 0, 3 * kHour + 30 * kMinute, kMinute);
  auto q = db->NewQuerier(0, INT64_MAX);
  ASSERT_TRUE(q.ok());
  auto old = (*q)->Select({M(MatchType::kEqual, "__name__", "old")}, {});
  ASSERT_TRUE(old.ok());
  ASSERT_EQ(old->size(), 1u);  // from the block
  EXPECT_EQ((*old)[0].samples, (std::vector<Sample>{{10 * kMinute + 1, 1}}));
  // Keep going after the reopen: the next cut and checkpoint work on the replayed state.
  AppendRange(*db, 3, 3 * kHour + 30 * kMinute, 6 * kHour, kMinute);
  ASSERT_TRUE(db->Maintain().ok());
  EXPECT_EQ(db->Blocks().size(), 2u);
  ASSERT_TRUE(db->Close().ok());
  db = MustOpen();
  ExpectRange(*db, 3, 0, 6 * kHour, kMinute);
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(DbTest, RetentionDeletesOldBlocksButRunningQueriesKeepThem) {
  DbOptions opts;
  opts.retention_time_ms = 4 * kHour;
  auto db = MustOpen(opts);
  AppendRange(*db, 2, 0, 5 * kHour + 10 * kMinute, 5 * kMinute);
  // One Maintain cuts [0,2h) and [2h,4h).
  ASSERT_TRUE(db->Maintain().ok());
  ASSERT_EQ(db->Blocks().size(), 2u);
  auto q = db->NewQuerier(0, kHour);
  ASSERT_TRUE(q.ok());
  const std::string first_dir = db->Blocks()[0]->dir();
  // More data: the next cuts and compactions make the newest block end at 12h; everything
  // ending 4h or more before that, including all data of [0, 2h), is deleted by retention.
  AppendRange(*db, 2, 5 * kHour + 10 * kMinute, 13 * kHour + 40 * kMinute, 5 * kMinute);
  ASSERT_TRUE(db->Maintain().ok());
  std::vector<std::shared_ptr<Block>> blocks = db->Blocks();
  ASSERT_FALSE(blocks.empty());
  int64_t newest_max = 0;
  for (const auto& b : blocks) newest_max = std::max(newest_max, b->meta().max_time_ms);
  EXPECT_EQ(newest_max, 12 * kHour);
  for (const auto& b : blocks) {
    EXPECT_GT(b->meta().max_time_ms, newest_max - 4 * kHour) << b->meta().ulid;
    EXPECT_GE(b->meta().min_time_ms, 2 * kHour) << b->meta().ulid;
  }
  EXPECT_FALSE(fs::exists(first_dir));
  // The querier opened before still reads the deleted block.
  auto ss = (*q)->Select({M(MatchType::kEqual, "__name__", "m")}, {});
  ASSERT_TRUE(ss.ok()) << ss.status().ToString();
  ASSERT_EQ(ss->size(), 2u);
  EXPECT_EQ((*ss)[0].samples.size(), 13u);  // 0..60min every 5min
  // New queries no longer see it.
  auto q2 = db->NewQuerier(0, kHour);
  ASSERT_TRUE(q2.ok());
  ss = (*q2)->Select({M(MatchType::kEqual, "__name__", "m")}, {});
  ASSERT_TRUE(ss.ok());
  EXPECT_TRUE(ss->empty());
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(DbTest, ConcurrentCommitsDuringMaintain) {
  auto db = MustOpen();
  constexpr int kWriters = 4;
  constexpr int64_t kSteps = 600;  // 10h at 1/min
  std::atomic<bool> done{false};
  std::thread maintainer([&] {
    while (!done.load()) {
      Status st = db->Maintain();
      EXPECT_TRUE(st.ok()) << st.ToString();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  // Writers stay within 30 steps (minutes) of each other: a head cut leaves at least an hour
  // behind the newest sample writable, so no writer falls behind into a cut block.
  std::array<std::atomic<int64_t>, kWriters> progress{};
  auto slowest = [&] {
    int64_t m = INT64_MAX;
    for (auto& p : progress) m = std::min(m, p.load());
    return m;
  };
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int64_t i = 0; i < kSteps; ++i) {
        while (i > slowest() + 30) std::this_thread::yield();
        progress[w] = i;
        auto app = db->NewAppender();
        EXPECT_TRUE(app->Append(SeriesLabels(w), i * kMinute, double(i * 60 + w)).ok());
        EXPECT_TRUE(app->Commit().ok());
      }
    });
  }
  for (auto& t : writers) t.join();
  done = true;
  maintainer.join();
  ASSERT_TRUE(db->Maintain().ok());
  EXPECT_GE(db->Blocks().size(), 1u);
  ExpectRange(*db, kWriters, 0, kSteps * kMinute, kMinute);
  ASSERT_TRUE(db->Close().ok());
  db = MustOpen();
  ExpectRange(*db, kWriters, 0, kSteps * kMinute, kMinute);
  ASSERT_TRUE(db->Close().ok());
}

// A child process appends numbered samples and reports each acknowledged commit through a
// pipe; the parent SIGKILLs it at a random moment, reopens the DB and checks that every
// acknowledged sample is there. Repeated on the same directory, so recovery also runs over
// the state left by earlier recoveries, blocks cut and checkpoints taken mid-flight.
TEST_F(DbTest, KillNineNeverLosesAcknowledgedSamples) {
  constexpr int kSeries = 5;
  constexpr int kRounds = 10;
  std::mt19937 rng(std::random_device{}());
  int64_t next = 0;  // the next sample number to write
  int64_t acked_max = -1;
  DbOptions opts;
  opts.retention_time_ms = 0;  // a sample per minute runs past 15 days quickly
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const int64_t start = next;
    std::fflush(stdout);  // or the child's logging flushes the parent's buffered output again
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      Result<std::unique_ptr<DB>> db = DB::Open(dir_, opts);
      if (!db.ok()) _exit(3);
      for (int64_t i = start;; ++i) {
        auto app = (*db)->NewAppender();
        for (int s = 0; s < kSeries; ++s) {
          // Sample i: t = i minutes, value i*10+s. Re-sending an unacknowledged sample that
          // did reach the WAL is a no-op duplicate.
          if (!app->Append(SeriesLabels(s), i * kMinute, double(i * 10 + s)).ok()) _exit(4);
        }
        if (!app->Commit().ok()) _exit(5);
        if (write(fds[1], &i, sizeof(i)) != sizeof(i)) _exit(6);
        if (i % 40 == 0 && !(*db)->Maintain().ok()) _exit(7);
      }
    }
    close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 150));
    kill(pid, SIGKILL);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited with " << WEXITSTATUS(wstatus);
    int64_t i;
    int64_t acked_this_round = 0;
    while (read(fds[0], &i, sizeof(i)) == sizeof(i)) {
      ASSERT_EQ(i, start + acked_this_round);
      ++acked_this_round;
      acked_max = i;
    }
    close(fds[0]);
    next = acked_max + 1;

    // Every acknowledged sample must be back.
    Result<std::unique_ptr<DB>> db = DB::Open(dir_, opts);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    auto q = (*db)->NewQuerier(0, INT64_MAX);
    ASSERT_TRUE(q.ok());
    auto ss = (*q)->Select({M(MatchType::kEqual, "__name__", "m")}, {});
    ASSERT_TRUE(ss.ok()) << ss.status().ToString();
    if (acked_max < 0) continue;
    ASSERT_EQ(ss->size(), size_t(kSeries));
    for (const auto& s : *ss) {
      const int sidx = std::stoi(std::string(s.labels.Get("series")));
      // Samples 0..acked_max all present in order (one unacknowledged extra may follow).
      ASSERT_GE(s.samples.size(), size_t(acked_max + 1)) << "round " << round;
      for (int64_t k = 0; k <= acked_max; ++k) {
        ASSERT_EQ(s.samples[k].t_ms, k * kMinute) << "round " << round;
        ASSERT_EQ(s.samples[k].v, double(k * 10 + sidx)) << "round " << round;
      }
    }
    ASSERT_TRUE((*db)->Close().ok());
    std::printf("round %d: %lld samples acknowledged so far, %zu blocks\n", round,
                static_cast<long long>(acked_max + 1), (*db)->Blocks().size());
  }
  EXPECT_GT(acked_max, 0);
}

}  // namespace
}  // namespace argus::tsdb
