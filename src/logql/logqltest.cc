#include "logql/logqltest.h"

#include <re2/re2.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "logql/convert.h"
#include "logql/engine.h"
#include "logql/parser.h"
#include "logstore/log_reader.h"

namespace argus::logql {

namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// Drops a `#` comment that is not inside "..." or `...`.
std::string StripComment(const std::string& s) {
  char q = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (q) {
      if (c == '\\' && q == '"') ++i;
      else if (c == q) q = 0;
    } else if (c == '"' || c == '`') {
      q = c;
    } else if (c == '#') {
      return s.substr(0, i);
    }
  }
  return s;
}

// Parses `{a="b", c=""}` at `s[*pos]`; keeps empty values.
Result<LabelSet> ParseLabelSet(std::string_view s, size_t* pos) {
  size_t p = *pos;
  while (p < s.size() && std::isspace(static_cast<unsigned char>(s[p]))) ++p;
  if (p >= s.size() || s[p] != '{') return Status::InvalidArgument("expected {");
  ++p;
  LabelSet out;
  while (true) {
    while (p < s.size() && (std::isspace(static_cast<unsigned char>(s[p])) || s[p] == ',')) ++p;
    if (p < s.size() && s[p] == '}') {
      ++p;
      break;
    }
    size_t st = p;
    while (p < s.size() && (std::isalnum(static_cast<unsigned char>(s[p])) || s[p] == '_')) ++p;
    if (p == st) return Status::InvalidArgument("expected a label name");
    std::string name(s.substr(st, p - st));
    while (p < s.size() && std::isspace(static_cast<unsigned char>(s[p]))) ++p;
    if (p >= s.size() || s[p] != '=') return Status::InvalidArgument("expected =");
    ++p;
    while (p < s.size() && std::isspace(static_cast<unsigned char>(s[p]))) ++p;
    if (p >= s.size() || s[p] != '"') return Status::InvalidArgument("expected a quoted value");
    size_t vs = ++p;
    while (p < s.size() && s[p] != '"') {
      if (s[p] == '\\') ++p;
      ++p;
    }
    if (p >= s.size()) return Status::InvalidArgument("unterminated value");
    auto v = GoUnescape(s.substr(vs, p - vs));
    if (!v.ok()) return v.status();
    ++p;
    out.push_back({name, *v});
  }
  std::sort(out.begin(), out.end(), [](const Label& a, const Label& b) { return a.name < b.name; });
  *pos = p;
  return out;
}

Result<int64_t> ParseTime(std::string_view s) { return ParseGoDuration(Trim(s), true); }

struct ExpectedSeries {
  LabelSet labels;
  std::vector<std::optional<double>> values;
};

struct Eval {
  int line = 0;
  bool instant = true;
  int64_t start = 0, end = 0, step = 0;
  std::string query;
  bool expect_fail = false;
  std::string fail_msg, fail_regex;
  bool expect_empty = false;
  bool ordered = false;
  std::optional<double> scalar;
  std::vector<ExpectedSeries> series;
  std::string script_error;
};

Result<double> ParseValue(std::string_view s) {
  std::string t = Trim(s);
  if (t == "NaN") return NAN;
  if (t == "Inf" || t == "+Inf") return INFINITY;
  if (t == "-Inf") return -INFINITY;
  return ParseGoFloat(t);
}

// `1 2 _ 3+1x2 4x3`.
Result<std::vector<std::optional<double>>> ParseValues(std::string_view s) {
  std::vector<std::optional<double>> out;
  std::istringstream in{std::string(s)};
  std::string tok;
  static const RE2 kExpand(R"(^([-+]?[0-9.eE]+|[-+]?Inf|NaN)(?:([-+])([0-9.eE]+))?x([0-9]+)$)");
  while (in >> tok) {
    if (tok == "_") {
      out.push_back(std::nullopt);
      continue;
    }
    std::string base, sign, delta, count;
    if (RE2::FullMatch(tok, kExpand, &base, &sign, &delta, &count)) {
      ASSIGN_OR_RETURN(double b, ParseValue(base));
      double d = 0;
      if (!delta.empty()) {
        ASSIGN_OR_RETURN(d, ParseValue(delta));
        if (sign == "-") d = -d;
      }
      int n = std::atoi(count.c_str());
      for (int i = 0; i <= n; ++i) out.push_back(b + d * i);
      continue;
    }
    ASSIGN_OR_RETURN(double v, ParseValue(tok));
    out.push_back(v);
  }
  return out;
}

