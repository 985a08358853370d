// The Prometheus text exposition format (0.0.4, and 1.0.0 with quoted UTF-8 names) and the
// OpenMetrics 1.0 text format: what a scrape target answers. Follows Prometheus docs,
// instrumenting/exposition_formats, and the OpenMetrics 1.0 specification ("Text format").
//
// The parser is a pull parser over one page, like Prometheus' textparse: Next() steps from entry
// to entry (a sample, or a TYPE/HELP/UNIT line) without regular expressions and without
// allocating per line once its scratch buffers have grown. A sample's labels are only
// materialised on request (labels()), so a scrape loop can look the raw series text up in a
// cache first. ParseExposition() is the convenience form that collects a whole page.
//
// Format differences handled here:
//   - Timestamps: integer milliseconds in the Prometheus format; float seconds in OpenMetrics
//     (rounded to the nearest millisecond).
//   - Escapes: label values accept \\ \" \n in both; HELP accepts \\ \n (and \" in OpenMetrics).
//     Other backslash sequences are kept as written.
//   - OpenMetrics: exemplars after ` # `, `# UNIT`, a mandatory final `# EOF` with nothing after
//     it, no blank lines and no free-form comments. The Prometheus format ignores blank lines and
//     comments other than HELP/TYPE, and rejects exemplars.
//   - `_created` samples of counters, histograms, summaries and gauge histograms are kept as
//     ordinary series by default, as Prometheus does unless created-timestamp ingestion is on;
//     ParseOptions::skip_created_series drops them instead (OpenMetrics only).
//   - Names: legacy names ([a-zA-Z_:][a-zA-Z0-9_:]*) or, as in text format 1.0.0 and
//     OpenMetrics 2.0 drafts, a quoted UTF-8 metric name as the first item inside the braces
//     (`{"my.metric", "a.b"="c"} 1`) and quoted label names.
//   - Values: Go's ParseFloat syntax: decimal and hex floats, NaN, Inf, +Inf, -Inf (any case).
//
// Example:
//   TextParser p(body, ExpositionFormat::kPrometheusText);
//   while (true) {
//     ASSIGN_OR_RETURN(bool more, p.Next());
//     if (!more) break;
//     if (p.entry() == TextParser::Entry::kSample) Use(p.series(), p.labels(), p.value());
//   }
//
//   ASSIGN_OR_RETURN(ParsedPage page, ParseExposition(body, ExpositionFormat::kOpenMetrics));
//
// Errors: InvalidArgument "line N: <what is wrong>" (1-based line numbers). Never crashes on
// any input. Thread-safety: a TextParser is used by one thread; it does not own the body, which
// must outlive it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/labels.h"
#include "model/sample.h"
#include "util/status.h"

namespace argus::ingest {

enum class ExpositionFormat {
  kPrometheusText,  // text/plain; version=0.0.4 (or 1.0.0)
  kOpenMetrics,     // application/openmetrics-text; version=1.0.0 (or 0.0.1)
};

// The format named by an HTTP Content-Type: `application/openmetrics-text` -> kOpenMetrics,
// `text/plain` -> kPrometheusText (parameters and case ignored). Returns nullopt for an empty or
// other media type; the caller decides on a fallback (Prometheus: fallback_scrape_protocol).
std::optional<ExpositionFormat> FormatFromContentType(std::string_view content_type);

struct ParseOptions {
  // Drop `<family>_created` samples of counter/histogram/summary/gaugehistogram families in
  // OpenMetrics pages (Prometheus does so only with created-timestamp zero ingestion).
  bool skip_created_series = false;
};

// An exemplar as exposed: its timestamp is optional (the scrape loop uses the scrape time).
struct ParsedExemplar {
  Labels labels;
  double value = 0;
  std::optional<int64_t> t_ms;
};

class TextParser {
 public:
  enum class Entry { kSample, kType, kHelp, kUnit };

  // `body` must outlive the parser.
  TextParser(std::string_view body, ExpositionFormat format, ParseOptions options = {});

  // Advances to the next entry. Returns true if one is ready, false at the end of the page.
  // Errors: InvalidArgument "line N: ..."; after an error the parser must not be used again.
  Result<bool> Next();

  Entry entry() const { return entry_; }
  // 1-based line number of the current entry.
  int line() const { return line_no_; }

  // --- For Entry::kSample ---
  // The series as written (`name{a="b"}`, leading/trailing blanks trimmed): a stable cache key
  // for the same series across scrapes of one target. Valid until the next call to Next().
  std::string_view series() const { return series_; }
  std::string_view metric_name() const { return name_; }
  // The label set including __name__, sorted. Builds a new Labels on each call.
  Labels labels() const;
  double value() const { return value_; }
  // The sample's own timestamp, if it carries one (milliseconds since the epoch).
  std::optional<int64_t> t_ms() const { return t_ms_; }
  // The exemplar of the sample (OpenMetrics only), if any.
  const std::optional<ParsedExemplar>& exemplar() const { return exemplar_; }

  // --- For Entry::kType, kHelp, kUnit ---
  // The metric family name as written on the line.
  std::string_view family() const { return name_; }
  MetricType type() const { return type_; }        // kType
  std::string_view help() const { return text_; }  // kHelp, unescaped
  std::string_view unit() const { return text_; }  // kUnit

 private:
  struct LabelRef {
    std::string_view name;
    std::string_view value;
  };
  Result<bool> ParseLine(std::string_view line);
  Status ParseComment(std::string_view line, bool* is_entry);
  Status ParseSample(std::string_view line);
  Status ParseLabelSet(std::string_view line, size_t* pos, bool allow_name,
                       std::vector<LabelRef>* out, std::string_view* name_out);
  Status Error(std::string_view what) const;

  std::string_view body_;
  ExpositionFormat format_;
  ParseOptions options_;
  size_t pos_ = 0;
  int line_no_ = 0;
  bool saw_eof_ = false;

  Entry entry_ = Entry::kSample;
  std::string_view series_;
  std::string_view name_;
  std::vector<LabelRef> labels_;
  double value_ = 0;
  std::optional<int64_t> t_ms_;
  std::optional<ParsedExemplar> exemplar_;
  std::vector<LabelRef> exemplar_labels_;
  MetricType type_ = MetricType::kUnknown;
  std::string_view text_;

  // Unescaped strings of the current line live here; LabelRefs point into it. Reserved so that
  // the views stay valid while a line is parsed (see Unescape in the .cc).
  std::string scratch_;
  std::string help_scratch_;

  // The most recent TYPE, for `_created` handling in OpenMetrics.
  std::string current_family_;
  MetricType current_type_ = MetricType::kUnknown;
};

struct ParsedSample {
  Labels labels;
  std::optional<int64_t> t_ms;
  double value = 0;
  std::optional<ParsedExemplar> exemplar;
};

struct ParsedPage {
  std::vector<ParsedSample> samples;
  // One entry per family that had a TYPE, HELP or UNIT line, in order of first appearance.
  std::vector<MetricMetadata> metadata;
};

// Parses a whole page. Errors as TextParser::Next.
Result<ParsedPage> ParseExposition(std::string_view body, ExpositionFormat format,
                                   ParseOptions options = {});

// Parses a value as Go's strconv.ParseFloat does for exposition values: decimal or hex floats
// with an optional sign, and NaN/Inf/Infinity in any case. nullopt if malformed.
std::optional<double> ParsePromFloat(std::string_view s);

}  // namespace argus::ingest
