#include "ingest/scrape.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <random>
#include <set>

#include "ingest/relabel.h"
#include "ingest/text_parser.h"
#include "model/sample.h"
#include "util/file.h"

namespace argus::ingest {

namespace {

constexpr std::string_view kSchemeLabel = "__scheme__";
constexpr std::string_view kMetricsPathLabel = "__metrics_path__";
constexpr std::string_view kScrapeIntervalLabel = "__scrape_interval__";
constexpr std::string_view kScrapeTimeoutLabel = "__scrape_timeout__";
constexpr std::string_view kParamPrefix = "__param_";
constexpr std::string_view kMetaPrefix = "__meta_";
constexpr std::string_view kUserAgent = "Argus/0.1";
constexpr size_t kMaxExemplarLabelRunes = 128;  // OpenMetrics spec, "Exemplars"

// The report series of every target (Prometheus docs, concepts/jobs_instances).
struct ReportSeries {
  std::string_view name;
  std::string_view help;
  std::string_view unit;
};
constexpr ReportSeries kReportSeries[] = {
    {"up", "Health of the scrape target. 1 means the target is healthy, 0 if the scrape failed.",
     "targets"},
    {"scrape_duration_seconds", "Duration of the last scrape in seconds.", "seconds"},
    {"scrape_samples_scraped", "Number of samples last scraped.", "samples"},
    {"scrape_samples_post_metric_relabeling",
     "Number of samples remaining after metric relabeling was applied.", "samples"},
    {"scrape_series_added", "Number of series in the last scrape.", "series"},
};

int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void CurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Go's url.QueryEscape.
std::string QueryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// Escapes what may not appear literally in a URL path (as Go's url.URL.EscapedPath).
std::string PathEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("-_.~!$&'()*+,;=:@/").find(static_cast<char>(c)) !=
                  std::string_view::npos;
    if (ok) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string BuildUrl(const ScrapeConfig& cfg, const Labels& ls) {
  std::map<std::string, std::vector<std::string>> params = cfg.params;
  for (const Label& l : ls) {
    if (!l.name.starts_with(kParamPrefix)) continue;
    std::vector<std::string>& vs = params[l.name.substr(kParamPrefix.size())];
    if (vs.empty()) {
      vs.push_back(l.value);
    } else {
      vs[0] = l.value;
    }
  }
  std::string url(ls.Get(kSchemeLabel));
  url += "://";
  url += ls.Get(kAddressLabel);
  std::string_view path = ls.Get(kMetricsPathLabel);
  if (!path.empty() && path[0] != '/') url.push_back('/');
  url += PathEscape(path);
  bool first = true;
  for (const auto& [k, vs] : params) {
    for (const std::string& v : vs) {
      url.push_back(first ? '?' : '&');
      first = false;
      url += QueryEscape(k);
      url.push_back('=');
      url += QueryEscape(v);
    }
  }
  return url;
}

// Prometheus 3's Accept header for the configured protocols (scrape.acceptHeader with UTF-8
// name validation): preference weights start at 0.6 and fall by 0.1; */* comes last.
std::string AcceptHeader(const std::vector<std::string>& protocols) {
  static const std::map<std::string, std::string, std::less<>> kMedia = {
      {"OpenMetricsText1.0.0", "application/openmetrics-text;version=1.0.0"},
      {"OpenMetricsText0.0.1", "application/openmetrics-text;version=0.0.1"},
      {"PrometheusText1.0.0", "text/plain;version=1.0.0"},
      {"PrometheusText0.0.4", "text/plain;version=0.0.4"},
  };
  std::string out;
  int weight = 6;
  for (const std::string& p : protocols) {
    auto it = kMedia.find(p);
    if (it == kMedia.end()) continue;
    out += it->second;
    out += ";escaping=allow-utf-8;q=0.";
    out += std::to_string(weight--);
    out.push_back(',');
  }
  out += "*/*;q=0." + std::to_string(weight);
  return out;
}

// Go's strconv.FormatFloat(v, 'f', -1, 64).
std::string FormatSeconds(double v) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  if (ec != std::errc()) return "0";
  return std::string(buf, p);
}

std::string TrimSpace(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

size_t RuneCount(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Targets.

Labels ScrapeTarget::PublicLabels() const {
  std::vector<Label> out;
  for (const Label& l : labels) {
    if (!l.name.starts_with("__")) out.push_back(l);
  }
  return Labels::FromSorted(std::move(out));
}

uint64_t ScrapeTarget::Hash() const {
  uint64_t h = labels.Hash();
  for (unsigned char c : url) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

Result<std::optional<ScrapeTarget>> PopulateTarget(const ScrapeConfig& cfg, const Labels& target,
                                                   const Labels& group) {
  LabelsBuilder lb(target);
  for (const Label& l : group) {
    if (!target.Has(l.name)) lb.Set(l.name, l.value);
  }
  auto set_default = [&](std::string_view name, const std::string& value) {
    if (lb.Get(name).empty()) lb.Set(name, value);
  };
  set_default("job", cfg.job_name);
  set_default(kScrapeIntervalLabel, FormatPromDuration(cfg.scrape_interval_ms));
  set_default(kScrapeTimeoutLabel, FormatPromDuration(cfg.scrape_timeout_ms));
  set_default(kMetricsPathLabel, cfg.metrics_path);
  set_default(kSchemeLabel, cfg.scheme);
  for (const auto& [k, vs] : cfg.params) {
    if (!vs.empty()) set_default(std::string(kParamPrefix) + k, vs[0]);
  }
  ScrapeTarget t;
  t.discovered_labels = lb.Build();
  std::optional<Labels> relabeled = Relabel(t.discovered_labels, cfg.relabel_configs);
  if (!relabeled) return std::optional<ScrapeTarget>();

  LabelsBuilder rb(*relabeled);
  std::string addr(rb.Get(kAddressLabel));
  if (addr.empty()) return Status::InvalidArgument("no address");
  if (addr.find('/') != std::string::npos) {
    return Status::InvalidArgument("\"" + addr + "\" is not a valid hostname");
  }
  Result<int64_t> interval = ParsePromDuration(rb.Get(kScrapeIntervalLabel));
  if (!interval.ok()) {
    return Status::InvalidArgument("error parsing scrape interval: " + interval.status().message());
  }
  if (*interval == 0) return Status::InvalidArgument("scrape interval cannot be 0");
  Result<int64_t> timeout = ParsePromDuration(rb.Get(kScrapeTimeoutLabel));
  if (!timeout.ok()) {
    return Status::InvalidArgument("error parsing scrape timeout: " + timeout.status().message());
  }
  if (*timeout == 0) return Status::InvalidArgument("scrape timeout cannot be 0");
  if (*timeout > *interval) {
    return Status::InvalidArgument("scrape timeout cannot be greater than scrape interval (\"" +
                                   std::string(rb.Get(kScrapeTimeoutLabel)) + "\" > \"" +
                                   std::string(rb.Get(kScrapeIntervalLabel)) + "\")");
  }
  for (const Label& l : *relabeled) {
    if (l.name.starts_with(kMetaPrefix)) rb.Del(l.name);
  }
  if (rb.Get("instance").empty()) rb.Set("instance", addr);
  t.labels = rb.Build();
  for (const Label& l : t.labels) {
    if (!IsValidUtf8(l.value)) {
      return Status::InvalidArgument("invalid label value for \"" + l.name + "\"");
    }
  }
  t.interval_ms = *interval;
  t.timeout_ms = *timeout;
  t.url = BuildUrl(cfg, t.labels);
  return std::optional<ScrapeTarget>(std::move(t));
}

// ---------------------------------------------------------------------------------------------
// HTTP.

class ScrapeLoop::Fetcher {
 public:
  Fetcher(const ScrapeConfig& cfg, const ScrapeTarget& t, const std::atomic<bool>* abort)
      : cfg_(cfg), url_(t.url), timeout_ms_(t.timeout_ms), abort_(abort) {
    CurlGlobalInit();
    curl_ = curl_easy_init();
    accept_ = "Accept: " + AcceptHeader(cfg.scrape_protocols);
    timeout_header_ = "X-Prometheus-Scrape-Timeout-Seconds: " +
                      FormatSeconds(static_cast<double>(t.timeout_ms) / 1000.0);
  }
  ~Fetcher() {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  // Fills `body` (decoded) and `content_type`. Errors: Unavailable with what went wrong.
  argus::Status Fetch(std::string* body, std::string* content_type) {
    body->clear();
    content_type->clear();
    if (curl_ == nullptr) return argus::Status::Internal("curl_easy_init failed");
    body_ = body;
    status_line_.clear();
    too_large_ = false;
    curl_easy_reset(curl_);
    char* errbuf = errbuf_;
    errbuf[0] = '\0';
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, accept_.c_str());
    headers = curl_slist_append(headers, timeout_header_.c_str());
    if (!cfg_.enable_compression) headers = curl_slist_append(headers, "Accept-Encoding: identity");
    std::string auth;
    if (!cfg_.authorization_credentials.empty() || !cfg_.authorization_credentials_file.empty()) {
      std::string cred = cfg_.authorization_credentials;
      if (!cfg_.authorization_credentials_file.empty()) {
        Result<std::string> f = ReadFile(cfg_.authorization_credentials_file);
        if (!f.ok()) {
          curl_slist_free_all(headers);
          return argus::Status::Unavailable("unable to read authorization credentials file: " +
                                            f.status().message());
        }
        cred = TrimSpace(*f);
      }
      auth = "Authorization: " + cfg_.authorization_type + " " + cred;
      headers = curl_slist_append(headers, auth.c_str());
    }
    std::string password = cfg_.basic_auth_password;
    if (!cfg_.basic_auth_password_file.empty()) {
      Result<std::string> f = ReadFile(cfg_.basic_auth_password_file);
      if (!f.ok()) {
        curl_slist_free_all(headers);
        return argus::Status::Unavailable("unable to read basic auth password file: " +
                                          f.status().message());
      }
      password = TrimSpace(*f);
    }
    curl_easy_setopt(curl_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, std::string(kUserAgent).c_str());
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms_));
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Fetcher::OnBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &Fetcher::OnHeader);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(curl_, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl_, CURLOPT_XFERINFOFUNCTION, &Fetcher::OnProgress);
    curl_easy_setopt(curl_, CURLOPT_XFERINFODATA, this);
    if (cfg_.enable_compression) curl_easy_setopt(curl_, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, cfg_.follow_redirects ? 1L : 0L);
    curl_easy_setopt(curl_, CURLOPT_MAXREDIRS, 10L);
    // Prometheus ignores proxy environment variables unless told otherwise; "" disables them.
    curl_easy_setopt(curl_, CURLOPT_PROXY, cfg_.proxy_url.c_str());
    if (!cfg_.basic_auth_username.empty()) {
      curl_easy_setopt(curl_, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(curl_, CURLOPT_USERNAME, cfg_.basic_auth_username.c_str());
      curl_easy_setopt(curl_, CURLOPT_PASSWORD, password.c_str());
    }
    const TlsConfig& tls = cfg_.tls_config;
    if (!tls.ca_file.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, tls.ca_file.c_str());
    if (!tls.cert_file.empty()) curl_easy_setopt(curl_, CURLOPT_SSLCERT, tls.cert_file.c_str());
    if (!tls.key_file.empty()) curl_easy_setopt(curl_, CURLOPT_SSLKEY, tls.key_file.c_str());
    if (tls.insecure_skip_verify) {
      curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    body_ = nullptr;
    if (too_large_) {
      body->clear();
      return argus::Status::ResourceExhausted("body size limit exceeded");
    }
    if (rc != CURLE_OK) {
      body->clear();
      if (rc == CURLE_ABORTED_BY_CALLBACK) return argus::Status::Canceled("scrape canceled");
      std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
      while (!detail.empty() && detail.back() == '\n') detail.pop_back();
      return argus::Status::Unavailable("Get \"" + url_ + "\": " + detail);
    }
    long code = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) {
      body->clear();
      std::string status = std::to_string(code);
      // "HTTP/1.1 404 Not Found" -> "404 Not Found"
      size_t sp = status_line_.find(' ');
      if (sp != std::string::npos) status = TrimSpace(status_line_.substr(sp + 1));
      return argus::Status::Unavailable("server returned HTTP status " + status);
    }
    char* ct = nullptr;
    curl_easy_getinfo(curl_, CURLINFO_CONTENT_TYPE, &ct);
    if (ct != nullptr) content_type->assign(ct);
    return argus::Status::OK();
  }

 private:
  static size_t OnBody(char* data, size_t size, size_t n, void* self_ptr) {
    auto* self = static_cast<Fetcher*>(self_ptr);
    size_t len = size * n;
    int64_t limit = self->cfg_.body_size_limit_bytes;
    if (limit > 0 && static_cast<int64_t>(self->body_->size() + len) > limit) {
      self->too_large_ = true;
      return 0;  // makes curl fail with CURLE_WRITE_ERROR
    }
    self->body_->append(data, len);
    return len;
  }
  static size_t OnHeader(char* data, size_t size, size_t n, void* self_ptr) {
    auto* self = static_cast<Fetcher*>(self_ptr);
    std::string_view line(data, size * n);
    if (line.starts_with("HTTP/")) self->status_line_.assign(line);
    return size * n;
  }
  static int OnProgress(void* self_ptr, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* self = static_cast<Fetcher*>(self_ptr);
    return self->abort_->load() ? 1 : 0;
  }

  const ScrapeConfig& cfg_;
  const std::string url_;
  const int64_t timeout_ms_;
  const std::atomic<bool>* abort_;
  CURL* curl_ = nullptr;
  std::string accept_;
  std::string timeout_header_;
  std::string* body_ = nullptr;
  std::string status_line_;
  bool too_large_ = false;
  char errbuf_[CURL_ERROR_SIZE] = {0};  // curl keeps a pointer to it between requests
};

// ---------------------------------------------------------------------------------------------
// The scrape loop.

ScrapeLoop::ScrapeLoop(ScrapeTarget target, std::shared_ptr<const ScrapeConfig> cfg,
                       AppenderFactory app_factory, std::unique_ptr<State> inherited)
    : target_(std::move(target)),
      public_labels_(target_.PublicLabels()),
      cfg_(std::move(cfg)),
      app_factory_(std::move(app_factory)) {
  fetcher_ = std::make_unique<Fetcher>(*cfg_, target_, &abort_fetch_);
  if (inherited != nullptr) {
    series_prev_ = std::move(inherited->series_prev);
    scraped_ = inherited->scraped;
  }
  for (const ReportSeries& r : kReportSeries) {
    LabelsBuilder b(public_labels_);
    b.Set(kMetricNameLabel, r.name);
    report_labels_.push_back(b.Build());
  }
  status_.scrape_pool = cfg_->job_name;
  status_.labels = public_labels_;
  status_.discovered_labels = target_.discovered_labels;
  status_.scrape_url = target_.url;
  status_.scrape_interval_ms = target_.interval_ms;
  status_.scrape_timeout_ms = target_.timeout_ms;
}

ScrapeLoop::~ScrapeLoop() {
  Stop(false);
  Join();
}

void ScrapeLoop::Start(int64_t offset_ms) {
  done_ = false;
  thread_ = std::thread([this, offset_ms] {
    Run(offset_ms);
    done_ = true;
  });
}

void ScrapeLoop::Stop(bool end_of_run_staleness) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!stop_) end_of_run_stale_ = end_of_run_staleness;
    stop_ = true;
    if (!end_of_run_staleness) shutdown_ = true;
  }
  // A removed target finishes its in-flight scrape (Prometheus cancels scrapes only on
  // shutdown); shutdown and replacement abort it.
  if (!end_of_run_staleness) abort_fetch_ = true;
  cv_.notify_all();
}