bool AlmostEqual(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (a == b) return true;
  double diff = std::fabs(a - b);
  double scale = std::max(std::fabs(a), std::fabs(b));
  return diff <= 1e-6 * scale || diff < 1e-12;
}

std::string FormatExpected(const Eval& ev) {
  std::ostringstream o;
  if (ev.expect_fail) {
    o << "expect fail";
    if (!ev.fail_msg.empty()) o << " msg: " << ev.fail_msg;
    if (!ev.fail_regex.empty()) o << " regex: " << ev.fail_regex;
    return o.str();
  }
  if (ev.expect_empty) return "expect empty";
  if (ev.scalar) return "scalar " + FormatFloat(*ev.scalar);
  for (const auto& s : ev.series) {
    o << "    " << LabelSetString(s.labels);
    for (const auto& v : s.values) o << " " << (v ? FormatFloat(*v) : "_");
    o << "\n";
  }
  return o.str();
}

std::string FormatActual(const QueryResult& r, const Eval& ev) {
  std::ostringstream o;
  if (r.type == QueryResult::Type::kScalar) return "scalar " + FormatFloat(r.scalar);
  if (r.series.empty()) return "(empty)";
  for (const auto& s : r.series) {
    o << "    " << LabelSetString(s.labels);
    if (ev.instant) {
      for (const auto& p : s.points) o << " " << FormatFloat(p.value);
    } else {
      size_t n = static_cast<size_t>((ev.end - ev.start) / ev.step) + 1;
      size_t k = 0;
      for (size_t i = 0; i < n; ++i) {
        int64_t t = ev.start + static_cast<int64_t>(i) * ev.step;
        if (k < s.points.size() && s.points[k].ts_ns == t) {
          o << " " << FormatFloat(s.points[k++].value);
        } else {
          o << " _";
        }
      }
    }
    o << "\n";
  }
  return o.str();
}

// Returns "" when the result matches, else why not.
std::string Check(const Eval& ev, const Result<QueryResult>& res) {
  if (ev.expect_fail) {
    if (res.ok()) return "expected the query to fail, it succeeded";
    const std::string& m = res.status().message();
    if (!ev.fail_msg.empty() && m.find(ev.fail_msg) == std::string::npos) return "error message does not contain the expected text: " + m;
    if (!ev.fail_regex.empty()) {
      RE2 re(ev.fail_regex);
      if (!RE2::PartialMatch(m, re)) return "error message does not match the regex: " + m;
    }
    return "";
  }
  if (!res.ok()) return "query failed: " + res.status().message();
  const QueryResult& r = *res;
  if (ev.expect_empty) {
    if (r.type == QueryResult::Type::kScalar || !r.series.empty()) return "expected an empty result";
    return "";
  }
  if (ev.scalar) {
    if (r.type != QueryResult::Type::kScalar) return "expected a scalar";
    return AlmostEqual(r.scalar, *ev.scalar) ? "" : "scalar value differs";
  }
  if (r.type == QueryResult::Type::kScalar) return "expected series, got a scalar";
  if (r.series.size() != ev.series.size()) {
    return "expected " + std::to_string(ev.series.size()) + " series, got " + std::to_string(r.series.size());
  }
  std::vector<bool> used(r.series.size(), false);
  for (size_t e = 0; e < ev.series.size(); ++e) {
    const ExpectedSeries& want = ev.series[e];
    int found = -1;
    if (ev.ordered) {
      if (r.series[e].labels == want.labels) found = static_cast<int>(e);
      else return "series " + std::to_string(e) + " is out of order";
    } else {
      for (size_t a = 0; a < r.series.size(); ++a) {
        if (!used[a] && r.series[a].labels == want.labels) {
          found = static_cast<int>(a);
          break;
        }
      }
    }
    if (found < 0) return "no series " + LabelSetString(want.labels);
    used[static_cast<size_t>(found)] = true;
    const Series& got = r.series[static_cast<size_t>(found)];
    if (ev.instant) {
      if (want.values.size() != 1 || !want.values[0]) return "bad expected value for an instant query";
      if (got.points.size() != 1 || !AlmostEqual(got.points[0].value, *want.values[0])) {
        return "value differs for " + LabelSetString(want.labels);
      }
      continue;
    }
    size_t n = static_cast<size_t>((ev.end - ev.start) / ev.step) + 1;
    if (want.values.size() != n) {
      return "expected " + std::to_string(want.values.size()) + " points but the range has " + std::to_string(n) + " steps";
    }
    size_t k = 0;
    for (size_t i = 0; i < n; ++i) {
      int64_t t = ev.start + static_cast<int64_t>(i) * ev.step;
      std::optional<double> g;
      if (k < got.points.size() && got.points[k].ts_ns == t) g = got.points[k++].value;
      if (want.values[i].has_value() != g.has_value() || (g && !AlmostEqual(*g, *want.values[i]))) {
        return "point " + std::to_string(i) + " differs for " + LabelSetString(want.labels);
      }
    }
  }
  return "";
}

