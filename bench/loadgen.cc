// argus_loadgen: replays a realistic remote_write load (Prometheus remote-write 1.0) into one
// or more receivers and reports the ingest rate. Used by bench/run-metrics; see bench/README.md.
//
// The load: --series series from "targets" that each look like one Kubernetes node scraped
// by Prometheus: node_exporter metrics (job="node": CPU seconds per cpu and mode, memory,
// load, network, disk, filesystem) and the pods on it (job="kubernetes-pods": container CPU and
// memory, http_requests_total by method/code/handler, an http_request_duration_seconds
// histogram), 228 series per target with 6 to 10 labels each (cluster, job, instance, node,
// namespace, pod, ...). Counters grow at per-series rates with jitter (CPU seconds to 0.01 s,
// bytes and requests in whole numbers; histogram buckets stay cumulative), gauges random-walk,
// some are constant. Every series gets one sample per --interval-s (15 s) over the --hours
// (2 h) before --end-ms (now); each target has its own fixed offset in the interval, like
// Prometheus' scrape offsets.
//
// Sending: like Prometheus' queue manager, the series are split into --concurrency shards, each
// with its own connection per URL, sending oldest-first requests of --batch (2000) samples, one
// sample per series per request. A shard may run at most 8 intervals ahead of the slowest one.
// 5xx, 429 and connection errors are retried with backoff (giving up after 60 s); other 4xx
// answers count as rejected. With several URLs every request goes to each URL in turn.
//
// Output: progress on stderr every 5 s, then one line on stdout:
//   loadgen: series=N targets=N samples=N requests=N seconds=S samples_per_s=R retries=N rejected=N
// Exit status 0, or 1 if anything was rejected or a receiver stayed unreachable.
//
// Usage: argus_loadgen --url http://127.0.0.1:9090/api/v1/write [--url ...] [--series 100000]
//          [--hours 2] [--interval-s 15] [--batch 2000] [--concurrency 4] [--end-ms <now>]
//          [--seed 1] [--dry-run]  (--dry-run: generate and encode only, to measure the client)
#include <curl/curl.h>
#include <snappy.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "prometheus/remote.pb.h"
#include "remote_write_client.h"

namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Flags {
  std::vector<std::string> urls;
  int64_t series = 100000;
  double hours = 2;
  int64_t interval_s = 15;
  int batch = 2000;
  int concurrency = 4;
  int64_t end_ms = 0;
  uint64_t seed = 1;
  bool dry_run = false;
};

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr,
               "argus_loadgen: %s\nusage: argus_loadgen --url URL [--url URL...] [--series N] "
               "[--hours H] [--interval-s S] [--batch N] [--concurrency N] [--end-ms MS] "
               "[--seed N] [--dry-run]\n",
               why.c_str());
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string_view name = argv[i];
    if (name == "--dry-run") {
      f.dry_run = true;
      continue;
    }
    if (i + 1 >= argc) Usage("missing value for " + std::string(name));
    const char* v = argv[++i];
    if (name == "--url") {
      f.urls.emplace_back(v);
    } else if (name == "--series") {
      f.series = std::atoll(v);
    } else if (name == "--hours") {
      f.hours = std::atof(v);
    } else if (name == "--interval-s") {
      f.interval_s = std::atoll(v);
    } else if (name == "--batch") {
      f.batch = std::atoi(v);
    } else if (name == "--concurrency") {
      f.concurrency = std::atoi(v);
    } else if (name == "--end-ms") {
      f.end_ms = std::atoll(v);
    } else if (name == "--seed") {
      f.seed = std::strtoull(v, nullptr, 10);
    } else {
      Usage("unknown flag " + std::string(name));
    }
  }
  if (f.urls.empty() && !f.dry_run) Usage("--url is required");
  if (f.series < 1 || f.hours <= 0 || f.interval_s < 1 || f.batch < 1 || f.concurrency < 1) {
    Usage("--series, --hours, --interval-s, --batch and --concurrency must be positive");
  }
  if (f.end_ms == 0) {
    f.end_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count() /
               1000 * 1000;
  }
  return f;
}

// ---- protobuf encoding (Protocol Buffers docs, "Encoding") of prometheus.WriteRequest ----

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void PutLengthDelimited(std::string* out, int field, std::string_view payload) {
  PutVarint(out, static_cast<uint64_t>(field) << 3 | 2);
  PutVarint(out, payload.size());
  out->append(payload);
}

