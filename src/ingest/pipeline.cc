#include "ingest/pipeline.h"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <ctime>

#include "logql/convert.h"
#include "logql/line_labels.h"
#include "logql/parser.h"
#include "logql/stages.h"

namespace argus::ingest {

PipelineEntry PipelineEntry::FromLine(int64_t ts_ns, std::string line, const Labels& labels) {
  PipelineEntry e;
  e.ts_ns = ts_ns;
  e.line = std::move(line);
  for (const Label& l : labels) {
    e.labels[l.name] = l.value;
    e.extracted[l.name] = l.value;
  }
  return e;
}

namespace {

using Entries = std::vector<PipelineEntry>;

// ---- config helpers ----

// The stage's fields, with errors naming `where` (e.g. "pipeline_stages[2].timestamp").
class Fields {
 public:
  Fields(const YAML::Node& n, std::string where) : n_(n), where_(std::move(where)) {}
  Status Check(std::initializer_list<std::string_view> known) const {
    if (n_.IsNull()) return Status::OK();
    if (!n_.IsMap()) return Err("must be a mapping");
    for (const auto& kv : n_) {
      std::string k = kv.first.as<std::string>();
      bool ok = false;
      for (std::string_view kk : known) ok = ok || kk == k;
      if (!ok) return Err("unknown field \"" + k + "\"");
    }
    return Status::OK();
  }
  bool Has(const char* k) const { return n_.IsMap() && n_[k] && !n_[k].IsNull(); }
  std::string Str(const char* k, std::string def = "") const { return Has(k) ? n_[k].as<std::string>() : def; }
  Result<std::string> Required(const char* k) const {
    if (!Has(k) || n_[k].as<std::string>().empty()) return Err(std::string(k) + " is required");
    return n_[k].as<std::string>();
  }
  // A map of name -> string (null values allowed: "").
  Result<std::vector<std::pair<std::string, std::string>>> Map(const char* k) const {
    std::vector<std::pair<std::string, std::string>> out;
    if (!Has(k)) return out;
    if (!n_[k].IsMap()) return Err(std::string(k) + " must be a mapping");
    for (const auto& kv : n_[k]) {
      out.emplace_back(kv.first.as<std::string>(), kv.second.IsNull() ? "" : kv.second.as<std::string>());
    }
    return out;
  }
  // A string or a list of strings.
  Result<std::vector<std::string>> StrList(const char* k) const {
    std::vector<std::string> out;
    if (!Has(k)) return out;
    if (n_[k].IsSequence()) {
      for (const auto& v : n_[k]) out.push_back(v.as<std::string>());
    } else {
      out.push_back(n_[k].as<std::string>());
    }
    return out;
  }
  Result<int64_t> DurationNs(const char* k, int64_t def) const {
    if (!Has(k)) return def;
    auto d = logql::ParseGoDuration(n_[k].as<std::string>(), true);
    if (!d.ok()) return Err(std::string(k) + ": " + d.status().message());
    return *d;
  }
  Status Err(const std::string& msg) const { return Status::InvalidArgument(where_ + ": " + msg); }
  const YAML::Node& node() const { return n_; }
  const std::string& where() const { return where_; }

