#include "tsdb/block.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "util/coding.h"
#include "util/file.h"

namespace argus::tsdb {
namespace {

constexpr int64_t kHourMs = 3600 * 1000;
constexpr int64_t kStepMs = 15000;

// A fresh directory under the test temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/argus_block_test.XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() { RemoveAll(path_).IgnoreError(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Matcher M(MatchType t, std::string name, std::string value) {
  auto m = Matcher::Make(t, std::move(name), std::move(value));
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return *m;
}

// Encodes `samples` into chunks of at most `per_chunk` samples.
std::vector<ChunkData> Chunks(const std::vector<Sample>& samples, int per_chunk) {
  std::vector<ChunkData> out;
  for (size_t i = 0; i < samples.size(); i += per_chunk) {
    XorChunk c;
    for (size_t j = i; j < std::min(samples.size(), i + per_chunk); ++j) {
      c.Append(samples[j].t_ms, samples[j].v);
    }
    out.push_back({c.min_time_ms(), c.max_time_ms(), std::string(c.bytes())});
  }
  return out;
}

// The reference data: series and their samples as plain vectors.
struct RefSeries {
  Labels labels;
  std::vector<Sample> samples;
};

// `n` series over [0, 2h): metric m<i%3>, job j<i%4>, instance i<i>; every 5th series has an
// extra label "env" (so matchers on a partly absent label are tested); series i starts at
// (i % 7) minutes so chunk boundaries differ between series.
std::vector<RefSeries> MakeRef(int n, int64_t step_ms = kStepMs) {
  std::vector<RefSeries> ref;
  for (int i = 0; i < n; ++i) {
    LabelsBuilder b;
    b.Set("__name__", "m" + std::to_string(i % 3));
    b.Set("job", "j" + std::to_string(i % 4));
    b.Set("instance", "i" + std::to_string(i));
    if (i % 5 == 0) b.Set("env", i % 10 == 0 ? "prod" : "dev");
    RefSeries s{b.Build(), {}};
    for (int64_t t = (i % 7) * 60000; t < 2 * kHourMs; t += step_ms) {
      s.samples.push_back({t, static_cast<double>(i) * 1000 + static_cast<double>(t / step_ms)});
    }
    ref.push_back(std::move(s));
  }
  std::sort(ref.begin(), ref.end(),
            [](const RefSeries& a, const RefSeries& b) { return a.labels < b.labels; });
  return ref;
}

std::vector<BlockSeries> ToBlockSeries(const std::vector<RefSeries>& ref, int per_chunk) {
  std::vector<BlockSeries> out;
  for (const RefSeries& r : ref) out.push_back({r.labels, Chunks(r.samples, per_chunk)});
  return out;
}

std::vector<Series> RefSelect(const std::vector<RefSeries>& ref, const std::vector<Matcher>& ms,
                              int64_t mint, int64_t maxt) {
  std::vector<Series> out;
  for (const RefSeries& r : ref) {
    if (!MatchesAll(ms, r.labels)) continue;
    Series s{r.labels, {}};
    for (const Sample& x : r.samples) {
      if (x.t_ms >= mint && x.t_ms <= maxt) s.samples.push_back(x);
    }
    if (!s.samples.empty()) out.push_back(std::move(s));
  }
  return out;
}

void ExpectSameSeries(const std::vector<Series>& got, const std::vector<Series>& want,
                      const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].labels, want[i].labels) << what;
    EXPECT_EQ(got[i].samples, want[i].samples) << what << " " << want[i].labels.ToString();
  }
}

class BlockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ref_ = MakeRef(60);
    auto meta = WriteBlock(dir_.path(), 0, 2 * kHourMs, 1, {}, ToBlockSeries(ref_, 120));
    ASSERT_TRUE(meta.ok()) << meta.status().ToString();
    meta_ = *meta;
    auto b = Block::Open(dir_.path() + "/" + meta_.ulid);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    block_ = *b;
  }

  std::vector<Series> Select(const std::vector<Matcher>& ms, int64_t mint, int64_t maxt,
                             SelectHints hints = {}) {
    auto q = block_->NewQuerier(mint, maxt);
    EXPECT_TRUE(q.ok());
    auto r = (*q)->Select(ms, hints);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<Series>{};
  }

  TempDir dir_;
  std::vector<RefSeries> ref_;
  BlockMeta meta_;
  std::shared_ptr<Block> block_;
};

