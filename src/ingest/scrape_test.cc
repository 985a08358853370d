#include "ingest/scrape.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <mutex>
#include <thread>

#include "model/sample.h"
#include "util/file.h"

namespace argus::ingest {
namespace {

// ---------------------------------------------------------------------------------------------
// A tiny HTTP/1.1 server on 127.0.0.1:<ephemeral>, one connection at a time, Connection: close.

struct HttpRequest {
  std::string target;                          // "/metrics?x=y"
  std::map<std::string, std::string> headers;  // lower-case names
};

struct HttpResponse {
  int status = 200;
  std::string reason = "OK";
  std::string content_type = "text/plain; version=0.0.4; charset=utf-8";
  std::string body;
  bool gzip_if_accepted = false;
  int delay_ms = 0;
};

std::string Gzip(const std::string& in) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, in.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

class TestHttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  explicit TestHttpServer(Handler handler) : handler_(std::move(handler)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(fd_, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TestHttpServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<HttpRequest> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      Handle(c);
      close(c);
    }
  }
  void Handle(int c) {
    std::string in;
    char buf[4096];
    while (in.find("\r\n\r\n") == std::string::npos) {
      pollfd p{c, POLLIN, 0};
      if (poll(&p, 1, 2000) <= 0) return;
      ssize_t n = recv(c, buf, sizeof(buf), 0);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
    }
    HttpRequest req;
    size_t line_end = in.find("\r\n");
    std::string first = in.substr(0, line_end);
    size_t sp1 = first.find(' '), sp2 = first.rfind(' ');
    req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = line_end + 2;
    while (true) {
      size_t e = in.find("\r\n", pos);
      if (e == pos || e == std::string::npos) break;
      std::string h = in.substr(pos, e - pos);
      size_t colon = h.find(':');
      std::string name = h.substr(0, colon);
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      size_t v = h.find_first_not_of(' ', colon + 1);
      req.headers[name] = v == std::string::npos ? "" : h.substr(v);
      pos = e + 2;
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      requests_.push_back(req);
    }
    HttpResponse resp = handler_(req);
    for (int waited = 0; waited < resp.delay_ms && !stop_; waited += 10) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::string body = resp.body;
    std::string extra;
    if (resp.gzip_if_accepted && req.headers["accept-encoding"].find("gzip") != std::string::npos) {
      body = Gzip(body);
      extra = "Content-Encoding: gzip\r\n";
    }
    std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " " + resp.reason + "\r\n";
    if (!resp.content_type.empty()) out += "Content-Type: " + resp.content_type + "\r\n";
    out += extra + "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    size_t sent = 0;
    while (sent < out.size()) {
      ssize_t n = send(c, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<HttpRequest> requests_;
};

// ---------------------------------------------------------------------------------------------
// A fake storage: records committed samples, exemplars and metadata.

struct StoredSample {
  Labels labels;
  int64_t t_ms;
  double v;
};

class FakeStorage {
 public:
  class FakeAppender : public tsdb::Appender {
   public:
    explicit FakeAppender(FakeStorage* s) : s_(s) {}
    Status Append(const Labels& labels, int64_t t_ms, double v) override {
      if (labels.empty() || !labels.Has(kMetricNameLabel)) {
        return Status::InvalidArgument("no metric name");
      }
      samples_.push_back({labels, t_ms, v});
      return Status::OK();
    }
    Status AppendExemplar(const Labels& labels, const Exemplar& e) override {
      exemplars_.emplace_back(labels, e);
      return Status::OK();
    }
    Status UpdateMetadata(const MetricMetadata& md) override {
      metadata_.push_back(md);
      return Status::OK();
    }
    Status Commit() override {
      std::lock_guard<std::mutex> l(s_->mu_);
      s_->samples_.insert(s_->samples_.end(), samples_.begin(), samples_.end());
      s_->exemplars_.insert(s_->exemplars_.end(), exemplars_.begin(), exemplars_.end());
      s_->metadata_.insert(s_->metadata_.end(), metadata_.begin(), metadata_.end());
      ++s_->commits_;
      return Status::OK();
    }
    void Rollback() override {
      samples_.clear();
      exemplars_.clear();
      metadata_.clear();
      std::lock_guard<std::mutex> l(s_->mu_);
      ++s_->rollbacks_;
    }

   private:
    FakeStorage* s_;
    std::vector<StoredSample> samples_;
    std::vector<std::pair<Labels, Exemplar>> exemplars_;
    std::vector<MetricMetadata> metadata_;
  };

  AppenderFactory Factory() {
    return [this] { return std::make_unique<FakeAppender>(this); };
  }

  // Samples of metric `name` at `t_ms` (any t if t_ms < 0).
  std::vector<StoredSample> Find(std::string_view name, int64_t t_ms = -1) {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<StoredSample> out;
    for (const StoredSample& s : samples_) {
      if (s.labels.MetricName() == name && (t_ms < 0 || s.t_ms == t_ms)) out.push_back(s);
    }
    return out;
  }
  // The value of the single sample of `name` at `t_ms`; NaN if there is not exactly one.
  double Value(std::string_view name, int64_t t_ms) {
    auto v = Find(name, t_ms);
    return v.size() == 1 ? v[0].v : std::nan("");
  }
  std::vector<StoredSample> All() {
    std::lock_guard<std::mutex> l(mu_);
    return samples_;
  }
  std::vector<std::pair<Labels, Exemplar>> Exemplars() {
    std::lock_guard<std::mutex> l(mu_);
    return exemplars_;
  }
  std::vector<MetricMetadata> Metadata() {
    std::lock_guard<std::mutex> l(mu_);
    return metadata_;
  }
  int rollbacks() {
    std::lock_guard<std::mutex> l(mu_);
    return rollbacks_;
  }

 private:
  std::mutex mu_;
  std::vector<StoredSample> samples_;
  std::vector<std::pair<Labels, Exemplar>> exemplars_;
  std::vector<MetricMetadata> metadata_;
  int commits_ = 0;
  int rollbacks_ = 0;
};

// ---------------------------------------------------------------------------------------------

ScrapeConfig BaseConfig(const std::string& job = "test") {
  ScrapeConfig c;
  c.job_name = job;
  c.scrape_interval_ms = 1000;
  c.scrape_timeout_ms = 500;
  return c;
}

ScrapeTarget MakeTarget(const ScrapeConfig& cfg, const std::string& address,
                        Labels group = Labels::FromMap({{"env", "dev"}})) {
  auto t = PopulateTarget(cfg, Labels::FromMap({{"__address__", address}}), group);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE(t->has_value());
  return std::move(**t);
}

std::unique_ptr<ScrapeLoop> MakeLoop(const ScrapeConfig& cfg, const std::string& address,
                                     FakeStorage* storage) {
  auto shared = std::make_shared<const ScrapeConfig>(cfg);
  return std::make_unique<ScrapeLoop>(MakeTarget(cfg, address), shared, storage->Factory());
}

bool HasStale(const std::vector<StoredSample>& v) {
  return std::any_of(v.begin(), v.end(), [](const StoredSample& s) { return IsStaleNaN(s.v); });
}

TEST(PopulateTargetTest, DefaultsRelabelingAndUrl) {
  ScrapeConfig cfg = BaseConfig("blackbox");
  cfg.metrics_path = "/probe";
  cfg.params["module"] = {"http_2xx"};
  RelabelConfig to_param;
  to_param.source_labels = {"__address__"};
  to_param.target_label = "__param_target";
  ASSERT_TRUE(to_param.Compile().ok());
  RelabelConfig to_instance;
  to_instance.source_labels = {"__param_target"};
  to_instance.target_label = "instance";
  ASSERT_TRUE(to_instance.Compile().ok());
  RelabelConfig to_exporter;
  to_exporter.target_label = "__address__";
  to_exporter.replacement = "exporter:9115";
  ASSERT_TRUE(to_exporter.Compile().ok());
  cfg.relabel_configs = {to_param, to_instance, to_exporter};

  auto r = PopulateTarget(cfg,
                          Labels::FromMap({{"__address__", "https://example.com/a b"}}),
                          Labels::FromMap({{"__meta_filepath", "/x.json"}, {"team", "web"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->has_value());
  const ScrapeTarget& t = **r;
  EXPECT_EQ(t.url, "http://exporter:9115/probe?module=http_2xx&target=https%3A%2F%2Fexample.com%2Fa+b");
  EXPECT_EQ(t.PublicLabels(), Labels::FromMap({{"instance", "https://example.com/a b"},
                                               {"job", "blackbox"},
                                               {"team", "web"}}));
  EXPECT_FALSE(t.labels.Has("__meta_filepath"));
  EXPECT_EQ(t.labels.Get("__scrape_interval__"), "1s");
  EXPECT_EQ(t.labels.Get("__scrape_timeout__"), "500ms");
  EXPECT_EQ(t.labels.Get("__scheme__"), "http");
  EXPECT_EQ(t.discovered_labels.Get("__meta_filepath"), "/x.json");
  EXPECT_EQ(t.discovered_labels.Get("__param_module"), "http_2xx");
  EXPECT_EQ(t.interval_ms, 1000);
  EXPECT_EQ(t.timeout_ms, 500);
}

TEST(PopulateTargetTest, InstanceDefaultsToAddressAndTargetLabelsWin) {
  ScrapeConfig cfg = BaseConfig();
  auto r = PopulateTarget(cfg, Labels::FromMap({{"__address__", "h:1"}, {"env", "target"}}),
                          Labels::FromMap({{"env", "group"}, {"job", "custom"}}));
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->PublicLabels(),
            Labels::FromMap({{"env", "target"}, {"instance", "h:1"}, {"job", "custom"}}));
  EXPECT_EQ((*r)->url, "http://h:1/metrics");
}

TEST(PopulateTargetTest, DroppedAndInvalid) {
  ScrapeConfig cfg = BaseConfig();
  RelabelConfig drop;
  drop.action = RelabelAction::kDrop;
  drop.source_labels = {"__address__"};
  drop.regex = "skip:.*";
  ASSERT_TRUE(drop.Compile().ok());
  cfg.relabel_configs = {drop};
  auto r = PopulateTarget(cfg, Labels::FromMap({{"__address__", "skip:1"}}), {});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());

  ScrapeConfig plain = BaseConfig();
  EXPECT_NE(PopulateTarget(plain, Labels::FromMap({{"x", "y"}}), {}).status().message().find("no address"),
            std::string::npos);
  EXPECT_NE(PopulateTarget(plain, Labels::FromMap({{"__address__", "h:1/x"}}), {})
                .status().message().find("not a valid hostname"),
            std::string::npos);
  auto slow = PopulateTarget(plain, Labels::FromMap({{"__address__", "h:1"}}),
                             Labels::FromMap({{"__scrape_timeout__", "5s"}}));
  EXPECT_NE(slow.status().message().find("greater than scrape interval"), std::string::npos)
      << slow.status().ToString();
  auto bad = PopulateTarget(plain, Labels::FromMap({{"__address__", "h:1"}}),
                            Labels::FromMap({{"__scrape_interval__", "soon"}}));
  EXPECT_NE(bad.status().message().find("error parsing scrape interval"), std::string::npos);
  // A per-target interval from discovery is honoured.
  auto fast = PopulateTarget(plain, Labels::FromMap({{"__address__", "h:1"}}),
                             Labels::FromMap({{"__scrape_interval__", "200ms"},
                                              {"__scrape_timeout__", "100ms"}}));
  ASSERT_TRUE(fast.ok() && fast->has_value());
  EXPECT_EQ((*fast)->interval_ms, 200);
  EXPECT_EQ((*fast)->timeout_ms, 100);
}

// The page changes between scrapes; the target fails and recovers.
TEST(ScrapeLoopTest, SamplesStalenessAndFailures) {
  std::mutex mu;
  HttpResponse next;
  next.body =
      "# HELP a_total A counter.\n"
      "# TYPE a_total counter\n"
      "a_total{x=\"1\"} 10\n"
      "b 2\n"
      "c{job=\"exposed\"} 3\n";
  TestHttpServer server([&](const HttpRequest&) {
    std::lock_guard<std::mutex> l(mu);
    return next;
  });
  FakeStorage storage;
  ScrapeConfig cfg = BaseConfig();
  cfg.params["format"] = {"prometheus"};
  auto loop = MakeLoop(cfg, server.address(), &storage);

  loop->ScrapeOnce(1000);
  EXPECT_EQ(storage.Value("up", 1000), 1);
  auto a = storage.Find("a_total", 1000);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].labels, Labels::FromMap({{"__name__", "a_total"},
                                          {"env", "dev"},
                                          {"instance", server.address()},
                                          {"job", "test"},
                                          {"x", "1"}}));
  EXPECT_EQ(a[0].v, 10);
  EXPECT_EQ(storage.Value("b", 1000), 2);
  // A conflicting exposed label is kept as exported_<name>.
  auto c = storage.Find("c", 1000);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].labels.Get("job"), "test");
  EXPECT_EQ(c[0].labels.Get("exported_job"), "exposed");
  EXPECT_EQ(storage.Value("scrape_samples_scraped", 1000), 3);
  EXPECT_EQ(storage.Value("scrape_samples_post_metric_relabeling", 1000), 3);
  EXPECT_EQ(storage.Value("scrape_series_added", 1000), 3);
  EXPECT_GE(storage.Value("scrape_duration_seconds", 1000), 0);
  auto up = storage.Find("up", 1000);
  EXPECT_EQ(up[0].labels, Labels::FromMap({{"__name__", "up"},
                                           {"env", "dev"},
                                           {"instance", server.address()},
                                           {"job", "test"}}));
  // Metadata of the page and of the report series.
  auto md = storage.Metadata();
  auto a_md = std::find_if(md.begin(), md.end(),
                           [](const MetricMetadata& m) { return m.metric_family == "a_total"; });
  ASSERT_NE(a_md, md.end());
  EXPECT_EQ(a_md->type, MetricType::kCounter);
  EXPECT_EQ(a_md->help, "A counter.");
  size_t md_count = md.size();