// The `labels` fields (1) of a TimeSeries, encoded once per series.
std::string EncodeLabels(Labels labels) {
  std::sort(labels.begin(), labels.end());
  std::string out, label;
  for (const auto& [name, value] : labels) {
    label.clear();
    PutLengthDelimited(&label, 1, name);
    PutLengthDelimited(&label, 2, value);
    PutLengthDelimited(&out, 1, label);
  }
  return out;
}

// Appends TimeSeries{labels, samples: [{value, timestamp}]} as field 1 of a WriteRequest.
void AppendTimeSeries(std::string* out, std::string_view labels_bytes, double value, int64_t t_ms) {
  const uint64_t t = static_cast<uint64_t>(t_ms);
  const size_t sample_size = 1 + 8 + 1 + VarintSize(t);  // value (fixed64), timestamp (varint)
  const size_t series_size = labels_bytes.size() + 1 + VarintSize(sample_size) + sample_size;
  PutVarint(out, 1 << 3 | 2);
  PutVarint(out, series_size);
  out->append(labels_bytes);
  PutVarint(out, 2 << 3 | 2);
  PutVarint(out, sample_size);
  out->push_back(static_cast<char>(1 << 3 | 1));
  char bits[8];
  std::memcpy(bits, &value, 8);  // little-endian host, as fixed64 requires
  out->append(bits, 8);
  out->push_back(static_cast<char>(2 << 3 | 0));
  PutVarint(out, t);
}

// ---- the series model ----

enum class Model {
  kConst,         // never changes
  kCounterCents,  // seconds counter, increments rounded to 0.01
  kCounterInt,    // whole-number counter (bytes, packets, requests)
  kGaugeBytes,    // random walk in multiples of 4096 within [0.2, 1] x base
  kGaugeCents,    // random walk rounded to 0.01, >= 0
  kHistogram,     // a group: buckets (cumulative), then _sum, then _count
};

// One or more series whose values evolve together.
struct Group {
  Model model;
  std::vector<std::string> labels_bytes;  // one per series
  std::vector<double> values;             // current value per series
  std::vector<double> bounds;             // histogram bucket bounds (without +Inf)
  double rate = 0;                        // counters: mean increase per second; gauges: step
  double base = 0;                        // gauges: the level they walk around
  int64_t offset_ms = 0;                  // the target's scrape offset in the interval
};

class TargetBuilder {
 public:
  TargetBuilder(int target, uint64_t seed, int64_t interval_ms)
      : target_(target), rng_(seed * 7919 + target) {
    instance_ = "10." + std::to_string(target / 65536 % 256) + "." +
                std::to_string(target / 256 % 256) + "." + std::to_string(target % 256);
    node_ = "node-" + std::to_string(target);
    offset_ms_ = std::uniform_int_distribution<int64_t>(0, interval_ms - 1)(rng_);
  }