TEST_F(BlockTest, WriteThenOpenKeepsMetaAndData) {
  uint64_t samples = 0, chunks = 0;
  for (const RefSeries& r : ref_) {
    samples += r.samples.size();
    chunks += (r.samples.size() + 119) / 120;
  }
  EXPECT_TRUE(IsUlid(meta_.ulid));
  EXPECT_EQ(meta_.num_series, ref_.size());
  EXPECT_EQ(meta_.num_samples, samples);
  EXPECT_EQ(meta_.num_chunks, chunks);
  EXPECT_EQ(meta_.level, 1);
  EXPECT_EQ(meta_.sources, std::vector<std::string>{meta_.ulid});

  const BlockMeta& m = block_->meta();
  EXPECT_EQ(m.ulid, meta_.ulid);
  EXPECT_EQ(m.min_time_ms, 0);
  EXPECT_EQ(m.max_time_ms, 2 * kHourMs);
  EXPECT_EQ(m.num_series, meta_.num_series);
  EXPECT_EQ(m.num_samples, meta_.num_samples);
  EXPECT_EQ(m.num_chunks, meta_.num_chunks);
  EXPECT_EQ(m.sources, meta_.sources);
  EXPECT_EQ(block_->size_bytes(), DirSizeBytes(block_->dir()));
  EXPECT_GT(block_->size_bytes(), 0u);

  // Nothing but the block directory is left in the parent.
  auto names = ListDir(dir_.path());
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{meta_.ulid});

  auto all = block_->ReadAllSeries();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::vector<BlockSeries> want = ToBlockSeries(ref_, 120);
  ASSERT_EQ(all->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ((*all)[i].labels, want[i].labels);
    ASSERT_EQ((*all)[i].chunks.size(), want[i].chunks.size());
    for (size_t k = 0; k < want[i].chunks.size(); ++k) {
      EXPECT_EQ((*all)[i].chunks[k].bytes, want[i].chunks[k].bytes);
      EXPECT_EQ((*all)[i].chunks[k].min_time_ms, want[i].chunks[k].min_time_ms);
      EXPECT_EQ((*all)[i].chunks[k].max_time_ms, want[i].chunks[k].max_time_ms);
    }
  }
}

TEST_F(BlockTest, SelectMatchesReferenceForEveryMatcherKindAndRange) {
  const std::vector<std::vector<Matcher>> matcher_sets = {
      {M(MatchType::kEqual, "__name__", "m1")},
      {M(MatchType::kEqual, "__name__", "m1"), M(MatchType::kEqual, "job", "j2")},
      {M(MatchType::kEqual, "__name__", "nope")},
      {M(MatchType::kEqual, "job", "j1"), M(MatchType::kNotEqual, "instance", "i5")},
      {M(MatchType::kNotEqual, "job", "j1")},
      {M(MatchType::kRegexMatch, "job", "j1|j3")},             // literal set
      {M(MatchType::kRegexMatch, "instance", "i1.*")},          // real regex
      {M(MatchType::kRegexMatch, "instance", ".*")},            // matches everything
      {M(MatchType::kRegexMatch, "env", ".+")},                 // label present
      {M(MatchType::kRegexNoMatch, "instance", "i[0-4].*")},
      {M(MatchType::kRegexNoMatch, "env", "")},                 // label present
      {M(MatchType::kEqual, "env", "")},                        // label absent
      {M(MatchType::kEqual, "__name__", "m0"), M(MatchType::kEqual, "env", "")},
      {M(MatchType::kNotEqual, "env", "prod")},                 // absent or dev
      {M(MatchType::kNotEqual, "nolabel", "x")},                // every series
      {M(MatchType::kEqual, "nolabel", "x")},                   // none
      {M(MatchType::kRegexMatch, "job", "j.*"), M(MatchType::kRegexNoMatch, "job", "j0|j2"),
       M(MatchType::kRegexMatch, "__name__", "m[12]")},
  };
  const std::vector<std::pair<int64_t, int64_t>> ranges = {
      {0, 2 * kHourMs - 1},               // the whole block
      {-kHourMs, 5 * kHourMs},            // wider than the block
      {20 * 60000 + 7, 50 * 60000 + 3},   // cuts chunks on both sides
      {31 * 60000 + 1, 31 * 60000 + 14999},  // between two samples: nothing
      {45 * 60000, 45 * 60000},           // one instant
      {-10, -1},                          // before the block
      {2 * kHourMs, 3 * kHourMs},         // after the block
      {90 * 60000, 89 * 60000},           // empty (maxt < mint)
  };
  for (const auto& ms : matcher_sets) {
    for (const auto& [mint, maxt] : ranges) {
      std::string what = ms[0].ToString() + " [" + std::to_string(mint) + "," +
                         std::to_string(maxt) + "]";
      ExpectSameSeries(Select(ms, mint, maxt), RefSelect(ref_, ms, mint, maxt), what);
    }
  }
}