void ScrapeLoop::Join() {
  if (thread_.joinable()) thread_.join();
}

std::unique_ptr<ScrapeLoop::State> ScrapeLoop::TakeState() {
  auto s = std::make_unique<State>();
  s->series_prev = std::move(series_prev_);
  s->scraped = scraped_;
  series_prev_.clear();
  return s;
}

TargetStatus ScrapeLoop::Status() const {
  std::lock_guard<std::mutex> l(mu_);
  return status_;
}

bool ScrapeLoop::SleepUntil(std::chrono::steady_clock::time_point deadline, bool until_stop) {
  std::unique_lock<std::mutex> l(mu_);
  auto interrupted = [&] { return shutdown_ || (until_stop && stop_); };
  return !cv_.wait_until(l, deadline, interrupted);
}

void ScrapeLoop::Run(int64_t offset_ms) {
  using std::chrono::milliseconds;
  using std::chrono::steady_clock;
  const int64_t interval = target_.interval_ms;
  steady_clock::time_point next = steady_clock::now() + milliseconds(offset_ms);
  if (SleepUntil(next, true)) {
    int64_t aligned_ms = WallNowMs();
    // Prometheus aligns scrape timestamps to the ticks within a tolerance of 2 ms (at most 1%
    // of the interval), for better compression (prometheus/prometheus#7846).
    const int64_t tolerance = std::min<int64_t>(interval / 100, 2);
    while (true) {
      int64_t now = WallNowMs();
      while (now - aligned_ms >= interval) aligned_ms += interval;
      ScrapeOnce(now - aligned_ms <= tolerance ? aligned_ms : now);
      next += milliseconds(interval);
      steady_clock::time_point sn = steady_clock::now();
      if (next < sn) {
        // Ticks were missed (a slow scrape): skip them, as Go's ticker does.
        auto behind = std::chrono::duration_cast<milliseconds>(sn - next).count();
        next += milliseconds((behind / interval + 1) * interval);
      }
      if (!SleepUntil(next, true)) break;
    }
  }
  bool stale;
  {
    std::lock_guard<std::mutex> l(mu_);
    stale = end_of_run_stale_ && !shutdown_;
  }
  if (!stale || !scraped_) return;
  // The target is gone. It may come back under a new loop, so wait until the next scrape
  // would have been (its time is the stale markers' time), one more interval, and 10% more.
  if (!SleepUntil(next, false)) return;
  int64_t stale_ms = WallNowMs();
  next += milliseconds(interval);
  if (!SleepUntil(next, false)) return;
  if (!SleepUntil(steady_clock::now() + milliseconds(interval / 10), false)) return;
  WriteEndOfRunStaleness(stale_ms);
}