  // The request Prometheus would send.
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/metrics?format=prometheus");
  EXPECT_EQ(reqs[0].headers["x-prometheus-scrape-timeout-seconds"], "0.5");
  EXPECT_EQ(reqs[0].headers["accept"],
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
            "application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.5,"
            "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,"
            "text/plain;version=0.0.4;escaping=allow-utf-8;q=0.3,*/*;q=0.2");
  EXPECT_NE(reqs[0].headers["accept-encoding"].find("gzip"), std::string::npos);

  // b disappears, d appears.
  {
    std::lock_guard<std::mutex> l(mu);
    next.body =
        "# HELP a_total A counter.\n"
        "# TYPE a_total counter\n"
        "a_total{x=\"1\"} 11\n"
        "c{job=\"exposed\"} 4\n"
        "d 5\n";
  }
  loop->ScrapeOnce(2000);
  EXPECT_EQ(storage.Value("up", 2000), 1);
  EXPECT_EQ(storage.Value("a_total", 2000), 11);
  EXPECT_TRUE(IsStaleNaN(storage.Value("b", 2000)));
  EXPECT_FALSE(HasStale(storage.Find("a_total")));
  EXPECT_EQ(storage.Value("scrape_series_added", 2000), 1);
  EXPECT_EQ(storage.Metadata().size(), md_count);  // unchanged metadata is not written again
  EXPECT_EQ(loop->Status().health, "up");
  EXPECT_EQ(loop->Status().last_scrape_ms, 2000);