// One `load` line: `<selector> "<line>" @ <t> [repeat every <s> for <n>] [metadata ...]`.
Status LoadLine(const std::string& text, MemoryReader* mem) {
  size_t p = 0;
  ASSIGN_OR_RETURN(LabelSet ls, ParseLabelSet(text, &p));
  while (p < text.size() && std::isspace(static_cast<unsigned char>(text[p]))) ++p;
  if (p >= text.size() || (text[p] != '"' && text[p] != '`')) return Status::InvalidArgument("expected a quoted line");
  char q = text[p];
  size_t e = text.find(q, p + 1);
  if (e == std::string::npos) return Status::InvalidArgument("unterminated line");
  std::string line = text.substr(p + 1, e - p - 1);
  std::string rest = Trim(text.substr(e + 1));
  if (rest.empty() || rest[0] != '@') return Status::InvalidArgument("expected @ <start>");
  rest = Trim(rest.substr(1));
  size_t sp = rest.find_first_of(" \t[");
  ASSIGN_OR_RETURN(int64_t start, ParseTime(rest.substr(0, sp)));
  rest = sp == std::string::npos ? "" : Trim(rest.substr(sp));
  int64_t step = 0;
  int count = 1;
  std::vector<Label> metadata;
  while (!rest.empty()) {
    if (rest[0] != '[') return Status::InvalidArgument("unexpected text: " + rest);
    size_t close = std::string::npos;
    char qq = 0;
    for (size_t i = 1; i < rest.size(); ++i) {
      if (qq) {
        if (rest[i] == '\\') ++i;
        else if (rest[i] == qq) qq = 0;
      } else if (rest[i] == '"') {
        qq = '"';
      } else if (rest[i] == ']') {
        close = i;
        break;
      }
    }
    if (close == std::string::npos) return Status::InvalidArgument("unterminated [");
    std::string body = Trim(rest.substr(1, close - 1));
    rest = Trim(rest.substr(close + 1));
    std::string every, n;
    static const RE2 kRepeat(R"(repeat\s+every\s+(\S+)\s+for\s+(\d+))");
    if (RE2::FullMatch(body, kRepeat, &every, &n)) {
      ASSIGN_OR_RETURN(step, ParseTime(every));
      count = std::atoi(n.c_str());
      continue;
    }
    if (body.rfind("metadata", 0) == 0) {
      std::string m = "{" + body.substr(8) + "}";
      // Pairs are space separated; ParseLabelSet accepts spaces as separators.
      size_t mp = 0;
      ASSIGN_OR_RETURN(LabelSet md, ParseLabelSet(m, &mp));
      metadata = md;
      continue;
    }
    return Status::InvalidArgument("unknown modifier [" + body + "]");
  }
  std::vector<Label> stream_labels(ls.begin(), ls.end());
  ASSIGN_OR_RETURN(Labels stream, Labels::FromUnsorted(stream_labels));
  for (int i = 0; i < count; ++i) {
    LogEntry en;
    en.ts_ns = start + step * i;
    en.line = line;
    size_t f;
    while ((f = en.line.find("{{.i}}")) != std::string::npos) en.line.replace(f, 6, std::to_string(i));
    en.metadata = metadata;
    mem->Append(stream, std::move(en));
  }
  return Status::OK();
}