std::optional<Labels> ScrapeLoop::MutateSampleLabels(const Labels& exposed) const {
  LabelsBuilder lb(exposed);
  if (cfg_->honor_labels) {
    for (const Label& l : public_labels_) {
      if (!exposed.Has(l.name)) lb.Set(l.name, l.value);
    }
  } else {
    std::vector<Label> conflicts;
    for (const Label& l : public_labels_) {
      std::string_view v = exposed.Get(l.name);
      if (!v.empty()) conflicts.push_back({l.name, std::string(v)});
      lb.Set(l.name, l.value);
    }
    std::stable_sort(conflicts.begin(), conflicts.end(), [](const Label& a, const Label& b) {
      return a.name.size() < b.name.size();
    });
    for (const Label& c : conflicts) {
      std::string name = c.name;
      while (true) {
        name = "exported_" + name;
        if (lb.Get(name).empty()) {
          lb.Set(name, c.value);
          break;
        }
      }
    }
  }
  Labels res = lb.Build();
  if (cfg_->metric_relabel_configs.empty()) return res;
  return Relabel(res, cfg_->metric_relabel_configs);
}

argus::Status ScrapeLoop::CheckLabelLimits(const Labels& ls) const {
  const ScrapeConfig& c = *cfg_;
  std::string metric(ls.MetricName().substr(0, 50));
  if (c.label_limit > 0 && static_cast<int64_t>(ls.size()) > c.label_limit) {
    return argus::Status::ResourceExhausted(
        "label_limit exceeded (metric: " + metric + ", number of labels: " +
        std::to_string(ls.size()) + ", limit: " + std::to_string(c.label_limit) + ")");
  }
  for (const Label& l : ls) {
    if (c.label_name_length_limit > 0 &&
        static_cast<int64_t>(l.name.size()) > c.label_name_length_limit) {
      return argus::Status::ResourceExhausted(
          "label_name_length_limit exceeded (metric: " + metric + ", label name: " +
          l.name.substr(0, 50) + ", length: " + std::to_string(l.name.size()) +
          ", limit: " + std::to_string(c.label_name_length_limit) + ")");
    }
    if (c.label_value_length_limit > 0 &&
        static_cast<int64_t>(l.value.size()) > c.label_value_length_limit) {
      return argus::Status::ResourceExhausted(
          "label_value_length_limit exceeded (metric: " + metric + ", label name: " +
          l.name.substr(0, 50) + ", value: \"" + l.value.substr(0, 50) + "\", length: " +
          std::to_string(l.value.size()) + ", limit: " +
          std::to_string(c.label_value_length_limit) + ")");
    }
  }
  return argus::Status::OK();
}

