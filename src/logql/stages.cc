#include "logql/stages.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "logql/template.h"

namespace argus::logql {

namespace {

// ---- patterns (Loki docs, "Pattern"): literals and <name> / <_> captures ----

struct Pattern {
  struct Part {
    bool capture = false;
    std::string text;  // the literal, or the capture name ("_" = unnamed)
  };
  std::vector<Part> parts;

  static Result<Pattern> Parse(std::string_view s) {
    Pattern p;
    size_t i = 0;
    std::string lit;
    while (i < s.size()) {
      if (s[i] == '<') {
        size_t j = i + 1;
        while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
        bool valid_name = j > i + 1 && j < s.size() && s[j] == '>' &&
                          !std::isdigit(static_cast<unsigned char>(s[i + 1]));
        if (valid_name) {
          if (!lit.empty()) {
            p.parts.push_back({false, lit});
            lit.clear();
          }
          if (!p.parts.empty() && p.parts.back().capture) {
            return Status::InvalidArgument("found consecutive capture '" + std::string(s.substr(i, j - i + 1)) + "'");
          }
          std::string name(s.substr(i + 1, j - i - 1));
          for (const Part& q : p.parts) {
            if (q.capture && q.text == name && name != "_") {
              return Status::InvalidArgument("duplicate capture name (" + name + ")");
            }
          }
          p.parts.push_back({true, name});
          i = j + 1;
          continue;
        }
      }
      lit.push_back(s[i++]);
    }
    if (!lit.empty()) p.parts.push_back({false, lit});
    return p;
  }

  int NamedCaptures() const {
    int n = 0;
    for (const Part& q : parts) n += q.capture && q.text != "_";
    return n;
  }
  bool HasCapture() const {
    for (const Part& q : parts) if (q.capture) return true;
    return false;
  }

  // Loki's matcher.Test: literals in order; a trailing literal must end the line; a trailing
  // capture must be non-empty.
  bool Test(std::string_view in) const {
    if (in.empty() || parts.empty()) return in.empty() && parts.empty();
    size_t off = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (parts[i].capture) continue;
      size_t j = in.find(parts[i].text, off);
      if (j == std::string_view::npos) return false;
      if (i == 0 && j != 0) return false;
      if (i != 0 && j == off) return false;
      off = j + parts[i].text.size();
    }
    bool req_rem = parts.back().capture;
    bool has_rem = off != in.size();
    return req_rem == has_rem;
  }

  // Loki's matcher.Matches: (name, value) of the captures it fills.
  std::vector<std::pair<std::string_view, std::string_view>> Matches(std::string_view in) const {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    if (in.empty() || parts.empty()) return out;
    size_t e = 0;
    if (!parts[0].capture) {
      if (!in.starts_with(parts[0].text)) return out;
      in.remove_prefix(parts[0].text.size());
      e = 1;
    }
    while (e < parts.size()) {
      const Part& cap = parts[e];
      if (e + 1 == parts.size()) {
        if (cap.text != "_") out.push_back({cap.text, in});
        return out;
      }
      const Part& lit = parts[e + 1];
      e += 2;
      size_t i = in.find(lit.text);
      if (i == std::string_view::npos) {
        if (cap.text != "_") out.push_back({cap.text, in});
        return out;
      }
      if (cap.text != "_") out.push_back({cap.text, in.substr(0, i)});
      in.remove_prefix(i + lit.text.size());
    }
    return out;
  }
};

// ---- line filters ----

class LineFilterStage : public Stage {
 public:
  struct Term {
    std::string literal;
    std::shared_ptr<RE2> re;
    std::optional<Pattern> pattern;
    std::optional<IpRange> ip;
  };
  LineFilterStage(bool negate, std::vector<Term> terms) : negate_(negate), terms_(std::move(terms)) {}

  bool Process(int64_t, std::string& line, LineLabels&) const override {
    bool any = false;
    for (const Term& t : terms_) {
      if (Matches(t, line)) {
        any = true;
        break;
      }
    }
    return negate_ ? !any : any;
  }
  bool IsLineFilter() const override { return true; }
  const std::string* RequiredLiteral() const override {
    if (negate_ || terms_.size() != 1) return nullptr;
    const Term& t = terms_[0];
    if (t.re || t.pattern || t.ip || t.literal.empty()) return nullptr;
    return &t.literal;
  }

