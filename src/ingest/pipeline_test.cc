#include "ingest/pipeline.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace argus::ingest {
namespace {

constexpr int64_t kNow = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr int64_t kSec = 1'000'000'000;

class PipelineTest : public ::testing::Test {
 protected:
  // Builds the pipeline from YAML or fails the test.
  void Build(const std::string& yaml) {
    auto p = Pipeline::Make(YAML::Load(yaml));
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    p_ = std::move(*p);
  }
  std::vector<PipelineEntry> Run(const std::vector<std::string>& lines, int64_t now = kNow) {
    std::vector<PipelineEntry> out;
    for (const auto& l : lines) p_->Process(PipelineEntry::FromLine(now, l, Labels::FromMap({{"job", "t"}})), now, &out);
    return out;
  }
  std::string MakeError(const std::string& yaml) {
    auto p = Pipeline::Make(YAML::Load(yaml));
    return p.ok() ? "" : p.status().message();
  }
  std::unique_ptr<Pipeline> p_;
};

TEST_F(PipelineTest, EmptyPipelinePassesThrough) {
  Build("[]");
  auto out = Run({"a"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].line, "a");
  EXPECT_EQ(out[0].ts_ns, kNow);
  EXPECT_EQ(out[0].extracted.at("job"), "t");  // extracted starts as the stream labels
}

TEST_F(PipelineTest, JsonExpressionsLabelsAndOutput) {
  Build(R"(
- json:
    expressions:
      level:
      user: user.name
      first: tags[0]
      ts: '"@timestamp"'
- labels: {level: ""}
- structured_metadata: {user_name: user}
- output: {source: first}
)");
  auto out = Run({R"({"level":"warn","user":{"name":"ann"},"tags":["x","y"],"@timestamp":"t1"})"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].labels.at("level"), "warn");
  EXPECT_EQ(out[0].extracted.at("ts"), "t1");
  ASSERT_EQ(out[0].metadata.size(), 1u);
  EXPECT_EQ(out[0].metadata[0].name, "user_name");
  EXPECT_EQ(out[0].metadata[0].value, "ann");
  EXPECT_EQ(out[0].line, "x");
}

TEST_F(PipelineTest, JsonDropMalformedAndSource) {
  Build("[{json: {expressions: {a: a}, drop_malformed: true}}]");
  EXPECT_EQ(Run({"not json", R"({"a":1})"}).size(), 1u);
  Build("[{json: {expressions: {inner: ''}}}, {json: {expressions: {b: b}, source: inner}}]");
  auto out = Run({R"({"inner":{"b":"deep"}})"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].extracted.at("b"), "deep");
}

TEST_F(PipelineTest, LogfmtMapping) {
  Build("[{logfmt: {mapping: {lvl: level, msg: ''}}}, {labels: {lvl: ''}}]");
  auto out = Run({R"(level=error msg="disk full" other=1)"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].labels.at("lvl"), "error");
  EXPECT_EQ(out[0].extracted.at("msg"), "disk full");
  EXPECT_FALSE(out[0].extracted.contains("other"));
}

TEST_F(PipelineTest, RegexWithSourceAndStaticLabels) {
  Build(R"(
- regex: {expression: '^(?P<ip>\S+) (?P<rest>.*)$'}
- regex: {expression: '^(?P<a>\d+)\.', source: ip}
- static_labels: {env: prod}
)");
  auto out = Run({"10.0.0.1 GET /"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].extracted.at("ip"), "10.0.0.1");
  EXPECT_EQ(out[0].extracted.at("a"), "10");
  EXPECT_EQ(out[0].labels.at("env"), "prod");
  EXPECT_EQ(out[0].line, "10.0.0.1 GET /");  // parsers never change the line
}

TEST_F(PipelineTest, TimestampFormats) {
  struct Case {
    std::string format, value;
    int64_t want;
  };
  std::vector<Case> cases = {
      {"RFC3339", "2019-07-09T21:48:36+02:00", 1562701716 * kSec},
      {"RFC3339Nano", "2019-07-09T21:48:36.123456789Z", 1562708916 * kSec + 123456789},
      {"Unix", "1562708916", 1562708916 * kSec},
      {"Unix", "1562708916.5", 1562708916 * kSec + 500'000'000},
      {"UnixMs", "1562708916414", 1562708916414'000'000},
      {"UnixUs", "1562708916414123", 1562708916414123'000},
      {"UnixNs", "1562708916414123456", 1562708916414123456},
      {"2006-01-02 15:04:05,000", "2015-10-18 18:01:47,978", 1445191307978'000'000},
  };
  for (const auto& c : cases) {
    Build("[{regex: {expression: '^(?P<ts>[^|]+)\\|'}}, {timestamp: {source: ts, format: '" + c.format + "'}}]");
    auto out = Run({c.value + "|line"});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].ts_ns, c.want) << c.format << " " << c.value;
  }
}

