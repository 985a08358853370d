#include "ingest/scrape_config.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace argus::ingest {
namespace {

constexpr int64_t kMinute = 60000;
constexpr int64_t kTenSeconds = 10000;

Result<std::vector<ScrapeConfig>> Parse(const std::string& yaml, int64_t interval = kMinute,
                                        int64_t timeout = kTenSeconds,
                                        const std::string& dir = "") {
  YAML::Node root = YAML::Load(yaml);
  return ParseScrapeConfigs(root["scrape_configs"], interval, timeout, dir);
}

TEST(PromDurationTest, ParseAndFormat) {
  EXPECT_EQ(*ParsePromDuration("0"), 0);
  EXPECT_EQ(*ParsePromDuration("15s"), 15000);
  EXPECT_EQ(*ParsePromDuration("1m30s"), 90000);
  EXPECT_EQ(*ParsePromDuration("1h30m"), 5400000);
  EXPECT_EQ(*ParsePromDuration("250ms"), 250);
  EXPECT_EQ(*ParsePromDuration("2d"), 2 * 86400000LL);
  EXPECT_EQ(*ParsePromDuration("1w"), 7 * 86400000LL);
  EXPECT_EQ(*ParsePromDuration("1y"), 365 * 86400000LL);
  EXPECT_EQ(*ParsePromDuration("1h0m5s10ms"), 3605010);
  for (std::string_view bad : {"", "5", "s", "1.5s", "5x", "1s1m", "1m1m", "-5s", "1 s", "10000000y"}) {
    auto r = ParsePromDuration(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
  EXPECT_EQ(FormatPromDuration(0), "0s");
  EXPECT_EQ(FormatPromDuration(15000), "15s");
  EXPECT_EQ(FormatPromDuration(90000), "1m30s");
  EXPECT_EQ(FormatPromDuration(250), "250ms");
  EXPECT_EQ(FormatPromDuration(7 * 86400000LL), "1w");
  EXPECT_EQ(FormatPromDuration(90 * 86400000LL), "90d");  // not 12w6d
  EXPECT_EQ(FormatPromDuration(3605010), "1h5s10ms");
  for (int64_t ms : {1LL, 999LL, 61000LL, 3600000LL, 86400000LL + 1}) {
    EXPECT_EQ(*ParsePromDuration(FormatPromDuration(ms)), ms);
  }
}

TEST(ByteSizeTest, Parse) {
  EXPECT_EQ(*ParseByteSize("512"), 512);
  EXPECT_EQ(*ParseByteSize("10KB"), 10240);
  EXPECT_EQ(*ParseByteSize("10MB"), 10 * 1024 * 1024);
  EXPECT_EQ(*ParseByteSize("1GiB"), 1LL << 30);
  EXPECT_FALSE(ParseByteSize("10XB").ok());
  EXPECT_FALSE(ParseByteSize("MB").ok());
}

TEST(ScrapeConfigTest, DefaultsFromGlobal) {
  auto r = Parse(R"(
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["localhost:9100", "db:9100"]
        labels: {env: prod}
)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  const ScrapeConfig& c = (*r)[0];
  EXPECT_EQ(c.job_name, "node");
  EXPECT_EQ(c.scrape_interval_ms, kMinute);
  EXPECT_EQ(c.scrape_timeout_ms, kTenSeconds);
  EXPECT_EQ(c.metrics_path, "/metrics");
  EXPECT_EQ(c.scheme, "http");
  EXPECT_FALSE(c.honor_labels);
  EXPECT_TRUE(c.honor_timestamps);
  EXPECT_TRUE(c.enable_compression);
  EXPECT_EQ(c.sample_limit, 0);
  ASSERT_EQ(c.static_configs.size(), 1u);
  EXPECT_EQ(c.static_configs[0].targets, (std::vector<std::string>{"localhost:9100", "db:9100"}));
  EXPECT_EQ(c.static_configs[0].labels, Labels::FromMap({{"env", "prod"}}));
  EXPECT_EQ(c.scrape_protocols.size(), 4u);
  EXPECT_FALSE(c.fallback_scrape_protocol.has_value());
}

TEST(ScrapeConfigTest, TimeoutIsCappedAtAShortInterval) {
  auto r = Parse(R"(
scrape_configs:
  - job_name: fast
    scrape_interval: 5s
  - job_name: explicit
    scrape_interval: 30s
    scrape_timeout: 20s
)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].scrape_interval_ms, 5000);
  EXPECT_EQ((*r)[0].scrape_timeout_ms, 5000);  // global 10s > 5s interval
  EXPECT_EQ((*r)[1].scrape_timeout_ms, 20000);
}

TEST(ScrapeConfigTest, AllFields) {
  auto r = Parse(R"(
scrape_configs:
  - job_name: full
    scrape_interval: 1m30s
    scrape_timeout: 15s
    metrics_path: /probe
    scheme: https
    honor_labels: true
    honor_timestamps: false
    track_timestamps_staleness: true
    params:
      module: [http_2xx]
      target: [a, b]
    sample_limit: 5000
    label_limit: 30
    label_name_length_limit: 100
    label_value_length_limit: 200
    body_size_limit: 10MB
    enable_compression: false
    follow_redirects: false
    basic_auth:
      username: user
      password_file: secret.txt
    tls_config:
      ca_file: /etc/ca.pem
      insecure_skip_verify: true
    scrape_protocols: [PrometheusText0.0.4, PrometheusProto]
    fallback_scrape_protocol: PrometheusText0.0.4
    file_sd_configs:
      - files: [targets/*.json, extra.yml]
        refresh_interval: 30s
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - action: labelmap
        regex: __meta_(.+)
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: go_.*
        action: drop
    kubernetes_sd_configs:
      - role: pod
)",
                 kMinute, kTenSeconds, "/etc/argus");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ScrapeConfig& c = (*r)[0];
  EXPECT_EQ(c.scrape_interval_ms, 90000);
  EXPECT_EQ(c.scrape_timeout_ms, 15000);
  EXPECT_EQ(c.metrics_path, "/probe");
  EXPECT_EQ(c.scheme, "https");
  EXPECT_TRUE(c.honor_labels);
  EXPECT_FALSE(c.honor_timestamps);
  EXPECT_TRUE(c.track_timestamps_staleness);
  EXPECT_EQ(c.params.at("target"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.sample_limit, 5000);
  EXPECT_EQ(c.label_limit, 30);
  EXPECT_EQ(c.label_name_length_limit, 100);
  EXPECT_EQ(c.label_value_length_limit, 200);
  EXPECT_EQ(c.body_size_limit_bytes, 10 << 20);
  EXPECT_FALSE(c.enable_compression);
  EXPECT_FALSE(c.follow_redirects);
  EXPECT_EQ(c.basic_auth_username, "user");
  EXPECT_EQ(c.basic_auth_password_file, "/etc/argus/secret.txt");
  EXPECT_EQ(c.tls_config.ca_file, "/etc/ca.pem");
  EXPECT_TRUE(c.tls_config.insecure_skip_verify);
  EXPECT_EQ(c.scrape_protocols, (std::vector<std::string>{"PrometheusText0.0.4"}));
  EXPECT_EQ(c.fallback_scrape_protocol, ExpositionFormat::kPrometheusText);
  ASSERT_EQ(c.file_sd_configs.size(), 1u);
  EXPECT_EQ(c.file_sd_configs[0].files,
            (std::vector<std::string>{"/etc/argus/targets/*.json", "/etc/argus/extra.yml"}));
  EXPECT_EQ(c.file_sd_configs[0].refresh_interval_ms, 30000);
  ASSERT_EQ(c.relabel_configs.size(), 2u);
  EXPECT_EQ(c.relabel_configs[0].action, RelabelAction::kReplace);
  EXPECT_EQ(c.relabel_configs[0].target_label, "__param_target");
  EXPECT_EQ(c.relabel_configs[0].replacement, "$1");
  EXPECT_TRUE(c.relabel_configs[0].compiled());
  EXPECT_EQ(c.relabel_configs[1].action, RelabelAction::kLabelMap);
  ASSERT_EQ(c.metric_relabel_configs.size(), 1u);
  EXPECT_EQ(c.metric_relabel_configs[0].action, RelabelAction::kDrop);
  EXPECT_EQ(c.metric_relabel_configs[0].regex, "go_.*");
}

TEST(ScrapeConfigTest, FileSdDefaultRefresh) {
  auto r = Parse(R"(
scrape_configs:
  - job_name: f
    file_sd_configs:
      - files: [/abs/a.yaml]
)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].file_sd_configs[0].refresh_interval_ms, 300000);
  EXPECT_EQ((*r)[0].file_sd_configs[0].files[0], "/abs/a.yaml");
}

TEST(ScrapeConfigTest, NoScrapeConfigs) {
  auto r = Parse("global: {}\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST(ScrapeConfigTest, ErrorsNameTheField) {
  struct Case {
    std::string yaml;
    std::string fragment;
  };
  const Case cases[] = {
      {"scrape_configs:\n  - scrape_interval: 5s\n", "job_name"},
      {"scrape_configs:\n  - job_name: a\n  - job_name: a\n", "multiple scrape configs with job name \"a\""},
      {"scrape_configs:\n  - job_name: a\n    scrape_interval: 5x\n", "scrape_interval: unknown unit"},
      {"scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n",
       "scrape_timeout: scrape timeout greater than scrape interval"},
      {"scrape_configs:\n  - job_name: a\n    scheme: ftp\n", "scheme"},
      {"scrape_configs:\n  - job_name: a\n    honor_labels: maybe\n", "honor_labels"},
      {"scrape_configs:\n  - job_name: a\n    sample_limit: -3\n", "sample_limit"},
      {"scrape_configs:\n  - job_name: a\n    scrape_intervall: 5s\n", "unknown field \"scrape_intervall\""},
      {"scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [\"h:1/path\"]\n",
       "static_configs[0]: targets"},
      {"scrape_configs:\n  - job_name: a\n    file_sd_configs:\n      - files: [x.txt]\n",
       "file_sd_configs[0]: files"},
      {"scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: hashmod\n        target_label: t\n",
       "relabel_configs: [0]: relabel configuration for hashmod requires non-zero modulus"},
      {"scrape_configs:\n  - job_name: a\n    metric_relabel_configs:\n      - action: explode\n",
       "metric_relabel_configs: [0]: unknown relabel action"},
      {"scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - regex: \"(\"\n        target_label: x\n",
       "invalid 'regex'"},
      {"scrape_configs:\n  - job_name: a\n    scrape_protocols: [Carrier pigeon]\n", "scrape_protocols"},
      {"scrape_configs:\n  - job_name: a\n    params: [1, 2]\n", "params"},
      {"scrape_configs:\n  - job_name: a\n    static_configs:\n      - labels: {a: [1]}\n", "labels"},
      {"scrape_configs: {a: 1}\n", "expected a list"},
  };
  for (const Case& c : cases) {
    auto r = Parse(c.yaml);
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.fragment), std::string::npos)
        << c.yaml << " -> " << r.status().message();
  }
  // The job is named in errors after job_name was read.
  auto r = Parse("scrape_configs:\n  - job_name: web\n    scheme: ftp\n");
  EXPECT_NE(r.status().message().find("scrape_configs[0]: job \"web\": scheme"), std::string::npos)
      << r.status().message();
}

TEST(ScrapeConfigTest, RelabelConfigsStandalone) {
  YAML::Node n = YAML::Load(R"(
- source_labels: [a, b]
  separator: "-"
  regex: (x)-(y)
  target_label: c
  replacement: $2$1
- action: Keep
  source_labels: [c]
  regex: yx
)");
  auto r = ParseRelabelConfigs(n);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  Labels in = Labels::FromMap({{"a", "x"}, {"b", "y"}});
  auto out = Relabel(in, *r);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->Get("c"), "yx");
}

TEST(ScrapeConfigTest, ConfigEquality) {
  auto a = Parse("scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - target_label: x\n        replacement: y\n");
  auto b = Parse("scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - target_label: x\n        replacement: y\n");
  auto c = Parse("scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - target_label: x\n        replacement: z\n");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_TRUE((*a)[0] == (*b)[0]);
  EXPECT_FALSE((*a)[0] == (*c)[0]);
}

}  // namespace
}  // namespace argus::ingest