argus::Status ScrapeLoop::AppendPage(tsdb::Appender* app, std::string_view body,
                                     std::string_view content_type, int64_t t_ms,
                                     Counts* counts) {
  ++iter_;
  series_cur_.clear();
  if (body.empty()) return argus::Status::OK();  // an empty page: everything goes stale

  std::optional<ExpositionFormat> format = FormatFromContentType(content_type);
  if (!format) {
    if (cfg_->fallback_scrape_protocol) {
      format = cfg_->fallback_scrape_protocol;
    } else if (content_type.empty()) {
      format = ExpositionFormat::kPrometheusText;  // as Prometheus without a fallback
    } else {
      return argus::Status::InvalidArgument(
          "received unsupported Content-Type \"" + std::string(content_type) +
          "\" and no fallback_scrape_protocol specified for target");
    }
  }
  const ScrapeConfig& cfg = *cfg_;
  TextParser p(body, *format);
  std::map<std::string, MetricMetadata, std::less<>> page_meta;
  auto meta = [&](std::string_view family) -> MetricMetadata& {
    auto it = page_meta.find(family);
    if (it == page_meta.end()) {
      it = page_meta.emplace(std::string(family), MetricMetadata{}).first;
      it->second.metric_family = std::string(family);
    }
    return it->second;
  };
  bool sample_limit_exceeded = false;
  int64_t out_of_order = 0, duplicates = 0;
  while (true) {
    Result<bool> more = p.Next();
    if (!more.ok()) return more.status();
    if (!*more) break;
    switch (p.entry()) {
      case TextParser::Entry::kType: meta(p.family()).type = p.type(); continue;
      case TextParser::Entry::kHelp: meta(p.family()).help = std::string(p.help()); continue;
      case TextParser::Entry::kUnit: meta(p.family()).unit = std::string(p.unit()); continue;
      case TextParser::Entry::kSample: break;
    }
    ++counts->total;
    bool explicit_ts = cfg.honor_timestamps && p.t_ms().has_value();
    int64_t t = explicit_ts ? *p.t_ms() : t_ms;

    CacheEntry* ce = nullptr;
    bool new_series = false;
    auto it = cache_.find(p.series());
    if (it != cache_.end()) {
      ce = &it->second;
      ce->last_iter = iter_;
      if (ce->dropped) continue;
    } else {
      std::optional<Labels> final_labels = MutateSampleLabels(p.labels());
      CacheEntry entry;
      entry.last_iter = iter_;
      if (!final_labels || final_labels->empty()) {
        entry.dropped = true;
        cache_.emplace(std::string(p.series()), std::move(entry));
        continue;
      }
      if (!final_labels->Has(kMetricNameLabel)) {
        return argus::Status::InvalidArgument("missing metric name (__name__ label)");
      }
      RETURN_IF_ERROR(CheckLabelLimits(*final_labels));
      entry.hash = final_labels->Hash();
      entry.labels = std::move(*final_labels);
      ce = &cache_.emplace(std::string(p.series()), std::move(entry)).first->second;
      new_series = true;
    }
    ++counts->added;
    if (!explicit_ts && series_cur_.contains(ce->hash)) {
      ++duplicates;  // the same series twice in one page: Prometheus drops the later one
      continue;
    }
    if (cfg.sample_limit > 0 && counts->added > cfg.sample_limit) {
      sample_limit_exceeded = true;  // keep parsing to count the samples
      continue;
    }
    argus::Status st = app->Append(ce->labels, t, p.value());
    if (!st.ok()) {
      if (st.code() != StatusCode::kOutOfOrder) {
        return st.WithContext("append " + ce->labels.ToString());
      }
      ++out_of_order;
    } else if (new_series) {
      ++counts->series_added;
    }
    if (!explicit_ts || cfg.track_timestamps_staleness) series_cur_.emplace(ce->hash, ce->labels);
    if (const auto& ex = p.exemplar(); ex && st.ok()) {
      size_t runes = 0;
      for (const Label& l : ex->labels) runes += RuneCount(l.name) + RuneCount(l.value);
      if (runes <= kMaxExemplarLabelRunes) {
        Exemplar e{ex->labels, ex->value, ex->t_ms.value_or(t)};
        app->AppendExemplar(ce->labels, e).IgnoreError();  // exemplars never fail a scrape
      }
    }
  }
  if (out_of_order > 0) {
    spdlog::warn("scrape {}: {} out-of-order samples dropped", target_.url, out_of_order);
  }
  if (duplicates > 0) {
    spdlog::warn("scrape {}: {} duplicate samples for the same timestamp dropped", target_.url,
                 duplicates);
  }
  if (sample_limit_exceeded) return argus::Status::ResourceExhausted("sample limit exceeded");

  for (auto& [family, md] : page_meta) {
    auto it = metadata_.find(family);
    if (it != metadata_.end() && it->second.type == md.type && it->second.help == md.help &&
        it->second.unit == md.unit) {
      continue;
    }
    app->UpdateMetadata(md).IgnoreError();  // metadata never fails a scrape
    metadata_[family] = md;
  }
  // Forget series and drop decisions not seen in this page.
  std::erase_if(cache_, [&](const auto& kv) { return kv.second.last_iter != iter_; });
  return argus::Status::OK();
}