 private:
  static bool Matches(const Term& t, std::string_view line) {
    if (t.re) return RE2::PartialMatch(re2::StringPiece(line.data(), line.size()), *t.re);
    if (t.pattern) return t.pattern->Test(line);
    if (t.ip) return TextHasIpInRange(*t.ip, line);
    return line.find(t.literal) != std::string_view::npos;
  }
  bool negate_;
  std::vector<Term> terms_;
};

// ---- JSON (RFC 8259), just enough for the parsers ----

struct JsonValue {
  enum class T { kNull, kBool, kNum, kStr, kArr, kObj };
  T t = T::kNull;
  std::string s;                                     // string (unescaped), number/bool text
  std::string_view raw;                              // the source text of the value
  std::vector<std::pair<std::string, JsonValue>> members;  // object members, in order
  std::vector<JsonValue> items;                      // array items
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view s) : s_(s) {}
  Status Parse(JsonValue* v) {
    RETURN_IF_ERROR(Value(v, 0));
    Ws();
    if (p_ != s_.size()) return Err("unexpected trailing data");
    return Status::OK();
  }

 private:
  Status Err(std::string_view m) const {
    return Status::InvalidArgument("ReadMapCB: " + std::string(m) + ", error found in #" +
                                   std::to_string(p_) + " byte");
  }
  void Ws() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r')) ++p_;
  }
  Status Str(std::string* out) {
    ++p_;
    while (p_ < s_.size() && s_[p_] != '"') {
      char c = s_[p_];
      if (c == '\\') {
        if (++p_ >= s_.size()) return Err("unterminated string");
        char e = s_[p_];
        switch (e) {
          case '"': out->push_back('"'); break;
          case '\\': out->push_back('\\'); break;
          case '/': out->push_back('/'); break;
          case 'b': out->push_back('\b'); break;
          case 'f': out->push_back('\f'); break;
          case 'n': out->push_back('\n'); break;
          case 'r': out->push_back('\r'); break;
          case 't': out->push_back('\t'); break;
          case 'u': {
            if (p_ + 4 >= s_.size()) return Err("bad unicode escape");
            auto u = GoUnescape("\\u" + std::string(s_.substr(p_ + 1, 4)));
            if (!u.ok()) return Err("bad unicode escape");
            *out += *u;
            p_ += 4;
            break;
          }
          default: return Err("invalid escape char");
        }
        ++p_;
        continue;
      }
      out->push_back(c);
      ++p_;
    }
    if (p_ >= s_.size()) return Err("unterminated string");
    ++p_;
    return Status::OK();
  }
  Status Value(JsonValue* v, int depth) {
    if (depth > 64) return Err("too deeply nested");
    Ws();
    if (p_ >= s_.size()) return Err("unexpected end of input");
    size_t st = p_;
    char c = s_[p_];
    if (c == '{') {
      v->t = JsonValue::T::kObj;
      ++p_;
      Ws();
      if (p_ < s_.size() && s_[p_] == '}') {
        ++p_;
      } else {
        while (true) {
          Ws();
          if (p_ >= s_.size() || s_[p_] != '"') return Err("expect \" after {");
          std::string key;
          RETURN_IF_ERROR(Str(&key));
          Ws();
          if (p_ >= s_.size() || s_[p_] != ':') return Err("expect :");
          ++p_;
          JsonValue child;
          RETURN_IF_ERROR(Value(&child, depth + 1));
          v->members.emplace_back(std::move(key), std::move(child));
          Ws();
          if (p_ < s_.size() && s_[p_] == ',') { ++p_; continue; }
          if (p_ < s_.size() && s_[p_] == '}') { ++p_; break; }
          return Err("expect , or }");
        }
      }
    } else if (c == '[') {
      v->t = JsonValue::T::kArr;
      ++p_;
      Ws();
      if (p_ < s_.size() && s_[p_] == ']') {
        ++p_;
      } else {
        while (true) {
          JsonValue child;
          RETURN_IF_ERROR(Value(&child, depth + 1));
          v->items.push_back(std::move(child));
          Ws();
          if (p_ < s_.size() && s_[p_] == ',') { ++p_; continue; }
          if (p_ < s_.size() && s_[p_] == ']') { ++p_; break; }
          return Err("expect , or ]");
        }
      }
    } else if (c == '"') {
      v->t = JsonValue::T::kStr;
      RETURN_IF_ERROR(Str(&v->s));
    } else if (s_.substr(p_, 4) == "true" || s_.substr(p_, 5) == "false") {
      v->t = JsonValue::T::kBool;
      v->s = s_[p_] == 't' ? "true" : "false";
      p_ += v->s.size();
    } else if (s_.substr(p_, 4) == "null") {
      v->t = JsonValue::T::kNull;
      p_ += 4;
    } else if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) {
      v->t = JsonValue::T::kNum;
      ++p_;
      while (p_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[p_])) || std::strchr(".eE+-", s_[p_]))) ++p_;
      v->s = std::string(s_.substr(st, p_ - st));
    } else {
      return Err("expect { or [ or \" or number");
    }
    v->raw = s_.substr(st, p_ - st);
    return Status::OK();
  }
  std::string_view s_;
  size_t p_ = 0;
};

