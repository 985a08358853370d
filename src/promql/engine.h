// The PromQL evaluator (Prometheus promql/engine.go): instant and range queries over any
// tsdb::Queryable, stepped as upstream's engine steps them. Semantics followed (Prometheus 3,
// docs: querying/basics, operators, functions):
//   - instant vector selectors look back `lookback_delta_ms` (default 5m) from each step, in
//     the left-open window (t - lookback, t]; a stale marker ends a series;
//   - range selectors select (t - range, t] (left-open, as Prometheus 3);
//   - subqueries without a step use `default_eval_interval_ms` (1m), aligned to multiples of
//     the step as upstream;
//   - `offset` (also negative) and `@` (timestamp, start(), end());
//   - every float function, aggregation and binary operator with vector matching, with
//     upstream's error texts ("vector cannot contain metrics with the same labelset", ...);
//   - annotations (warnings/infos) with upstream's texts and positions.
//
// Example:
//   Engine engine(EngineOptions{});
//   ASSIGN_OR_RETURN(ExprPtr e, ParseExpr("sum by (job) (rate(http_requests_total[5m]))"));
//   ASSIGN_OR_RETURN(QueryResult r, engine.RangeQuery(db, *e, query, start_ms, end_ms, 15000));
//
// Errors: InvalidArgument for queries that are wrong at evaluation time (e.g. bad parameters),
// Internal-free: evaluation errors are kInvalidArgument ("execution" in the API is chosen by
// the caller through `Status`), ResourceExhausted for the sample limit, DeadlineExceeded for
// the timeout, Canceled when `cancel` is set.
//
// Thread-safety: an Engine may run many queries at once; each query is evaluated on the
// calling thread and limited by `max_concurrency` (callers beyond it wait).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "promql/ast.h"
#include "promql/value.h"
#include "tsdb/storage.h"
#include "util/status.h"

namespace argus::promql {

struct EngineOptions {
  int64_t lookback_delta_ms = 5 * 60 * 1000;   // --query.lookback-delta
  int64_t max_samples = 50000000;              // --query.max-samples
  int64_t timeout_ms = 2 * 60 * 1000;          // --query.timeout
  int max_concurrency = 20;                    // --query.max-concurrency
  int64_t default_eval_interval_ms = 60000;    // subqueries without a step
  // Prometheus 3's `promql-delayed-name-removal` feature: __name__ is removed at the end of
  // the query instead of by each function/operator. Off by default, as upstream.
  bool delayed_name_removal = false;
  // Prometheus' `use-start-timestamps` feature (--enable-feature=use-start-timestamps): rate,
  // increase, irate and resets read the samples' start timestamps (a zero-valued point at
  // the start time instead of left extrapolation, start-time resets, the overlap warning),
  // and start_timestamp() returns them. Off by default, as upstream.
  bool use_start_timestamps = false;
};

// Error message texts shared with the API for mapping (execution errors are
// InvalidArgument with this prefix removed by nobody: they are shown as they are).
inline constexpr std::string_view kTooManySamples =
    "query processing would load too many samples into memory in query execution";

// Per-query knobs the API passes (e.g. `timeout` and `limit` parameters).
struct QueryOptions {
  int64_t timeout_ms = 0;          // 0 = the engine's timeout
  const std::atomic<bool>* cancel = nullptr;  // set by the caller to cancel
};

class Engine {
 public:
  explicit Engine(EngineOptions opts) : opts_(opts) {}

  // Evaluates `expr` (parsed from `query`, used for annotation positions) at `t_ms`.
  Result<QueryResult> InstantQuery(tsdb::Queryable* db, const Expr& expr, std::string_view query,
                                   int64_t t_ms, const QueryOptions& qo = {});
  // Evaluates `expr` at start, start+step, ..., <= end. REQUIRES: step_ms > 0, end >= start.
  // The result is a matrix sorted by labels (or an error for string expressions).
  Result<QueryResult> RangeQuery(tsdb::Queryable* db, const Expr& expr, std::string_view query,
                                 int64_t start_ms, int64_t end_ms, int64_t step_ms,
                                 const QueryOptions& qo = {});

  const EngineOptions& options() const { return opts_; }

 private:
  Result<QueryResult> Exec(tsdb::Queryable* db, const Expr& expr, std::string_view query,
                           int64_t start_ms, int64_t end_ms, int64_t step_ms, bool instant,
                           const QueryOptions& qo);
  EngineOptions opts_;
  std::mutex mu_;
  std::condition_variable cv_;
  int running_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace argus::promql