void ScrapeLoop::AppendStaleMarkers(tsdb::Appender* app, int64_t t_ms) {
  for (const auto& [hash, ls] : series_prev_) {
    if (series_cur_.contains(hash)) continue;
    argus::Status st = app->Append(ls, t_ms, StaleNaN());
    if (!st.ok() && st.code() != StatusCode::kOutOfOrder) {
      spdlog::warn("scrape {}: stale marker for {}: {}", target_.url, ls.ToString(), st.ToString());
    }
  }
  std::swap(series_prev_, series_cur_);
  series_cur_.clear();
}

void ScrapeLoop::AppendReport(tsdb::Appender* app, int64_t t_ms, double duration_s,
                              const Counts& c, bool up) {
  const double values[] = {up ? 1.0 : 0.0, duration_s, static_cast<double>(c.total),
                           static_cast<double>(c.added), static_cast<double>(c.series_added)};
  for (size_t i = 0; i < report_labels_.size(); ++i) {
    argus::Status st = app->Append(report_labels_[i], t_ms, values[i]);
    if (!st.ok() && st.code() != StatusCode::kOutOfOrder) {
      spdlog::warn("scrape {}: report sample: {}", target_.url, st.ToString());
    }
  }
  if (!report_metadata_written_) {
    for (const ReportSeries& r : kReportSeries) {
      MetricMetadata md{std::string(r.name), MetricType::kGauge, std::string(r.help),
                        std::string(r.unit)};
      app->UpdateMetadata(md).IgnoreError();
    }
    report_metadata_written_ = true;
  }
}