  // The target fails: up=0 and every series of the last scrape goes stale.
  {
    std::lock_guard<std::mutex> l(mu);
    next.status = 500;
    next.reason = "Internal Server Error";
  }
  loop->ScrapeOnce(3000);
  EXPECT_EQ(storage.Value("up", 3000), 0);
  EXPECT_TRUE(IsStaleNaN(storage.Value("a_total", 3000)));
  EXPECT_TRUE(IsStaleNaN(storage.Value("c", 3000)));
  EXPECT_TRUE(IsStaleNaN(storage.Value("d", 3000)));
  EXPECT_TRUE(storage.Find("b", 3000).empty());  // already stale
  EXPECT_EQ(storage.Value("scrape_samples_scraped", 3000), 0);
  TargetStatus st = loop->Status();
  EXPECT_EQ(st.health, "down");
  EXPECT_EQ(st.last_error, "server returned HTTP status 500 Internal Server Error");

  // A second failure writes no new stale markers.
  loop->ScrapeOnce(4000);
  EXPECT_EQ(storage.Value("up", 4000), 0);
  EXPECT_TRUE(storage.Find("a_total", 4000).empty());

  // Recovery.
  {
    std::lock_guard<std::mutex> l(mu);
    next.status = 200;
  }
  loop->ScrapeOnce(5000);
  EXPECT_EQ(storage.Value("up", 5000), 1);
  EXPECT_EQ(storage.Value("d", 5000), 5);
  EXPECT_EQ(loop->Status().last_error, "");

