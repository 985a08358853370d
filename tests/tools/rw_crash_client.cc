// rw_crash_client: the writer of tests/integration/crash_kill9.sh. Sends remote_write requests
// of numbered samples without pause (up to --rate requests per second) and records which ones
// the server acknowledged, so that the test can check that every acknowledged sample survives
// kill -9 and restart.
//
// Request k carries, for each of --series series crash_test{writer="<s>"}, the samples
// i = k*B .. k*B+B-1 (B = --samples-per-series) at t = base_ms + i*step_ms with value i.
// After a 2xx the highest i of the request is appended to --acked as one line and flushed.
// No answer (connection refused or reset, timeout), 5xx and 429 are retried with the same
// bytes every 50 ms; any other answer is a rejection: it is printed and counted and the client
// moves on. Runs until SIGTERM/SIGINT (or --requests are acknowledged), then prints one line:
//   requests_acked=N retries=N rejected=N last_acked_i=N
// and exits 0 if nothing was rejected, 1 otherwise.
//
// Usage: rw_crash_client --url http://127.0.0.1:9090/api/v1/write --acked FILE --base-ms MS
//                        [--series 4] [--samples-per-series 25] [--step-ms 100] [--rate 50]
//                        [--requests 0 (no limit)]
#include <curl/curl.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

#include "prometheus/remote.pb.h"
#include "remote_write_client.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;

void OnSignal(int) { g_stop = 1; }

struct Flags {
  std::string url;
  std::string acked_path;
  long long base_ms = -1;
  int series = 4;
  int samples_per_series = 25;
  long long step_ms = 100;
  double rate = 50;
  long long requests = 0;
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "rw_crash_client: %s\nusage: rw_crash_client --url URL --acked FILE --base-ms MS "
               "[--series N] [--samples-per-series N] [--step-ms MS] [--rate REQ_PER_S] "
               "[--requests N]\n",
               why);
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; i += 2) {
    std::string_view name = argv[i];
    if (i + 1 >= argc) Usage("every flag takes a value");
    const char* value = argv[i + 1];
    if (name == "--url") {
      f.url = value;
    } else if (name == "--acked") {
      f.acked_path = value;
    } else if (name == "--base-ms") {
      f.base_ms = std::atoll(value);
    } else if (name == "--series") {
      f.series = std::atoi(value);
    } else if (name == "--samples-per-series") {
      f.samples_per_series = std::atoi(value);
    } else if (name == "--step-ms") {
      f.step_ms = std::atoll(value);
    } else if (name == "--rate") {
      f.rate = std::atof(value);
    } else if (name == "--requests") {
      f.requests = std::atoll(value);
    } else {
      Usage("unknown flag");
    }
  }
  if (f.url.empty() || f.acked_path.empty() || f.base_ms < 0) {
    Usage("--url, --acked and --base-ms are required");
  }
  if (f.series < 1 || f.samples_per_series < 1 || f.step_ms < 1 || f.rate <= 0) {
    Usage("--series, --samples-per-series, --step-ms and --rate must be positive");
  }
  return f;
}

std::string BuildRequest(const Flags& f, long long first_i) {
  prometheus::WriteRequest req;
  for (int s = 0; s < f.series; ++s) {
    prometheus::TimeSeries* ts = req.add_timeseries();
    auto add_label = [ts](const char* name, std::string value) {
      prometheus::Label* l = ts->add_labels();
      l->set_name(name);
      l->set_value(std::move(value));
    };
    add_label("__name__", "crash_test");
    add_label("test", "crash_kill9");
    add_label("writer", std::to_string(s));
    for (int j = 0; j < f.samples_per_series; ++j) {
      long long i = first_i + j;
      prometheus::Sample* sample = ts->add_samples();
      sample->set_timestamp(f.base_ms + i * f.step_ms);
      sample->set_value(static_cast<double>(i));
    }
  }
  return req.SerializeAsString();
}

}  // namespace

int main(int argc, char** argv) {
  Flags f = ParseFlags(argc, argv);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  std::FILE* acked = std::fopen(f.acked_path.c_str(), "a");
  if (acked == nullptr) {
    std::fprintf(stderr, "rw_crash_client: cannot open %s: %s\n", f.acked_path.c_str(),
                 std::strerror(errno));
    return 2;
  }

  argus::itest::RemoteWriteClient client(f.url, 5000);
  long long requests_acked = 0, retries = 0, rejected = 0, last_acked_i = -1;
  const auto period = std::chrono::duration<double>(1.0 / f.rate);
  auto next_send = std::chrono::steady_clock::now();
  long long next_i = 0;
  while (!g_stop && (f.requests == 0 || requests_acked < f.requests)) {
    std::this_thread::sleep_until(next_send);
    next_send += std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
    const std::string body = BuildRequest(f, next_i);
    const long long last_i = next_i + f.samples_per_series - 1;
    argus::itest::HttpResult r = client.Send(body);
    while (r.Retryable() && !g_stop) {
      ++retries;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      r = client.Send(body);
    }
    if (r.Ok()) {
      std::fprintf(acked, "%lld\n", last_i);
      std::fflush(acked);
      ++requests_acked;
      last_acked_i = last_i;
    } else if (!r.Retryable()) {
      ++rejected;
      std::fprintf(stderr, "rw_crash_client: request for i=%lld..%lld rejected: HTTP %ld: %.300s\n",
                   next_i, last_i, r.status, r.body.c_str());
    } else {
      break;  // stopped while retrying: this request was never acknowledged
    }
    next_i = last_i + 1;
    // After a long outage do not burst to catch up.
    if (std::chrono::steady_clock::now() > next_send + std::chrono::seconds(1)) {
      next_send = std::chrono::steady_clock::now();
    }
  }
  std::fclose(acked);
  std::printf("requests_acked=%lld retries=%lld rejected=%lld last_acked_i=%lld\n", requests_acked,
              retries, rejected, last_acked_i);
  curl_global_cleanup();
  return rejected == 0 ? 0 : 1;
}
