// Test helpers for the span observers (span metrics, service graphs): a trace as the tests
// build it, and Observe over the chosen ones, as the ingester passes them (the accepted
// traces, parsed). Not thread-safe; tests only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "util/status.h"

namespace argus::ingest {

struct TestBatch {
  std::string trace_id;
  opentelemetry::proto::trace::v1::TracesData spans;
};

// Calls o.Observe with batches[i].spans for every i in `accepted`; returns its status.
template <class Observer>
Status Observe(Observer& o, const std::vector<TestBatch>& batches, const std::vector<size_t>& accepted,
               int64_t now_ms) {
  std::vector<const opentelemetry::proto::trace::v1::TracesData*> traces;
  for (size_t i : accepted) traces.push_back(&batches[i].spans);
  return o.Observe(traces, now_ms);
}

}  // namespace argus::ingest