  std::vector<Group> Build() {
    std::vector<Group> groups;
    const Labels node = {{"cluster", "bench"}, {"job", "node"}, {"instance", instance_ + ":9100"},
                         {"node", node_}};
    static const char* kModes[] = {"idle", "user", "system", "iowait", "irq", "softirq", "steal",
                                   "nice"};
    static const double kModeShare[] = {0.85, 0.08, 0.04, 0.01, 0.002, 0.01, 0.0, 0.008};
    for (int cpu = 0; cpu < 4; ++cpu) {
      for (int m = 0; m < 8; ++m) {
        Add(&groups, Model::kCounterCents, With(node, {{"__name__", "node_cpu_seconds_total"},
                                                       {"cpu", std::to_string(cpu)},
                                                       {"mode", kModes[m]}}),
            kModeShare[m] * Jitter(0.5, 1.5), 1e5 * Jitter(0.5, 1.5));
      }
    }
    const double mem_total = 64.0 * (1 << 30);
    static const char* kMem[] = {"MemFree", "MemAvailable", "Buffers", "Cached", "SwapFree",
                                 "Active", "Inactive", "Dirty"};
    Add(&groups, Model::kConst, With(node, {{"__name__", "node_memory_MemTotal_bytes"}}), 0,
        mem_total);
    Add(&groups, Model::kConst, With(node, {{"__name__", "node_memory_SwapTotal_bytes"}}), 0,
        8.0 * (1 << 30));
    for (const char* m : kMem) {
      Add(&groups, Model::kGaugeBytes,
          With(node, {{"__name__", std::string("node_memory_") + m + "_bytes"}}),
          mem_total * 0.002, mem_total * Jitter(0.05, 0.5));
    }
    for (const char* l : {"node_load1", "node_load5", "node_load15"}) {
      Add(&groups, Model::kGaugeCents, With(node, {{"__name__", l}}), 0.2, Jitter(0.5, 3));
    }
    for (const char* dev : {"eth0", "eth1"}) {
      for (const char* dir : {"receive", "transmit"}) {
        for (const char* what : {"bytes", "packets", "errs", "drop"}) {
          const double rate = what == std::string("bytes")     ? 2e5
                              : what == std::string("packets") ? 300
                                                               : 0.01;
          Add(&groups, Model::kCounterInt,
              With(node, {{"__name__", std::string("node_network_") + dir + "_" + what + "_total"},
                          {"device", dev}}),
              rate * Jitter(0.3, 2), rate * 1e5 * Jitter(0.5, 1.5));
        }
      }
    }
    for (const char* dev : {"sda", "sdb"}) {
      Add(&groups, Model::kCounterInt,
          With(node, {{"__name__", "node_disk_read_bytes_total"}, {"device", dev}}),
          5e4 * Jitter(0.2, 2), 1e10);
      Add(&groups, Model::kCounterInt,
          With(node, {{"__name__", "node_disk_written_bytes_total"}, {"device", dev}}),
          2e5 * Jitter(0.2, 2), 4e10);
      Add(&groups, Model::kCounterCents,
          With(node, {{"__name__", "node_disk_io_time_seconds_total"}, {"device", dev}}),
          0.05 * Jitter(0.2, 2), 1e4);
    }
    for (const auto& [dev, mnt] : {std::pair{"/dev/sda1", "/"}, std::pair{"/dev/sdb1", "/var"}}) {
      const Labels fs = With(node, {{"device", dev}, {"mountpoint", mnt}, {"fstype", "ext4"}});
      const double size = 500.0 * (1 << 30);
      Add(&groups, Model::kConst, With(fs, {{"__name__", "node_filesystem_size_bytes"}}), 0, size);
      Add(&groups, Model::kGaugeBytes, With(fs, {{"__name__", "node_filesystem_avail_bytes"}}),
          size * 1e-5, size * Jitter(0.2, 0.8));
      Add(&groups, Model::kGaugeBytes, With(fs, {{"__name__", "node_filesystem_free_bytes"}}),
          size * 1e-5, size * Jitter(0.2, 0.8));
    }
    Add(&groups, Model::kConst, With(node, {{"__name__", "up"}}), 0, 1);
    Add(&groups, Model::kGaugeCents, With(node, {{"__name__", "scrape_duration_seconds"}}), 0.01,
        0.05);
    Add(&groups, Model::kConst, With(node, {{"__name__", "scrape_samples_scraped"}}), 0, 1400);

    // The pods on this node.
    static const char* kNamespaces[] = {"default", "shop", "payments", "monitoring", "ingress"};
    static const double kBounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
    for (int p = 0; p < 4; ++p) {
      const std::string ns = kNamespaces[(target_ + p) % 5];
      const std::string pod = ns + "-app-" + std::to_string(target_ * 4 + p);
      const Labels pod_labels = {{"cluster", "bench"}, {"job", "kubernetes-pods"},
                                 {"instance", instance_ + ":" + std::to_string(8080 + p)},
                                 {"node", node_}, {"namespace", ns}, {"pod", pod}};
      for (const char* c : {"app", "sidecar"}) {
        Add(&groups, Model::kCounterCents,
            With(pod_labels, {{"__name__", "container_cpu_usage_seconds_total"}, {"container", c}}),
            0.2 * Jitter(0.1, 2), 1e4 * Jitter(0.5, 1.5));
        Add(&groups, Model::kGaugeBytes,
            With(pod_labels, {{"__name__", "container_memory_working_set_bytes"}, {"container", c}}),
            1e6, 5e8 * Jitter(0.2, 2));
      }
      for (const char* handler : {"/api/orders", "/api/items"}) {
        for (const char* method : {"GET", "POST"}) {
          for (const char* code : {"200", "500"}) {
            const double rate = (code == std::string("200") ? 20 : 0.05) * Jitter(0.2, 2);
            Add(&groups, Model::kCounterInt,
                With(pod_labels, {{"__name__", "http_requests_total"}, {"handler", handler},
                                  {"method", method}, {"code", code}}),
                rate, rate * 1e5);
          }
        }
        Group h;
        h.model = Model::kHistogram;
        h.offset_ms = offset_ms_;
        h.rate = 20 * Jitter(0.2, 2);
        h.base = Jitter(0.02, 0.3);  // typical latency, seconds
        h.bounds.assign(std::begin(kBounds), std::end(kBounds));
        const Labels hl = With(pod_labels, {{"handler", handler}});
        for (double b : kBounds) {
          char le[32];
          std::snprintf(le, sizeof le, "%g", b);
          h.labels_bytes.push_back(EncodeLabels(
              With(hl, {{"__name__", "http_request_duration_seconds_bucket"}, {"le", le}})));
        }
        h.labels_bytes.push_back(EncodeLabels(
            With(hl, {{"__name__", "http_request_duration_seconds_bucket"}, {"le", "+Inf"}})));
        h.labels_bytes.push_back(
            EncodeLabels(With(hl, {{"__name__", "http_request_duration_seconds_sum"}})));
        h.labels_bytes.push_back(
            EncodeLabels(With(hl, {{"__name__", "http_request_duration_seconds_count"}})));
        h.values.assign(h.labels_bytes.size(), 0);
        groups.push_back(std::move(h));
      }
    }
    return groups;
  }