// A json expression path: `a.b[0]["c d"]`.
struct PathElem {
  bool index = false;
  size_t i = 0;
  std::string key;
};

Result<std::vector<PathElem>> ParseJsonPath(std::string_view s) {
  auto bad = [&] { return Status::InvalidArgument("cannot parse expression [" + std::string(s) + "]: syntax error"); };
  std::vector<PathElem> out;
  size_t i = 0;
  bool first = true;
  while (i < s.size()) {
    if (s[i] == '.') {
      if (first) return bad();
      ++i;
    }
    if (i < s.size() && s[i] == '[') {
      ++i;
      if (i < s.size() && s[i] == '"') {
        size_t e = s.find('"', i + 1);
        if (e == std::string_view::npos || e + 1 >= s.size() || s[e + 1] != ']') return bad();
        out.push_back({false, 0, std::string(s.substr(i + 1, e - i - 1))});
        i = e + 2;
      } else {
        size_t st = i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
        if (i == st || i >= s.size() || s[i] != ']') return bad();
        out.push_back({true, static_cast<size_t>(std::stoul(std::string(s.substr(st, i - st)))), ""});
        ++i;
      }
    } else {
      size_t st = i;
      while (i < s.size() && s[i] != '.' && s[i] != '[' && s[i] != ']') ++i;
      if (i == st) return bad();
      if (i < s.size() && s[i] == ']') return bad();
      out.push_back({false, 0, std::string(s.substr(st, i - st))});
    }
    first = false;
  }
  if (out.empty()) return bad();
  return out;
}

class JsonParserStage : public Stage {
 public:
  struct Expr {
    std::string label;
    std::vector<PathElem> path;
  };
  explicit JsonParserStage(std::vector<Expr> exprs) : exprs_(std::move(exprs)) {}

  bool Process(int64_t, std::string& line, LineLabels& labels) const override {
    JsonValue root;
    Status st = JsonReader(line).Parse(&root);
    if (!st.ok() || root.t != JsonValue::T::kObj) {
      labels.SetError("JSONParserErr", st.ok() ? "Value looks like object, but can't find closing '}' symbol" : st.message());
      return true;
    }
    if (exprs_.empty()) {
      Flatten(root, "", labels);
      return true;
    }
    for (const Expr& e : exprs_) {
      const JsonValue* v = &root;
      for (const PathElem& p : e.path) {
        const JsonValue* next = nullptr;
        if (p.index) {
          if (v->t == JsonValue::T::kArr && p.i < v->items.size()) next = &v->items[p.i];
        } else if (v->t == JsonValue::T::kObj) {
          for (const auto& m : v->members) {
            if (m.first == p.key) {
              next = &m.second;
              break;
            }
          }
        }
        v = next;
        if (!v) break;
      }
      std::string value;
      if (v) {
        if (v->t == JsonValue::T::kStr || v->t == JsonValue::T::kNum || v->t == JsonValue::T::kBool) value = v->s;
        else if (v->t != JsonValue::T::kNull) value = std::string(v->raw);
      }
      labels.SetParsed(e.label, value);
    }
    return true;
  }

