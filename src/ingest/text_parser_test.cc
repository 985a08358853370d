#include "ingest/text_parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace argus::ingest {
namespace {

// An excerpt of a real node_exporter 1.6 page, with the shapes that matter: summaries,
// histograms, counters, gauges, many labels, escaped values, NaN, +Inf, a timestamp.
constexpr std::string_view kNodeExporterPage = R"page(# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.6863e-05
go_gc_duration_seconds{quantile="0.25"} 3.8572e-05
go_gc_duration_seconds{quantile="0.5"} 4.6411e-05
go_gc_duration_seconds{quantile="0.75"} 6.1043e-05
go_gc_duration_seconds{quantile="1"} 0.000384412
go_gc_duration_seconds_sum 0.458361549
go_gc_duration_seconds_count 8420
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 8
# HELP go_info Information about the Go environment.
# TYPE go_info gauge
go_info{version="go1.20.4"} 1
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 2.35718923e+06
node_cpu_seconds_total{cpu="0",mode="iowait"} 1632.26
node_cpu_seconds_total{cpu="0",mode="irq"} 0
node_cpu_seconds_total{cpu="0",mode="nice"} 41.06
node_cpu_seconds_total{cpu="0",mode="softirq"} 512.04
node_cpu_seconds_total{cpu="0",mode="steal"} 0
node_cpu_seconds_total{cpu="0",mode="system"} 8392.45
node_cpu_seconds_total{cpu="0",mode="user"} 25137.15
# HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.
# TYPE node_filesystem_avail_bytes gauge
node_filesystem_avail_bytes{device="/dev/nvme0n1p2",fstype="ext4",mountpoint="/"} 1.9838808448e+11
node_filesystem_avail_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run"} 3.3482752e+09
# HELP node_hwmon_temp_celsius Hardware monitor for temperature (input)
# TYPE node_hwmon_temp_celsius gauge
node_hwmon_temp_celsius{chip="platform_coretemp_0",sensor="temp1"} NaN
# HELP node_network_info Non-numeric data from /sys/class/net/<iface>, value is always 1.
# TYPE node_network_info gauge
node_network_info{address="00:00:00:00:00:00",broadcast="00:00:00:00:00:00",device="lo",duplex="",ifalias="",operstate="unknown"} 1
# HELP node_textfile_mtime_seconds Unixtime mtime of textfiles successfully read.
# TYPE node_textfile_mtime_seconds gauge
node_textfile_mtime_seconds{file="/var/lib/node_exporter/backup.prom"} 1.6903e+09 1690300000123
# HELP node_uname_info Labeled system information as provided by the uname system call.
# TYPE node_uname_info gauge
node_uname_info{domainname="(none)",machine="x86_64",nodename="host \"db\"\\1",release="6.1.0-10-amd64",sysname="Linux",version="#1 SMP PREEMPT_DYNAMIC Debian 6.1.38-1 (2023-07-14)"} 1
# HELP prometheus_http_request_duration_seconds Histogram of latencies for HTTP requests.
# TYPE prometheus_http_request_duration_seconds histogram
prometheus_http_request_duration_seconds_bucket{handler="/metrics",le="0.1"} 4172
prometheus_http_request_duration_seconds_bucket{handler="/metrics",le="0.2"} 4173
prometheus_http_request_duration_seconds_bucket{handler="/metrics",le="+Inf"} 4175
prometheus_http_request_duration_seconds_sum{handler="/metrics"} 93.41
prometheus_http_request_duration_seconds_count{handler="/metrics"} 4175
# A free-form comment line.

process_start_time_seconds 1.68925711828e+09
untyped_metric -Inf
)page";

