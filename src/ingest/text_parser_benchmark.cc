// Parsing speed of a node_exporter-sized page (~1000 lines). Target: well under 1 ms per page.
#include <benchmark/benchmark.h>

#include <string>

#include "ingest/text_parser.h"

namespace argus::ingest {
namespace {

// A page shaped like node_exporter's on a 32-CPU host: HELP/TYPE per family, counters with
// cpu/mode labels, filesystem gauges with long label values, a histogram.
std::string NodeExporterLikePage() {
  std::string page;
  page += "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n";
  page += "# TYPE node_cpu_seconds_total counter\n";
  const char* modes[] = {"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"};
  for (int cpu = 0; cpu < 32; ++cpu) {
    for (const char* mode : modes) {
      page += "node_cpu_seconds_total{cpu=\"" + std::to_string(cpu) + "\",mode=\"" + mode +
              "\"} " + std::to_string(123456.78 + cpu * 17.5) + "\n";
    }
  }
  const char* fs_metrics[] = {"avail_bytes", "files", "files_free", "free_bytes", "size_bytes",
                              "readonly", "device_error"};
  for (const char* m : fs_metrics) {
    page += std::string("# HELP node_filesystem_") + m + " Filesystem " + m + ".\n";
    page += std::string("# TYPE node_filesystem_") + m + " gauge\n";
    for (int i = 0; i < 40; ++i) {
      page += std::string("node_filesystem_") + m + "{device=\"/dev/mapper/vg0-lv" +
              std::to_string(i) + "\",fstype=\"ext4\",mountpoint=\"/srv/data/volume" +
              std::to_string(i) + "\"} 1.9838808448e+11\n";
    }
  }
  page += "# HELP node_network_receive_bytes_total Network device statistic receive_bytes.\n";
  page += "# TYPE node_network_receive_bytes_total counter\n";
  for (int i = 0; i < 100; ++i) {
    page += "node_network_receive_bytes_total{device=\"veth" + std::to_string(i * 7919) +
            "\"} 8.765432e+09\n";
  }
  page += "# HELP http_request_duration_seconds Latency.\n";
  page += "# TYPE http_request_duration_seconds histogram\n";
  const char* les[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
                       "10", "+Inf"};
  for (int h = 0; h < 4; ++h) {
    for (const char* le : les) {
      page += "http_request_duration_seconds_bucket{handler=\"/api/v" + std::to_string(h) +
              "\",le=\"" + le + "\"} 4172\n";
    }
    page += "http_request_duration_seconds_sum{handler=\"/api/v" + std::to_string(h) + "\"} 93.41\n";
    page += "http_request_duration_seconds_count{handler=\"/api/v" + std::to_string(h) + "\"} 4175\n";
  }
  return page;
}

// What the scrape loop does on a warm cache: step through entries, read series text and value.
void BM_PullSeriesAndValues(benchmark::State& state) {
  const std::string page = NodeExporterLikePage();
  for (auto _ : state) {
    TextParser p(page, ExpositionFormat::kPrometheusText);
    double sum = 0;
    while (true) {
      Result<bool> more = p.Next();
      if (!more.ok() || !*more) break;
      if (p.entry() == TextParser::Entry::kSample) sum += p.value() + p.series().size();
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * page.size()));
}
BENCHMARK(BM_PullSeriesAndValues)->Unit(benchmark::kMicrosecond);

// A cold cache: every sample's Labels built.
void BM_ParseExposition(benchmark::State& state) {
  const std::string page = NodeExporterLikePage();
  for (auto _ : state) {
    Result<ParsedPage> r = ParseExposition(page, ExpositionFormat::kPrometheusText);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * page.size()));
}
BENCHMARK(BM_ParseExposition)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace argus::ingest