void ScrapeLoop::ScrapeOnce(int64_t t_ms) {
  auto start = std::chrono::steady_clock::now();
  std::string body, content_type;
  argus::Status err = fetcher_->Fetch(&body, &content_type);
  // Shutdown (or a config reload replacing this loop) aborted the request: record nothing,
  // as the target has not failed.
  if (err.code() == StatusCode::kCanceled) return;
  std::unique_ptr<tsdb::Appender> app = app_factory_();
  Counts counts;
  if (err.ok()) {
    err = AppendPage(app.get(), body, content_type, t_ms, &counts);
    if (!err.ok()) {
      app->Rollback();
      app = app_factory_();
    }
  }
  if (!err.ok()) {
    // A failed scrape counts as an empty page: all series of the previous scrape go stale.
    series_cur_.clear();
  }
  AppendStaleMarkers(app.get(), t_ms);
  double duration_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  AppendReport(app.get(), t_ms, duration_s, counts, err.ok());
  argus::Status commit = app->Commit();
  if (!commit.ok()) spdlog::error("scrape {}: commit failed: {}", target_.url, commit.ToString());
  scraped_ = true;
  std::lock_guard<std::mutex> l(mu_);
  status_.health = err.ok() ? "up" : "down";
  status_.last_error = err.ok() ? "" : err.message();
  status_.last_scrape_ms = t_ms;
  status_.last_duration_s = duration_s;
}