Status ParseEvalHeader(const std::string& text, Eval* ev) {
  static const RE2 kInstant(R"(eval\s+instant\s+at\s+(\S+)\s+(.+))");
  static const RE2 kRange(R"(eval\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+))");
  std::string a, b, c, q;
  if (RE2::FullMatch(text, kInstant, &a, &q)) {
    ev->instant = true;
    ASSIGN_OR_RETURN(ev->end, ParseTime(a));
    ev->start = ev->end;
  } else if (RE2::FullMatch(text, kRange, &a, &b, &c, &q)) {
    ev->instant = false;
    ASSIGN_OR_RETURN(ev->start, ParseTime(a));
    ASSIGN_OR_RETURN(ev->end, ParseTime(b));
    ASSIGN_OR_RETURN(ev->step, ParseTime(c));
    if (ev->step <= 0) return Status::InvalidArgument("step must be positive");
  } else {
    return Status::InvalidArgument("cannot parse eval line");
  }
  ev->query = Trim(q);
  return Status::OK();
}

Status ParseExpectation(const std::string& t, Eval* ev, bool* has) {
  if (t.rfind("skip values-comparison", 0) == 0) return Status::OK();
  if (t == "expect ordered") {
    ev->ordered = true;
    return Status::OK();
  }
  if (t == "expect empty") {
    ev->expect_empty = true;
    *has = true;
    return Status::OK();
  }
  if (t.rfind("expect fail", 0) == 0) {
    ev->expect_fail = true;
    *has = true;
    std::string rest = Trim(t.substr(11));
    if (rest.rfind("msg:", 0) == 0) ev->fail_msg = Trim(rest.substr(4));
    else if (rest.rfind("regex:", 0) == 0) ev->fail_regex = Trim(rest.substr(6));
    else if (!rest.empty()) return Status::InvalidArgument("unknown expect fail modifier: " + rest);
    return Status::OK();
  }
  if (!t.empty() && t[0] == '{') {
    size_t p = 0;
    ExpectedSeries s;
    ASSIGN_OR_RETURN(s.labels, ParseLabelSet(t, &p));
    ASSIGN_OR_RETURN(s.values, ParseValues(t.substr(p)));
    ev->series.push_back(std::move(s));
    *has = true;
    return Status::OK();
  }
  auto v = ParseValue(t);
  if (v.ok()) {
    ev->scalar = *v;
    *has = true;
    return Status::OK();
  }
  return Status::InvalidArgument("cannot parse expectation: " + t);
}

}  // namespace

