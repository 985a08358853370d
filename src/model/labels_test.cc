#include "model/labels.h"
#include "model/labels_view.h"

#include <gtest/gtest.h>

namespace argus {
namespace {

TEST(LabelsTest, FromMapSortsAndDropsEmpty) {
  Labels ls = Labels::FromMap({{"job", "node"}, {"__name__", "up"}, {"empty", ""}});
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(ls.labels()[0].name, "__name__");
  EXPECT_EQ(ls.Get("job"), "node");
  EXPECT_FALSE(ls.Has("empty"));
  EXPECT_EQ(ls.ToString(), "up{job=\"node\"}");
}

TEST(LabelsTest, DuplicateNamesAreRejected) {
  auto r = Labels::FromUnsorted({{"a", "1"}, {"a", "2"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(LabelsTest, HashDependsOnContentOnly) {
  Labels a = Labels::FromMap({{"a", "1"}, {"b", "2"}});
  Labels b = Labels::FromMap({{"b", "2"}, {"a", "1"}});
  Labels c = Labels::FromMap({{"a", "12"}});
  EXPECT_EQ(a.Hash(), b.Hash());
  EXPECT_NE(a.Hash(), c.Hash());
  // "a"="12" vs "a1"="2" must not collide by concatenation.
  EXPECT_NE(Labels::FromMap({{"a", "12"}}).Hash(), Labels::FromMap({{"a1", "2"}}).Hash());
}

TEST(LabelsTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("héllo"));
  EXPECT_FALSE(IsValidUtf8("\xff\xfe"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));        // truncated
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // surrogate
  EXPECT_TRUE(IsLegacyLabelName("_a1"));
  EXPECT_FALSE(IsLegacyLabelName("1a"));
  EXPECT_TRUE(IsLegacyMetricName("a:b_c"));
}

TEST(LabelsViewTest, HashesAndComparesAsTheLabelsItDescribes) {
  const std::string name = "__name__", metric = "up", job = "job", node = "node";
  std::vector<LabelRef> refs = {{name, metric}, {job, node}};
  LabelsView view(refs);
  Labels owned = Labels::FromMap({{"job", "node"}, {"__name__", "up"}});
  EXPECT_EQ(view.Hash(), owned.Hash());
  EXPECT_TRUE(view == owned);
  EXPECT_EQ(view.ToLabels(), owned);
  EXPECT_EQ(view.Get("job"), "node");
  EXPECT_EQ(view.Get("zone"), "");
  std::vector<LabelRef> other = {{name, metric}, {job, "nodes"}};
  EXPECT_FALSE(LabelsView(other) == owned);
  EXPECT_NE(LabelsView(other).Hash(), owned.Hash());
  std::vector<LabelRef> shorter = {{name, metric}};
  EXPECT_FALSE(LabelsView(shorter) == owned);
}

TEST(LabelsTest, Utf8ValidationAcrossTheAsciiFastPath) {
  // 8-byte ASCII words are skipped at once; what follows them is still checked.
  EXPECT_TRUE(IsValidUtf8("abcdefghijklmnop"));
  EXPECT_TRUE(IsValidUtf8("abcdefgh\xc3\xa9ijklmnop"));
  EXPECT_FALSE(IsValidUtf8("abcdefghijklmnop\xff"));
  EXPECT_FALSE(IsValidUtf8("abcdefgh\xc3"));
  EXPECT_FALSE(IsValidUtf8("abcdefg\xc3("));
}

}  // namespace
}  // namespace argus