void ScrapeLoop::WriteEndOfRunStaleness(int64_t t_ms) {
  std::unique_ptr<tsdb::Appender> app = app_factory_();
  series_cur_.clear();
  AppendStaleMarkers(app.get(), t_ms);
  for (const Labels& ls : report_labels_) {
    argus::Status st = app->Append(ls, t_ms, StaleNaN());
    if (!st.ok() && st.code() != StatusCode::kOutOfOrder) {
      spdlog::warn("scrape {}: stale report sample: {}", target_.url, st.ToString());
    }
  }
  argus::Status commit = app->Commit();
  if (!commit.ok()) {
    spdlog::error("scrape {}: commit of stale markers failed: {}", target_.url, commit.ToString());
  }
}

// ---------------------------------------------------------------------------------------------
// The manager.

ScrapeManager::ScrapeManager(AppenderFactory app_factory)
    : ScrapeManager(std::move(app_factory), Options()) {}

ScrapeManager::ScrapeManager(AppenderFactory app_factory, Options options)
    : app_factory_(std::move(app_factory)), options_(options) {
  CurlGlobalInit();
  offset_seed_ = options_.offset_seed;
  if (offset_seed_ == 0) offset_seed_ = std::random_device()() * 0x9e3779b97f4a7c15ull + 1;
  sd_thread_ = std::thread([this] { DiscoveryLoop(); });
}

ScrapeManager::~ScrapeManager() { Stop(); }

int64_t ScrapeManager::OffsetMs(const ScrapeTarget& t) const {
  // Prometheus' Target.offset: a fixed phase per target within the interval, pinned to
  // absolute time so that restarts keep the phase.
  const int64_t interval = t.interval_ms;
  const int64_t now = WallNowMs();
  int64_t base = interval - now % interval;
  int64_t offset = static_cast<int64_t>((t.Hash() ^ offset_seed_) % static_cast<uint64_t>(interval));
  int64_t next = base + offset;
  if (next > interval) next -= interval;
  return next;
}

void ScrapeManager::Retire(std::unique_ptr<ScrapeLoop> loop) {
  loop->Stop(/*end_of_run_staleness=*/true);
  retiring_.push_back(std::move(loop));
}

void ScrapeManager::ReapRetired() {
  std::erase_if(retiring_, [](const std::unique_ptr<ScrapeLoop>& l) {
    if (!l->Done()) return false;
    l->Join();
    return true;
  });
}

void ScrapeManager::SyncPool(Pool* pool,
                             std::map<uint64_t, std::unique_ptr<ScrapeLoop>>* replaced) {
  std::vector<TargetGroup> groups = pool->static_groups;
  for (const auto& fd : pool->file_sds) {
    std::vector<TargetGroup> g = fd->Groups();
    groups.insert(groups.end(), std::make_move_iterator(g.begin()),
                  std::make_move_iterator(g.end()));
  }
  const ScrapeConfig& cfg = *pool->cfg;
  std::map<uint64_t, ScrapeTarget> targets;
  pool->dropped.clear();
  for (const TargetGroup& g : groups) {
    for (const Labels& tl : g.targets) {
      Result<std::optional<ScrapeTarget>> t = PopulateTarget(cfg, tl, g.labels);
      if (!t.ok()) {
        spdlog::error("job \"{}\": creating target {} failed: {}", cfg.job_name,
                      tl.ToString(), t.status().message());
        continue;
      }
      if (!t->has_value()) {
        LabelsBuilder b(tl);
        for (const Label& l : g.labels) {
          if (!tl.Has(l.name)) b.Set(l.name, l.value);
        }
        pool->dropped.push_back({cfg.job_name, b.Build()});
        continue;
      }
      uint64_t h = (*t)->Hash();
      targets.emplace(h, std::move(**t));
    }
  }

  // Stop the replaced loops of kept targets all at once, then wait for them.
  std::map<uint64_t, std::unique_ptr<ScrapeLoop>> handover;
  if (replaced != nullptr) {
    for (auto it = replaced->begin(); it != replaced->end();) {
      if (targets.contains(it->first)) {
        it->second->Stop(/*end_of_run_staleness=*/false);
        handover.insert(replaced->extract(it++));
      } else {
        ++it;
      }
    }
    for (auto& [h, loop] : handover) loop->Join();
  }

  std::map<uint64_t, std::unique_ptr<ScrapeLoop>> loops;
  for (auto& [h, t] : targets) {
    auto old = pool->loops.find(h);
    if (old != pool->loops.end()) {
      loops.insert(pool->loops.extract(old));
      continue;
    }
    std::unique_ptr<ScrapeLoop::State> state;
    if (auto ho = handover.find(h); ho != handover.end()) state = ho->second->TakeState();
    int64_t offset = OffsetMs(t);
    auto loop = std::make_unique<ScrapeLoop>(std::move(t), pool->cfg, app_factory_,
                                             std::move(state));
    loop->Start(offset);
    loops.emplace(h, std::move(loop));
  }
  for (auto& [h, loop] : pool->loops) Retire(std::move(loop));
  if (replaced != nullptr) {
    for (auto& [h, loop] : *replaced) Retire(std::move(loop));
    replaced->clear();
  }
  pool->loops = std::move(loops);
}