 private:
  double Jitter(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }

  static Labels With(Labels base, Labels extra) {
    base.insert(base.end(), extra.begin(), extra.end());
    return base;
  }

  void Add(std::vector<Group>* groups, Model model, const Labels& labels, double rate, double base) {
    Group g;
    g.model = model;
    g.labels_bytes.push_back(EncodeLabels(labels));
    g.rate = rate;
    g.base = base;
    double v = base;
    if (model == Model::kCounterCents) v = std::round(base * 100) / 100;
    if (model == Model::kCounterInt || model == Model::kGaugeBytes) v = std::round(base);
    if (model == Model::kGaugeBytes) v = std::round(base / 4096) * 4096;
    g.values.push_back(v);
    g.offset_ms = offset_ms_;
    groups->push_back(std::move(g));
  }

  int target_;
  std::mt19937_64 rng_;
  std::string instance_, node_;
  int64_t offset_ms_ = 0;
};

// Advances a group by one interval.
void Step(Group* g, double interval_s, std::mt19937_64* rng) {
  std::uniform_real_distribution<double> u(0, 1);
  switch (g->model) {
    case Model::kConst:
      break;
    case Model::kCounterCents:
      g->values[0] += std::round(g->rate * interval_s * (0.7 + 0.6 * u(*rng)) * 100) / 100;
      g->values[0] = std::round(g->values[0] * 100) / 100;
      break;
    case Model::kCounterInt: {
      const double mean = g->rate * interval_s;
      // Rare events (errors) arrive as whole occurrences with probability mean.
      g->values[0] += mean < 1 ? (u(*rng) < mean ? 1 : 0) : std::round(mean * (0.7 + 0.6 * u(*rng)));
      break;
    }
    case Model::kGaugeBytes: {
      double v = g->values[0] + (u(*rng) - 0.5) * 2 * g->rate;
      v = std::clamp(v, 0.2 * g->base, g->base);
      g->values[0] = std::round(v / 4096) * 4096;
      break;
    }
    case Model::kGaugeCents: {
      double v = g->values[0] + (u(*rng) - 0.5) * 2 * g->rate * g->base;
      g->values[0] = std::round(std::max(v, 0.0) * 100) / 100;
      break;
    }
    case Model::kHistogram: {
      // n new observations, exponentially distributed around `base` seconds, dealt into the
      // buckets with conditional binomials (a multinomial draw) instead of one by one.
      const int n = static_cast<int>(std::round(g->rate * interval_s * (0.7 + 0.6 * u(*rng))));
      const size_t buckets = g->bounds.size();
      int remaining = n, cumulative = 0;
      double below = 0;  // P(x <= previous bound)
      for (size_t b = 0; b < buckets; ++b) {
        const double cdf = 1 - std::exp(-g->bounds[b] / g->base);
        const double p = std::clamp((cdf - below) / (1 - below), 0.0, 1.0);
        const int k = remaining > 0 ? std::binomial_distribution<int>(remaining, p)(*rng) : 0;
        remaining -= k;
        cumulative += k;
        below = cdf;
        g->values[b] += cumulative;
      }
      g->values[buckets] += n;  // le="+Inf"
      if (n > 0) {
        const double sum = std::gamma_distribution<double>(n, g->base)(*rng);
        g->values[buckets + 1] = std::round((g->values[buckets + 1] + sum) * 1e6) / 1e6;
      }
      g->values[buckets + 2] += n;  // _count
      break;
    }
  }
}