 private:
  const YAML::Node n_;
  const std::string where_;
};

Result<std::unique_ptr<RE2>> CompileRe(const Fields& f, const std::string& field, const std::string& re) {
  RE2::Options o;
  o.set_log_errors(false);
  auto r = std::make_unique<RE2>(re, o);
  if (!r->ok()) return f.Err(field + ": error parsing regexp: " + r->error() + ": `" + re + "`");
  return r;
}

bool ValidLabelName(std::string_view n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// The text a parsing stage reads: the line, or an extracted value (nullptr if absent).
const std::string* SourceText(const PipelineEntry& e, const std::string& source) {
  if (source.empty()) return &e.line;
  auto it = e.extracted.find(source);
  return it == e.extracted.end() ? nullptr : &it->second;
}

// Runs a LogQL parser stage over `text` and copies what it extracted; false on a parse error.
bool RunLogqlParser(const logql::Stage& stage, const std::string& text, int64_t ts_ns, PipelineEntry& e) {
  std::string s = text;
  logql::LineLabels ll;
  stage.Process(ts_ns, s, ll);
  if (ll.HasError()) return false;
  for (const auto& [label, source] : ll.entries()) {
    if (source == logql::LineLabels::Source::kParsed) e.extracted[label.name] = label.value;
  }
  return true;
}

// JMESPath's quoted identifiers (`"a.b"`, `x."y z"`) written as Loki's json path (`["a.b"]`).
std::string JmesToLokiPath(std::string_view p) {
  std::string out;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '"') {
      size_t j = i + 1;
      while (j < p.size() && p[j] != '"') j += p[j] == '\\' ? 2 : 1;
      if (!out.empty() && out.back() == '.') out.pop_back();
      out += "[" + std::string(p.substr(i, j + 1 - i)) + "]";
      i = j;
    } else {
      out.push_back(p[i]);
    }
  }
  return out;
}

std::string LabelsKey(const std::map<std::string, std::string>& ls) {
  std::string k;
  for (const auto& [n, v] : ls) k += n + '\xff' + v + '\xfe';
  return k;
}

// ---- parsing stages ----

// json, logfmt and regex: one LogQL parser stage run over the source (the line by default);
// they differ only in their configuration.
class ParserStage : public PipelineStage {
 public:
  ParserStage(logql::StagePtr parser, std::string source, bool drop_malformed)
      : parser_(std::move(parser)), source_(std::move(source)), drop_malformed_(drop_malformed) {}

  static Result<std::unique_ptr<PipelineStage>> MakeJson(const Fields& f) {
    RETURN_IF_ERROR(f.Check({"expressions", "source", "drop_malformed"}));
    ASSIGN_OR_RETURN(auto exprs, f.Map("expressions"));
    if (exprs.empty()) return f.Err("expressions are required");
    for (auto& [name, path] : exprs) path = JmesToLokiPath(path.empty() ? name : path);
    const bool drop = f.Has("drop_malformed") && f.node()["drop_malformed"].as<bool>();
    return Make(f, logql::MakeJsonParser(exprs), drop);
  }
  static Result<std::unique_ptr<PipelineStage>> MakeLogfmt(const Fields& f) {
    RETURN_IF_ERROR(f.Check({"mapping", "source"}));
    ASSIGN_OR_RETURN(auto mapping, f.Map("mapping"));
    if (mapping.empty()) return f.Err("mapping is required");
    for (auto& [name, key] : mapping) {
      if (key.empty()) key = name;
    }
    return Make(f, logql::MakeLogfmtParser(false, false, mapping), false);
  }
  static Result<std::unique_ptr<PipelineStage>> MakeRegex(const Fields& f) {
    RETURN_IF_ERROR(f.Check({"expression", "source"}));
    ASSIGN_OR_RETURN(std::string re, f.Required("expression"));
    return Make(f, logql::MakeRegexpParser(re), false);
  }

  void Process(PipelineEntry e, int64_t, Entries* out) override {
    const std::string* text = SourceText(e, source_);
    if (text != nullptr && !RunLogqlParser(*parser_, *text, e.ts_ns, e) && drop_malformed_) return;
    out->push_back(std::move(e));
  }

 private:
  static Result<std::unique_ptr<PipelineStage>> Make(const Fields& f, Result<logql::StagePtr> parser,
                                                     bool drop_malformed) {
    if (!parser.ok()) return f.Err(parser.status().message());
    return std::unique_ptr<PipelineStage>(
        std::make_unique<ParserStage>(std::move(*parser), f.Str("source"), drop_malformed));
  }

  logql::StagePtr parser_;
  std::string source_;
  bool drop_malformed_;
};

// ---- action stages ----

class LabelsStage : public PipelineStage {
 public:
  enum class Target { kLabels, kMetadata };
  static Result<std::unique_ptr<PipelineStage>> Make(const Fields& f, Target target) {
    std::vector<std::pair<std::string, std::string>> m;
    if (!f.node().IsMap()) return f.Err("must be a mapping of label name to source");
    for (const auto& kv : f.node()) {
      std::string name = kv.first.as<std::string>();
      std::string src = kv.second.IsNull() ? "" : kv.second.as<std::string>();
      if (!ValidLabelName(name)) return f.Err("invalid label name \"" + name + "\"");
      m.emplace_back(name, src.empty() ? name : src);
    }
    auto s = std::make_unique<LabelsStage>();
    s->map_ = std::move(m);
    s->target_ = target;
    return std::unique_ptr<PipelineStage>(std::move(s));
  }
  void Process(PipelineEntry e, int64_t, Entries* out) override {
    for (const auto& [name, src] : map_) {
      auto it = e.extracted.find(src);
      if (it == e.extracted.end() || it->second.empty()) continue;
      if (target_ == Target::kLabels) {
        e.labels[name] = it->second;
        continue;
      }
      bool set = false;
      for (Label& l : e.metadata) {
        if (l.name == name) {
          l.value = it->second;
          set = true;
        }
      }
      if (!set) e.metadata.push_back({name, it->second});
    }
    out->push_back(std::move(e));
  }