  // The target goes away: its series and its report series get stale markers.
  loop->WriteEndOfRunStaleness(6000);
  EXPECT_TRUE(IsStaleNaN(storage.Value("d", 6000)));
  EXPECT_TRUE(IsStaleNaN(storage.Value("a_total", 6000)));
  EXPECT_TRUE(IsStaleNaN(storage.Value("up", 6000)));
  EXPECT_TRUE(IsStaleNaN(storage.Value("scrape_series_added", 6000)));
}

TEST(ScrapeLoopTest, TargetDownIsUpZeroWithStaleMarkers) {
  FakeStorage storage;
  ScrapeConfig cfg = BaseConfig();
  std::string address;
  std::unique_ptr<ScrapeLoop> loop;
  {
    TestHttpServer server([](const HttpRequest&) {
      HttpResponse r;
      r.body = "m 1\n";
      return r;
    });
    address = server.address();
    loop = MakeLoop(cfg, address, &storage);
    loop->ScrapeOnce(1000);
    EXPECT_EQ(storage.Value("m", 1000), 1);
  }
  // The server is gone: connection refused.
  loop->ScrapeOnce(2000);
  EXPECT_EQ(storage.Value("up", 2000), 0);
  EXPECT_TRUE(IsStaleNaN(storage.Value("m", 2000)));
  TargetStatus st = loop->Status();
  EXPECT_EQ(st.health, "down");
  EXPECT_NE(st.last_error.find("http://" + address + "/metrics"), std::string::npos) << st.last_error;
}

TEST(ScrapeLoopTest, TimeoutFailsTheScrape) {
  TestHttpServer server([](const HttpRequest&) {
    HttpResponse r;
    r.body = "m 1\n";
    r.delay_ms = 1500;
    return r;
  });
  FakeStorage storage;
  ScrapeConfig cfg = BaseConfig();
  cfg.scrape_timeout_ms = 200;
  auto loop = MakeLoop(cfg, server.address(), &storage);
  auto start = std::chrono::steady_clock::now();
  loop->ScrapeOnce(1000);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::milliseconds(1200));
  EXPECT_EQ(storage.Value("up", 1000), 0);
  EXPECT_TRUE(storage.Find("m").empty());
  EXPECT_LT(storage.Value("scrape_duration_seconds", 1000), 1.2);
}