 private:
  static void Flatten(const JsonValue& obj, const std::string& prefix, LineLabels& labels) {
    for (const auto& [k, v] : obj.members) {
      std::string key = prefix.empty() ? SanitizeLabelKey(k) : prefix + "_" + SanitizeLabelKey(k);
      if (key.empty()) continue;
      switch (v.t) {
        case JsonValue::T::kObj: Flatten(v, key, labels); break;
        case JsonValue::T::kStr: case JsonValue::T::kNum: case JsonValue::T::kBool:
          labels.SetParsed(key, v.s);
          break;
        default: break;
      }
    }
  }
  std::vector<Expr> exprs_;
};

class UnpackStage : public Stage {
 public:
  bool Process(int64_t, std::string& line, LineLabels& labels) const override {
    JsonValue root;
    Status st = JsonReader(line).Parse(&root);
    if (!st.ok() || root.t != JsonValue::T::kObj) {
      labels.SetError("JSONParserErr", st.ok() ? "expecting json object" : st.message());
      return true;
    }
    std::string entry;
    bool has_entry = false;
    for (const auto& [k, v] : root.members) {
      if (v.t != JsonValue::T::kStr) continue;
      if (k == "_entry") {
        entry = v.s;
        has_entry = true;
        continue;
      }
      labels.SetParsed(SanitizeLabelKey(k), v.s);
    }
    if (has_entry) line = entry;
    return true;
  }
};

// ---- logfmt (github.com/go-logfmt/logfmt) ----

class LogfmtParserStage : public Stage {
 public:
  LogfmtParserStage(bool strict, bool keep_empty, std::vector<std::pair<std::string, std::string>> exprs)
      : strict_(strict), keep_empty_(keep_empty), exprs_(std::move(exprs)) {}

  bool Process(int64_t, std::string& line, LineLabels& labels) const override {
    std::string_view s = line;
    size_t p = 0;
    std::vector<std::pair<std::string, std::string>> pairs;
    while (p < s.size()) {
      while (p < s.size() && static_cast<unsigned char>(s[p]) <= ' ') ++p;
      if (p >= s.size()) break;
      size_t ks = p;
      std::string err;
      while (p < s.size() && static_cast<unsigned char>(s[p]) > ' ' && s[p] != '=' && s[p] != '"') ++p;
      std::string key(s.substr(ks, p - ks));
      std::string value;
      if (p < s.size() && s[p] == '"') {
        err = "unexpected '\"'";
      } else if (key.empty() && p < s.size() && s[p] == '=') {
        err = "unexpected '='";
      } else if (p < s.size() && s[p] == '=') {
        ++p;
        if (p < s.size() && s[p] == '"') {
          ++p;
          bool closed = false;
          while (p < s.size()) {
            char c = s[p];
            if (c == '\\' && p + 1 < s.size()) {
              char e = s[p + 1];
              value.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e);
              p += 2;
              continue;
            }
            if (c == '"') {
              closed = true;
              ++p;
              break;
            }
            value.push_back(c);
            ++p;
          }
          if (!closed) err = "unterminated quoted value";
        } else {
          size_t vs = p;
          while (p < s.size() && static_cast<unsigned char>(s[p]) > ' ' && s[p] != '"' && s[p] != '=') ++p;
          if (p < s.size() && (s[p] == '"' || s[p] == '=')) {
            err = std::string("unexpected '") + s[p] + "'";
          }
          value = std::string(s.substr(vs, p - vs));
        }
      }
      if (!err.empty()) {
        if (strict_) {
          labels.SetError("LogfmtParserErr", "logfmt syntax error at pos " + std::to_string(p + 1) + " on line 1: " + err);
          return true;
        }
        while (p < s.size() && static_cast<unsigned char>(s[p]) > ' ') ++p;
        continue;
      }
      pairs.emplace_back(std::move(key), std::move(value));
    }
    if (exprs_.empty()) {
      for (auto& [k, v] : pairs) {
        if (v.empty() && !keep_empty_) continue;
        std::string key = SanitizeLabelKey(k);
        if (key.empty()) continue;
        labels.SetParsed(key, v);
      }
    } else {
      for (const auto& [label, key] : exprs_) {
        for (auto& [k, v] : pairs) {
          if (k == key) {
            if (!v.empty() || keep_empty_) labels.SetParsed(label, v);
            break;
          }
        }
      }
    }
    return true;
  }

 private:
  bool strict_, keep_empty_;
  std::vector<std::pair<std::string, std::string>> exprs_;
};

