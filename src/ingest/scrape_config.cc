#include "ingest/scrape_config.h"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <set>

namespace argus::ingest {

namespace {

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

Status FieldError(std::string_view field, const Status& st) {
  return Status::InvalidArgument(std::string(field) + ": " + st.message());
}

Result<std::string> AsString(const YAML::Node& n, std::string_view field) {
  if (!n.IsScalar()) return Status::InvalidArgument(std::string(field) + ": expected a string");
  return n.as<std::string>();
}

Result<bool> AsBool(const YAML::Node& n, std::string_view field) {
  bool v = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
    return Status::InvalidArgument(std::string(field) + ": expected true or false");
  }
  return v;
}

Result<int64_t> AsInt(const YAML::Node& n, std::string_view field) {
  if (!n.IsScalar()) return Status::InvalidArgument(std::string(field) + ": expected an integer");
  const std::string& s = n.Scalar();
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) {
    return Status::InvalidArgument(std::string(field) + ": expected a non-negative integer, got " +
                                   Quoted(s));
  }
  return v;
}

Result<int64_t> AsDuration(const YAML::Node& n, std::string_view field) {
  if (!n.IsScalar()) return Status::InvalidArgument(std::string(field) + ": expected a duration");
  Result<int64_t> d = ParsePromDuration(n.Scalar());
  if (!d.ok()) return FieldError(field, d.status());
  return *d;
}

Result<std::vector<std::string>> AsStringList(const YAML::Node& n, std::string_view field) {
  std::vector<std::string> out;
  if (n.IsNull()) return out;
  if (!n.IsSequence()) {
    return Status::InvalidArgument(std::string(field) + ": expected a list of strings");
  }
  for (const auto& e : n) {
    if (!e.IsScalar()) {
      return Status::InvalidArgument(std::string(field) + ": expected a list of strings");
    }
    out.push_back(e.as<std::string>());
  }
  return out;
}

// A mapping of label names to values, validated.
Result<Labels> AsLabels(const YAML::Node& n, std::string_view field) {
  if (n.IsNull()) return Labels();
  if (!n.IsMap()) return Status::InvalidArgument(std::string(field) + ": expected a mapping");
  std::vector<Label> ls;
  for (const auto& kv : n) {
    std::string name = kv.first.as<std::string>();
    if (!kv.second.IsScalar() && !kv.second.IsNull()) {
      return Status::InvalidArgument(std::string(field) + ": value of " + Quoted(name) +
                                     " must be a string");
    }
    std::string value = kv.second.IsNull() ? "" : kv.second.as<std::string>();
    if (name.empty() || !IsValidUtf8(name)) {
      return Status::InvalidArgument(std::string(field) + ": invalid label name " + Quoted(name));
    }
    if (!IsValidUtf8(value)) {
      return Status::InvalidArgument(std::string(field) + ": invalid UTF-8 in value of " +
                                     Quoted(name));
    }
    ls.push_back({std::move(name), std::move(value)});
  }
  Result<Labels> out = Labels::FromUnsorted(std::move(ls));
  if (!out.ok()) return FieldError(field, out.status());
  return out;
}

Status CheckKeys(const YAML::Node& n, std::string_view where,
                 std::initializer_list<std::string_view> known,
                 std::initializer_list<std::string_view> ignored = {}) {
  for (const auto& kv : n) {
    std::string key = kv.first.as<std::string>();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    bool is_sd = key.size() > 11 && key.ends_with("_sd_configs");
    if (is_sd || std::find(ignored.begin(), ignored.end(), key) != ignored.end()) {
      spdlog::warn("{}: field \"{}\" is not supported by Argus yet and is ignored", where, key);
      continue;
    }
    return Status::InvalidArgument(std::string(where) + ": unknown field " + Quoted(key));
  }
  return Status::OK();
}

std::string JoinPath(const std::string& dir, const std::string& p) {
  if (dir.empty() || p.empty() || p[0] == '/') return p;
  return dir.back() == '/' ? dir + p : dir + "/" + p;
}