TEST(ScrapeLoopTest, HonorLabels) {
  TestHttpServer server([](const HttpRequest&) {
    HttpResponse r;
    r.body = "m{job=\"pushed\",instance=\"origin\"} 1\nn 2\n";
    return r;
  });
  FakeStorage storage;
  ScrapeConfig cfg = BaseConfig();
  cfg.honor_labels = true;
  auto loop = MakeLoop(cfg, server.address(), &storage);
  loop->ScrapeOnce(1000);
  auto m = storage.Find("m", 1000);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].labels, Labels::FromMap({{"__name__", "m"},
                                          {"env", "dev"},
                                          {"instance", "origin"},
                                          {"job", "pushed"}}));
  auto n = storage.Find("n", 1000);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].labels.Get("job"), "test");
  // Report series always carry the target's labels.
  EXPECT_EQ(storage.Find("up", 1000)[0].labels.Get("job"), "test");
}

TEST(ScrapeLoopTest, ExportedLabelCollisionsChain) {
  TestHttpServer server([](const HttpRequest&) {
    HttpResponse r;
    r.body = "m{job=\"a\",exported_job=\"b\"} 1\n";
    return r;
  });
  FakeStorage storage;
  auto loop = MakeLoop(BaseConfig(), server.address(), &storage);
  loop->ScrapeOnce(1000);
  auto m = storage.Find("m", 1000);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].labels.Get("job"), "test");
  EXPECT_EQ(m[0].labels.Get("exported_job"), "b");
  EXPECT_EQ(m[0].labels.Get("exported_exported_job"), "a");
}

TEST(ScrapeLoopTest, HonorTimestamps) {
  TestHttpServer server([](const HttpRequest&) {
    HttpResponse r;
    r.body = "with_ts 1 123456\nwithout_ts 2\n";
    return r;
  });
  FakeStorage storage;
  {
    auto loop = MakeLoop(BaseConfig(), server.address(), &storage);
    loop->ScrapeOnce(1000);
    EXPECT_EQ(storage.Find("with_ts", 123456).size(), 1u);
    EXPECT_EQ(storage.Find("without_ts", 1000).size(), 1u);
  }
  ScrapeConfig cfg = BaseConfig();
  cfg.honor_timestamps = false;
  auto loop = MakeLoop(cfg, server.address(), &storage);
  loop->ScrapeOnce(2000);
  EXPECT_EQ(storage.Find("with_ts", 2000).size(), 1u);
}

TEST(ScrapeLoopTest, ExplicitTimestampsAreNotStaleTracked) {
  std::atomic<bool> fail{false};
  TestHttpServer server([&](const HttpRequest&) {
    HttpResponse r;
    r.body = "with_ts 1 123456\nwithout_ts 2\n";
    if (fail) r.status = 503;
    return r;
  });
  FakeStorage storage;
  auto loop = MakeLoop(BaseConfig(), server.address(), &storage);
  loop->ScrapeOnce(1000);
  fail = true;
  loop->ScrapeOnce(2000);
  EXPECT_TRUE(IsStaleNaN(storage.Value("without_ts", 2000)));
  EXPECT_TRUE(storage.Find("with_ts", 2000).empty());

  ScrapeConfig cfg = BaseConfig();
  cfg.track_timestamps_staleness = true;
  fail = false;
  auto tracked = MakeLoop(cfg, server.address(), &storage);
  tracked->ScrapeOnce(3000);
  fail = true;
  tracked->ScrapeOnce(4000);
  EXPECT_TRUE(IsStaleNaN(storage.Value("with_ts", 4000)));
}