TEST(TextParserTest, NodeExporterPage) {
  auto page = ParseExposition(kNodeExporterPage, ExpositionFormat::kPrometheusText);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->samples.size(), 30u);

  const ParsedSample& q = page->samples[1];
  EXPECT_EQ(q.labels, Labels::FromMap({{"__name__", "go_gc_duration_seconds"}, {"quantile", "0.25"}}));
  EXPECT_DOUBLE_EQ(q.value, 3.8572e-05);
  EXPECT_FALSE(q.t_ms.has_value());
  EXPECT_FALSE(q.exemplar.has_value());

  const ParsedSample& cpu = page->samples[9];
  EXPECT_EQ(cpu.labels.MetricName(), "node_cpu_seconds_total");
  EXPECT_EQ(cpu.labels.Get("cpu"), "0");
  EXPECT_EQ(cpu.labels.Get("mode"), "idle");
  EXPECT_DOUBLE_EQ(cpu.value, 2.35718923e+06);

  // Empty label values are absent labels.
  const ParsedSample& net = page->samples[20];
  EXPECT_EQ(net.labels.MetricName(), "node_network_info");
  EXPECT_FALSE(net.labels.Has("duplex"));
  EXPECT_EQ(net.labels.Get("operstate"), "unknown");
  EXPECT_EQ(net.labels.size(), 5u);

  EXPECT_TRUE(std::isnan(page->samples[19].value));
  EXPECT_EQ(page->samples[21].t_ms, std::optional<int64_t>(1690300000123));
  EXPECT_EQ(page->samples[22].labels.Get("nodename"), "host \"db\"\\1");
  EXPECT_EQ(page->samples[25].labels.Get("le"), "+Inf");
  EXPECT_TRUE(std::isinf(page->samples[29].value) && page->samples[29].value < 0);

  ASSERT_EQ(page->metadata.size(), 10u);
  EXPECT_EQ(page->metadata[0].metric_family, "go_gc_duration_seconds");
  EXPECT_EQ(page->metadata[0].type, MetricType::kSummary);
  EXPECT_EQ(page->metadata[0].help, "A summary of the pause duration of garbage collection cycles.");
  EXPECT_EQ(page->metadata[3].metric_family, "node_cpu_seconds_total");
  EXPECT_EQ(page->metadata[3].type, MetricType::kCounter);
  EXPECT_EQ(page->metadata[9].type, MetricType::kHistogram);
}

TEST(TextParserTest, SeriesTextIsTheRawSeries) {
  TextParser p("  foo_bar{a=\"1\", b=\"x y\"}   12  \nbaz 3\n", ExpositionFormat::kPrometheusText);
  auto more = p.Next();
  ASSERT_TRUE(more.ok() && *more);
  EXPECT_EQ(p.series(), "foo_bar{a=\"1\", b=\"x y\"}");
  EXPECT_EQ(p.metric_name(), "foo_bar");
  EXPECT_DOUBLE_EQ(p.value(), 12);
  EXPECT_EQ(p.line(), 1);
  more = p.Next();
  ASSERT_TRUE(more.ok() && *more);
  EXPECT_EQ(p.series(), "baz");
  EXPECT_EQ(p.labels(), Labels::FromMap({{"__name__", "baz"}}));
  EXPECT_EQ(p.line(), 2);
  more = p.Next();
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
}

TEST(TextParserTest, EscapesInLabelValuesAndHelp) {
  std::string_view page =
      "# HELP m Help with \\\\ and \\n and \\\" kept\n"
      "m{path=\"C:\\\\dir\",msg=\"say \\\"hi\\\"\\nbye\",odd=\"\\t\"} 1\n";
  auto r = ParseExposition(page, ExpositionFormat::kPrometheusText);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->samples.size(), 1u);
  EXPECT_EQ(r->samples[0].labels.Get("path"), "C:\\dir");
  EXPECT_EQ(r->samples[0].labels.Get("msg"), "say \"hi\"\nbye");
  EXPECT_EQ(r->samples[0].labels.Get("odd"), "\\t");  // unknown escapes are kept
  // The Prometheus format unescapes only \\ and \n in HELP.
  EXPECT_EQ(r->metadata[0].help, "Help with \\ and \n and \\\" kept");

  auto om = ParseExposition("# HELP m a \\\"quote\\\"\nm 1\n# EOF\n", ExpositionFormat::kOpenMetrics);
  ASSERT_TRUE(om.ok()) << om.status().ToString();
  EXPECT_EQ(om->metadata[0].help, "a \"quote\"");
}

