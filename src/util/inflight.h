// Admission control for concurrent requests: one counter of requests in flight per endpoint
// family, and a guard that holds a slot for one request's lifetime. Callers answer with their
// protocol's "try later" (HTTP 429 / gRPC RESOURCE_EXHAUSTED with Retry-After) when the guard
// says the request did not fit, so overload sheds load instead of queueing without bound.
//
// Example:
//   std::atomic<int> inflight{0};
//   InflightGuard g(&inflight, 64);
//   if (!g.ok()) return TooManyRequests();   // the slot is released when g goes out of scope
//
// Thread-safety: the counter is atomic; any number of guards may share it across threads.
#pragma once

#include <atomic>

namespace argus {

class InflightGuard {
 public:
  // Takes a slot of `*n` (which must outlive the guard); ok() is false when `max` slots were
  // already taken. The slot is counted either way and released by the destructor.
  InflightGuard(std::atomic<int>* n, int max) : n_(n) { ok_ = n_->fetch_add(1) < max; }
  ~InflightGuard() { n_->fetch_sub(1); }
  InflightGuard(const InflightGuard&) = delete;
  InflightGuard& operator=(const InflightGuard&) = delete;

  bool ok() const { return ok_; }

 private:
  std::atomic<int>* n_;
  bool ok_;
};

}  // namespace argus