class RegexpParserStage : public Stage {
 public:
  explicit RegexpParserStage(std::shared_ptr<RE2> re) : re_(std::move(re)) {
    names_.resize(static_cast<size_t>(re_->NumberOfCapturingGroups()) + 1);
    for (const auto& [name, idx] : re_->NamedCapturingGroups()) names_[static_cast<size_t>(idx)] = name;
  }
  bool Process(int64_t, std::string& line, LineLabels& labels) const override {
    std::vector<re2::StringPiece> groups(names_.size());
    if (!re_->Match(re2::StringPiece(line), 0, line.size(), RE2::UNANCHORED, groups.data(),
                    static_cast<int>(groups.size()))) {
      return true;
    }
    for (size_t i = 1; i < names_.size(); ++i) {
      if (names_[i].empty()) continue;
      labels.SetParsed(SanitizeLabelKey(names_[i]), std::string(groups[i].data() ? std::string(groups[i]) : ""));
    }
    return true;
  }

 private:
  std::shared_ptr<RE2> re_;
  std::vector<std::string> names_;
};

class PatternParserStage : public Stage {
 public:
  explicit PatternParserStage(Pattern p) : p_(std::move(p)) {}
  bool Process(int64_t, std::string& line, LineLabels& labels) const override {
    for (const auto& [name, value] : p_.Matches(line)) labels.SetParsed(name, value);
    return true;
  }

 private:
  Pattern p_;
};

class DecolorizeStage : public Stage {
 public:
  bool Process(int64_t, std::string& line, LineLabels&) const override {
    std::string out;
    out.reserve(line.size());
    for (size_t i = 0; i < line.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      if (c == 0x1b && i + 1 < line.size() && line[i + 1] == '[') {
        size_t j = i + 2;
        while (j < line.size() && ((line[j] >= '0' && line[j] <= '9') || line[j] == ';' || line[j] == '?')) ++j;
        if (j < line.size() && line[j] >= '@' && line[j] <= '~') {
          i = j;
          continue;
        }
      }
      out.push_back(static_cast<char>(c));
    }
    line = std::move(out);
    return true;
  }
};

class LineFormatStage : public Stage {
 public:
  explicit LineFormatStage(std::shared_ptr<const Template> t) : t_(std::move(t)) {}
  bool Process(int64_t ts_ns, std::string& line, LineLabels& labels) const override {
    auto r = t_->Execute(labels, line, ts_ns);
    if (!r.ok()) {
      labels.SetError("TemplateFormatErr", r.status().message());
      return true;
    }
    line = std::move(*r);
    return true;
  }

 private:
  std::shared_ptr<const Template> t_;
};

class LabelFormatStage : public Stage {
 public:
  struct Item {
    LabelFormatSpec spec;
    std::shared_ptr<const Template> t;
  };
  explicit LabelFormatStage(std::vector<Item> items) : items_(std::move(items)) {}
  bool Process(int64_t ts_ns, std::string& line, LineLabels& labels) const override {
    LineLabels before = labels;
    for (const Item& it : items_) {
      if (it.spec.rename) {
        if (!before.Has(it.spec.value)) continue;
        std::string v(before.Get(it.spec.value));
        labels.Del(it.spec.value);
        labels.Set(it.spec.dst, v);
        continue;
      }
      auto r = it.t->Execute(before, line, ts_ns);
      if (!r.ok()) {
        labels.SetError("TemplateFormatErr", r.status().message());
        continue;
      }
      labels.Set(it.spec.dst, *r);
    }
    return true;
  }

 private:
  std::vector<Item> items_;
};

class DropKeepStage : public Stage {
 public:
  DropKeepStage(bool keep, std::vector<NamedMatcher> names) : keep_(keep), names_(std::move(names)) {}
  bool Process(int64_t, std::string&, LineLabels& labels) const override {
    if (!keep_) {
      for (const NamedMatcher& n : names_) {
        if (!labels.Has(n.name)) continue;
        if (!n.matcher || n.matcher->Matches(labels.Get(n.name))) labels.Del(n.name);
      }
      return true;
    }
    std::vector<std::string> keep = {std::string(kErrorLabel), std::string(kErrorDetailsLabel)};
    for (const NamedMatcher& n : names_) {
      if (!labels.Has(n.name)) continue;
      if (!n.matcher || n.matcher->Matches(labels.Get(n.name))) keep.push_back(n.name);
    }
    labels.Keep(keep);
    return true;
  }
  bool TouchesLine() const override { return false; }