TEST_F(PipelineTest, TimestampLocationFallbackAndYearless) {
  Build(R"(
- regex: {expression: '^(?P<ts>[^|]+)\|'}
- timestamp:
    source: ts
    format: '2006-01-02 15:04:05'
    fallback_formats: [UnixMs]
    location: America/New_York
)");
  auto out = Run({"2019-07-09 17:48:36|a", "1562708916000|b"});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].ts_ns, 1562708916 * kSec);  // EDT is UTC-4
  EXPECT_EQ(out[1].ts_ns, 1562708916 * kSec);
  // No year in the layout: the current year (2023 at kNow).
  auto t = ParsePipelineTimestamp("Jan _2 15:04:05", "Jun 14 15:16:01", nullptr, kNow);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, 1686755761 * kSec);
  // December read in January belongs to the year before.
  int64_t jan2024 = 1704153600 * kSec;  // 2024-01-02
  t = ParsePipelineTimestamp("Jan _2 15:04:05", "Dec 31 23:00:00", nullptr, jan2024);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, 1704063600 * kSec);  // 2023-12-31T23:00:00Z
}

TEST_F(PipelineTest, TimestampFudgeAndSkip) {
  Build("[{regex: {expression: '^(?P<ts>\\S+) '}}, {timestamp: {source: ts, format: Unix}}]");
  auto out = Run({"100 a", "bad b", "bad c"});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].ts_ns, 100 * kSec);
  EXPECT_EQ(out[1].ts_ns, 100 * kSec + 1);  // fudge: last + 1 ns
  EXPECT_EQ(out[2].ts_ns, 100 * kSec + 2);
  Build("[{regex: {expression: '^(?P<ts>\\S+) '}}, {timestamp: {source: ts, format: Unix, action_on_failure: skip}}]");
  out = Run({"100 a", "bad b"});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].ts_ns, kNow);  // skip: the read time stays
}

TEST_F(PipelineTest, DropConditions) {
  Build("[{drop: {expression: debug}}]");
  EXPECT_EQ(Run({"a debug line", "an info line"}).size(), 1u);
  Build("[{drop: {longer_than: 5}}]");
  EXPECT_EQ(Run({"short", "longer line"}).size(), 1u);
  Build("[{logfmt: {mapping: {level: ''}}}, {drop: {source: level, value: debug}}]");
  EXPECT_EQ(Run({"level=debug", "level=info", "nolevel"}).size(), 2u);
  Build("[{logfmt: {mapping: {a: '', b: ''}}}, {drop: {source: [a, b], separator: '-', expression: '^x-y$'}}]");
  EXPECT_EQ(Run({"a=x b=y", "a=x b=z"}).size(), 1u);
  // older_than and longer_than together: both must hold.
  Build("[{regex: {expression: '^(?P<ts>\\S+) '}}, {timestamp: {source: ts, format: Unix}},"
        " {drop: {older_than: 1h, longer_than: 20B}}]");
  std::string old = std::to_string(kNow / kSec - 7200);
  std::string fresh = std::to_string(kNow / kSec - 60);
  auto out = Run({old + " a long enough line", old + " s", fresh + " a long enough line"});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].line, old + " s");
}

TEST_F(PipelineTest, MultilineJoinsUntilNextFirstLineOrWait) {
  Build("[{multiline: {firstline: '^\\[', max_wait_time: 3s, max_lines: 3}}]");
  auto out = Run({"[1] start", "  at a", "  at b", "[2] next"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].line, "[1] start\n  at a\n  at b");
  out = Run({"  c1", "  c2", "  c3"}, kNow + kSec);  // max_lines 3 releases the block
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].line, "[2] next\n  c1\n  c2");
  std::vector<PipelineEntry> flushed;
  p_->Flush(kNow + 2 * kSec, false, &flushed);
  EXPECT_TRUE(flushed.empty());  // "  c3" waits: less than 3 s since it came
  p_->Flush(kNow + 5 * kSec, false, &flushed);
  ASSERT_EQ(flushed.size(), 1u);
  EXPECT_EQ(flushed[0].line, "  c3");
  EXPECT_EQ(flushed[0].ts_ns, kNow + kSec);
}

