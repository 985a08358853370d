// libFuzzer target for the remote_write decoder (src/ingest/remote_write.h).
//
// The first input byte picks the path: even -> the rest is taken as a request body as sent on
// the wire (snappy block); odd -> the rest is a raw protobuf WriteRequest that the target
// snappy-compresses first, so that the fuzzer reaches the protobuf parser, the parse-failure
// explanation and the label validation without having to produce valid snappy.
// Invariants checked: no crash, and a rejected request reports a reason.
//
// Build: cmake -DARGUS_FUZZ=ON (clang: libFuzzer; gcc: fuzz/fuzz_main.cc replays files).
// Run:   ./remote_write_fuzz fuzz/corpus/remote_write
#include <snappy.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ingest/remote_write.h"

namespace {

// Accepts everything; refuses samples with negative timestamps like an out-of-order check would.
class NullAppender : public argus::tsdb::Appender {
 public:
  argus::Status Append(const argus::Labels& labels, int64_t t_ms, double) override {
    if (labels.empty()) std::abort();  // the handler must never pass an empty label set
    return t_ms < 0 ? argus::Status::OutOfOrder("out of order sample") : argus::Status::OK();
  }
  argus::Status AppendExemplar(const argus::Labels&, const argus::Exemplar&) override {
    return argus::Status::OK();
  }
  argus::Status UpdateMetadata(const argus::MetricMetadata&) override {
    return argus::Status::OK();
  }
  argus::Status Commit() override { return argus::Status::OK(); }
  void Rollback() override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string body;
  if (data[0] % 2 == 0) {
    body.assign(input);
  } else {
    snappy::Compress(input.data(), input.size(), &body);
  }
  argus::ingest::RemoteWriteOptions opts;
  opts.max_label_value_bytes = 1024;
  opts.max_decoded_bytes = 4 << 20;
  NullAppender app;
  argus::ingest::WriteStats stats;
  argus::Status st = argus::ingest::HandleRemoteWrite(body, opts, &app, &stats);
  if (!st.ok() && st.message().empty()) std::abort();
  return 0;
}