// ---- sending ----

struct Totals {
  std::atomic<int64_t> samples{0}, requests{0}, retries{0}, rejected{0}, bytes{0};
  std::atomic<bool> failed{false};
};

// Lets no shard run more than kMaxLead intervals ahead of the slowest one, so that a receiver
// with Prometheus' head rules (samples older than newest - 1h are out of bounds) accepts all.
class RoundGate {
 public:
  static constexpr int64_t kMaxLead = 8;
  explicit RoundGate(int shards) : rounds_(shards, 0) {}

  void Enter(int shard, int64_t round) {
    std::unique_lock<std::mutex> lock(mu_);
    rounds_[shard] = round;
    cv_.notify_all();
    cv_.wait(lock, [&] { return *std::min_element(rounds_.begin(), rounds_.end()) >= round - kMaxLead; });
  }
  void Done(int shard) {
    std::lock_guard<std::mutex> lock(mu_);
    rounds_[shard] = INT64_MAX;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int64_t> rounds_;  // GUARDED_BY(mu_)
};

bool SendWithRetry(argus::itest::RemoteWriteClient* client, const std::string& body,
                   const std::string& url, Totals* totals) {
  auto delay = std::chrono::milliseconds(30);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (true) {
    argus::itest::HttpResult r = client->Send(body);
    if (r.Ok()) {
      totals->bytes += static_cast<int64_t>(client->last_compressed_bytes());
      return true;
    }
    if (!r.Retryable()) {
      if (totals->rejected++ < 5) {
        std::fprintf(stderr, "argus_loadgen: %s rejected a request: HTTP %ld: %.300s\n",
                     url.c_str(), r.status, r.body.c_str());
      }
      return true;
    }
    if (std::chrono::steady_clock::now() > give_up) {
      std::fprintf(stderr, "argus_loadgen: %s unreachable for 60 s: %s (HTTP %ld)\n", url.c_str(),
                   r.error.c_str(), r.status);
      totals->failed = true;
      return false;
    }
    ++totals->retries;
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(1000));
  }
}

void RunShard(int shard, std::vector<Group> groups, const Flags& f, int64_t rounds,
              int64_t start_ms, RoundGate* gate, Totals* totals) {
  std::vector<std::unique_ptr<argus::itest::RemoteWriteClient>> clients;
  for (const std::string& url : f.urls) {
    if (f.dry_run) break;
    clients.push_back(std::make_unique<argus::itest::RemoteWriteClient>(url, 60000));
  }
  std::mt19937_64 rng(f.seed * 104729 + shard);
  const int64_t interval_ms = f.interval_s * 1000;
  std::string body;
  int in_batch = 0;
  auto flush = [&]() {
    if (in_batch == 0) return true;
    if (f.dry_run) {
      std::string compressed;  // what Send would compress, to account for the whole client
      snappy::Compress(body.data(), body.size(), &compressed);
      totals->bytes += static_cast<int64_t>(compressed.size());
    }
    for (size_t u = 0; u < clients.size(); ++u) {
      if (!SendWithRetry(clients[u].get(), body, f.urls[u], totals)) return false;
    }
    totals->samples += in_batch;
    ++totals->requests;
    body.clear();
    in_batch = 0;
    return true;
  };
  for (int64_t r = 0; r < rounds && !totals->failed; ++r) {
    gate->Enter(shard, r);
    for (Group& g : groups) {
      if (r > 0) Step(&g, static_cast<double>(f.interval_s), &rng);
      const int64_t t_ms = start_ms + r * interval_ms + g.offset_ms;
      for (size_t i = 0; i < g.labels_bytes.size(); ++i) {
        AppendTimeSeries(&body, g.labels_bytes[i], g.values[i], t_ms);
        if (++in_batch == f.batch && !flush()) break;
      }
    }
  }
  if (!totals->failed) flush();
  gate->Done(shard);
}