// Prometheus' CheckTargetAddress: a target is host:port, without a path.
Status CheckTargetAddress(std::string_view t) {
  if (t.empty()) return Status::InvalidArgument("empty target address");
  if (t.find('/') != std::string_view::npos) {
    return Status::InvalidArgument(Quoted(t) + " is not a valid hostname");
  }
  return Status::OK();
}

Result<RelabelConfig> ParseRelabelConfig(const YAML::Node& n) {
  if (!n.IsMap()) return Status::InvalidArgument("expected a mapping");
  RETURN_IF_ERROR(CheckKeys(n, "relabel config",
                            {"source_labels", "separator", "regex", "modulus", "target_label",
                             "replacement", "action"}));
  RelabelConfig c;
  if (n["source_labels"]) {
    ASSIGN_OR_RETURN(c.source_labels, AsStringList(n["source_labels"], "source_labels"));
  }
  if (n["separator"]) { ASSIGN_OR_RETURN(c.separator, AsString(n["separator"], "separator")); }
  if (n["regex"]) { ASSIGN_OR_RETURN(c.regex, AsString(n["regex"], "regex")); }
  if (n["modulus"]) {
    ASSIGN_OR_RETURN(int64_t m, AsInt(n["modulus"], "modulus"));
    c.modulus = static_cast<uint64_t>(m);
  }
  if (n["target_label"]) {
    ASSIGN_OR_RETURN(c.target_label, AsString(n["target_label"], "target_label"));
  }
  if (n["replacement"]) {
    ASSIGN_OR_RETURN(c.replacement, AsString(n["replacement"], "replacement"));
  }
  if (n["action"]) {
    ASSIGN_OR_RETURN(std::string a, AsString(n["action"], "action"));
    ASSIGN_OR_RETURN(c.action, ParseRelabelAction(a));
  }
  RETURN_IF_ERROR(c.Compile());
  return c;
}

Result<std::vector<RelabelConfig>> ParseRelabelConfigsImpl(const YAML::Node& node) {
  std::vector<RelabelConfig> out;
  if (!node || node.IsNull()) return out;
  if (!node.IsSequence()) return Status::InvalidArgument("expected a list of relabel configs");
  for (size_t i = 0; i < node.size(); ++i) {
    Result<RelabelConfig> c = ParseRelabelConfig(node[i]);
    if (!c.ok()) return c.status().WithContext("[" + std::to_string(i) + "]");
    out.push_back(std::move(*c));
  }
  return out;
}

Result<StaticConfig> ParseStaticConfig(const YAML::Node& n) {
  if (!n.IsMap()) return Status::InvalidArgument("expected a mapping");
  RETURN_IF_ERROR(CheckKeys(n, "static_config", {"targets", "labels"}));
  StaticConfig sc;
  if (n["targets"]) { ASSIGN_OR_RETURN(sc.targets, AsStringList(n["targets"], "targets")); }
  for (const std::string& t : sc.targets) {
    Status st = CheckTargetAddress(t);
    if (!st.ok()) return FieldError("targets", st);
  }
  if (n["labels"]) { ASSIGN_OR_RETURN(sc.labels, AsLabels(n["labels"], "labels")); }
  return sc;
}

Result<FileSdConfig> ParseFileSdConfig(const YAML::Node& n, const std::string& config_dir) {
  if (!n.IsMap()) return Status::InvalidArgument("expected a mapping");
  RETURN_IF_ERROR(CheckKeys(n, "file_sd_config", {"files", "refresh_interval"}));
  FileSdConfig fc;
  if (n["files"]) { ASSIGN_OR_RETURN(fc.files, AsStringList(n["files"], "files")); }
  if (fc.files.empty()) return Status::InvalidArgument("files: file service discovery config must contain at least one path name");
  for (std::string& f : fc.files) {
    std::string base = f.substr(f.find_last_of('/') == std::string::npos ? 0 : f.find_last_of('/') + 1);
    bool ok_ext = base.ends_with(".json") || base.ends_with(".yml") || base.ends_with(".yaml") ||
                  base.ends_with(".JSON") || base.ends_with(".YML") || base.ends_with(".YAML");
    size_t star = f.find('*');
    if (!ok_ext || (star != std::string::npos && f.find('/', star) != std::string::npos)) {
      return Status::InvalidArgument("files: path name " + Quoted(f) +
                                     " is not valid for file discovery (only .json, .yml and "
                                     ".yaml files, '*' only in the last path element)");
    }
    f = JoinPath(config_dir, f);
  }
  if (n["refresh_interval"]) {
    ASSIGN_OR_RETURN(fc.refresh_interval_ms, AsDuration(n["refresh_interval"], "refresh_interval"));
    if (fc.refresh_interval_ms <= 0) return Status::InvalidArgument("refresh_interval: must be positive");
  }
  return fc;
}