TEST(ScrapeLoopTest, MetricRelabelingAndDuplicates) {
  TestHttpServer server([](const HttpRequest&) {
    HttpResponse r;
    r.body = "go_goroutines 8\nkeep_me{path=\"/a\"} 1\nkeep_me{path=\"/a\"} 2\nother 3\n";
    return r;
  });
  FakeStorage storage;
  ScrapeConfig cfg = BaseConfig();
  RelabelConfig drop;
  drop.action = RelabelAction::kDrop;
  drop.source_labels = {"__name__"};
  drop.regex = "go_.*";
  ASSERT_TRUE(drop.Compile().ok());
  RelabelConfig rename;
  rename.source_labels = {"path"};
  rename.target_label = "route";
  ASSERT_TRUE(rename.Compile().ok());
  cfg.metric_relabel_configs = {drop, rename};
  auto loop = MakeLoop(cfg, server.address(), &storage);
  loop->ScrapeOnce(1000);
  loop->ScrapeOnce(2000);  // the second scrape runs from the label cache
  for (int64_t t : {1000, 2000}) {
    EXPECT_TRUE(storage.Find("go_goroutines", t).empty());
    auto k = storage.Find("keep_me", t);
    ASSERT_EQ(k.size(), 1u) << "duplicate series in one page: only the first is kept";
    EXPECT_EQ(k[0].v, 1);
    EXPECT_EQ(k[0].labels.Get("route"), "/a");
    EXPECT_EQ(storage.Value("scrape_samples_scraped", t), 4);
    EXPECT_EQ(storage.Value("scrape_samples_post_metric_relabeling", t), 3);
    EXPECT_EQ(storage.Value("up", t), 1);
  }
  EXPECT_EQ(storage.Value("scrape_series_added", 2000), 0);
}

TEST(ScrapeLoopTest, SampleLimitFailsTheScrape) {
  std::atomic<int> n{2};
  TestHttpServer server([&](const HttpRequest&) {
    HttpResponse r;
    for (int i = 0; i < n; ++i) r.body += "m" + std::to_string(i) + " 1\n";
    return r;
  });
  FakeStorage storage;
  ScrapeConfig cfg = BaseConfig();
  cfg.sample_limit = 3;
  auto loop = MakeLoop(cfg, server.address(), &storage);
  loop->ScrapeOnce(1000);
  EXPECT_EQ(storage.Value("up", 1000), 1);
  n = 5;
  loop->ScrapeOnce(2000);
  EXPECT_EQ(storage.Value("up", 2000), 0);
  EXPECT_EQ(storage.Value("scrape_samples_scraped", 2000), 5);
  EXPECT_TRUE(storage.Find("m2", 2000).empty());  // rolled back
  EXPECT_TRUE(IsStaleNaN(storage.Value("m0", 2000)));
  EXPECT_EQ(loop->Status().last_error, "sample limit exceeded");
  EXPECT_GE(storage.rollbacks(), 1);
}

TEST(ScrapeLoopTest, ParseErrorRollsBackThePage) {
  std::atomic<bool> broken{false};
  TestHttpServer server([&](const HttpRequest&) {
    HttpResponse r;
    r.body = broken ? "a 1\nb 2\nc{oops 3\n" : "a 1\nb 2\n";
    return r;
  });
  FakeStorage storage;
  auto loop = MakeLoop(BaseConfig(), server.address(), &storage);
  loop->ScrapeOnce(1000);
  broken = true;
  loop->ScrapeOnce(2000);
  EXPECT_EQ(storage.Value("up", 2000), 0);
  EXPECT_TRUE(IsStaleNaN(storage.Value("a", 2000)));  // only the stale marker, not the value
  EXPECT_EQ(storage.Find("a", 2000).size(), 1u);
  EXPECT_NE(loop->Status().last_error.find("line 3"), std::string::npos) << loop->Status().last_error;
}

TEST(ScrapeLoopTest, OpenMetricsGzipAndExemplars) {
  TestHttpServer server([](const HttpRequest&) {
    HttpResponse r;
    r.content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    r.gzip_if_accepted = true;
    r.body =
        "# TYPE req counter\n"
        "req_total 7 # {trace_id=\"abc\"} 1.5\n"
        "req_created 1600000000\n"
        "# EOF\n";
    return r;
  });
  FakeStorage storage;
  auto loop = MakeLoop(BaseConfig(), server.address(), &storage);
  loop->ScrapeOnce(1000);
  EXPECT_EQ(storage.Value("up", 1000), 1);
  EXPECT_EQ(storage.Value("req_total", 1000), 7);
  EXPECT_EQ(storage.Value("req_created", 1000), 1600000000);
  auto ex = storage.Exemplars();
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].first.MetricName(), "req_total");
  EXPECT_EQ(ex[0].second.labels, Labels::FromMap({{"trace_id", "abc"}}));
  EXPECT_EQ(ex[0].second.value, 1.5);
  EXPECT_EQ(ex[0].second.t_ms, 1000);  // no own timestamp: the scrape's
  auto md = storage.Metadata();
  EXPECT_TRUE(std::any_of(md.begin(), md.end(), [](const MetricMetadata& m) {
    return m.metric_family == "req" && m.type == MetricType::kCounter;
  }));
  EXPECT_EQ(server.requests()[0].headers["accept-encoding"], "gzip");

  // With compression disabled the server sends plain text and we ask for identity.
  ScrapeConfig plain = BaseConfig();
  plain.enable_compression = false;
  auto loop2 = MakeLoop(plain, server.address(), &storage);
  loop2->ScrapeOnce(2000);
  EXPECT_EQ(storage.Value("req_total", 2000), 7);
  EXPECT_EQ(server.requests()[1].headers["accept-encoding"], "identity");
}