TEST(TextParserTest, QuotedUtf8Names) {
  auto r = ParseExposition(
      "{\"my.metric\", \"label.with.dots\"=\"v\", plain=\"w\"} 2\n"
      "# TYPE \"other.metric\" gauge\n"
      "{\"other.metric\"} 3\n",
      ExpositionFormat::kPrometheusText);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->samples.size(), 2u);
  EXPECT_EQ(r->samples[0].labels,
            Labels::FromMap({{"__name__", "my.metric"}, {"label.with.dots", "v"}, {"plain", "w"}}));
  EXPECT_EQ(r->samples[1].labels.MetricName(), "other.metric");
  EXPECT_EQ(r->metadata[0].metric_family, "other.metric");
  EXPECT_EQ(r->metadata[0].type, MetricType::kGauge);
}

constexpr std::string_view kOpenMetricsPage = R"page(# TYPE http_requests counter
# HELP http_requests Requests served.
http_requests_total{code="200"} 1027 1520879607.789 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 1 1520879607.7
http_requests_created{code="200"} 1520870000.123
http_requests_total{code="500"} 3
# TYPE request_latency_seconds histogram
# UNIT request_latency_seconds seconds
# HELP request_latency_seconds Request latency.
request_latency_seconds_bucket{le="0.1"} 8 # {trace_id="abc",span_id="12"} 0.054
request_latency_seconds_bucket{le="+Inf"} 10 # {} 2.5 1520879608
request_latency_seconds_count 10
request_latency_seconds_sum 3.1
request_latency_seconds_created 1520870000.5
# TYPE temperature gauge
temperature NaN
temperature_other -Inf
# TYPE build info
build_info{version="1.2"} 1
# EOF
)page";

TEST(TextParserTest, OpenMetricsWithExemplars) {
  auto page = ParseExposition(kOpenMetricsPage, ExpositionFormat::kOpenMetrics);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->samples.size(), 11u);

  const ParsedSample& s0 = page->samples[0];
  EXPECT_EQ(s0.labels, Labels::FromMap({{"__name__", "http_requests_total"}, {"code", "200"}}));
  EXPECT_EQ(s0.t_ms, std::optional<int64_t>(1520879607789));  // seconds -> ms
  ASSERT_TRUE(s0.exemplar.has_value());
  EXPECT_EQ(s0.exemplar->labels,
            Labels::FromMap({{"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"}}));
  EXPECT_DOUBLE_EQ(s0.exemplar->value, 1);
  EXPECT_EQ(s0.exemplar->t_ms, std::optional<int64_t>(1520879607700));

  // _created is a series by default (as in Prometheus without created-timestamp ingestion).
  EXPECT_EQ(page->samples[1].labels.MetricName(), "http_requests_created");
  EXPECT_DOUBLE_EQ(page->samples[1].value, 1520870000.123);

  const ParsedSample& b = page->samples[3];
  ASSERT_TRUE(b.exemplar.has_value());
  EXPECT_EQ(b.exemplar->labels.Get("span_id"), "12");
  EXPECT_FALSE(b.exemplar->t_ms.has_value());
  ASSERT_TRUE(page->samples[4].exemplar.has_value());
  EXPECT_TRUE(page->samples[4].exemplar->labels.empty());
  EXPECT_EQ(page->samples[4].exemplar->t_ms, std::optional<int64_t>(1520879608000));

  ASSERT_EQ(page->metadata.size(), 4u);
  EXPECT_EQ(page->metadata[0].metric_family, "http_requests");
  EXPECT_EQ(page->metadata[0].type, MetricType::kCounter);
  EXPECT_EQ(page->metadata[0].help, "Requests served.");
  EXPECT_EQ(page->metadata[1].unit, "seconds");
  EXPECT_EQ(page->metadata[1].type, MetricType::kHistogram);
  EXPECT_EQ(page->metadata[3].type, MetricType::kInfo);
}