 private:
  std::vector<std::pair<std::string, std::string>> map_;  // label name -> extracted name
  Target target_ = Target::kLabels;
};

class StaticLabelsStage : public PipelineStage {
 public:
  static Result<std::unique_ptr<PipelineStage>> Make(const Fields& f) {
    if (!f.node().IsMap()) return f.Err("must be a mapping of label name to value");
    auto s = std::make_unique<StaticLabelsStage>();
    for (const auto& kv : f.node()) {
      std::string name = kv.first.as<std::string>();
      if (!ValidLabelName(name)) return f.Err("invalid label name \"" + name + "\"");
      if (kv.second.IsNull() || kv.second.as<std::string>().empty()) return f.Err("empty value for label \"" + name + "\"");
      s->labels_.emplace_back(name, kv.second.as<std::string>());
    }
    return std::unique_ptr<PipelineStage>(std::move(s));
  }
  void Process(PipelineEntry e, int64_t, Entries* out) override {
    for (const auto& [n, v] : labels_) e.labels[n] = v;
    out->push_back(std::move(e));
  }

 private:
  std::vector<std::pair<std::string, std::string>> labels_;
};

class TimestampStage : public PipelineStage {
 public:
  static Result<std::unique_ptr<PipelineStage>> Make(const Fields& f) {
    RETURN_IF_ERROR(f.Check({"source", "format", "fallback_formats", "location", "action_on_failure"}));
    auto s = std::make_unique<TimestampStage>();
    ASSIGN_OR_RETURN(s->source_, f.Required("source"));
    ASSIGN_OR_RETURN(std::string format, f.Required("format"));
    s->formats_.push_back(format);
    ASSIGN_OR_RETURN(auto fb, f.StrList("fallback_formats"));
    for (auto& x : fb) s->formats_.push_back(x);
    if (f.Has("location")) {
      auto loc = logql::LoadTimeZone(f.Str("location"));
      if (!loc.ok()) return f.Err("location: " + loc.status().message());
      s->loc_ = *loc;
    }
    std::string action = f.Str("action_on_failure", "fudge");
    if (action != "fudge" && action != "skip") return f.Err("action_on_failure must be fudge or skip, not \"" + action + "\"");
    s->fudge_ = action == "fudge";
    return std::unique_ptr<PipelineStage>(std::move(s));
  }
  void Process(PipelineEntry e, int64_t now_ns, Entries* out) override {
    std::string key = LabelsKey(e.labels);
    auto it = e.extracted.find(source_);
    bool parsed = false;
    if (it != e.extracted.end()) {
      for (const std::string& fmt : formats_) {
        auto ts = ParsePipelineTimestamp(fmt, it->second, loc_.get(), now_ns);
        if (ts.ok()) {
          e.ts_ns = *ts;
          parsed = true;
          break;
        }
      }
    }
    if (parsed) {
      last_ts_ns_[key] = e.ts_ns;
    } else if (fudge_) {
      // Promtail's fudge: the last timestamp of the stream plus 1 ns keeps the line in order.
      auto l = last_ts_ns_.find(key);
      if (l != last_ts_ns_.end()) e.ts_ns = ++l->second;
    }
    out->push_back(std::move(e));
  }

 private:
  std::string source_;
  std::vector<std::string> formats_;
  std::shared_ptr<const logql::TimeZone> loc_;
  bool fudge_ = true;
  std::map<std::string, int64_t> last_ts_ns_;  // by stream labels
};

class OutputStage : public PipelineStage {
 public:
  static Result<std::unique_ptr<PipelineStage>> Make(const Fields& f) {
    RETURN_IF_ERROR(f.Check({"source"}));
    auto s = std::make_unique<OutputStage>();
    ASSIGN_OR_RETURN(s->source_, f.Required("source"));
    return std::unique_ptr<PipelineStage>(std::move(s));
  }
  void Process(PipelineEntry e, int64_t, Entries* out) override {
    auto it = e.extracted.find(source_);
    if (it != e.extracted.end()) e.line = it->second;
    out->push_back(std::move(e));
  }

