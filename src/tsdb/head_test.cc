#include "tsdb/head.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace argus::tsdb {
namespace {

Matcher M(MatchType t, std::string name, std::string value) {
  Result<Matcher> m = Matcher::Make(t, std::move(name), std::move(value));
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return *m;
}

uint64_t MustCreate(Head& h, const Labels& ls) {
  bool created;
  Result<uint64_t> ref = h.GetOrCreate(ls, &created);
  EXPECT_TRUE(ref.ok()) << ref.status().ToString();
  h.Unpin(*ref);
  return *ref;
}

std::vector<Series> SelectAll(Head& h, const std::vector<Matcher>& ms, int64_t mint = INT64_MIN,
                              int64_t maxt = INT64_MAX) {
  Result<std::vector<Series>> r = h.NewQuerier(mint, maxt)->Select(ms, {});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<Series>{};
}

TEST(HeadTest, AppendAndSelect) {
  Head h;
  Labels a = Labels::FromMap({{"__name__", "up"}, {"job", "node"}});
  Labels b = Labels::FromMap({{"__name__", "up"}, {"job", "api"}});
  uint64_t ra = MustCreate(h, a), rb = MustCreate(h, b);
  EXPECT_NE(ra, rb);
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(h.Append(ra, i * 1000, i).ok());
    if (i % 2 == 0) {
      ASSERT_TRUE(h.Append(rb, i * 1000, -i).ok());
    }
  }
  std::vector<Series> ss = SelectAll(h, {M(MatchType::kEqual, "__name__", "up")});
  ASSERT_EQ(ss.size(), 2u);
  EXPECT_EQ(ss[0].labels, b);  // sorted by labels: job="api" first
  EXPECT_EQ(ss[1].labels, a);
  ASSERT_EQ(ss[1].samples.size(), 300u);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(ss[1].samples[i], (Sample{i * 1000, double(i)}));
  EXPECT_EQ(ss[0].samples.size(), 150u);

  // Time range bounds are inclusive.
  ss = SelectAll(h, {M(MatchType::kEqual, "job", "node")}, 10000, 20000);
  ASSERT_EQ(ss.size(), 1u);
  EXPECT_EQ(ss[0].samples.size(), 11u);
  EXPECT_EQ(ss[0].samples.front().t_ms, 10000);
  EXPECT_EQ(ss[0].samples.back().t_ms, 20000);
  // Series without samples in range are not returned.
  EXPECT_TRUE(SelectAll(h, {M(MatchType::kEqual, "__name__", "up")}, 400000, 500000).empty());

  Head::Stats st = h.GetStats();
  EXPECT_EQ(st.num_series, 2u);
  EXPECT_EQ(st.samples_appended, 450u);
  EXPECT_EQ(st.num_chunks, 3u + 2u);  // 300 = 120+120+60, 150 = 120+30
  EXPECT_EQ(st.min_time_ms, 0);
  EXPECT_EQ(st.max_time_ms, 299000);
  EXPECT_EQ(MustCreate(h, a), ra);  // lookup returns the same ref
}