Result<ExpositionFormat> ParseProtocol(std::string_view p) {
  if (p == "OpenMetricsText1.0.0" || p == "OpenMetricsText0.0.1") return ExpositionFormat::kOpenMetrics;
  if (p == "PrometheusText1.0.0" || p == "PrometheusText0.0.4") return ExpositionFormat::kPrometheusText;
  return Status::InvalidArgument("unknown scrape protocol " + Quoted(p) +
                                 " (supported: OpenMetricsText1.0.0, OpenMetricsText0.0.1, "
                                 "PrometheusText1.0.0, PrometheusText0.0.4)");
}

Result<ScrapeConfig> ParseOne(const YAML::Node& n, int64_t global_interval_ms,
                              int64_t global_timeout_ms, const std::string& config_dir) {
  if (!n.IsMap()) return Status::InvalidArgument("expected a mapping");
  RETURN_IF_ERROR(CheckKeys(
      n, "scrape_config",
      {"job_name", "scrape_interval", "scrape_timeout", "metrics_path", "scheme", "honor_labels",
       "honor_timestamps", "track_timestamps_staleness", "params", "static_configs",
       "file_sd_configs", "relabel_configs", "metric_relabel_configs", "sample_limit",
       "label_limit", "label_name_length_limit", "label_value_length_limit", "body_size_limit",
       "enable_compression", "follow_redirects", "basic_auth", "authorization", "bearer_token",
       "bearer_token_file", "proxy_url", "tls_config", "scrape_protocols",
       "fallback_scrape_protocol", "enable_http2"},
      {"oauth2", "no_proxy", "proxy_from_environment", "proxy_connect_header", "http_headers",
       "target_limit", "keep_dropped_targets", "metric_name_validation_scheme",
       "metric_name_escaping_scheme", "scrape_classic_histograms",
       "always_scrape_classic_histograms", "native_histogram_bucket_limit",
       "native_histogram_min_bucket_factor", "convert_classic_histograms_to_nhcb",
       "scrape_failure_log_file"}));
  ScrapeConfig c;
  if (!n["job_name"]) return Status::InvalidArgument("job_name is empty");
  ASSIGN_OR_RETURN(c.job_name, AsString(n["job_name"], "job_name"));
  if (c.job_name.empty()) return Status::InvalidArgument("job_name is empty");
  auto body = [&]() -> Status {
    if (n["scrape_interval"]) {
      ASSIGN_OR_RETURN(c.scrape_interval_ms, AsDuration(n["scrape_interval"], "scrape_interval"));
    }
    if (n["scrape_timeout"]) {
      ASSIGN_OR_RETURN(c.scrape_timeout_ms, AsDuration(n["scrape_timeout"], "scrape_timeout"));
    }
    if (c.scrape_interval_ms == 0) c.scrape_interval_ms = global_interval_ms;
    if (c.scrape_timeout_ms > c.scrape_interval_ms) {
      return Status::InvalidArgument("scrape_timeout: scrape timeout greater than scrape interval");
    }
    if (c.scrape_timeout_ms == 0) {
      c.scrape_timeout_ms = std::min(global_timeout_ms, c.scrape_interval_ms);
    }
    if (c.scrape_interval_ms <= 0) return Status::InvalidArgument("scrape_interval: must be positive");
    if (n["metrics_path"]) {
      ASSIGN_OR_RETURN(c.metrics_path, AsString(n["metrics_path"], "metrics_path"));
    }
    if (n["scheme"]) {
      ASSIGN_OR_RETURN(c.scheme, AsString(n["scheme"], "scheme"));
      if (c.scheme != "http" && c.scheme != "https") {
        return Status::InvalidArgument("scheme: must be http or https, got " + Quoted(c.scheme));
      }
    }
    if (n["honor_labels"]) { ASSIGN_OR_RETURN(c.honor_labels, AsBool(n["honor_labels"], "honor_labels")); }
    if (n["honor_timestamps"]) {
      ASSIGN_OR_RETURN(c.honor_timestamps, AsBool(n["honor_timestamps"], "honor_timestamps"));
    }
    if (n["track_timestamps_staleness"]) {
      ASSIGN_OR_RETURN(c.track_timestamps_staleness,
                       AsBool(n["track_timestamps_staleness"], "track_timestamps_staleness"));
    }
    if (const YAML::Node p = n["params"]; p && !p.IsNull()) {
      if (!p.IsMap()) return Status::InvalidArgument("params: expected a mapping");
      for (const auto& kv : p) {
        std::string key = kv.first.as<std::string>();
        ASSIGN_OR_RETURN(c.params[key], AsStringList(kv.second, "params." + key));
      }
    }
    if (const YAML::Node s = n["static_configs"]; s && !s.IsNull()) {
      if (!s.IsSequence()) return Status::InvalidArgument("static_configs: expected a list");
      for (size_t i = 0; i < s.size(); ++i) {
        Result<StaticConfig> sc = ParseStaticConfig(s[i]);
        if (!sc.ok()) return sc.status().WithContext("static_configs[" + std::to_string(i) + "]");
        c.static_configs.push_back(std::move(*sc));
      }
    }
    if (const YAML::Node s = n["file_sd_configs"]; s && !s.IsNull()) {
      if (!s.IsSequence()) return Status::InvalidArgument("file_sd_configs: expected a list");
      for (size_t i = 0; i < s.size(); ++i) {
        Result<FileSdConfig> fc = ParseFileSdConfig(s[i], config_dir);
        if (!fc.ok()) return fc.status().WithContext("file_sd_configs[" + std::to_string(i) + "]");
        c.file_sd_configs.push_back(std::move(*fc));
      }
    }
    {
      Result<std::vector<RelabelConfig>> r = ParseRelabelConfigsImpl(n["relabel_configs"]);
      if (!r.ok()) return r.status().WithContext("relabel_configs");
      c.relabel_configs = std::move(*r);
    }
    {
      Result<std::vector<RelabelConfig>> r = ParseRelabelConfigsImpl(n["metric_relabel_configs"]);
      if (!r.ok()) return r.status().WithContext("metric_relabel_configs");
      c.metric_relabel_configs = std::move(*r);
    }
    if (n["sample_limit"]) { ASSIGN_OR_RETURN(c.sample_limit, AsInt(n["sample_limit"], "sample_limit")); }
    if (n["label_limit"]) { ASSIGN_OR_RETURN(c.label_limit, AsInt(n["label_limit"], "label_limit")); }
    if (n["label_name_length_limit"]) {
      ASSIGN_OR_RETURN(c.label_name_length_limit,
                       AsInt(n["label_name_length_limit"], "label_name_length_limit"));
    }
    if (n["label_value_length_limit"]) {
      ASSIGN_OR_RETURN(c.label_value_length_limit,
                       AsInt(n["label_value_length_limit"], "label_value_length_limit"));
    }
    if (n["body_size_limit"]) {
      ASSIGN_OR_RETURN(std::string s, AsString(n["body_size_limit"], "body_size_limit"));
      Result<int64_t> b = ParseByteSize(s);
      if (!b.ok()) return FieldError("body_size_limit", b.status());
      c.body_size_limit_bytes = *b;
    }
    if (n["enable_compression"]) {
      ASSIGN_OR_RETURN(c.enable_compression, AsBool(n["enable_compression"], "enable_compression"));
    }
    if (n["follow_redirects"]) {
      ASSIGN_OR_RETURN(c.follow_redirects, AsBool(n["follow_redirects"], "follow_redirects"));
    }
    if (n["enable_http2"]) { ASSIGN_OR_RETURN(bool unused, AsBool(n["enable_http2"], "enable_http2")); (void)unused; }
    if (const YAML::Node b = n["basic_auth"]; b && !b.IsNull()) {
      if (!b.IsMap()) return Status::InvalidArgument("basic_auth: expected a mapping");
      RETURN_IF_ERROR(CheckKeys(b, "basic_auth", {"username", "password", "password_file"}));
      if (b["username"]) { ASSIGN_OR_RETURN(c.basic_auth_username, AsString(b["username"], "basic_auth.username")); }
      if (b["password"]) { ASSIGN_OR_RETURN(c.basic_auth_password, AsString(b["password"], "basic_auth.password")); }
      if (b["password_file"]) {
        ASSIGN_OR_RETURN(std::string f, AsString(b["password_file"], "basic_auth.password_file"));
        c.basic_auth_password_file = JoinPath(config_dir, f);
      }
      if (!c.basic_auth_password.empty() && !c.basic_auth_password_file.empty()) {
        return Status::InvalidArgument("basic_auth: at most one of password and password_file must be configured");
      }
    }
    if (const YAML::Node a = n["authorization"]; a && !a.IsNull()) {
      if (!a.IsMap()) return Status::InvalidArgument("authorization: expected a mapping");
      RETURN_IF_ERROR(CheckKeys(a, "authorization", {"type", "credentials", "credentials_file"}));
      if (a["type"]) { ASSIGN_OR_RETURN(c.authorization_type, AsString(a["type"], "authorization.type")); }
      if (c.authorization_type.empty()) c.authorization_type = "Bearer";
      if (c.authorization_type == "basic" || c.authorization_type == "Basic") {
        return Status::InvalidArgument("authorization: type Basic is not allowed, use basic_auth");
      }
      if (a["credentials"]) {
        ASSIGN_OR_RETURN(c.authorization_credentials, AsString(a["credentials"], "authorization.credentials"));
      }
      if (a["credentials_file"]) {
        ASSIGN_OR_RETURN(std::string f, AsString(a["credentials_file"], "authorization.credentials_file"));
        c.authorization_credentials_file = JoinPath(config_dir, f);
      }
    }
    if (n["bearer_token"]) {
      ASSIGN_OR_RETURN(c.authorization_credentials, AsString(n["bearer_token"], "bearer_token"));
    }
    if (n["bearer_token_file"]) {
      ASSIGN_OR_RETURN(std::string f, AsString(n["bearer_token_file"], "bearer_token_file"));
      c.authorization_credentials_file = JoinPath(config_dir, f);
    }
    if (!c.authorization_credentials.empty() && !c.authorization_credentials_file.empty()) {
      return Status::InvalidArgument("authorization: at most one of credentials and credentials_file must be configured");
    }
    bool has_auth = !c.authorization_credentials.empty() || !c.authorization_credentials_file.empty();
    if (has_auth && !c.basic_auth_username.empty()) {
      return Status::InvalidArgument("at most one of basic_auth and authorization must be configured");
    }
    if (n["proxy_url"]) { ASSIGN_OR_RETURN(c.proxy_url, AsString(n["proxy_url"], "proxy_url")); }
    if (const YAML::Node t = n["tls_config"]; t && !t.IsNull()) {
      if (!t.IsMap()) return Status::InvalidArgument("tls_config: expected a mapping");
      RETURN_IF_ERROR(CheckKeys(t, "tls_config",
                                {"ca_file", "cert_file", "key_file", "server_name",
                                 "insecure_skip_verify"},
                                {"ca", "cert", "key", "min_version", "max_version"}));
      if (t["ca_file"]) { ASSIGN_OR_RETURN(std::string f, AsString(t["ca_file"], "tls_config.ca_file")); c.tls_config.ca_file = JoinPath(config_dir, f); }
      if (t["cert_file"]) { ASSIGN_OR_RETURN(std::string f, AsString(t["cert_file"], "tls_config.cert_file")); c.tls_config.cert_file = JoinPath(config_dir, f); }
      if (t["key_file"]) { ASSIGN_OR_RETURN(std::string f, AsString(t["key_file"], "tls_config.key_file")); c.tls_config.key_file = JoinPath(config_dir, f); }
      if (t["server_name"]) { ASSIGN_OR_RETURN(c.tls_config.server_name, AsString(t["server_name"], "tls_config.server_name")); }
      if (t["insecure_skip_verify"]) {
        ASSIGN_OR_RETURN(c.tls_config.insecure_skip_verify,
                         AsBool(t["insecure_skip_verify"], "tls_config.insecure_skip_verify"));
      }
      if (c.tls_config.cert_file.empty() != c.tls_config.key_file.empty()) {
        return Status::InvalidArgument("tls_config: cert_file and key_file must both be set or both be empty");
      }
    }
    if (n["scrape_protocols"]) {
      ASSIGN_OR_RETURN(std::vector<std::string> ps, AsStringList(n["scrape_protocols"], "scrape_protocols"));
      if (ps.empty()) return Status::InvalidArgument("scrape_protocols: must not be empty");
      std::set<std::string> seen;
      c.scrape_protocols.clear();
      for (const std::string& p : ps) {
        if (!seen.insert(p).second) {
          return Status::InvalidArgument("scrape_protocols: duplicated protocol " + Quoted(p));
        }
        if (p == "PrometheusProto") {
          spdlog::warn("job \"{}\": scrape protocol PrometheusProto is not supported by Argus yet; "
                       "it is left out of the Accept header", c.job_name);
          continue;
        }
        Result<ExpositionFormat> f = ParseProtocol(p);
        if (!f.ok()) return FieldError("scrape_protocols", f.status());
        c.scrape_protocols.push_back(p);
      }
      if (c.scrape_protocols.empty()) {
        return Status::InvalidArgument("scrape_protocols: no supported protocol left");
      }
    }
    if (n["fallback_scrape_protocol"]) {
      ASSIGN_OR_RETURN(std::string p, AsString(n["fallback_scrape_protocol"], "fallback_scrape_protocol"));
      Result<ExpositionFormat> f = ParseProtocol(p);
      if (!f.ok()) return FieldError("fallback_scrape_protocol", f.status());
      c.fallback_scrape_protocol = *f;
    }
    return Status::OK();
  };
  Status st = body();
  if (!st.ok()) return st.WithContext("job " + Quoted(c.job_name));
  return c;
}

}  // namespace