 private:
  bool keep_;
  std::vector<NamedMatcher> names_;
};

class LabelFilterStage : public Stage {
 public:
  explicit LabelFilterStage(std::shared_ptr<const LabelFilter> f) : f_(std::move(f)) {}
  bool Process(int64_t, std::string&, LineLabels& labels) const override { return f_->Eval(labels); }
  bool TouchesLine() const override { return false; }

 private:
  std::shared_ptr<const LabelFilter> f_;
};

template <typename T>
bool Compare(LabelFilter::Cmp c, T a, T b) {
  switch (c) {
    case LabelFilter::Cmp::kEq: return a == b;
    case LabelFilter::Cmp::kNe: return a != b;
    case LabelFilter::Cmp::kGt: return a > b;
    case LabelFilter::Cmp::kGe: return a >= b;
    case LabelFilter::Cmp::kLt: return a < b;
    case LabelFilter::Cmp::kLe: return a <= b;
  }
  return false;
}

}  // namespace

std::string SanitizeLabelKey(std::string_view key) {
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.front()))) key.remove_prefix(1);
  while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.remove_suffix(1);
  std::string out;
  if (key.empty()) return out;
  if (std::isdigit(static_cast<unsigned char>(key[0]))) out.push_back('_');
  for (char c : key) out.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_');
  return out;
}

bool LabelFilter::Eval(LineLabels& labels) const {
  switch (kind) {
    case Kind::kAnd: {
      bool a = left->Eval(labels);
      bool b = right->Eval(labels);
      return a && b;
    }
    case Kind::kOr: {
      if (left->Eval(labels)) return true;
      return right->Eval(labels);
    }
    case Kind::kString:
      return matcher->Matches(labels.Get(name));
    case Kind::kIp: {
      if (labels.HasError()) return true;
      if (!labels.Has(name)) return false;
      bool in = TextHasIpInRange(ip, labels.Get(name));
      return cmp == Cmp::kEq ? in : !in;
    }
    case Kind::kNumber: case Kind::kDuration: case Kind::kBytes: {
      if (!labels.Has(name)) return false;
      std::string v(labels.Get(name));
      double x;
      if (kind == Kind::kNumber) {
        auto r = ParseGoFloat(v);
        if (!r.ok()) {
          labels.SetError("LabelFilterErr", r.status().message());
          return true;
        }
        x = *r;
      } else if (kind == Kind::kDuration) {
        auto r = ParseGoDuration(v);
        if (!r.ok()) {
          labels.SetError("LabelFilterErr", r.status().message());
          return true;
        }
        x = static_cast<double>(*r);
      } else {
        auto r = ParseHumanBytes(v);
        if (!r.ok()) {
          labels.SetError("LabelFilterErr", r.status().message());
          return true;
        }
        x = static_cast<double>(*r);
      }
      return Compare(cmp, x, number);
    }
  }
  return false;
}

Result<StagePtr> MakeLineFilter(LineFilterOp op, const std::vector<LineFilterTerm>& terms) {
  std::vector<LineFilterStage::Term> out;
  for (const LineFilterTerm& t : terms) {
    LineFilterStage::Term term;
    if (t.is_ip) {
      if (op != LineFilterOp::kContains && op != LineFilterOp::kNotContains) {
        return Status::InvalidArgument("ip: invalid operation: ip() only supports |= and != line filters");
      }
      auto r = ParseIpPattern(t.value);
      if (!r.ok()) return r.status();
      term.ip = *r;
    } else if (op == LineFilterOp::kMatch || op == LineFilterOp::kNotMatch) {
      RE2::Options o;
      o.set_log_errors(false);
      o.set_dot_nl(true);
      auto re = std::make_shared<RE2>(t.value, o);
      if (!re->ok()) return Status::InvalidArgument("error parsing regexp: " + re->error() + ": `" + t.value + "`");
      term.re = re;
    } else if (op == LineFilterOp::kPattern || op == LineFilterOp::kNotPattern) {
      auto p = Pattern::Parse(t.value);
      if (!p.ok()) return p.status();
      if (p->NamedCaptures() > 0) return Status::InvalidArgument("pattern filter: named captures are not allowed: " + t.value);
      term.pattern = std::move(*p);
    } else {
      term.literal = t.value;
    }
    out.push_back(std::move(term));
  }
  bool negate = op == LineFilterOp::kNotContains || op == LineFilterOp::kNotMatch || op == LineFilterOp::kNotPattern;
  return StagePtr(std::make_shared<LineFilterStage>(negate, std::move(out)));
}