TEST(HeadTest, RejectsInvalidLabels) {
  Head h;
  bool created;
  EXPECT_EQ(h.GetOrCreate(Labels(), &created).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(h.GetOrCreate(Labels::FromMap({{"job", "x"}}), &created).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(h.GetOrCreate(Labels::FromMap({{"__name__", "up"}, {"job", "\xff\xfe"}}), &created)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(h.GetOrCreate(Labels::FromSorted({{"__name__", "a"}, {"__name__", "b"}}), &created)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(h.GetStats().num_series, 0u);
  EXPECT_EQ(h.Append(12345, 1, 1).code(), StatusCode::kNotFound);
}

TEST(HeadTest, ChunksAreCutAtTheChunkRange) {
  HeadOptions opts;
  opts.chunk_range_ms = 100000;
  Head h(opts);
  uint64_t r = MustCreate(h, Labels::FromMap({{"__name__", "m"}}));
  // 20 samples 10s apart from t=50s: a boundary at 100s and at 200s.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(h.Append(r, 50000 + i * 10000, i).ok());
  std::vector<HeadSeriesChunks> cs = h.ChunksInRange(INT64_MIN, INT64_MAX);
  ASSERT_EQ(cs.size(), 1u);
  ASSERT_EQ(cs[0].chunks.size(), 3u);
  EXPECT_EQ(cs[0].chunks[0].min_time_ms, 50000);
  EXPECT_EQ(cs[0].chunks[0].max_time_ms, 90000);
  EXPECT_EQ(cs[0].chunks[1].min_time_ms, 100000);
  EXPECT_EQ(cs[0].chunks[1].max_time_ms, 190000);
  EXPECT_EQ(cs[0].chunks[2].min_time_ms, 200000);
  // A range cutting through no chunk reuses them; the data decodes to the same samples.
  cs = h.ChunksInRange(100000, 200000);
  ASSERT_EQ(cs.size(), 1u);
  ASSERT_EQ(cs[0].chunks.size(), 1u);
  XorIterator it(cs[0].chunks[0].bytes);
  int n = 0;
  while (it.Next()) {
    EXPECT_EQ(it.At().t_ms, 100000 + n * 10000);
    ++n;
  }
  EXPECT_EQ(n, 10);
  // A range cutting through chunks re-encodes just the samples inside.
  cs = h.ChunksInRange(75000, 125000);
  ASSERT_EQ(cs.size(), 1u);
  int total = 0;
  for (const auto& c : cs[0].chunks) {
    for (XorIterator i2(c.bytes); i2.Next();) {
      EXPECT_GE(i2.At().t_ms, 75000);
      EXPECT_LT(i2.At().t_ms, 125000);
      ++total;
    }
  }
  EXPECT_EQ(total, 5);  // 80, 90, 100, 110, 120
}

TEST(HeadTest, OutOfOrderWithinWindowIsMergedSorted) {
  HeadOptions opts;
  opts.ooo_window_ms = 60000;
  Head h(opts);
  uint64_t r = MustCreate(h, Labels::FromMap({{"__name__", "m"}}));
  for (int64_t t : {100000, 110000, 120000}) ASSERT_TRUE(h.Append(r, t, double(t)).ok());
  // Inside the window (newest is 120s, window 60s).
  EXPECT_TRUE(h.Append(r, 105000, 105000).ok());
  EXPECT_TRUE(h.Append(r, 60000, 60000).ok());  // exactly at the window's edge
  EXPECT_TRUE(h.Append(r, 115000, 115000).ok());
  // Outside the window.
  Status st = h.Append(r, 59999, 1);
  EXPECT_EQ(st.code(), StatusCode::kOutOfOrder);
  EXPECT_EQ(st.message(), "out of order sample");
  EXPECT_EQ(h.CheckSample(r, 59999, 1).code(), StatusCode::kOutOfOrder);
  EXPECT_TRUE(h.CheckSample(r, 61000, 1).ok());

  std::vector<Series> ss = SelectAll(h, {M(MatchType::kEqual, "__name__", "m")});
  ASSERT_EQ(ss.size(), 1u);
  std::vector<int64_t> ts;
  for (const auto& s : ss[0].samples) {
    ts.push_back(s.t_ms);
    EXPECT_EQ(s.v, double(s.t_ms));
  }
  EXPECT_EQ(ts, (std::vector<int64_t>{60000, 100000, 105000, 110000, 115000, 120000}));
  EXPECT_EQ(h.GetStats().ooo_samples_appended, 3u);

  // The OOO samples go into blocks too, re-encoded in order.
  std::vector<HeadSeriesChunks> cs = h.ChunksInRange(0, 1000000);
  ASSERT_EQ(cs.size(), 1u);
  std::vector<int64_t> chunk_ts;
  for (const auto& c : cs[0].chunks) {
    for (XorIterator it(c.bytes); it.Next();) chunk_ts.push_back(it.At().t_ms);
  }
  EXPECT_EQ(chunk_ts, ts);
}

TEST(HeadTest, DuplicateSamples) {
  Head h;
  uint64_t r = MustCreate(h, Labels::FromMap({{"__name__", "m"}}));
  ASSERT_TRUE(h.Append(r, 1000, 1).ok());
  ASSERT_TRUE(h.Append(r, 2000, 2).ok());
  ASSERT_TRUE(h.Append(r, 3000, 3).ok());
  // Same timestamp, same value: silently OK, nothing added.
  EXPECT_TRUE(h.Append(r, 3000, 3).ok());
  EXPECT_TRUE(h.Append(r, 2000, 2).ok());  // in-order chunk, behind the newest
  // Same timestamp, different value.
  Status st = h.Append(r, 3000, 4);
  EXPECT_EQ(st.code(), StatusCode::kOutOfOrder);
  EXPECT_EQ(st.message(), "duplicate sample for timestamp");
  EXPECT_EQ(h.Append(r, 1000, 5).message(), "duplicate sample for timestamp");
  // Duplicates against the OOO buffer too.
  ASSERT_TRUE(h.Append(r, 2500, 2.5).ok());
  EXPECT_TRUE(h.Append(r, 2500, 2.5).ok());
  EXPECT_EQ(h.Append(r, 2500, 7).message(), "duplicate sample for timestamp");
  // A stale marker differs from a value; the same stale marker is a duplicate.
  ASSERT_TRUE(h.Append(r, 4000, StaleNaN()).ok());
  EXPECT_TRUE(h.Append(r, 4000, StaleNaN()).ok());
  EXPECT_EQ(h.Append(r, 4000, 1).code(), StatusCode::kOutOfOrder);

  std::vector<Series> ss = SelectAll(h, {M(MatchType::kEqual, "__name__", "m")});
  ASSERT_EQ(ss.size(), 1u);
  ASSERT_EQ(ss[0].samples.size(), 5u);
  EXPECT_EQ(ss[0].samples[2], (Sample{2500, 2.5}));
  EXPECT_TRUE(IsStaleNaN(ss[0].samples[4].v));
  EXPECT_EQ(h.GetStats().samples_appended, 5u);
}

TEST(HeadTest, OutOfOrderDisabled) {
  HeadOptions opts;
  opts.ooo_window_ms = 0;
  Head h(opts);
  uint64_t r = MustCreate(h, Labels::FromMap({{"__name__", "m"}}));
  ASSERT_TRUE(h.Append(r, 1000, 1).ok());
  EXPECT_EQ(h.Append(r, 999, 1).message(), "out of order sample");
  EXPECT_TRUE(h.Append(r, 1000, 1).ok());
}

TEST(HeadTest, SelectWithAllMatcherKinds) {
  Head h;
  std::vector<Labels> all = {
      Labels::FromMap({{"__name__", "up"}, {"job", "node"}, {"env", "prod"}}),
      Labels::FromMap({{"__name__", "up"}, {"job", "api"}, {"env", "dev"}}),
      Labels::FromMap({{"__name__", "up"}, {"job", "db"}}),
      Labels::FromMap({{"__name__", "down"}, {"job", "node"}}),
  };
  for (const auto& ls : all) ASSERT_TRUE(h.Append(MustCreate(h, ls), 1000, 1).ok());
  auto names = [&](const std::vector<Matcher>& ms) {
    std::vector<std::string> out;
    for (const auto& s : SelectAll(h, ms)) out.push_back(s.labels.ToString());
    return out;
  };
  EXPECT_EQ(names({M(MatchType::kEqual, "__name__", "up"), M(MatchType::kEqual, "env", "")}),
            (std::vector<std::string>{R"(up{job="db"})"}));
  EXPECT_EQ(names({M(MatchType::kRegexMatch, "job", "node|db")}),
            (std::vector<std::string>{R"(down{job="node"})", R"(up{env="prod", job="node"})",
                                      R"(up{job="db"})"}));
  EXPECT_EQ(names({M(MatchType::kEqual, "__name__", "up"), M(MatchType::kNotEqual, "env", "dev")}),
            (std::vector<std::string>{R"(up{env="prod", job="node"})", R"(up{job="db"})"}));
  EXPECT_EQ(names({M(MatchType::kRegexNoMatch, "env", "prod|dev"),
                   M(MatchType::kRegexMatch, "job", ".+")}),
            (std::vector<std::string>{R"(down{job="node"})", R"(up{job="db"})"}));

  auto q = h.NewQuerier(0, 2000);
  Result<std::vector<std::string>> ln = q->LabelNames({});
  ASSERT_TRUE(ln.ok());
  EXPECT_EQ(*ln, (std::vector<std::string>{"__name__", "env", "job"}));
  ln = q->LabelNames({M(MatchType::kEqual, "job", "db")});
  ASSERT_TRUE(ln.ok());
  EXPECT_EQ(*ln, (std::vector<std::string>{"__name__", "job"}));
  Result<std::vector<std::string>> lv = q->LabelValues("job", {});
  ASSERT_TRUE(lv.ok());
  EXPECT_EQ(*lv, (std::vector<std::string>{"api", "db", "node"}));
  lv = q->LabelValues("job", {M(MatchType::kEqual, "__name__", "up"),
                              M(MatchType::kNotEqual, "env", "")});
  ASSERT_TRUE(lv.ok());
  EXPECT_EQ(*lv, (std::vector<std::string>{"api", "node"}));
  // Outside the head's time range nothing is returned.
  ln = h.NewQuerier(5000, 6000)->LabelNames({});
  ASSERT_TRUE(ln.ok());
  EXPECT_TRUE(ln->empty());

  SelectHints hints;
  hints.series_only = true;
  Result<std::vector<Series>> so =
      h.NewQuerier(0, 2000)->Select({M(MatchType::kEqual, "job", "node")}, hints);
  ASSERT_TRUE(so.ok());
  EXPECT_EQ(so->size(), 2u);
}

TEST(HeadTest, TruncateDropsOldDataAndEmptySeries) {
  HeadOptions opts;
  opts.chunk_range_ms = 10000;
  Head h(opts);
  Labels old_only = Labels::FromMap({{"__name__", "old"}});
  Labels both = Labels::FromMap({{"__name__", "both"}});
  Labels pinned = Labels::FromMap({{"__name__", "pinned"}});
  uint64_t r_old = MustCreate(h, old_only), r_both = MustCreate(h, both);
  bool created;
  uint64_t r_pinned = *h.GetOrCreate(pinned, &created);  // stays pinned
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(h.Append(r_both, i * 1000, i).ok());
    if (i < 10) {
      ASSERT_TRUE(h.Append(r_old, i * 1000, i).ok());
    }
  }
  h.Truncate(10000);
  Head::Stats st = h.GetStats();
  EXPECT_EQ(st.num_series, 2u);  // `old` removed; `pinned` is empty but pinned
  EXPECT_EQ(st.min_time_ms, 10000);
  EXPECT_EQ(st.num_chunks, 2u);
  EXPECT_TRUE(SelectAll(h, {M(MatchType::kEqual, "__name__", "old")}).empty());
  std::vector<Series> ss = SelectAll(h, {M(MatchType::kEqual, "__name__", "both")});
  ASSERT_EQ(ss.size(), 1u);
  EXPECT_EQ(ss[0].samples.size(), 20u);
  EXPECT_EQ(h.Append(r_old, 40000, 1).code(), StatusCode::kNotFound);
  // Older than the truncation point: out of bounds.
  Status oob = h.Append(r_both, 9999, 1);
  EXPECT_EQ(oob.code(), StatusCode::kOutOfOrder);
  EXPECT_EQ(oob.message(), "out of bounds");
  // The pinned series survives and takes samples; a new series for `old` gets a new ref.
  EXPECT_TRUE(h.Append(r_pinned, 50000, 1).ok());
  h.Unpin(r_pinned);
  EXPECT_NE(MustCreate(h, old_only), r_old);
  h.Truncate(100000);
  EXPECT_EQ(h.GetStats().num_series, 0u);
  EXPECT_EQ(h.MinTime(), INT64_MAX);
}

TEST(HeadTest, ConcurrentAppendsFromFourThreads) {
  Head h;
  constexpr int kThreads = 4, kSeriesPerThread = 250, kSamples = 200;
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  // A reader runs concurrently; it only checks that results stay sorted and well-formed.
  std::thread reader([&] {
    while (!stop.load()) {
      auto q = h.NewQuerier(INT64_MIN, INT64_MAX);
      auto r = q->Select({M(MatchType::kRegexMatch, "thread", "0|2")}, {});
      if (!r.ok()) ++errors;
      for (const auto& s : *r) {
        for (size_t i = 1; i < s.samples.size(); ++i) {
          if (s.samples[i].t_ms <= s.samples[i - 1].t_ms) ++errors;
        }
      }
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kThreads; ++w) {
    writers.emplace_back([&, w] {
      for (int t = 0; t < kSamples; ++t) {
        for (int i = 0; i < kSeriesPerThread; ++i) {
          // Every thread also writes a shared series per i: the same labels from 4 threads.
          Labels own = Labels::FromMap({{"__name__", "m"},
                                        {"thread", std::to_string(w)},
                                        {"i", std::to_string(i)}});
          bool created;
          Result<uint64_t> ref = h.GetOrCreate(own, &created);
          if (!ref.ok() || !h.Append(*ref, t * 1000, t).ok()) ++errors;
          h.Unpin(*ref);
          Labels shared = Labels::FromMap({{"__name__", "shared"}, {"i", std::to_string(i)}});
          Result<uint64_t> sref = h.GetOrCreate(shared, &created);
          if (!sref.ok()) ++errors;
          // Distinct timestamps per thread; some arrive out of order within the window.
          Status st = h.Append(*sref, t * 1000 + w, w);
          if (!st.ok() && st.code() != StatusCode::kOutOfOrder) ++errors;
          h.Unpin(*sref);
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  stop = true;
  reader.join();
  EXPECT_EQ(errors.load(), 0);
  Head::Stats st = h.GetStats();
  EXPECT_EQ(st.num_series, uint64_t{kThreads * kSeriesPerThread + kSeriesPerThread});
  std::vector<Series> own = SelectAll(h, {M(MatchType::kEqual, "__name__", "m")});
  ASSERT_EQ(own.size(), size_t{kThreads * kSeriesPerThread});
  for (const auto& s : own) ASSERT_EQ(s.samples.size(), size_t{kSamples});
  std::vector<Series> shared = SelectAll(h, {M(MatchType::kEqual, "__name__", "shared")});
  ASSERT_EQ(shared.size(), size_t{kSeriesPerThread});
  // All samples of the shared series are within 3ms of the newest: none is rejected.
  for (const auto& s : shared) EXPECT_EQ(s.samples.size(), size_t{kSamples * kThreads});
}

TEST(HeadTest, Exemplars) {
  HeadOptions opts;
  opts.max_exemplars = 15;
  Head h(opts);
  uint64_t a = MustCreate(h, Labels::FromMap({{"__name__", "req"}, {"job", "a"}}));
  uint64_t b = MustCreate(h, Labels::FromMap({{"__name__", "req"}, {"job", "b"}}));
  for (int i = 0; i < 15; ++i) {
    Exemplar e{Labels::FromMap({{"trace_id", "t" + std::to_string(i)}}), double(i), i * 1000};
    ASSERT_TRUE(h.AppendExemplar(a, e).ok());
  }
  // Same exemplar again: no-op. Older: out of order.
  Exemplar last{Labels::FromMap({{"trace_id", "t14"}}), 14, 14000};
  EXPECT_TRUE(h.AppendExemplar(a, last).ok());
  Exemplar older{Labels::FromMap({{"trace_id", "x"}}), 1, 1000};
  EXPECT_EQ(h.AppendExemplar(a, older).code(), StatusCode::kOutOfOrder);
  Exemplar huge{Labels::FromMap({{"trace_id", std::string(130, 'x')}}), 1, 20000};
  EXPECT_EQ(h.AppendExemplar(a, huge).code(), StatusCode::kInvalidArgument);

  auto res = h.QueryExemplars(0, 100000, {{M(MatchType::kEqual, "job", "a")}});
  ASSERT_EQ(res.size(), 1u);
  ASSERT_EQ(res[0].second.size(), 10u);  // last 10 kept
  EXPECT_EQ(res[0].second.front().t_ms, 5000);
  EXPECT_EQ(res[0].second.back().labels.Get("trace_id"), "t14");
  res = h.QueryExemplars(7000, 8000, {{M(MatchType::kEqual, "job", "a")}});
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].second.size(), 2u);

  // The head-wide cap (15) evicts the oldest: those of series a.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(h.AppendExemplar(b, Exemplar{Labels(), double(i), 100000 + i}).ok());
  }
  EXPECT_EQ(h.GetStats().num_exemplars, 15u);
  res = h.QueryExemplars(0, INT64_MAX, {{M(MatchType::kEqual, "job", "a")},
                                        {M(MatchType::kEqual, "job", "b")}});
  ASSERT_EQ(res.size(), 2u);
  EXPECT_EQ(res[1].second.size(), 10u);
  EXPECT_EQ(res[0].second.size(), 5u);
  EXPECT_EQ(res[0].second.back().labels.Get("trace_id"), "t14");
}

TEST(HeadTest, MetadataNewestWins) {
  Head h;
  h.SetMetadata({"http_requests_total", MetricType::kCounter, "old help", ""});
  h.SetMetadata({"http_requests_total", MetricType::kCounter, "Requests.", ""});
  h.SetMetadata({"temp", MetricType::kGauge, "Temperature.", "celsius"});
  std::vector<MetricMetadata> all = h.Metadata();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].help, "Requests.");
  EXPECT_EQ(all[1].unit, "celsius");
  EXPECT_EQ(h.Metadata("temp").size(), 1u);
  EXPECT_EQ(h.Metadata("", 1).size(), 1u);
  EXPECT_TRUE(h.Metadata("nope").empty());
}

}  // namespace
}  // namespace argus::tsdb
