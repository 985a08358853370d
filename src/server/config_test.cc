#include "server/config.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "ingest/pipeline.h"

namespace argus::server {
namespace {

TEST(ConfigTest, DefaultConfigTailsArgusOwnLog) {
  auto cfg = ParseConfig(kDefaultConfig, "", "localhost:9090", "/srv/argus");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  ASSERT_EQ(cfg->log_sources.size(), 1u);
  const ingest::TailSource& src = cfg->log_sources[0];
  EXPECT_EQ(src.glob, "/srv/argus/argus.log");
  EXPECT_EQ(src.labels.Get("job"), "argus");
  ASSERT_NE(src.pipeline_stages, nullptr);
  // The stages read the line format main.cc gives the log file sink.
  auto p = ingest::Pipeline::Make(*src.pipeline_stages);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  std::vector<ingest::PipelineEntry> out;
  (*p)->Process(ingest::PipelineEntry::FromLine(0, "2026-12-01T14:55:41.123456Z [warning] disk slow", src.labels), 0,
                &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ts_ns, 1796136941'123456000);
  EXPECT_EQ(out[0].labels.at("level"), "warning");
}

TEST(ConfigTest, LogSourcesErrorsNameTheField) {
  auto cfg = ParseConfig("log_sources:\n  - paths: [a]\n    pipeline_stages: [{bogus: {}}]\n", "", "x", "/d");
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("log_sources[0].pipeline_stages[0]: unknown stage \"bogus\""),
            std::string::npos)
      << cfg.status().message();
}

}  // namespace
}  // namespace argus::server
