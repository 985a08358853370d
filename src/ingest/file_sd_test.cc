#include "ingest/file_sd.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "util/file.h"

namespace argus::ingest {
namespace {

class FileSdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/argus_file_sd_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { RemoveAll(dir_).IgnoreError(); }
  void Write(const std::string& name, const std::string& content) {
    ASSERT_TRUE(WriteFileAtomic(dir_ + "/" + name, content).ok());
  }
  std::string dir_;
};

TEST(TargetGroupFileTest, Json) {
  auto r = ParseTargetGroupFile(R"([
	{
		"targets": ["10.0.0.1:9100", "10.0.0.2:9100"],
		"labels": {"env": "prod", "team": "db"}
	},
	{"targets": ["10.0.0.3:9100"]}
])",
                                "/etc/sd/nodes.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  const TargetGroup& g = (*r)[0];
  EXPECT_EQ(g.source, "/etc/sd/nodes.json:0");
  ASSERT_EQ(g.targets.size(), 2u);
  EXPECT_EQ(g.targets[1], Labels::FromMap({{"__address__", "10.0.0.2:9100"}}));
  EXPECT_EQ(g.labels, Labels::FromMap({{"env", "prod"},
                                       {"team", "db"},
                                       {"__meta_filepath", "/etc/sd/nodes.json"}}));
  EXPECT_EQ((*r)[1].source, "/etc/sd/nodes.json:1");
  EXPECT_EQ((*r)[1].labels, Labels::FromMap({{"__meta_filepath", "/etc/sd/nodes.json"}}));
}

TEST(TargetGroupFileTest, Yaml) {
  auto r = ParseTargetGroupFile(R"(
- targets:
    - web-1:8080
    - web-2:8080
  labels:
    service: web
    "dotted.name": ok
)",
                                "sd/web.yml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].targets.size(), 2u);
  EXPECT_EQ((*r)[0].labels.Get("service"), "web");
  EXPECT_EQ((*r)[0].labels.Get("dotted.name"), "ok");
  EXPECT_EQ((*r)[0].labels.Get("__meta_filepath"), "sd/web.yml");
  EXPECT_TRUE(ParseTargetGroupFile("", "empty.yml")->empty());
}

TEST(TargetGroupFileTest, Errors) {
  const std::pair<std::string, std::string> cases[] = {
      {"[{\"targets\": \"a:1\"}]", "targets must be a list"},
      {"[{\"targets\": [[\"a:1\"]]}]", "each target must be a string"},
      {"[{\"targets\": [\"a:1\"], \"labels\": {\"a\": {\"b\": 1}}}]", "must be a string"},
      {"[{\"targets\": [\"a:1\"], \"lables\": {}}]", "unknown field"},
      {"{\"targets\": [\"a:1\"]}", "expected a list"},
      {"[{\"targets\": [\"a:1\"", "x.json"},
      {"[1, 2]", "not a mapping"},
  };
  for (const auto& [content, fragment] : cases) {
    auto r = ParseTargetGroupFile(content, "x.json");
    ASSERT_FALSE(r.ok()) << content;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(fragment), std::string::npos)
        << content << " -> " << r.status().message();
  }
}

TEST(StaticTargetGroupsTest, OneGroupPerConfig) {
  std::vector<StaticConfig> cfgs(2);
  cfgs[0].targets = {"a:1", "b:2"};
  cfgs[0].labels = Labels::FromMap({{"x", "y"}});
  cfgs[1].targets = {"c:3"};
  auto groups = StaticTargetGroups(cfgs);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].source, "static:0");
  EXPECT_EQ(groups[0].targets.size(), 2u);
  EXPECT_EQ(groups[0].labels.Get("x"), "y");
  EXPECT_EQ(groups[1].targets[0].Get("__address__"), "c:3");
}

TEST_F(FileSdTest, GlobsChangesAndErrors) {
  Write("a.json", R"([{"targets": ["h1:1"]}])");
  Write("b.yml", "- targets: [h2:2, h3:3]\n");
  Write("ignored.txt", "not matched");
  FileSdConfig cfg;
  cfg.files = {dir_ + "/*.json", dir_ + "/b.yml"};
  FileDiscovery d(cfg);
  EXPECT_TRUE(d.Refresh(false));
  auto groups = d.Groups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].source, dir_ + "/a.json:0");
  EXPECT_EQ(groups[1].targets.size(), 2u);

  // Nothing changed: no change reported, even when forced.
  EXPECT_FALSE(d.Refresh(false));
  EXPECT_FALSE(d.Refresh(true));

  // A new file matching the glob.
  Write("c.json", R"([{"targets": ["h4:4"], "labels": {"k": "v"}}])");
  EXPECT_TRUE(d.Refresh(false));
  EXPECT_EQ(d.Groups().size(), 3u);

  // A broken file keeps its last good groups and records the error.
  Write("c.json", R"([{"targets": ["h4:4"], "labels": )");
  EXPECT_FALSE(d.Refresh(false));
  EXPECT_EQ(d.Groups().size(), 3u);
  EXPECT_EQ(d.errors_total(), 1u);
  EXPECT_NE(d.last_error().find("c.json"), std::string::npos);

  // Fixed content (different size) is picked up.
  Write("c.json", R"([{"targets": ["h5:5", "h6:6"]}])");
  EXPECT_TRUE(d.Refresh(false));
  groups = d.Groups();
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[2].source, dir_ + "/c.json:0");  // ordered by path: a, b, c
  EXPECT_EQ(groups[2].targets.size(), 2u);
  EXPECT_EQ(groups[2].targets[0].Get("__address__"), "h5:5");
  EXPECT_TRUE(d.last_error().empty());

  // A removed file loses its groups.
  ASSERT_EQ(unlink((dir_ + "/a.json").c_str()), 0);
  EXPECT_TRUE(d.Refresh(false));
  EXPECT_EQ(d.Groups().size(), 2u);
}

}  // namespace
}  // namespace argus::ingest