 private:
  std::string source_;
};

// ---- filtering stages ----

class DropStage : public PipelineStage {
 public:
  static Result<std::unique_ptr<PipelineStage>> Make(const Fields& f) {
    RETURN_IF_ERROR(f.Check({"source", "separator", "expression", "value", "older_than", "longer_than",
                             "drop_counter_reason"}));
    auto s = std::make_unique<DropStage>();
    ASSIGN_OR_RETURN(s->sources_, f.StrList("source"));
    s->separator_ = f.Str("separator", ";");
    if (f.Has("expression") && f.Has("value")) return f.Err("expression and value cannot both be set");
    if (f.Has("expression")) {
      ASSIGN_OR_RETURN(s->re_, CompileRe(f, "expression", f.Str("expression")));
    }
    if (f.Has("value")) {
      if (s->sources_.empty()) return f.Err("value requires a source");
      s->value_ = f.Str("value");
    }
    ASSIGN_OR_RETURN(s->older_than_ns_, f.DurationNs("older_than", 0));
    if (f.Has("longer_than")) {
      auto b = logql::ParseHumanBytes(f.Str("longer_than"));
      if (!b.ok()) return f.Err("longer_than: " + b.status().message());
      s->longer_than_bytes_ = static_cast<int64_t>(*b);
    }
    if (s->sources_.empty() && !s->re_ && s->older_than_ns_ == 0 && s->longer_than_bytes_ < 0) {
      return f.Err("one of source, expression, older_than or longer_than is required");
    }
    return std::unique_ptr<PipelineStage>(std::move(s));
  }
  void Process(PipelineEntry e, int64_t now_ns, Entries* out) override {
    if (!ShouldDrop(e, now_ns)) out->push_back(std::move(e));
  }

 private:
  // Every condition given must hold (Promtail's drop stage).
  bool ShouldDrop(const PipelineEntry& e, int64_t now_ns) const {
    if (older_than_ns_ > 0 && e.ts_ns >= now_ns - older_than_ns_) return false;
    if (longer_than_bytes_ >= 0 && static_cast<int64_t>(e.line.size()) <= longer_than_bytes_) return false;
    if (!sources_.empty()) {
      std::string joined;
      for (size_t i = 0; i < sources_.size(); ++i) {
        auto it = e.extracted.find(sources_[i]);
        if (it == e.extracted.end()) return false;
        if (i > 0) joined += separator_;
        joined += it->second;
      }
      if (value_ && joined != *value_) return false;
      if (re_ && !RE2::PartialMatch(joined, *re_)) return false;
    } else if (re_ && !RE2::PartialMatch(e.line, *re_)) {
      return false;
    }
    return true;
  }
  std::vector<std::string> sources_;
  std::string separator_;
  std::unique_ptr<RE2> re_;
  std::optional<std::string> value_;
  int64_t older_than_ns_ = 0;
  int64_t longer_than_bytes_ = -1;
};

Result<std::unique_ptr<PipelineStage>> MakeStage(const YAML::Node& item, const std::string& where);

class MatchStage : public PipelineStage {
 public:
  static Result<std::unique_ptr<PipelineStage>> Make(const Fields& f) {
    RETURN_IF_ERROR(f.Check({"selector", "pipeline_name", "action", "stages", "drop_counter_reason"}));
    ASSIGN_OR_RETURN(std::string sel, f.Required("selector"));
    auto expr = logql::ParseExpr(sel);
    if (!expr.ok()) return f.Err("selector: " + expr.status().message());
    if ((*expr)->kind != logql::ExprKind::kLog) return f.Err("selector: a log selector is required, not a metric query");
    auto s = std::make_unique<MatchStage>();
    s->selector_ = (*expr)->selector;
    std::string action = f.Str("action", "keep");
    if (action != "keep" && action != "drop") return f.Err("action must be keep or drop, not \"" + action + "\"");
    s->drop_ = action == "drop";
    if (s->drop_ && f.Has("stages")) return f.Err("stages are not allowed with action drop");
    if (!s->drop_ && !f.Has("stages")) return f.Err("stages are required with action keep");
    if (!s->drop_) {
      auto nested = Pipeline::Make(f.node()["stages"]);
      if (!nested.ok()) return f.Err(nested.status().message());
      s->nested_ = std::move(*nested);
    }
    return std::unique_ptr<PipelineStage>(std::move(s));
  }
  void Process(PipelineEntry e, int64_t now_ns, Entries* out) override {
    if (!Matches(e)) {
      out->push_back(std::move(e));
      return;
    }
    if (drop_) return;
    nested_->Process(std::move(e), now_ns, out);
  }
  void Flush(int64_t now_ns, bool force, Entries* out) override {
    if (nested_) nested_->Flush(now_ns, force, out);
  }

