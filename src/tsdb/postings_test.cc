#include "tsdb/postings.h"

#include <vector>

#include <gtest/gtest.h>

namespace argus::tsdb {
namespace {

Matcher M(MatchType t, std::string name, std::string value) {
  Result<Matcher> m = Matcher::Make(t, std::move(name), std::move(value));
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return *m;
}

std::vector<uint64_t> Refs(const ::Roaring64Map& r) {
  std::vector<uint64_t> out;
  for (uint64_t x : r) out.push_back(x);
  return out;
}

class PostingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // ref: labels
    series_ = {
        {1, Labels::FromMap({{"__name__", "up"}, {"job", "node"}, {"instance", "a"}})},
        {2, Labels::FromMap({{"__name__", "up"}, {"job", "node"}, {"instance", "b"}})},
        {3, Labels::FromMap({{"__name__", "up"}, {"job", "api"}, {"instance", "a"}})},
        {4, Labels::FromMap({{"__name__", "up"}})},
        {5, Labels::FromMap({{"__name__", "http_requests_total"}, {"job", "api"}, {"code", "200"}})},
        {1ull << 40, Labels::FromMap({{"__name__", "up"}, {"job", "db"}})},  // a 64-bit ref
    };
    for (const auto& [ref, ls] : series_) p_.Add(ref, ls);
  }

  // The refs whose labels satisfy every matcher, computed the slow way.
  std::vector<uint64_t> BruteForce(const std::vector<Matcher>& ms) {
    std::vector<uint64_t> out;
    for (const auto& [ref, ls] : series_) {
      if (MatchesAll(ms, ls)) out.push_back(ref);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::vector<std::pair<uint64_t, Labels>> series_;
  MemPostings p_;
};

TEST_F(PostingsTest, EqualAndNotEqual) {
  EXPECT_EQ(Refs(p_.Select({M(MatchType::kEqual, "job", "node")})),
            (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(Refs(p_.Select({M(MatchType::kEqual, "__name__", "up"),
                            M(MatchType::kNotEqual, "job", "node")})),
            (std::vector<uint64_t>{3, 4, 1ull << 40}));
  EXPECT_TRUE(p_.Select({M(MatchType::kEqual, "job", "nope")}).isEmpty());
  EXPECT_TRUE(p_.Select({M(MatchType::kEqual, "nolabel", "x")}).isEmpty());
}

TEST_F(PostingsTest, EmptyMatchingMatchersSelectSeriesWithoutTheLabel) {
  // job="" selects series lacking `job`.
  EXPECT_EQ(Refs(p_.Select({M(MatchType::kEqual, "job", "")})), (std::vector<uint64_t>{4}));
  // job!="" selects series having it.
  EXPECT_EQ(Refs(p_.Select({M(MatchType::kNotEqual, "job", "")})),
            (std::vector<uint64_t>{1, 2, 3, 5, 1ull << 40}));
  // job=~"node|" selects node and the series without job.
  EXPECT_EQ(Refs(p_.Select({M(MatchType::kRegexMatch, "job", "node|")})),
            (std::vector<uint64_t>{1, 2, 4}));
  // job=~".*" matches everything; job=~".+" only series having the label.
  EXPECT_EQ(Refs(p_.Select({M(MatchType::kRegexMatch, "job", ".*")})).size(), 6u);
  EXPECT_EQ(Refs(p_.Select({M(MatchType::kRegexMatch, "job", ".+")})).size(), 5u);
  // job!~"node|api" keeps the ones without job too.
  EXPECT_EQ(Refs(p_.Select({M(MatchType::kRegexNoMatch, "job", "node|api")})),
            (std::vector<uint64_t>{4, 1ull << 40}));
  // job!~"node|" (does not match empty) requires the label.
  EXPECT_EQ(Refs(p_.Select({M(MatchType::kRegexNoMatch, "job", "node|")})),
            (std::vector<uint64_t>{3, 5, 1ull << 40}));
}

TEST_F(PostingsTest, RegexAlternationsAndGeneralRegexes) {
  Matcher alt = M(MatchType::kRegexMatch, "job", "node|db");
  EXPECT_EQ(alt.set_matches().size(), 2u);
  EXPECT_EQ(Refs(p_.Select({alt})), (std::vector<uint64_t>{1, 2, 1ull << 40}));
  EXPECT_EQ(Refs(p_.Select({M(MatchType::kRegexMatch, "job", "n.*")})),
            (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(Refs(p_.Select({M(MatchType::kRegexMatch, "instance", "[ab]"),
                            M(MatchType::kRegexNoMatch, "job", "a.i")})),
            (std::vector<uint64_t>{1, 2}));
  // Anchored: "od" does not match "node".
  EXPECT_TRUE(p_.Select({M(MatchType::kRegexMatch, "job", "od")}).isEmpty());
}

TEST_F(PostingsTest, AgreesWithBruteForce) {
  const std::vector<std::string> names = {"job", "instance", "code", "__name__", "missing"};
  const std::vector<std::string> values = {"", "node", "api", "a", "up", "node|api", ".*", ".+",
                                           "n.*|a", "200|", "b|a"};
  const MatchType types[] = {MatchType::kEqual, MatchType::kNotEqual, MatchType::kRegexMatch,
                             MatchType::kRegexNoMatch};
  int checked = 0;
  for (const auto& n1 : names) {
    for (const auto& v1 : values) {
      for (MatchType t1 : types) {
        Matcher m1 = M(t1, n1, v1);
        EXPECT_EQ(Refs(p_.Select({m1})), BruteForce({m1})) << m1.ToString();
        Matcher m2 = M(types[checked % 4], "job", values[checked % values.size()]);
        ++checked;
        EXPECT_EQ(Refs(p_.Select({m1, m2})), BruteForce({m1, m2}))
            << m1.ToString() << ", " << m2.ToString();
      }
    }
  }
}

TEST_F(PostingsTest, DeleteAndLabelNamesValues) {
  EXPECT_EQ(p_.LabelNames(), (std::vector<std::string>{"__name__", "code", "instance", "job"}));
  EXPECT_EQ(p_.LabelValues("job"), (std::vector<std::string>{"api", "db", "node"}));
  p_.Delete(5, series_[4].second);
  EXPECT_EQ(p_.LabelNames(), (std::vector<std::string>{"__name__", "instance", "job"}));
  EXPECT_EQ(p_.LabelValues("__name__"), (std::vector<std::string>{"up"}));
  EXPECT_EQ(p_.NumSeries(), 5u);
  EXPECT_FALSE(p_.All().contains(uint64_t{5}));
  EXPECT_EQ(Refs(p_.Get("job", "api")), (std::vector<uint64_t>{3}));
}

}  // namespace
}  // namespace argus::tsdb