TEST(TextParserTest, SkipCreatedSeriesOption) {
  ParseOptions opts;
  opts.skip_created_series = true;
  auto page = ParseExposition(kOpenMetricsPage, ExpositionFormat::kOpenMetrics, opts);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->samples.size(), 9u);
  for (const ParsedSample& s : page->samples) {
    EXPECT_FALSE(s.labels.MetricName().ends_with("_created")) << s.labels.ToString();
  }
}

TEST(TextParserTest, ValueSyntax) {
  EXPECT_EQ(ParsePromFloat("1.5e3"), std::optional<double>(1500));
  EXPECT_EQ(ParsePromFloat("+2"), std::optional<double>(2));
  EXPECT_EQ(ParsePromFloat("-0.25"), std::optional<double>(-0.25));
  EXPECT_EQ(ParsePromFloat(".5"), std::optional<double>(0.5));
  EXPECT_EQ(ParsePromFloat("0x1p-2"), std::optional<double>(0.25));
  EXPECT_EQ(ParsePromFloat("+Inf"), std::optional<double>(INFINITY));
  EXPECT_EQ(ParsePromFloat("-inf"), std::optional<double>(-INFINITY));
  EXPECT_EQ(ParsePromFloat("Infinity"), std::optional<double>(INFINITY));
  EXPECT_EQ(ParsePromFloat("1e999"), std::optional<double>(INFINITY));
  ASSERT_TRUE(ParsePromFloat("NaN").has_value());
  EXPECT_TRUE(std::isnan(*ParsePromFloat("nan")));
  for (std::string_view bad : {"", "+", "abc", "1.2.3", "1e", "--1", "0x10", "nan(1)", "-NaN", "1_000", " 1"}) {
    EXPECT_FALSE(ParsePromFloat(bad).has_value()) << bad;
  }
}