Result<std::vector<ScrapeConfig>> ParseScrapeConfigs(const YAML::Node& node,
                                                     int64_t global_interval_ms,
                                                     int64_t global_timeout_ms,
                                                     const std::string& config_dir) {
  std::vector<ScrapeConfig> out;
  if (!node || node.IsNull()) return out;
  if (!node.IsSequence()) return Status::InvalidArgument("scrape_configs: expected a list");
  std::set<std::string> jobs;
  try {
    for (size_t i = 0; i < node.size(); ++i) {
      Result<ScrapeConfig> c = ParseOne(node[i], global_interval_ms, global_timeout_ms, config_dir);
      if (!c.ok()) return c.status().WithContext("scrape_configs[" + std::to_string(i) + "]");
      if (!jobs.insert(c->job_name).second) {
        return Status::InvalidArgument("scrape_configs[" + std::to_string(i) +
                                       "]: found multiple scrape configs with job name " +
                                       Quoted(c->job_name));
      }
      out.push_back(std::move(*c));
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("scrape_configs: ") + e.what());
  }
  return out;
}

Result<std::vector<RelabelConfig>> ParseRelabelConfigs(const YAML::Node& node) {
  try {
    return ParseRelabelConfigsImpl(node);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("relabel_configs: ") + e.what());
  }
}

