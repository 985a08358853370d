// argus: the binary. `argus [flags]` runs the server; see `argus --help` and
// docs/configuration.md for the flags, each with its default.
#include <signal.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string_view>
#include <thread>

#include "ingest/scrape_config.h"
#include "promql/test_runner.h"
#include "logql/logqltest.h"
#include "server/server.h"
#include "traceql/conformance.h"

#ifndef ARGUS_VERSION
#define ARGUS_VERSION "0.0.0"
#endif
#ifndef ARGUS_REVISION
#define ARGUS_REVISION "unknown"
#endif

namespace {

int Fail(const std::string& what) {
  spdlog::critical("{}", what);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // `argus test promql FILE...` runs Prometheus test scripts against the in-process engine.
  if (argc >= 3 && std::string(argv[1]) == "test" && std::string(argv[2]) == "promql") {
    return argus::promql::PromqlTestMain(std::vector<std::string>(argv + 3, argv + argc));
  }
  // `argus test logql [--baseline FILE] SCRIPT...`: the LogQL conformance runner.
  if (argc >= 3 && std::string_view(argv[1]) == "test" && std::string_view(argv[2]) == "logql") {
    return argus::logql::RunLogqlTestMain(argc - 3, argv + 3);
  }

  // `argus test traceql FILE [--baseline FILE]`: the TraceQL parser corpus runner.
  if (argc >= 3 && std::string_view(argv[1]) == "test" && std::string_view(argv[2]) == "traceql") {
    return argus::traceql::RunTestCommand(argc - 3, argv + 3, std::cout, std::cerr);
  }
  using argus::server::ServerOptions;
  ServerOptions o;
  std::string log_level = "info", retention_time, retention_size, ooo_window, wal_sync = "batch";
  std::string lookback_delta = "5m", query_timeout = "2m";
  CLI::App app{"Argus: metrics, logs and traces in one binary, wire-compatible with Prometheus, "
               "Loki, Tempo and Grafana."};
  app.set_version_flag("--version", std::string("argus ") + ARGUS_VERSION + " (revision " +
                                        ARGUS_REVISION + ")");
  app.add_option("--config.file", o.config_file,
                 "Prometheus-style YAML config (default: the embedded config, which scrapes "
                 "Argus's own /metrics)");
  app.add_option("--storage.path", o.storage_path, "Directory for the WAL and blocks")
      ->capture_default_str();
  app.add_option("--web.listen-address", o.web_listen_address,
                 "host:port for the HTTP API, remote_write, OTLP/HTTP under /otlp, /metrics")
      ->capture_default_str();
  app.add_option("--otlp.grpc.listen-address", o.otlp_grpc_listen_address,
                 "host:port for OTLP/gRPC (empty disables)")
      ->capture_default_str();
  app.add_option("--otlp.http.listen-address", o.otlp_http_listen_address,
                 "host:port for OTLP/HTTP (empty disables)")
      ->capture_default_str();
  app.add_option("--log.level", log_level, "debug, info, warn or error")->capture_default_str();
  app.add_option("--storage.tsdb.retention.time", retention_time,
                 "How long to keep blocks (default 15d, or storage.tsdb.retention_time)");
  app.add_option("--storage.tsdb.retention.size", retention_size,
                 "Maximum bytes of blocks, e.g. 10GB (default 0 = unlimited)");
  app.add_option("--storage.tsdb.out-of-order-time-window", ooo_window,
                 "Accept samples this much older than a series' newest (default 10m)");
  app.add_option("--storage.tsdb.wal-sync", wal_sync,
                 "batch: acknowledge after write(2), fsync every 1s (survives kill -9); "
                 "always: fsync before acknowledging (survives power loss)")
      ->capture_default_str();
  app.add_option("--query.lookback-delta", lookback_delta,
                 "How far back an instant vector selector looks for a sample")
      ->capture_default_str();
  app.add_option("--query.max-samples", o.query_max_samples,
                 "Maximum samples a single query may hold in memory")
      ->capture_default_str();
  app.add_option("--query.timeout", query_timeout, "Maximum time a query may take")
      ->capture_default_str();
  app.add_option("--query.max-concurrency", o.query_max_concurrency,
                 "Maximum number of queries evaluated at once (others wait)")
      ->capture_default_str();
  std::vector<std::string> features;
  app.add_option("--enable-feature", features,
                 "Comma-separated experimental features (Prometheus' flag): use-start-timestamps")
      ->delimiter(',');
  app.add_option("--logs.tail", o.logs_tail_globs,
                 "Glob of log files to tail into the log store (repeatable; default none)");
  app.add_option("--logs.tail.labels", o.logs_tail_labels,
                 "Stream labels of tailed lines, e.g. {job=\"varlogs\"}; filename is added")
      ->capture_default_str();
  app.add_flag("--traces.span-metrics,!--no-traces.span-metrics", o.traces_span_metrics,
               "Write span metrics (traces_spanmetrics_*) from received spans into the metrics store")
      ->capture_default_str();
  app.add_flag("--traces.service-graphs,!--no-traces.service-graphs", o.traces_service_graphs,
               "Write service graph edges (traces_service_graph_*) from client/server span pairs into "
               "the metrics store")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Signals are taken by a dedicated thread with sigwait, so no work runs in a handler. They
  // are blocked before any thread starts (spdlog's flusher below is one): a thread created
  // earlier would inherit an open mask and SIGTERM's default action would kill the process
  // without a graceful shutdown.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto level = spdlog::level::from_str(log_level);
  if (level == spdlog::level::off && log_level != "off") return Fail("unknown --log.level " + log_level);
  // Argus's own log goes to stderr and to <storage.path>/argus.log (10 MiB, then renamed to
  // argus.1.log, three kept), which the embedded default config tails into the log store.
  {
    std::error_code ec;
    std::filesystem::create_directories(o.storage_path, ec);
    try {
      auto file = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(o.storage_path + "/argus.log", 10 << 20, 3);
      file->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%fZ [%l] %v",
                                                                      spdlog::pattern_time_type::utc, "\n"));
      spdlog::default_logger()->sinks().push_back(file);  // beside the default stderr sink; no logging thread runs yet
      spdlog::flush_every(std::chrono::seconds(1));  // the file sink buffers; the tailer polls each second
    } catch (const spdlog::spdlog_ex& e) {
      spdlog::warn("cannot write the log file under {}: {}", o.storage_path, e.what());
    }
  }
  spdlog::set_level(level);
  if (!retention_time.empty()) {
    auto d = argus::ingest::ParsePromDuration(retention_time);
    if (!d.ok()) return Fail("--storage.tsdb.retention.time: " + d.status().message());
    o.retention_time_ms = *d;
  }
  if (!retention_size.empty()) {
    auto b = argus::ingest::ParseByteSize(retention_size);
    if (!b.ok()) return Fail("--storage.tsdb.retention.size: " + b.status().message());
    o.retention_size_bytes = static_cast<uint64_t>(*b);
  }
  if (!ooo_window.empty()) {
    auto d = argus::ingest::ParsePromDuration(ooo_window);
    if (!d.ok()) return Fail("--storage.tsdb.out-of-order-time-window: " + d.status().message());
    o.ooo_window_ms = *d;
  }
  for (const std::string& f : features) {
    if (f == "use-start-timestamps") {
      o.query_use_start_timestamps = true;
    } else {
      spdlog::warn("unknown option for --enable-feature: {}", f);  // Prometheus only warns too
    }
  }
  auto lookback = argus::ingest::ParsePromDuration(lookback_delta);
  if (!lookback.ok()) return Fail("--query.lookback-delta: " + lookback.status().message());
  o.query_lookback_delta_ms = *lookback;
  auto qtimeout = argus::ingest::ParsePromDuration(query_timeout);
  if (!qtimeout.ok()) return Fail("--query.timeout: " + qtimeout.status().message());
  o.query_timeout_ms = *qtimeout;
  auto sync = argus::wal::ParseSyncPolicy(wal_sync);
  if (!sync.ok()) return Fail("--storage.tsdb.wal-sync: " + sync.status().message());
  o.wal_sync = *sync;
  o.flags_json = "{\"config.file\":\"" + o.config_file + "\",\"storage.path\":\"" +
                 o.storage_path + "\",\"web.listen-address\":\"" + o.web_listen_address + "\"}";

  argus::server::Server server(o);
  argus::Status st = server.Start();
  if (!st.ok()) {
    server.Shutdown();
    return Fail("cannot start: " + st.ToString());
  }
  std::thread signals([&] {
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    server.Shutdown();
  });
  server.Wait();
  if (signals.joinable()) {
    // Shutdown may also have come from elsewhere; wake the signal thread so it can exit.
    pthread_kill(signals.native_handle(), SIGTERM);
    signals.join();
  }
  return 0;
}