// Parses one encoded request with the generated protobuf classes and compares it with what was
// meant, so that the hand-written encoder cannot drift from the schema.
bool SelfCheck() {
  std::string body;
  const std::string labels = EncodeLabels({{"job", "x"}, {"__name__", "m"}});
  AppendTimeSeries(&body, labels, 1.25, 1700000000123);
  AppendTimeSeries(&body, labels, -0.5, 1700000015123);
  prometheus::WriteRequest req;
  if (!req.ParseFromString(body) || req.timeseries_size() != 2) return false;
  const prometheus::TimeSeries& ts = req.timeseries(1);
  return ts.labels_size() == 2 && ts.labels(0).name() == "__name__" && ts.labels(0).value() == "m" &&
         ts.labels(1).name() == "job" && ts.samples_size() == 1 && ts.samples(0).value() == -0.5 &&
         ts.samples(0).timestamp() == 1700000015123;
}

}  // namespace

int main(int argc, char** argv) {
  const Flags f = ParseFlags(argc, argv);
  if (!SelfCheck()) {
    std::fprintf(stderr, "argus_loadgen: internal error: encoder self-check failed\n");
    return 1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);

  // Build the targets until there are --series series, then deal the groups out to shards.
  const int64_t interval_ms = f.interval_s * 1000;
  std::vector<std::vector<Group>> shards(f.concurrency);
  int64_t series = 0;
  int targets = 0;
  size_t next_shard = 0;
  while (series < f.series) {
    for (Group& g : TargetBuilder(targets, f.seed, interval_ms).Build()) {
      if (series >= f.series) break;
      const int64_t room = f.series - series;
      if (static_cast<int64_t>(g.labels_bytes.size()) > room) continue;  // keep groups whole
      series += static_cast<int64_t>(g.labels_bytes.size());
      shards[next_shard++ % shards.size()].push_back(std::move(g));
    }
    ++targets;
  }
  const int64_t rounds = static_cast<int64_t>(f.hours * 3600 / f.interval_s);
  const int64_t start_ms = f.end_ms - rounds * interval_ms;
  std::fprintf(stderr,
               "argus_loadgen: %lld series on %d targets, %lld samples each every %lld s from "
               "%lld to %lld ms, %d shards, batches of %d, %zu URL(s)%s\n",
               static_cast<long long>(series), targets, static_cast<long long>(rounds),
               static_cast<long long>(f.interval_s), static_cast<long long>(start_ms),
               static_cast<long long>(f.end_ms), f.concurrency, f.batch, f.urls.size(),
               f.dry_run ? " (dry run)" : "");

  Totals totals;
  RoundGate gate(f.concurrency);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int s = 0; s < f.concurrency; ++s) {
    threads.emplace_back(RunShard, s, std::move(shards[s]), std::cref(f), rounds, start_ms, &gate,
                         &totals);
  }
  std::atomic<bool> done{false};
  std::thread progress([&] {
    int64_t last = 0;
    auto last_t = std::chrono::steady_clock::now();
    while (!done) {
      for (int i = 0; i < 50 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (done) break;
      const auto now = std::chrono::steady_clock::now();
      const int64_t s = totals.samples;
      std::fprintf(stderr, "argus_loadgen: %lld samples sent, %.0f samples/s\n",
                   static_cast<long long>(s),
                   (s - last) / std::chrono::duration<double>(now - last_t).count());
      last = s;
      last_t = now;
    }
  });
  for (std::thread& t : threads) t.join();
  done = true;
  progress.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "loadgen: series=%lld targets=%d samples=%lld requests=%lld seconds=%.3f samples_per_s=%.0f "
      "retries=%lld rejected=%lld wire_bytes=%lld\n",
      static_cast<long long>(series), targets, static_cast<long long>(totals.samples.load()),
      static_cast<long long>(totals.requests.load()), seconds, totals.samples / seconds,
      static_cast<long long>(totals.retries.load()), static_cast<long long>(totals.rejected.load()),
      static_cast<long long>(totals.bytes.load()));
  curl_global_cleanup();
  return totals.rejected == 0 && !totals.failed ? 0 : 1;
}
