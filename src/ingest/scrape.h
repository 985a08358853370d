// The scrape manager: turns scrape configs into targets (static_configs and file_sd_configs,
// then relabel_configs), runs one scrape loop per target, and appends what each scrape returns
// through tsdb::Appender. Follows Prometheus' scrape package (docs: configuration
// "<scrape_config>", concepts/jobs_instances "Automatically generated labels and time series",
// querying/basics "Staleness").
//
// One scrape of a target, at scrape time t (wall clock, milliseconds, aligned to the loop's
// ticks within 2 ms as Prometheus does):
//   1. HTTP GET <scheme>://<__address__><__metrics_path__>?<params> with libcurl: timeout =
//      scrape_timeout, the Accept header Prometheus 3 sends for `scrape_protocols`,
//      Accept-Encoding gzip (or identity), X-Prometheus-Scrape-Timeout-Seconds, auth and TLS.
//   2. Parse (text_parser.h) by Content-Type; apply target labels (on a conflict the exposed
//      label becomes exported_<name>, unless honor_labels), then metric_relabel_configs.
//   3. Append every sample at t (or its own timestamp if honor_timestamps), exemplars and
//      changed metadata; sample_limit and label limits fail the whole scrape.
//   4. Stale markers (model/sample.h StaleNaN) at t for series of the previous scrape that are
//      absent now (series with their own timestamps are not tracked unless
//      track_timestamps_staleness). A failed scrape makes every previous series stale.
//   5. Report series: up, scrape_duration_seconds, scrape_samples_scraped,
//      scrape_samples_post_metric_relabeling, scrape_series_added, with the target's labels.
//   6. Commit. On a failure the samples of the page are rolled back first.
// When a target disappears (discovery or config change), its loop waits two intervals (plus
// 10%), as Prometheus does in case the target comes back, then writes stale markers for its
// last series and its report series. Stop() (shutdown) writes no stale markers.
//
// Example:
//   ScrapeManager m([&] { return db->NewAppender(); });
//   RETURN_IF_ERROR(m.ApplyConfig(std::move(cfgs)));
//   for (const TargetStatus& t : m.Targets()) ...     // /api/v1/targets
//   m.Stop();
//
// Thread-safety: ScrapeManager is thread-safe. A ScrapeLoop's public methods are thread-safe
// except ScrapeOnce/WriteEndOfRunStaleness, which only its own thread (or a test without
// Start) may call.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ingest/file_sd.h"
#include "ingest/scrape_config.h"
#include "model/labels.h"
#include "tsdb/storage.h"
#include "util/status.h"

namespace argus::ingest {

// Returns a fresh Appender for one scrape; called from the scrape loops' threads, so it must
// be thread-safe.
using AppenderFactory = std::function<std::unique_ptr<tsdb::Appender>()>;

// A target after relabeling.
struct ScrapeTarget {
  // Final labels, including the internal ones Prometheus keeps on a target (__address__,
  // __scheme__, __metrics_path__, __param_*, __scrape_interval__, __scrape_timeout__);
  // __meta_* labels are removed.
  Labels labels;
  Labels discovered_labels;  // before relabeling
  std::string url;
  int64_t interval_ms = 0;
  int64_t timeout_ms = 0;