TEST_F(BlockTest, SelectWithoutMatchersIsAnError) {
  auto q = block_->NewQuerier(0, kHourMs);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ((*q)->Select({}, {}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(BlockTest, SeriesOnlyHintReturnsLabelsWithoutSamples) {
  SelectHints hints;
  hints.series_only = true;
  std::vector<Matcher> ms = {M(MatchType::kEqual, "job", "j0")};
  std::vector<Series> got = Select(ms, 0, 2 * kHourMs, hints);
  std::vector<Series> want = RefSelect(ref_, ms, 0, 2 * kHourMs);
  ASSERT_EQ(got.size(), want.size());
  ASSERT_FALSE(got.empty());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].labels, want[i].labels);
    EXPECT_TRUE(got[i].samples.empty());
  }
  // Outside the block's data, no series exist.
  EXPECT_TRUE(Select(ms, 3 * kHourMs, 4 * kHourMs, hints).empty());
}

TEST_F(BlockTest, LabelNamesAndValues) {
  auto q = block_->NewQuerier(0, 2 * kHourMs);
  ASSERT_TRUE(q.ok());
  auto ref_names = [&](const std::vector<Matcher>& ms) {
    std::set<std::string> s;
    for (const RefSeries& r : ref_) {
      if (!MatchesAll(ms, r.labels)) continue;
      for (const Label& l : r.labels) s.insert(l.name);
    }
    return std::vector<std::string>(s.begin(), s.end());
  };
  auto ref_values = [&](std::string_view name, const std::vector<Matcher>& ms) {
    std::set<std::string> s;
    for (const RefSeries& r : ref_) {
      if (!MatchesAll(ms, r.labels) || r.labels.Get(name).empty()) continue;
      s.emplace(r.labels.Get(name));
    }
    return std::vector<std::string>(s.begin(), s.end());
  };
  const std::vector<std::vector<Matcher>> matcher_sets = {
      {},
      {M(MatchType::kEqual, "job", "j0")},
      {M(MatchType::kEqual, "env", "prod")},
      {M(MatchType::kEqual, "instance", "i7")},  // one series: the series-reading path
      {M(MatchType::kEqual, "env", "")},
      {M(MatchType::kEqual, "job", "nope")},
  };
  for (const auto& ms : matcher_sets) {
    std::string what = ms.empty() ? "{}" : ms[0].ToString();
    auto names = (*q)->LabelNames(ms);
    ASSERT_TRUE(names.ok()) << names.status().ToString();
    EXPECT_EQ(*names, ref_names(ms)) << what;
    for (std::string_view name : {"__name__", "job", "instance", "env", "nolabel"}) {
      auto values = (*q)->LabelValues(name, ms);
      ASSERT_TRUE(values.ok()) << values.status().ToString();
      EXPECT_EQ(*values, ref_values(name, ms)) << what << " " << name;
    }
  }
  auto names = (*q)->LabelNames({});
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"__name__", "env", "instance", "job"}));
}

