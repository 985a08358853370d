// Status and Result<T>: the one error mechanism of Argus.
//
// Every fallible function returns a Status (no value) or a Result<T> (a value or a Status).
// Both are [[nodiscard]]. Errors rise with RETURN_IF_ERROR / ASSIGN_OR_RETURN and gain context
// with Status::WithContext. Exceptions never cross a module boundary. The server edge maps
// StatusCode to HTTP and gRPC codes and to the upstream error body (Prometheus
// `{"status":"error","errorType":...}`, Loki's plain text, OTLP partial_success).
//
// Example:
//   Result<Chunk> ReadChunk(std::string_view bytes) {
//     if (bytes.size() < 2) return Status::Corruption("chunk shorter than its header");
//     ...
//   }
//   ASSIGN_OR_RETURN(Chunk c, ReadChunk(b));
//
// Thread-safety: values; safe to copy and move between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace argus {

// One code per kind of failure; greppable and stable.
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // the caller's input is malformed (HTTP 400, gRPC INVALID_ARGUMENT)
  kNotFound,           // the thing asked for does not exist (HTTP 404)
  kCorruption,         // bytes from disk that do not parse or fail their checksum
  kIOError,            // the operating system refused a read, write or sync
  kResourceExhausted,  // a limit was hit (HTTP 429/422, gRPC RESOURCE_EXHAUSTED)
  kUnavailable,        // shutting down or overloaded; retry later (HTTP 503, gRPC UNAVAILABLE)
  kCanceled,           // the caller went away or a deadline passed (HTTP 503 "canceled"/"timeout")
  kDeadlineExceeded,   // a timeout elapsed
  kOutOfOrder,         // a sample older than the head's out-of-order window (HTTP 400)
  kUnimplemented,      // not supported (yet)
  kInternal,           // a bug: an invariant did not hold
};

// Returns the stable name of `code`, e.g. "InvalidArgument".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Canceled(std::string m) { return {StatusCode::kCanceled, std::move(m)}; }
  static Status DeadlineExceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
  static Status OutOfOrder(std::string m) { return {StatusCode::kOutOfOrder, std::move(m)}; }
  static Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  // IOError from errno: "<what>: <strerror(errno)>".
  static Status FromErrno(std::string_view what, int err);

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "<context>: <message>"; OK stays OK.
  Status WithContext(std::string_view context) const;

  // "OK" or "<CodeName>: <message>".
  std::string ToString() const;

  // Explicitly drops the status; use where failure is truly irrelevant and say why.
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value of T, or the Status that explains why there is none. Never holds an OK status
// without a value.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "Result constructed from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  // REQUIRES: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace argus

#define ARGUS_CONCAT_INNER(a, b) a##b
#define ARGUS_CONCAT(a, b) ARGUS_CONCAT_INNER(a, b)

// Returns from the enclosing function with the status if `expr` is not OK.
#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::argus::Status _st = (expr);              \
    if (!_st.ok()) return _st;                 \
  } while (0)

// `lhs = value of expr`, or return its status from the enclosing function.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(ARGUS_CONCAT(_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