TEST(ScrapeLoopTest, ContentTypeFallback) {
  TestHttpServer server([](const HttpRequest& req) {
    HttpResponse r;
    r.content_type = req.target.find("none") != std::string::npos ? "" : "application/json";
    r.body = "m 1\n";
    return r;
  });
  FakeStorage storage;
  ScrapeConfig cfg = BaseConfig();
  auto loop = MakeLoop(cfg, server.address(), &storage);
  loop->ScrapeOnce(1000);
  EXPECT_EQ(storage.Value("up", 1000), 0);
  EXPECT_NE(loop->Status().last_error.find("unsupported Content-Type \"application/json\""),
            std::string::npos);

  cfg.fallback_scrape_protocol = ExpositionFormat::kPrometheusText;
  auto fallback = MakeLoop(cfg, server.address(), &storage);
  fallback->ScrapeOnce(2000);
  EXPECT_EQ(storage.Value("m", 2000), 1);

  ScrapeConfig none = BaseConfig();
  none.metrics_path = "/none";
  auto no_type = MakeLoop(none, server.address(), &storage);
  no_type->ScrapeOnce(3000);
  EXPECT_EQ(storage.Value("m", 3000), 1);  // a missing Content-Type is read as text
}

TEST(ScrapeLoopTest, LabelLimits) {
  TestHttpServer server([](const HttpRequest&) {
    HttpResponse r;
    r.body = "m{a=\"1\",b=\"2\",c=\"3\"} 1\n";
    return r;
  });
  FakeStorage storage;
  ScrapeConfig cfg = BaseConfig();
  cfg.label_limit = 4;  // __name__, a, b, c + env, instance, job = 7
  auto loop = MakeLoop(cfg, server.address(), &storage);
  loop->ScrapeOnce(1000);
  EXPECT_EQ(storage.Value("up", 1000), 0);
  EXPECT_NE(loop->Status().last_error.find("label_limit exceeded"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// The manager, end to end with real threads and short intervals.

bool WaitFor(const std::function<bool()>& cond, int timeout_ms = 5000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

ScrapeConfig FastConfig(const std::string& job, const std::string& address) {
  ScrapeConfig c;
  c.job_name = job;
  c.scrape_interval_ms = 100;
  c.scrape_timeout_ms = 80;
  StaticConfig sc;
  sc.targets = {address};
  c.static_configs = {sc};
  return c;
}

TEST(ScrapeManagerTest, ScrapesAndWritesEndOfRunStaleness) {
  TestHttpServer server([](const HttpRequest&) {
    HttpResponse r;
    r.body = "m 1\n";
    return r;
  });
  FakeStorage storage;
  ScrapeManager m(storage.Factory());
  ASSERT_TRUE(m.ApplyConfig({FastConfig("fast", server.address())}).ok());
  ASSERT_TRUE(WaitFor([&] { return storage.Find("m").size() >= 2; }));
  auto targets = m.Targets();
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].scrape_pool, "fast");
  EXPECT_EQ(targets[0].health, "up");
  EXPECT_EQ(targets[0].labels,
            Labels::FromMap({{"instance", server.address()}, {"job", "fast"}}));
  EXPECT_EQ(targets[0].scrape_url, "http://" + server.address() + "/metrics");
  EXPECT_GT(targets[0].last_scrape_ms, 0);

  // Samples are spaced by the interval (loosely: the test machine may be busy).
  auto ms = storage.Find("m");
  EXPECT_GE(ms[1].t_ms - ms[0].t_ms, 50);
  EXPECT_LE(ms[1].t_ms - ms[0].t_ms, 400);

  // Removing the job: after about two intervals, stale markers for m and up.
  ASSERT_TRUE(m.ApplyConfig({}).ok());
  EXPECT_TRUE(m.Targets().empty());
  ASSERT_TRUE(WaitFor([&] { return HasStale(storage.Find("m")) && HasStale(storage.Find("up")); }));
  m.Stop();
}

TEST(ScrapeManagerTest, StopWritesNoStaleMarkers) {
  TestHttpServer server([](const HttpRequest&) {
    HttpResponse r;
    r.body = "m 1\n";
    return r;
  });
  FakeStorage storage;
  {
    ScrapeManager m(storage.Factory());
    ASSERT_TRUE(m.ApplyConfig({FastConfig("fast", server.address())}).ok());
    ASSERT_TRUE(WaitFor([&] { return !storage.Find("m").empty(); }));
    m.Stop();
    EXPECT_FALSE(m.ApplyConfig({}).ok());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(HasStale(storage.All()));
}

TEST(ScrapeManagerTest, ReloadKeepsStalenessTracking) {
  TestHttpServer server([](const HttpRequest&) {
    HttpResponse r;
    r.body = "keep 1\ngo_away 2\n";
    return r;
  });
  FakeStorage storage;
  ScrapeManager m(storage.Factory());
  ScrapeConfig cfg = FastConfig("job", server.address());
  ASSERT_TRUE(m.ApplyConfig({cfg}).ok());
  ASSERT_TRUE(WaitFor([&] { return !storage.Find("go_away").empty(); }));
  // Same target, new metric relabeling: the new loop marks the dropped series stale.
  RelabelConfig drop;
  drop.action = RelabelAction::kDrop;
  drop.source_labels = {"__name__"};
  drop.regex = "go_away";
  ASSERT_TRUE(drop.Compile().ok());
  cfg.metric_relabel_configs = {drop};
  ASSERT_TRUE(m.ApplyConfig({cfg}).ok());
  ASSERT_TRUE(WaitFor([&] { return HasStale(storage.Find("go_away")); }));
  EXPECT_FALSE(HasStale(storage.Find("keep")));
  EXPECT_FALSE(HasStale(storage.Find("up")));
  // Applying the same config again changes nothing.
  ASSERT_TRUE(m.ApplyConfig({cfg}).ok());
  EXPECT_EQ(m.Targets().size(), 1u);
  m.Stop();
}

TEST(ScrapeManagerTest, FileSdTargetsFollowTheFile) {
  TestHttpServer s1([](const HttpRequest&) {
    HttpResponse r;
    r.body = "from_one 1\n";
    return r;
  });
  TestHttpServer s2([](const HttpRequest&) {
    HttpResponse r;
    r.body = "from_two 2\n";
    return r;
  });
  char tmpl[] = "/tmp/argus_scrape_sd_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string file = dir + "/targets.json";
  ASSERT_TRUE(WriteFileAtomic(file, "[{\"targets\": [\"" + s1.address() +
                                        "\"], \"labels\": {\"rack\": \"r1\"}}]")
                  .ok());
  FakeStorage storage;
  ScrapeManager::Options opts;
  opts.sd_check_interval_ms = 20;
  ScrapeManager m(storage.Factory(), opts);
  ScrapeConfig cfg;
  cfg.job_name = "sd";
  cfg.scrape_interval_ms = 100;
  cfg.scrape_timeout_ms = 80;
  FileSdConfig fc;
  fc.files = {dir + "/*.json"};
  cfg.file_sd_configs = {fc};
  RelabelConfig drop;
  drop.action = RelabelAction::kDrop;
  drop.source_labels = {"rack"};
  drop.regex = "r9";
  ASSERT_TRUE(drop.Compile().ok());
  cfg.relabel_configs = {drop};
  ASSERT_TRUE(m.ApplyConfig({cfg}).ok());
  auto targets = m.Targets();  // the file was read before ApplyConfig returned
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].labels.Get("rack"), "r1");
  EXPECT_EQ(targets[0].discovered_labels.Get("__meta_filepath"), file);
  ASSERT_TRUE(WaitFor([&] { return !storage.Find("from_one").empty(); }));

  ASSERT_TRUE(WriteFileAtomic(file, "[{\"targets\": [\"" + s2.address() +
                                        "\"], \"labels\": {\"rack\": \"r2\"}},"
                                        " {\"targets\": [\"dropped:1\"], \"labels\": {\"rack\": \"r9\"}}]")
                  .ok());
  ASSERT_TRUE(WaitFor([&] {
    auto t = m.Targets();
    return t.size() == 1 && t[0].labels.Get("rack") == "r2";
  }));
  ASSERT_TRUE(WaitFor([&] { return !storage.Find("from_two").empty(); }));
  auto dropped = m.DroppedTargets();
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].discovered_labels.Get("__address__"), "dropped:1");
  // The old target's series go stale after it disappeared.
  ASSERT_TRUE(WaitFor([&] { return HasStale(storage.Find("from_one")); }));
  m.Stop();
  RemoveAll(dir).IgnoreError();
}

}  // namespace
}  // namespace argus::ingest