TEST_F(BlockTest, ConcurrentQueriersAgree) {
  std::vector<Matcher> ms = {M(MatchType::kRegexMatch, "job", "j1|j2")};
  const std::vector<Series> want = RefSelect(ref_, ms, 600000, 5000000);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto q = block_->NewQuerier(600000, 5000000);
        auto r = (*q)->Select(ms, {});
        if (!r.ok() || r->size() != want.size()) {
          ++mismatches;
          continue;
        }
        for (size_t k = 0; k < want.size(); ++k) {
          if ((*r)[k].samples != want[k].samples) ++mismatches;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST_F(BlockTest, QuerierKeepsBlockAlive) {
  auto q = block_->NewQuerier(0, 2 * kHourMs);
  ASSERT_TRUE(q.ok());
  block_.reset();
  auto r = (*q)->Select({M(MatchType::kEqual, "instance", "i3")}, {});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_FALSE((*r)[0].samples.empty());
}

TEST(BlockWriteTest, RejectsUnsortedOrDuplicateSeries) {
  TempDir dir;
  auto a = Labels::FromMap({{"__name__", "a"}});
  auto b = Labels::FromMap({{"__name__", "b"}});
  auto chunk = Chunks({{1, 1}}, 120);
  std::vector<BlockSeries> unsorted = {{b, chunk}, {a, chunk}};
  EXPECT_EQ(WriteBlock(dir.path(), 0, 10, 1, {}, unsorted).status().code(),
            StatusCode::kInvalidArgument);
  std::vector<BlockSeries> dup = {{a, chunk}, {a, chunk}};
  EXPECT_EQ(WriteBlock(dir.path(), 0, 10, 1, {}, dup).status().code(),
            StatusCode::kInvalidArgument);
  std::vector<BlockSeries> bad_chunk = {{a, {{0, 1, "x"}}}};
  EXPECT_EQ(WriteBlock(dir.path(), 0, 10, 1, {}, bad_chunk).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteBlock(dir.path(), 10, 10, 1, {}, {}).status().code(),
            StatusCode::kInvalidArgument);
  auto names = ListDir(dir.path());
  ASSERT_TRUE(names.ok());
  EXPECT_TRUE(names->empty());
}

TEST(BlockWriteTest, EmptyBlockAndSeriesWithoutChunks) {
  TempDir dir;
  std::vector<BlockSeries> ss = {{Labels::FromMap({{"__name__", "a"}}), {}},
                                 {Labels::FromMap({{"__name__", "b"}}), Chunks({{5, 2}}, 120)}};
  auto meta = WriteBlock(dir.path(), 0, 10, 3, {"01ARZ3NDEKTSV4RRFFQ69G5FAV"}, ss);
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->num_series, 1u);
  EXPECT_EQ(meta->num_samples, 1u);
  auto b = Block::Open(dir.path() + "/" + meta->ulid);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)->meta().level, 3);
  EXPECT_EQ((*b)->meta().sources, std::vector<std::string>{"01ARZ3NDEKTSV4RRFFQ69G5FAV"});
  auto q = (*b)->NewQuerier(0, 10);
  auto r = (*q)->Select({M(MatchType::kRegexMatch, "__name__", ".+")}, {});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].samples, (std::vector<Sample>{{5, 2}}));

  auto empty = WriteBlock(dir.path(), 0, 10, 1, {}, {});
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  auto eb = Block::Open(dir.path() + "/" + empty->ulid);
  ASSERT_TRUE(eb.ok()) << eb.status().ToString();
  EXPECT_EQ((*eb)->meta().num_series, 0u);
  auto eq = (*eb)->NewQuerier(0, 10);
  auto er = (*eq)->Select({M(MatchType::kNotEqual, "x", "y")}, {});
  ASSERT_TRUE(er.ok());
  EXPECT_TRUE(er->empty());
  auto names = (*eq)->LabelNames({});
  ASSERT_TRUE(names.ok());
  EXPECT_TRUE(names->empty());
}