Result<int64_t> ParsePromDuration(std::string_view s) {
  if (s == "0") return int64_t{0};
  if (s.empty()) return Status::InvalidArgument("empty duration string");
  struct Unit {
    std::string_view name;
    uint64_t ms;
  };
  static constexpr std::array<Unit, 7> kUnits = {{{"y", 365ull * 24 * 3600 * 1000},
                                                  {"w", 7ull * 24 * 3600 * 1000},
                                                  {"d", 24ull * 3600 * 1000},
                                                  {"h", 3600ull * 1000},
                                                  {"m", 60ull * 1000},
                                                  {"s", 1000},
                                                  {"ms", 1}}};
  const std::string orig(s);
  auto bad = [&]() { return Status::InvalidArgument("not a valid duration string: \"" + orig + "\""); };
  constexpr uint64_t kMaxNs = uint64_t{1} << 63;
  uint64_t total_ns = 0;
  int last_unit = -1;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == 0) return bad();
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + i, v);
    if (ec != std::errc()) return Status::InvalidArgument("duration out of range: \"" + orig + "\"");
    s.remove_prefix(i);
    size_t j = 0;
    while (j < s.size() && !(s[j] >= '0' && s[j] <= '9')) ++j;
    if (j == 0) return bad();
    std::string_view u = s.substr(0, j);
    s.remove_prefix(j);
    int idx = -1;
    for (int k = 0; k < static_cast<int>(kUnits.size()); ++k) {
      if (kUnits[static_cast<size_t>(k)].name == u) idx = k;
    }
    if (idx < 0) {
      return Status::InvalidArgument("unknown unit \"" + std::string(u) + "\" in duration \"" + orig + "\"");
    }
    if (idx <= last_unit) return bad();  // units must go from biggest to smallest
    last_unit = idx;
    uint64_t unit_ns = kUnits[static_cast<size_t>(idx)].ms * 1000000ull;
    if (v > kMaxNs / unit_ns) return Status::InvalidArgument("duration out of range: \"" + orig + "\"");
    total_ns += v * unit_ns;
    if (total_ns > kMaxNs - 1) return Status::InvalidArgument("duration out of range: \"" + orig + "\"");
  }
  return static_cast<int64_t>(total_ns / 1000000ull);
}