TEST(TextParserTest, ContentTypes) {
  EXPECT_EQ(FormatFromContentType("text/plain; version=0.0.4; charset=utf-8"),
            ExpositionFormat::kPrometheusText);
  EXPECT_EQ(FormatFromContentType("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            ExpositionFormat::kOpenMetrics);
  EXPECT_EQ(FormatFromContentType("Application/OpenMetrics-Text"), ExpositionFormat::kOpenMetrics);
  EXPECT_FALSE(FormatFromContentType("").has_value());
  EXPECT_FALSE(FormatFromContentType("application/json").has_value());
}

struct BadCase {
  ExpositionFormat format;
  std::string_view page;
  int line;
  std::string_view fragment;
};

TEST(TextParserTest, MalformedInputsAreClearErrors) {
  const auto P = ExpositionFormat::kPrometheusText;
  const auto O = ExpositionFormat::kOpenMetrics;
  const BadCase cases[] = {
      {P, "m\n", 1, "missing value"},
      {P, "ok 1\nm{a=\"1\"}\n", 2, "missing value"},
      {P, "m abc\n", 1, "invalid value"},
      {P, "m 1 2.5\n", 1, "invalid timestamp"},
      {P, "m 1 2 3\n", 1, "unexpected"},
      {P, "m{a=\"1\" 1\n", 1, "expected ',' or '}'"},
      {P, "m{a=\"1} 1\n", 1, "unterminated"},
      {P, "m{a=1} 1\n", 1, "expected quoted value"},
      {P, "m{a} 1\n", 1, "expected '='"},
      {P, "m{1a=\"x\"} 1\n", 1, "invalid label name"},
      {P, "m{a=\"1\",a=\"2\"} 1\n", 1, "duplicate label name"},
      {P, "m{__name__=\"x\"} 1\n", 1, "__name__"},
      {P, "{a=\"1\"} 1\n", 1, "missing metric name"},
      {P, "1m 1\n", 1, "invalid metric name"},
      {P, "m 1 # {a=\"b\"} 1\n", 1, "exemplars"},
      {P, "# TYPE m bogus\n", 1, "invalid metric type"},
      {P, "# TYPE m info\n", 1, "invalid metric type"},
      {P, "# HELP\n", 1, "missing metric name"},
      {P, "m{a=\"\xff\"} 1\n", 1, "invalid UTF-8"},
      {P, "m{\"x\", \"y\"} 1\n", 1, "without a value"},
      {O, "m 1\n", 1, "# EOF"},
      {O, "m 1\n# EOF\nm 2\n", 3, "after # EOF"},
      {O, "m 1\n\n# EOF\n", 2, "empty line"},
      {O, "# random comment\n# EOF\n", 1, "invalid metadata"},
      {O, "m 1 # {a=\"b\"}\n# EOF\n", 1, "invalid exemplar value"},
      {O, "m 1 # a 1\n# EOF\n", 1, "exemplar label set"},
      {O, "m 1 1.5 # {a=\"b\"} 1 x\n# EOF\n", 1, "invalid exemplar timestamp"},
      {O, "m 1 NaN\n# EOF\n", 1, "invalid timestamp"},
      {O, "# UNIT m_bytes seconds\n# EOF\n", 1, "not a suffix"},
      {O, "# TYPE m untyped\n# EOF\n", 1, "invalid metric type"},
  };
  for (const BadCase& c : cases) {
    auto r = ParseExposition(c.page, c.format);
    ASSERT_FALSE(r.ok()) << c.page;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.page;
    std::string want = "line " + std::to_string(c.line) + ":";
    EXPECT_TRUE(r.status().message().starts_with(want)) << c.page << " -> " << r.status().message();
    EXPECT_NE(r.status().message().find(c.fragment), std::string::npos)
        << c.page << " -> " << r.status().message();
  }
}

TEST(TextParserTest, LenientWhereThePrometheusFormatIs) {
  auto r = ParseExposition("\n  m{a=\"1\",} 1\r\nm2\t{ b = \"2\" }\t2\t-5\n# not metadata\n",
                           ExpositionFormat::kPrometheusText);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->samples.size(), 2u);
  EXPECT_EQ(r->samples[0].labels.Get("a"), "1");
  EXPECT_EQ(r->samples[1].labels.Get("b"), "2");
  EXPECT_EQ(r->samples[1].t_ms, std::optional<int64_t>(-5));
  EXPECT_TRUE(ParseExposition("", ExpositionFormat::kPrometheusText).ok());
  EXPECT_TRUE(ParseExposition("# EOF\n", ExpositionFormat::kOpenMetrics).ok());
}

// Mutated pages: every outcome is a value or an InvalidArgument, never a crash (run under
// ASan/UBSan in CI).
TEST(TextParserTest, MutatedPagesNeverCrash) {
  std::mt19937 rng(42);
  const std::string base_text(kNodeExporterPage);
  const std::string base_om(kOpenMetricsPage);
  const std::string_view alphabet = "{}\"\\=,# \n\t.eE+-0123456789abcxyzNI_\xff\xc3";
  int errors = 0;
  for (int i = 0; i < 3000; ++i) {
    bool om = i % 2 == 1;
    std::string page = om ? base_om : base_text;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % page.size();
      switch (rng() % 3) {
        case 0: page[pos] = alphabet[rng() % alphabet.size()]; break;
        case 1: page.erase(pos, 1 + rng() % 8); break;
        case 2: page.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
      }
      if (page.empty()) page = "x";
    }
    auto r = ParseExposition(page, om ? ExpositionFormat::kOpenMetrics
                                      : ExpositionFormat::kPrometheusText);
    if (!r.ok()) {
      ++errors;
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_TRUE(r.status().message().starts_with("line ")) << r.status().message();
    }
  }
  EXPECT_GT(errors, 500);  // the mutations did hit the error paths
}

}  // namespace
}  // namespace argus::ingest
