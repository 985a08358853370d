#include "tsdb/st_column.h"

#include <limits>

#include "util/coding.h"

namespace argus::tsdb {

void EncodeSTEntries(const std::vector<SampleST>& entries, std::string* out) {
  int64_t prev_t = 0, prev_st = 0;
  for (const SampleST& e : entries) {
    PutVarsint64(out, static_cast<int64_t>(static_cast<uint64_t>(e.t_ms) - static_cast<uint64_t>(prev_t)));
    PutVarsint64(out, static_cast<int64_t>(static_cast<uint64_t>(e.st_ms) - static_cast<uint64_t>(prev_st)));
    prev_t = e.t_ms;
    prev_st = e.st_ms;
  }
}

Status DecodeSTEntries(std::string_view in, int64_t mint_ms, int64_t maxt_ms,
                       std::vector<SampleST>* out) {
  int64_t t = 0, st = 0;
  bool first = true;
  while (!in.empty()) {
    int64_t dt, dst;
    if (!GetVarsint64(&in, &dt) || !GetVarsint64(&in, &dst)) {
      return Status::Corruption("truncated start timestamp entry");
    }
    if (!first && dt <= 0) return Status::Corruption("start timestamp entries out of order");
    first = false;
    t = static_cast<int64_t>(static_cast<uint64_t>(t) + static_cast<uint64_t>(dt));
    st = static_cast<int64_t>(static_cast<uint64_t>(st) + static_cast<uint64_t>(dst));
    if (t > maxt_ms) break;
    if (t >= mint_ms) out->push_back({t, st});
  }
  return Status::OK();
}

void StColumn::Append(int64_t t_ms, int64_t st_ms) {
  PutVarsint64(&b_, static_cast<int64_t>(static_cast<uint64_t>(t_ms) - static_cast<uint64_t>(last_t_)));
  PutVarsint64(&b_, static_cast<int64_t>(static_cast<uint64_t>(st_ms) - static_cast<uint64_t>(last_st_)));
  last_t_ = t_ms;
  last_st_ = st_ms;
  ++n_;
}

void StColumn::Collect(int64_t mint_ms, int64_t maxt_ms, std::vector<SampleST>* out) const {
  // Written by Append only: a decoding error would be a bug; keep what decoded.
  DecodeSTEntries(b_, mint_ms, maxt_ms, out).IgnoreError();
}

void StColumn::Truncate(int64_t mint_ms) {
  std::vector<SampleST> keep;
  Collect(mint_ms, std::numeric_limits<int64_t>::max(), &keep);
  if (keep.size() == n_) return;
  StColumn fresh;
  for (const SampleST& e : keep) fresh.Append(e.t_ms, e.st_ms);
  *this = std::move(fresh);
}

std::string EncodeXorSTChunk(std::string_view xor_bytes, const std::vector<SampleST>& entries) {
  std::string out(xor_bytes);
  std::string st;
  EncodeSTEntries(entries, &st);
  out += st;
  PutFixed32(&out, static_cast<uint32_t>(st.size()));
  return out;
}

Status SplitXorSTChunk(std::string_view chunk, std::string_view* xor_bytes,
                       std::string_view* entries) {
  if (chunk.size() < 4) return Status::Corruption("start timestamp chunk too short");
  uint32_t n = DecodeFixed32(chunk.data() + chunk.size() - 4);
  if (n > chunk.size() - 4) return Status::Corruption("start timestamp chunk length out of range");
  size_t xor_len = chunk.size() - 4 - n;
  *xor_bytes = chunk.substr(0, xor_len);
  *entries = chunk.substr(xor_len, n);
  return Status::OK();
}

}  // namespace argus::tsdb