  // The labels attached to scraped series: `labels` without names starting with "__".
  Labels PublicLabels() const;
  // Identity of the target within its job: labels and URL.
  uint64_t Hash() const;
};

// Prometheus' PopulateLabels: merges `target` and `group` labels (the target's win), adds job,
// __scheme__, __metrics_path__, __scrape_interval__, __scrape_timeout__ and __param_<name>
// defaults from `cfg`, applies relabel_configs, then checks the result and defaults `instance`
// to __address__. Returns nullopt if relabeling dropped the target. Errors: InvalidArgument for
// a missing or invalid __address__ (one containing '/'), an invalid or zero
// __scrape_interval__/__scrape_timeout__, or a timeout longer than the interval.
Result<std::optional<ScrapeTarget>> PopulateTarget(const ScrapeConfig& cfg, const Labels& target,
                                                   const Labels& group);

struct TargetStatus {
  std::string scrape_pool;   // the job name
  Labels labels;             // ScrapeTarget::PublicLabels()
  Labels discovered_labels;
  std::string scrape_url;
  std::string health = "unknown";  // "up", "down" or "unknown" (not scraped yet)
  std::string last_error;
  int64_t last_scrape_ms = 0;      // wall time of the last scrape, 0 if none
  double last_duration_s = 0;
  int64_t scrape_interval_ms = 0;
  int64_t scrape_timeout_ms = 0;
};

struct DroppedTarget {
  std::string scrape_pool;
  Labels discovered_labels;
};

// Scrapes one target, on its own thread once started.
class ScrapeLoop {
 public:
  // What a loop hands to its successor when a config reload keeps the target.
  struct State {
    std::unordered_map<uint64_t, Labels> series_prev;  // label hash -> series of the last scrape
    bool scraped = false;
  };

  // `cfg` is shared by the job's loops (immutable). `inherited` (may be null) continues the
  // staleness tracking of a previous loop of the same target.
  ScrapeLoop(ScrapeTarget target, std::shared_ptr<const ScrapeConfig> cfg,
             AppenderFactory app_factory, std::unique_ptr<State> inherited = nullptr);
  // Stops (as shutdown) and joins.
  ~ScrapeLoop();
  ScrapeLoop(const ScrapeLoop&) = delete;
  ScrapeLoop& operator=(const ScrapeLoop&) = delete;

  // Starts the thread: first scrape after `offset_ms`, then every interval.
  void Start(int64_t offset_ms);
  // Asks the thread to stop and returns at once. With `end_of_run_staleness` the thread then
  // waits about two intervals and writes stale markers, unless a later Stop(false) cuts it
  // short. An in-flight HTTP request is aborted.
  void Stop(bool end_of_run_staleness);
  // Waits for the thread to end (no-op if never started).
  void Join();
  // True once the thread has ended (or was never started).
  bool Done() const { return done_.load(); }
  // REQUIRES: the thread has ended. Moves the staleness state out (for a successor loop).
  std::unique_ptr<State> TakeState();

  // One scrape at wall time `t_ms` (steps 1-6 above). Thread: the loop's own, or the test's.
  void ScrapeOnce(int64_t t_ms);
  // Stale markers at `t_ms` for the last scrape's series and the report series.
  void WriteEndOfRunStaleness(int64_t t_ms);

  TargetStatus Status() const;
  const ScrapeTarget& target() const { return target_; }
  const ScrapeConfig& config() const { return *cfg_; }

 private:
  struct CacheEntry {
    Labels labels;
    uint64_t hash = 0;
    uint64_t last_iter = 0;
    bool dropped = false;
  };
  struct Counts {
    int64_t total = 0, added = 0, series_added = 0;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  class Fetcher;

  void Run(int64_t offset_ms);
  // Sleeps until `deadline`; false if interrupted (by stop when `until_stop`, else by shutdown).
  bool SleepUntil(std::chrono::steady_clock::time_point deadline, bool until_stop);
  argus::Status AppendPage(tsdb::Appender* app, std::string_view body,
                           std::string_view content_type, int64_t t_ms, Counts* counts);
  std::optional<Labels> MutateSampleLabels(const Labels& exposed) const;
  argus::Status CheckLabelLimits(const Labels& ls) const;
  void AppendStaleMarkers(tsdb::Appender* app, int64_t t_ms);
  void AppendReport(tsdb::Appender* app, int64_t t_ms, double duration_s, const Counts& c,
                    bool up);

  const ScrapeTarget target_;
  const Labels public_labels_;
  const std::shared_ptr<const ScrapeConfig> cfg_;
  const AppenderFactory app_factory_;
  std::unique_ptr<Fetcher> fetcher_;