 private:
  bool Matches(const PipelineEntry& e) const {
    std::vector<Label> ls;
    for (const auto& [n, v] : e.labels) ls.push_back({n, v});
    Labels labels = Labels::FromSorted(std::move(ls));
    if (!MatchesAll(selector_.matchers, labels)) return false;
    if (selector_.stages.empty()) return true;
    std::string line = e.line;
    logql::LineLabels ll(labels);
    for (const logql::StagePtr& st : selector_.stages) {
      if (!st->Process(e.ts_ns, line, ll)) return false;
    }
    return true;
  }
  logql::LogSelector selector_;
  bool drop_ = false;
  std::unique_ptr<Pipeline> nested_;
};

// ---- multiline ----

class MultilineStage : public PipelineStage {
 public:
  static Result<std::unique_ptr<PipelineStage>> Make(const Fields& f) {
    RETURN_IF_ERROR(f.Check({"firstline", "max_wait_time", "max_lines"}));
    auto s = std::make_unique<MultilineStage>();
    ASSIGN_OR_RETURN(std::string re, f.Required("firstline"));
    ASSIGN_OR_RETURN(s->firstline_, CompileRe(f, "firstline", re));
    ASSIGN_OR_RETURN(s->max_wait_ns_, f.DurationNs("max_wait_time", 3'000'000'000LL));
    s->max_lines_ = f.Has("max_lines") ? f.node()["max_lines"].as<int>() : 128;
    if (s->max_lines_ <= 0) return f.Err("max_lines must be positive");
    return std::unique_ptr<PipelineStage>(std::move(s));
  }
  void Process(PipelineEntry e, int64_t now_ns, Entries* out) override {
    std::string key = LabelsKey(e.labels);
    bool first = RE2::PartialMatch(e.line, *firstline_);
    auto it = blocks_.find(key);
    if (it != blocks_.end() && first) {
      out->push_back(std::move(it->second.entry));
      blocks_.erase(it);
      it = blocks_.end();
    }
    if (it == blocks_.end()) {
      // A line before any first line starts a block of its own, as Promtail does.
      blocks_[key] = Block{std::move(e), 1, now_ns};
    } else {
      it->second.entry.line += "\n" + e.line;
      ++it->second.lines;
      it->second.last_ns = now_ns;
      if (it->second.lines >= max_lines_) {
        out->push_back(std::move(it->second.entry));
        blocks_.erase(it);
      }
    }
  }
  void Flush(int64_t now_ns, bool force, Entries* out) override {
    for (auto it = blocks_.begin(); it != blocks_.end();) {
      if (force || now_ns - it->second.last_ns >= max_wait_ns_) {
        out->push_back(std::move(it->second.entry));
        it = blocks_.erase(it);
      } else {
        ++it;
      }
    }
  }

 private:
  struct Block {
    PipelineEntry entry;  // the first line's entry, later lines appended to its line
    int lines = 0;
    int64_t last_ns = 0;  // when the last line came
  };
  std::unique_ptr<RE2> firstline_;
  int64_t max_wait_ns_ = 0;
  int max_lines_ = 128;
  std::map<std::string, Block> blocks_;  // by stream labels
};

// ---- container formats ----

// CRI: `<RFC3339Nano time> <stdout|stderr> <P|F> <content>`; P lines are partial and joined
// to the next F line of the same stream (at most max_partial_lines, default 100).
class CriStage : public PipelineStage {
 public:
  static Result<std::unique_ptr<PipelineStage>> Make(const Fields& f) {
    RETURN_IF_ERROR(f.Check({"max_partial_lines", "max_partial_line_size", "max_partial_line_size_truncate"}));
    auto s = std::make_unique<CriStage>();
    s->max_partial_lines_ = f.Has("max_partial_lines") ? f.node()["max_partial_lines"].as<int>() : 100;
    return std::unique_ptr<PipelineStage>(std::move(s));
  }
  void Process(PipelineEntry e, int64_t now_ns, Entries* out) override {
    static const RE2 kRe(R"(^(?s)(\S+?)\s+(stdout|stderr)\s+(\S+?)\s+(.*)$)");
    std::string time, stream, flags, content;
    if (!RE2::FullMatch(e.line, kRe, &time, &stream, &flags, &content)) {
      out->push_back(std::move(e));
      return;
    }
    e.extracted["time"] = time;
    e.extracted["stream"] = stream;
    e.extracted["flags"] = flags;
    e.extracted["content"] = content;
    e.labels["stream"] = stream;
    auto ts = ParsePipelineTimestamp("RFC3339Nano", time, nullptr, now_ns);
    if (ts.ok()) e.ts_ns = *ts;
    std::string key = LabelsKey(e.labels);
    auto it = partial_.find(key);
    if (flags == "P") {
      if (it == partial_.end()) {
        e.line = content;
        partial_[key] = {std::move(e), 1};
      } else {
        it->second.entry.line += content;
        if (++it->second.lines >= max_partial_lines_) {
          out->push_back(std::move(it->second.entry));
          partial_.erase(it);
        }
      }
      return;
    }
    if (it != partial_.end()) {
      PipelineEntry first = std::move(it->second.entry);
      partial_.erase(it);
      first.line += content;
      first.extracted["content"] = first.line;
      out->push_back(std::move(first));
      return;
    }
    e.line = content;
    out->push_back(std::move(e));
  }
  void Flush(int64_t, bool force, Entries* out) override {
    if (!force) return;
    for (auto& [k, p] : partial_) out->push_back(std::move(p.entry));
    partial_.clear();
  }

 private:
  struct Partial {
    PipelineEntry entry;
    int lines = 0;
  };
  int max_partial_lines_ = 100;
  std::map<std::string, Partial> partial_;
};

// Docker's json-file driver: {"log":"...\n","stream":"stdout","time":"<RFC3339Nano>"}.
class DockerStage : public PipelineStage {
 public:
  static Result<std::unique_ptr<PipelineStage>> Make(const Fields& f) {
    if (!f.node().IsNull() && !(f.node().IsMap() && f.node().size() == 0)) return f.Err("takes no fields");
    auto parser = logql::MakeJsonParser({{"log", "log"}, {"stream", "stream"}, {"time", "time"}});
    if (!parser.ok()) return parser.status();
    auto s = std::make_unique<DockerStage>();
    s->parser_ = *parser;
    return std::unique_ptr<PipelineStage>(std::move(s));
  }
  void Process(PipelineEntry e, int64_t now_ns, Entries* out) override {
    PipelineEntry d = e;
    if (!RunLogqlParser(*parser_, e.line, e.ts_ns, d) || !d.extracted.contains("log")) {
      out->push_back(std::move(e));
      return;
    }
    auto st = d.extracted.find("stream");
    if (st != d.extracted.end() && !st->second.empty()) d.labels["stream"] = st->second;
    auto tm = d.extracted.find("time");
    if (tm != d.extracted.end()) {
      auto ts = ParsePipelineTimestamp("RFC3339Nano", tm->second, nullptr, now_ns);
      if (ts.ok()) d.ts_ns = *ts;
    }
    d.line = d.extracted["log"];
    if (!d.line.empty() && d.line.back() == '\n') d.line.pop_back();
    out->push_back(std::move(d));
  }

 private:
  logql::StagePtr parser_;
};

Result<std::unique_ptr<PipelineStage>> MakeStage(const YAML::Node& item, const std::string& where) {
  if (!item.IsMap() || item.size() != 1) return Status::InvalidArgument(where + ": a stage is a mapping with one key, the stage name");
  const auto kv = *item.begin();
  std::string name = kv.first.as<std::string>();
  Fields f(kv.second, where + "." + name);
  if (name == "json") return ParserStage::MakeJson(f);
  if (name == "logfmt") return ParserStage::MakeLogfmt(f);
  if (name == "regex") return ParserStage::MakeRegex(f);
  if (name == "labels") return LabelsStage::Make(f, LabelsStage::Target::kLabels);
  if (name == "structured_metadata") return LabelsStage::Make(f, LabelsStage::Target::kMetadata);
  if (name == "static_labels") return StaticLabelsStage::Make(f);
  if (name == "timestamp") return TimestampStage::Make(f);
  if (name == "output") return OutputStage::Make(f);
  if (name == "drop") return DropStage::Make(f);
  if (name == "match") return MatchStage::Make(f);
  if (name == "multiline") return MultilineStage::Make(f);
  if (name == "cri") return CriStage::Make(f);
  if (name == "docker") return DockerStage::Make(f);
  return Status::InvalidArgument(where + ": unknown stage \"" + name +
                                 "\" (supported: json, logfmt, regex, labels, static_labels, structured_metadata, "
                                 "timestamp, output, drop, match, multiline, cri, docker)");
}

}  // namespace

Result<std::unique_ptr<Pipeline>> Pipeline::Make(const YAML::Node& stages) {
  auto p = std::make_unique<Pipeline>();
  if (!stages || stages.IsNull()) return p;
  if (!stages.IsSequence()) return Status::InvalidArgument("pipeline_stages must be a list");
  try {
    for (size_t i = 0; i < stages.size(); ++i) {
      ASSIGN_OR_RETURN(auto s, MakeStage(stages[i], "pipeline_stages[" + std::to_string(i) + "]"));
      p->stages_.push_back(std::move(s));
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string("pipeline_stages: ") + e.what());
  }
  return p;
}

void Pipeline::RunFrom(size_t first, Entries in, int64_t now_ns, Entries* out) {
  for (size_t i = first; i < stages_.size() && !in.empty(); ++i) {
    Entries next;
    for (PipelineEntry& e : in) stages_[i]->Process(std::move(e), now_ns, &next);
    in = std::move(next);
  }
  for (PipelineEntry& e : in) out->push_back(std::move(e));
}

void Pipeline::Process(PipelineEntry e, int64_t now_ns, Entries* out) {
  Entries in;
  in.push_back(std::move(e));
  RunFrom(0, std::move(in), now_ns, out);
}

void Pipeline::Flush(int64_t now_ns, bool force, Entries* out) {
  for (size_t i = 0; i < stages_.size(); ++i) {
    Entries released;
    stages_[i]->Flush(now_ns, force, &released);
    if (!released.empty()) RunFrom(i + 1, std::move(released), now_ns, out);
  }
}

Result<int64_t> ParsePipelineTimestamp(std::string_view format, std::string_view value,
                                       const logql::TimeZone* loc, int64_t now_ns) {
  auto integer = [&](int64_t scale) -> Result<int64_t> {
    // Unix seconds may carry a fraction ("1562708916.414"); the others are integers.
    std::string_view whole = value, frac;
    if (scale == 1'000'000'000) {
      size_t dot = value.find('.');
      if (dot != std::string_view::npos) {
        whole = value.substr(0, dot);
        frac = value.substr(dot + 1);
      }
    }
    if (whole.empty() || whole.size() > 19) return Status::InvalidArgument("can't parse \"" + std::string(value) + "\" as " + std::string(format));
    int64_t v = 0;
    bool neg = whole[0] == '-';
    for (size_t i = neg ? 1 : 0; i < whole.size(); ++i) {
      if (whole[i] < '0' || whole[i] > '9') return Status::InvalidArgument("can't parse \"" + std::string(value) + "\" as " + std::string(format));
      v = v * 10 + (whole[i] - '0');
    }
    if (neg) v = -v;
    int64_t ns = 0, mul = 100'000'000;
    for (char c : frac) {
      if (c < '0' || c > '9') return Status::InvalidArgument("can't parse \"" + std::string(value) + "\" as Unix");
      ns += (c - '0') * mul;
      mul /= 10;
    }
    return v * scale + ns;
  };
  if (format == "Unix") return integer(1'000'000'000);
  if (format == "UnixMs") return integer(1'000'000);
  if (format == "UnixUs") return integer(1'000);
  if (format == "UnixNs") return integer(1);
  ASSIGN_OR_RETURN(logql::GoTime t, logql::ParseGoTime(logql::GoNamedLayout(format), value, loc));
  if (!t.has_year) {
    time_t now_s = static_cast<time_t>(now_ns / 1'000'000'000);
    struct tm now_tm;
    gmtime_r(&now_s, &now_tm);
    t.year = now_tm.tm_year + 1900;
    if (t.month == 12 && now_tm.tm_mon == 0) --t.year;  // December read in January: last year's
  }
  return t.ToUnixNs(loc);
}

}  // namespace argus::ingest