std::string FormatPromDuration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out.push_back('-');
    ms = -ms;
  }
  auto unit = [&](std::string_view name, int64_t mult, bool exact) {
    if (exact && ms % mult != 0) return;
    if (int64_t v = ms / mult; v > 0) {
      out += std::to_string(v);
      out += name;
      ms -= v * mult;
    }
  };
  unit("y", 365LL * 24 * 3600 * 1000, true);
  unit("w", 7LL * 24 * 3600 * 1000, true);
  unit("d", 24LL * 3600 * 1000, false);
  unit("h", 3600LL * 1000, false);
  unit("m", 60LL * 1000, false);
  unit("s", 1000, false);
  unit("ms", 1, false);
  return out;
}

Result<int64_t> ParseByteSize(std::string_view s) {
  const std::string orig(s);
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == 0) return Status::InvalidArgument("invalid byte size \"" + orig + "\"");
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + i, v);
  if (ec != std::errc()) return Status::InvalidArgument("byte size out of range \"" + orig + "\"");
  std::string_view u = s.substr(i);
  int shift = -1;
  if (u.empty() || u == "B") shift = 0;
  else if (u == "KB" || u == "KiB") shift = 10;
  else if (u == "MB" || u == "MiB") shift = 20;
  else if (u == "GB" || u == "GiB") shift = 30;
  else if (u == "TB" || u == "TiB") shift = 40;
  else if (u == "PB" || u == "PiB") shift = 50;
  else if (u == "EB" || u == "EiB") shift = 60;
  if (shift < 0) return Status::InvalidArgument("invalid unit in byte size \"" + orig + "\"");
  if (v > (INT64_MAX >> shift)) return Status::InvalidArgument("byte size out of range \"" + orig + "\"");
  return v << shift;
}

}  // namespace argus::ingest