  // Used only by the scraping thread.
  std::unordered_map<std::string, CacheEntry, StringHash, std::equal_to<>> cache_;
  std::unordered_map<uint64_t, Labels> series_prev_, series_cur_;
  std::map<std::string, MetricMetadata, std::less<>> metadata_;
  uint64_t iter_ = 0;
  bool scraped_ = false;
  bool report_metadata_written_ = false;
  std::vector<Labels> report_labels_;  // up, scrape_duration_seconds, ... with target labels

  std::thread thread_;
  std::atomic<bool> done_{true};
  std::atomic<bool> abort_fetch_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;              // GUARDED_BY(mu_): stop scraping
  bool end_of_run_stale_ = false;  // GUARDED_BY(mu_)
  bool shutdown_ = false;          // GUARDED_BY(mu_): stop everything, no stale markers
  TargetStatus status_;            // GUARDED_BY(mu_)
};

class ScrapeManager {
 public:
  using TargetStatus = ingest::TargetStatus;

  struct Options {
    // How often file_sd files are checked for changes (they are re-read when their mtime or
    // size changes, and at least every refresh_interval).
    int64_t sd_check_interval_ms = 5000;
    // Seed for spreading the targets' scrape offsets over the interval (Prometheus uses a
    // hash of the external labels and hostname). 0: random at startup.
    uint64_t offset_seed = 0;
  };

  // `app_factory` returns a fresh Appender per scrape (e.g. [&]{ return db->NewAppender(); })
  // and must be callable from many threads.
  explicit ScrapeManager(AppenderFactory app_factory);
  ScrapeManager(AppenderFactory app_factory, Options options);
  ~ScrapeManager();  // Stop()
  ScrapeManager(const ScrapeManager&) = delete;
  ScrapeManager& operator=(const ScrapeManager&) = delete;

  // Replaces the set of jobs: jobs whose config is unchanged keep running untouched; changed
  // jobs restart their loops (a target kept by the new config continues its staleness
  // tracking); removed targets get end-of-run stale markers. file_sd files are read before
  // this returns. Errors: Unavailable after Stop(). Discovery and per-target problems (an
  // unreadable file, a target without address) are logged, not returned.
  Status ApplyConfig(std::vector<ScrapeConfig> cfgs);

  // Stops all loops and the discovery thread and waits for them. Writes no stale markers
  // (Prometheus does not on shutdown). Idempotent.
  void Stop();

  // Active targets, ordered by job then labels (for /api/v1/targets).
  std::vector<TargetStatus> Targets() const;
  // Targets dropped by relabeling, ordered by job (for /api/v1/targets?state=dropped).
  std::vector<DroppedTarget> DroppedTargets() const;

 private:
  struct Pool {
    std::shared_ptr<const ScrapeConfig> cfg;
    std::vector<TargetGroup> static_groups;
    std::vector<std::unique_ptr<FileDiscovery>> file_sds;
    std::vector<std::chrono::steady_clock::time_point> next_full_refresh;
    std::map<uint64_t, std::unique_ptr<ScrapeLoop>> loops;  // by ScrapeTarget::Hash()
    std::vector<DroppedTarget> dropped;
  };

  // Recomputes the pool's targets from its groups and starts/stops loops. Loops in
  // `replaced` (the same job under its previous config) hand their state to new loops of
  // the same target. REQUIRES: mu_ held.
  void SyncPool(Pool* pool, std::map<uint64_t, std::unique_ptr<ScrapeLoop>>* replaced);
  void Retire(std::unique_ptr<ScrapeLoop> loop);  // REQUIRES: mu_ held
  void ReapRetired();                              // REQUIRES: mu_ held
  void DiscoveryLoop();
  int64_t OffsetMs(const ScrapeTarget& t) const;

  const AppenderFactory app_factory_;
  const Options options_;
  uint64_t offset_seed_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;                                  // GUARDED_BY(mu_)
  std::map<std::string, Pool> pools_;                     // GUARDED_BY(mu_), by job name
  std::vector<std::unique_ptr<ScrapeLoop>> retiring_;     // GUARDED_BY(mu_)
  std::thread sd_thread_;
};

}  // namespace argus::ingest