TEST(BlockWriteTest, OverlappingChunksOfOneSeriesAreMergedOnSelect) {
  TempDir dir;
  Labels ls = Labels::FromMap({{"__name__", "ooo"}});
  // Two chunks covering the same times; the first one written wins on equal timestamps.
  std::vector<ChunkData> chunks = Chunks({{10, 1}, {20, 1}, {30, 1}}, 120);
  std::vector<ChunkData> late = Chunks({{15, 2}, {20, 2}, {40, 2}}, 120);
  chunks.push_back(late[0]);
  auto meta = WriteBlock(dir.path(), 0, 100, 1, {}, {{ls, chunks}});
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  auto b = Block::Open(dir.path() + "/" + meta->ulid);
  ASSERT_TRUE(b.ok());
  auto q = (*b)->NewQuerier(0, 100);
  auto r = (*q)->Select({M(MatchType::kEqual, "__name__", "ooo")}, {});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].samples, (std::vector<Sample>{{10, 1}, {15, 2}, {20, 1}, {30, 1}, {40, 2}}));
}

TEST(BlockOpenTest, MissingIsNotFound) {
  TempDir dir;
  EXPECT_EQ(Block::Open(dir.path() + "/nope").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(CreateDirs(dir.path() + "/01ARZ3NDEKTSV4RRFFQ69G5FAV").ok());
  EXPECT_EQ(Block::Open(dir.path() + "/01ARZ3NDEKTSV4RRFFQ69G5FAV").status().code(),
            StatusCode::kNotFound);
}

TEST(UlidTest, FormatTimeAndUniqueness) {
  const int64_t t = 1469918176385;  // the example of the ULID spec: 01ARYZ6S41...
  std::string u = NewUlid(t);
  ASSERT_EQ(u.size(), 26u);
  EXPECT_TRUE(IsUlid(u));
  EXPECT_EQ(u.substr(0, 10), "01ARYZ6S41");
  EXPECT_LT(NewUlid(t), NewUlid(t + 1));  // time prefix orders ULIDs
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(NewUlid(t));
  EXPECT_EQ(seen.size(), 1000u);  // 80 random bits
  EXPECT_TRUE(IsUlid(NewUlid()));
  EXPECT_FALSE(IsUlid("01ARYZ6S41"));
  EXPECT_FALSE(IsUlid("81ARZ3NDEKTSV4RRFFQ69G5FAV"));  // overflows 128 bits
  EXPECT_FALSE(IsUlid("01ARZ3NDEKTSV4RRFFQ69G5FAU"));  // U is not Crockford base32
  EXPECT_FALSE(IsUlid("01ARZ3NDEKTSV4RRFFQ69G5FAV.tmp"));
}

// ---------------------------------------------------------------------------------------------
// Corruption: every damaged file must give Corruption from Open or from a read, never a crash
// and never silently different data.

std::string Slurp(const std::string& path) {
  auto r = ReadFile(path);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::string();
}

// Replaces the file by a new one (unlink first: truncating in place makes ext4 flush it).
void Overwrite(const std::string& path, std::string_view bytes) {
  ::unlink(path.c_str());
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Opens `dir` and reads everything through every path (each postings list, series entry
// and chunk). Returns the first error, OK if all reads succeed.
Status OpenAndReadEverything(const std::string& dir) {
  ASSIGN_OR_RETURN(std::shared_ptr<Block> b, Block::Open(dir));
  RETURN_IF_ERROR(b->ReadAllSeries().status());
  ASSIGN_OR_RETURN(std::unique_ptr<Querier> q, b->NewQuerier(INT64_MIN, INT64_MAX));
  RETURN_IF_ERROR(q->Select({M(MatchType::kRegexMatch, "__name__", ".*")}, {}).status());
  ASSIGN_OR_RETURN(std::vector<std::string> names, q->LabelNames({}));
  for (const std::string& n : names) {
    ASSIGN_OR_RETURN(std::vector<std::string> values, q->LabelValues(n, {}));
    for (const std::string& v : values) {
      RETURN_IF_ERROR(q->Select({M(MatchType::kEqual, n, v)}, {}).status());
      RETURN_IF_ERROR(q->LabelNames({M(MatchType::kEqual, n, v)}).status());
    }
  }
  return Status::OK();
}

class BlockCorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Small, so that every byte can be damaged in turn: 12 series of ~120 samples, 3 chunks.
    std::vector<RefSeries> ref = MakeRef(12, 60000);
    auto meta = WriteBlock(dir_.path(), 0, 2 * kHourMs, 1, {}, ToBlockSeries(ref, 50));
    ASSERT_TRUE(meta.ok()) << meta.status().ToString();
    block_dir_ = dir_.path() + "/" + meta->ulid;
    ASSERT_TRUE(OpenAndReadEverything(block_dir_).ok());
  }

  // Applies `damage` to the pristine bytes of `file` at each offset in [0, size) (stepping
  // by `step`), checks that the block reports Corruption, and restores the file.
  void ForEachDamage(const std::string& file, size_t step,
                     const std::function<std::string(std::string, size_t)>& damage,
                     size_t skip_last = 0) {
    const std::string path = block_dir_ + "/" + file;
    const std::string pristine = Slurp(path);
    ASSERT_FALSE(pristine.empty());
    int checked = 0;
    for (size_t off = 0; off + skip_last < pristine.size(); off += step) {
      Overwrite(path, damage(pristine, off));
      Status st = OpenAndReadEverything(block_dir_);
      EXPECT_EQ(st.code(), StatusCode::kCorruption)
          << file << " damaged at " << off << ": " << st.ToString();
      ++checked;
    }
    Overwrite(path, pristine);
    EXPECT_GT(checked, 10);
    ASSERT_TRUE(OpenAndReadEverything(block_dir_).ok());
  }

  TempDir dir_;
  std::string block_dir_;
};

std::string Truncate(std::string s, size_t off) { return s.substr(0, off); }
std::string FlipByte(std::string s, size_t off) {
  s[off] = static_cast<char>(s[off] ^ 0xFF);
  return s;
}
std::string FlipLowBit(std::string s, size_t off) {
  s[off] = static_cast<char>(s[off] ^ 0x01);
  return s;
}

TEST_F(BlockCorruptionTest, TruncatedIndex) { ForEachDamage("index", 1, Truncate); }
TEST_F(BlockCorruptionTest, FlippedIndexBytes) {
  ForEachDamage("index", 1, FlipByte);
  ForEachDamage("index", 1, FlipLowBit);
}
TEST_F(BlockCorruptionTest, TruncatedChunkSegment) {
  ForEachDamage("chunks/000001", 3, Truncate);
}
TEST_F(BlockCorruptionTest, FlippedChunkSegmentBytes) {
  ForEachDamage("chunks/000001", 1, FlipByte);
  ForEachDamage("chunks/000001", 1, FlipLowBit);
}
TEST_F(BlockCorruptionTest, TruncatedMetaJson) {
  // Cutting only the final newline leaves valid JSON.
  ForEachDamage("meta.json", 1, Truncate, /*skip_last=*/1);
}
TEST_F(BlockCorruptionTest, MissingFiles) {
  for (const char* file : {"index", "chunks/000001"}) {
    const std::string path = block_dir_ + "/" + file;
    const std::string pristine = Slurp(path);
    ASSERT_EQ(::unlink(path.c_str()), 0);
    EXPECT_EQ(Block::Open(block_dir_).status().code(), StatusCode::kCorruption) << file;
    Overwrite(path, pristine);
  }
  // A stray segment that breaks the numbering.
  Overwrite(block_dir_ + "/chunks/000003", Slurp(block_dir_ + "/chunks/000001"));
  EXPECT_EQ(Block::Open(block_dir_).status().code(), StatusCode::kCorruption);
  ASSERT_EQ(::unlink((block_dir_ + "/chunks/000003").c_str()), 0);
  EXPECT_TRUE(Block::Open(block_dir_).ok());
}

TEST_F(BlockCorruptionTest, MetaDisagreeingWithIndex) {
  const std::string path = block_dir_ + "/meta.json";
  std::string meta = Slurp(path);
  size_t p = meta.find("\"numSeries\": 12");
  ASSERT_NE(p, std::string::npos);
  meta.replace(p, 15, "\"numSeries\": 13");
  Overwrite(path, meta);
  EXPECT_EQ(Block::Open(block_dir_).status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace argus::tsdb