Status RunLogqlTestFile(const std::string& path, std::ostream& out, LogqlTestCounts* counts) {
  std::ifstream in(path);
  if (!in) return Status::IOError("cannot read " + path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  MemoryReader mem;
  auto indented = [](const std::string& l) { return !l.empty() && (l[0] == ' ' || l[0] == '\t'); };
  size_t i = 0;
  auto fail = [&](int line, const std::string& query, const std::string& why, const std::string& expected,
                  const std::string& actual) {
    ++counts->failed;
    out << path << ":" << line << ": FAIL: " << why << "\n  query:    " << query << "\n  expected:\n"
        << expected << "\n  actual:\n" << actual << "\n";
  };
  while (i < lines.size()) {
    std::string raw = lines[i];
    std::string t = Trim(StripComment(raw));
    int lineno = static_cast<int>(i) + 1;
    ++i;
    if (t.empty()) continue;
    if (t == "clear") {
      mem.Clear();
      continue;
    }
    if (t == "load") {
      while (i < lines.size() && (indented(lines[i]) || Trim(StripComment(lines[i])).empty())) {
        std::string body = Trim(StripComment(lines[i]));
        int ln = static_cast<int>(i) + 1;
        ++i;
        if (body.empty()) {
          // A blank line ends the block unless more indented lines follow directly.
          if (i < lines.size() && indented(lines[i])) continue;
          break;
        }
        Status st = LoadLine(body, &mem);
        if (!st.ok()) fail(ln, body, "bad load line: " + st.message(), "", "");
      }
      continue;
    }
    if (t.rfind("eval", 0) == 0) {
      Eval ev;
      ev.line = lineno;
      Status st = ParseEvalHeader(t, &ev);
      bool has = false;
      while (i < lines.size() && indented(lines[i])) {
        std::string body = Trim(StripComment(lines[i]));
        ++i;
        if (body.empty()) continue;
        Status es = ParseExpectation(body, &ev, &has);
        if (!es.ok() && st.ok()) st = es;
      }
      if (!st.ok()) {
        fail(lineno, t, "bad eval: " + st.message(), "", "");
        continue;
      }
      if (!has) {
        fail(lineno, ev.query, "eval has no expectation", "", "");
        continue;
      }
      Result<QueryResult> res = Status::Internal("not run");
      auto parsed = ParseExpr(ev.query);
      if (!parsed.ok()) {
        res = parsed.status();
      } else {
        QueryParams p;
        p.start_ns = ev.start;
        p.end_ns = ev.end;
        p.step_ns = ev.instant ? 0 : ev.step;
        res = Evaluate(mem, **parsed, p);
      }
      std::string why = Check(ev, res);
      if (why.empty()) {
        ++counts->passed;
      } else {
        fail(lineno, ev.query, why, FormatExpected(ev),
             res.ok() ? FormatActual(*res, ev) : "error: " + res.status().message());
      }
      continue;
    }
    fail(lineno, t, "unknown command", "", "");
  }
  return Status::OK();
}

int RunLogqlTestMain(int argc, char** argv) {
  std::string baseline_path;
  std::vector<std::string> files;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--baseline" && i + 1 < argc) {
      baseline_path = argv[++i];
    } else if (a == "-h" || a == "--help") {
      std::cout << "usage: argus test logql [--baseline FILE] SCRIPT...\n";
      return 0;
    } else {
      files.push_back(a);
    }
  }
  std::map<std::string, int> baseline;
  if (!baseline_path.empty()) {
    std::ifstream b(baseline_path);
    for (std::string l; std::getline(b, l);) {
      std::istringstream ls(l);
      std::string name;
      int n;
      if (l.empty() || l[0] == '#') continue;
      if (ls >> name >> n) baseline[name] = n;
    }
  }
  if (files.empty()) {
    std::cerr << "usage: argus test logql [--baseline FILE] SCRIPT...\n";
    return 2;
  }
  int total_pass = 0, total_fail = 0, existing = 0;
  bool ok = true;
  for (const std::string& f : files) {
    if (!std::filesystem::exists(f)) {
      std::cout << f << ": not found, skipped\n";
      continue;
    }
    ++existing;
    LogqlTestCounts c;
    Status st = RunLogqlTestFile(f, std::cout, &c);
    if (!st.ok()) {
      std::cout << f << ": " << st.ToString() << "\n";
      ok = false;
      continue;
    }
    std::string base = std::filesystem::path(f).filename().string();
    std::cout << base << ": " << c.passed << " passed, " << c.failed << " failed\n";
    total_pass += c.passed;
    total_fail += c.failed;
    if (!baseline_path.empty()) {
      auto it = baseline.find(base);
      int need = it == baseline.end() ? c.passed + c.failed : it->second;
      if (c.passed < need) {
        std::cout << base << ": below the baseline of " << need << " passed\n";
        ok = false;
      }
    } else if (c.failed > 0) {
      ok = false;
    }
  }
  std::cout << total_pass << " passed, " << total_fail << " failed\n";
  if (existing == 0) return 77;
  return ok ? 0 : 1;
}

}  // namespace argus::logql
