// The LogQL evaluator: runs a parsed query (parser.h) over a LogReader.
//
// Metric queries evaluate step by step from start to end (one step for instant queries) as
// Loki does: a range aggregation at time t reads entries in (t - offset - range, t - offset];
// vector aggregations, binary operations (with Prometheus' vector-matching rules and Loki's
// NaN for x/0 and x%0) and label_replace work on the per-step vectors. A series whose labels
// carry __error__ fails the query with Loki's "pipeline error" message. Log queries return the
// entries in [start, end), newest first (backward) or oldest first (forward), at most `limit`.
//
// Example:
//   ASSIGN_OR_RETURN(ExprPtr e, ParseExpr("sum(rate({app=\"a\"}[1m]))"));
//   QueryParams p{.start_ns = t, .end_ns = t, .step_ns = 0};
//   ASSIGN_OR_RETURN(QueryResult r, Evaluate(reader, *e, p));
//
// Thread-safety: Evaluate is reentrant; the reader must allow concurrent Select calls if
// several queries run at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "logql/ast.h"
#include "logql/line_labels.h"
#include "logstore/log_reader.h"

namespace argus::logql {

using logstore::LogEntry;
using logstore::LogReader;
using logstore::MemoryReader;

enum class Direction { kBackward, kForward };

struct QueryParams {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  int64_t step_ns = 0;     // 0: instant query at end_ns
  size_t limit = 100;      // log queries: entries returned at most
  Direction direction = Direction::kBackward;
  bool instant() const { return step_ns == 0; }
};

struct Point {
  int64_t ts_ns;
  double value;
};

struct Series {
  LabelSet labels;
  std::vector<Point> points;
};

struct StreamEntry {
  int64_t ts_ns;
  std::string line;
  std::vector<Label> metadata;  // structured metadata of the entry
  std::vector<Label> parsed;    // labels the pipeline extracted (for categorize-labels)
};

struct Stream {
  LabelSet labels;
  std::vector<StreamEntry> entries;
};

struct QueryStats {
  uint64_t entries_scanned = 0;
  uint64_t bytes_scanned = 0;
  uint64_t streams_scanned = 0;
};

struct QueryResult {
  enum class Type { kStreams, kVector, kMatrix, kScalar };
  Type type = Type::kVector;
  std::vector<Series> series;   // kVector: one point each; kMatrix: one per step present
  double scalar = 0;            // kScalar
  std::vector<Stream> streams;  // kStreams
  QueryStats stats;
};

// "streams", "vector", "matrix" or "scalar" (Loki's resultType).
std::string_view ResultTypeName(QueryResult::Type t);

// Evaluates `expr`. Errors: InvalidArgument for pipeline errors and for operations not allowed
// in this query type (approx_topk in a range query), with Loki's messages; the reader's errors
// as they come.
Result<QueryResult> Evaluate(const LogReader& reader, const Expr& expr, const QueryParams& params);

}  // namespace argus::logql