TEST_F(PipelineTest, MultilineFlushRunsLaterStages) {
  Build("[{multiline: {firstline: '^\\d'}}, {static_labels: {joined: yes}}]");
  EXPECT_TRUE(Run({"1 a", " b"}).empty());
  std::vector<PipelineEntry> out;
  p_->Flush(kNow, true, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].line, "1 a\n b");
  EXPECT_EQ(out[0].labels.at("joined"), "yes");
}

TEST_F(PipelineTest, MatchKeepRunsNestedStagesAndDropDrops) {
  Build(R"(
- static_labels: {app: web}
- match:
    selector: '{app="web"} |= "json"'
    stages:
      - json: {expressions: {code: ''}}
      - labels: {code: ''}
- match:
    selector: '{app="web"} |~ "health"'
    action: drop
)");
  auto out = Run({R"(json {"code":"500"})", "GET /health", "plain"});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(out[0].labels.contains("code"));  // "json {...}" is not JSON as a whole
  EXPECT_EQ(out[1].line, "plain");
  Build("[{match: {selector: '{job=\"t\"}', stages: [{regex: {expression: '(?P<n>\\d+)'}}, {labels: {n: ''}}]}}]");
  out = Run({"x 42"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].labels.at("n"), "42");
}

TEST_F(PipelineTest, Cri) {
  Build("[{cri: {}}]");
  auto out = Run({"2019-04-30T02:12:41.8443515Z stdout F hello world",
                  "2019-04-30T02:12:42.0Z stderr P part one ",
                  "2019-04-30T02:12:42.1Z stderr F and two",
                  "not cri"});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].line, "hello world");
  EXPECT_EQ(out[0].labels.at("stream"), "stdout");
  EXPECT_EQ(out[0].ts_ns, 1556590361844351500);
  EXPECT_EQ(out[1].line, "part one and two");
  EXPECT_EQ(out[1].labels.at("stream"), "stderr");
  EXPECT_EQ(out[1].ts_ns, 1556590362 * kSec);  // the first part's time
  EXPECT_EQ(out[2].line, "not cri");
}

TEST_F(PipelineTest, Docker) {
  Build("[{docker: {}}]");
  auto out = Run({R"({"log":"log message\n","stream":"stderr","time":"2019-04-30T02:12:41.8443515Z"})"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].line, "log message");
  EXPECT_EQ(out[0].labels.at("stream"), "stderr");
  EXPECT_EQ(out[0].ts_ns, 1556590361844351500);
}

TEST_F(PipelineTest, ConfigErrorsNameTheStage) {
  EXPECT_EQ(MakeError("[{timestamp: {source: ts}}]"), "pipeline_stages[0].timestamp: format is required");
  EXPECT_EQ(MakeError("[{json: {expressions: {a: ''}}}, {nope: {}}]").find("pipeline_stages[1]: unknown stage \"nope\""), 0u);
  EXPECT_EQ(MakeError("[{json: {}}]"), "pipeline_stages[0].json: expressions are required");
  EXPECT_NE(MakeError("[{regex: {expression: '(unclosed'}}]").find("error parsing regexp"), std::string::npos);
  EXPECT_NE(MakeError("[{regex: {expression: 'no names'}}]").find("named capture"), std::string::npos);
  EXPECT_NE(MakeError("[{timestamp: {source: a, format: Unix, location: Mars/Base}}]").find("unknown time zone"),
            std::string::npos);
  EXPECT_NE(MakeError("[{labels: {'bad-name': ''}}]").find("invalid label name"), std::string::npos);
  EXPECT_NE(MakeError("[{match: {selector: '{a=\"b\"'}}]").find("selector"), std::string::npos);
  EXPECT_NE(MakeError("[{drop: {older_than: forever}}]").find("older_than"), std::string::npos);
  EXPECT_NE(MakeError("[{json: {expressions: {a: b}, bogus: 1}}]").find("unknown field \"bogus\""), std::string::npos);
  EXPECT_EQ(MakeError("{json: {}}"), "pipeline_stages must be a list");
}

}  // namespace
}  // namespace argus::ingest