Status ScrapeManager::ApplyConfig(std::vector<ScrapeConfig> cfgs) {
  std::lock_guard<std::mutex> l(mu_);
  if (stopped_) return Status::Unavailable("scrape manager is stopped");
  ReapRetired();
  std::map<std::string, Pool> next;
  for (ScrapeConfig& cfg : cfgs) {
    std::string job = cfg.job_name;
    auto it = pools_.find(job);
    if (it != pools_.end() && *it->second.cfg == cfg) {
      next.insert(pools_.extract(it));
      continue;
    }
    Pool pool;
    pool.cfg = std::make_shared<const ScrapeConfig>(std::move(cfg));
    pool.static_groups = StaticTargetGroups(pool.cfg->static_configs);
    auto now = std::chrono::steady_clock::now();
    for (const FileSdConfig& fc : pool.cfg->file_sd_configs) {
      auto fd = std::make_unique<FileDiscovery>(fc);
      fd->Refresh(/*force=*/true);
      pool.file_sds.push_back(std::move(fd));
      pool.next_full_refresh.push_back(now + std::chrono::milliseconds(fc.refresh_interval_ms));
    }
    std::map<uint64_t, std::unique_ptr<ScrapeLoop>> replaced;
    if (it != pools_.end()) {
      replaced = std::move(it->second.loops);
      pools_.erase(it);
    }
    SyncPool(&pool, &replaced);
    next.emplace(job, std::move(pool));
  }
  for (auto& [job, pool] : pools_) {
    for (auto& [h, loop] : pool.loops) Retire(std::move(loop));
  }
  pools_ = std::move(next);
  return Status::OK();
}

void ScrapeManager::DiscoveryLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopped_) {
    cv_.wait_for(l, std::chrono::milliseconds(options_.sd_check_interval_ms),
                 [&] { return stopped_; });
    if (stopped_) break;
    ReapRetired();
    auto now = std::chrono::steady_clock::now();
    for (auto& [job, pool] : pools_) {
      bool changed = false;
      for (size_t i = 0; i < pool.file_sds.size(); ++i) {
        bool force = now >= pool.next_full_refresh[i];
        if (force) {
          pool.next_full_refresh[i] =
              now + std::chrono::milliseconds(pool.file_sds[i]->config().refresh_interval_ms);
        }
        changed |= pool.file_sds[i]->Refresh(force);
      }
      if (changed) SyncPool(&pool, nullptr);
    }
  }
}

void ScrapeManager::Stop() {
  std::vector<std::unique_ptr<ScrapeLoop>> all;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [job, pool] : pools_) {
      for (auto& [h, loop] : pool.loops) all.push_back(std::move(loop));
    }
    pools_.clear();
    for (auto& loop : retiring_) all.push_back(std::move(loop));
    retiring_.clear();
  }
  cv_.notify_all();
  if (sd_thread_.joinable()) sd_thread_.join();
  for (auto& loop : all) loop->Stop(/*end_of_run_staleness=*/false);
  for (auto& loop : all) loop->Join();
}

std::vector<TargetStatus> ScrapeManager::Targets() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<TargetStatus> out;
  for (const auto& [job, pool] : pools_) {
    size_t first = out.size();
    for (const auto& [h, loop] : pool.loops) out.push_back(loop->Status());
    std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
              [](const TargetStatus& a, const TargetStatus& b) { return a.labels < b.labels; });
  }
  return out;
}

std::vector<DroppedTarget> ScrapeManager::DroppedTargets() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<DroppedTarget> out;
  for (const auto& [job, pool] : pools_) {
    out.insert(out.end(), pool.dropped.begin(), pool.dropped.end());
  }
  return out;
}

}  // namespace argus::ingest