Result<StagePtr> MakeJsonParser(const std::vector<std::pair<std::string, std::string>>& exprs) {
  std::vector<JsonParserStage::Expr> out;
  for (const auto& [label, path] : exprs) {
    auto p = ParseJsonPath(path);
    if (!p.ok()) return p.status();
    out.push_back({label, std::move(*p)});
  }
  return StagePtr(std::make_shared<JsonParserStage>(std::move(out)));
}

Result<StagePtr> MakeLogfmtParser(bool strict, bool keep_empty,
                                  const std::vector<std::pair<std::string, std::string>>& exprs) {
  return StagePtr(std::make_shared<LogfmtParserStage>(strict, keep_empty, exprs));
}

Result<StagePtr> MakeRegexpParser(const std::string& regex) {
  RE2::Options o;
  o.set_log_errors(false);
  auto re = std::make_shared<RE2>(regex, o);
  if (!re->ok()) return Status::InvalidArgument("error parsing regexp: " + re->error() + ": `" + regex + "`");
  if (re->NamedCapturingGroups().empty()) {
    return Status::InvalidArgument("at least one named capture must be supplied");
  }
  // RE2 accepts a repeated group name; Loki rejects it.
  std::vector<std::string> names;
  for (size_t i = regex.find("(?"); i != std::string::npos; i = regex.find("(?", i + 2)) {
    if (i > 0 && regex[i - 1] == '\\') continue;
    size_t st = regex.compare(i, 4, "(?P<") == 0 ? i + 4 : regex.compare(i, 3, "(?<") == 0 ? i + 3 : std::string::npos;
    if (st == std::string::npos) continue;
    size_t e = regex.find('>', st);
    if (e == std::string::npos) continue;
    std::string n = regex.substr(st, e - st);
    if (std::find(names.begin(), names.end(), n) != names.end()) {
      return Status::InvalidArgument("duplicate extracted label name '" + n + "'");
    }
    names.push_back(n);
  }
  return StagePtr(std::make_shared<RegexpParserStage>(std::move(re)));
}

Result<StagePtr> MakePatternParser(const std::string& pattern) {
  auto p = Pattern::Parse(pattern);
  if (!p.ok()) return p.status();
  if (p->NamedCaptures() == 0) return Status::InvalidArgument("at least one capture is required");
  return StagePtr(std::make_shared<PatternParserStage>(std::move(*p)));
}

StagePtr MakeUnpackParser() { return std::make_shared<UnpackStage>(); }
StagePtr MakeDecolorize() { return std::make_shared<DecolorizeStage>(); }

Result<StagePtr> MakeLineFormat(const std::string& tmpl) {
  auto t = Template::Parse("line", tmpl);
  if (!t.ok()) return t.status();
  return StagePtr(std::make_shared<LineFormatStage>(std::move(*t)));
}

Result<StagePtr> MakeLabelFormat(const std::vector<LabelFormatSpec>& specs) {
  std::vector<LabelFormatStage::Item> items;
  for (const LabelFormatSpec& s : specs) {
    LabelFormatStage::Item it{s, nullptr};
    if (!s.rename) {
      auto t = Template::Parse("label", s.value);
      if (!t.ok()) return t.status();
      it.t = std::move(*t);
    }
    items.push_back(std::move(it));
  }
  return StagePtr(std::make_shared<LabelFormatStage>(std::move(items)));
}

StagePtr MakeDrop(std::vector<NamedMatcher> names) { return std::make_shared<DropKeepStage>(false, std::move(names)); }
StagePtr MakeKeep(std::vector<NamedMatcher> names) { return std::make_shared<DropKeepStage>(true, std::move(names)); }
StagePtr MakeLabelFilterStage(std::shared_ptr<const LabelFilter> f) {
  return std::make_shared<LabelFilterStage>(std::move(f));
}

}  // namespace argus::logql
