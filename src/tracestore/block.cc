#include "tracestore/block.h"

#include <fmt/format.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>

#include "util/coding.h"
#include "util/crc32c.h"

namespace argus::tracestore {

namespace otlp = opentelemetry::proto;

namespace {

constexpr char kIndexMagic[4] = {'A', 'T', 'I', 'X'};
constexpr char kPagesMagic[4] = {'A', 'T', 'P', 'D'};
constexpr size_t kIndexHeader = 16;   // magic, version, count, reserved
constexpr size_t kEntrySize = 48;     // id 16, page 4, spans 4, start 8, end 8, root service 4, name 4
constexpr size_t kPageEntrySize = 24;  // offset 8, length 4, crc 4, first trace 4, traces 4

Status WriteFileSynced(const std::string& path, std::string_view data) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return Status::FromErrno("open " + path, errno);
  bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size() && std::fflush(f) == 0 &&
            fdatasync(fileno(f)) == 0;
  int err = errno;
  std::fclose(f);
  if (!ok) return Status::FromErrno("write " + path, err);
  return Status::OK();
}

std::string MetaJson(const BlockMeta& m) {
  std::string from;
  for (const std::string& name : m.compacted_from) from += (from.empty() ? "\"" : ",\"") + name + "\"";
  return fmt::format(
      "{{\"version\":{},\"min_time_unix_nano\":{},\"max_time_unix_nano\":{},\"traces\":{},"
      "\"spans\":{},\"data_bytes\":{},\"wal_segment\":{},\"compacted_from\":[{}]}}\n",
      m.version, m.min_time_unix_nano, m.max_time_unix_nano, m.traces, m.spans, m.data_bytes,
      m.wal_segment, from);
}

// The strings of the array `key` (optional: true and empty when absent). Names are block
// names (hex digits), so no escapes are expected; a backslash makes it invalid.
bool JsonStrings(std::string_view json, std::string_view key, std::vector<std::string>* out) {
  std::string k = fmt::format("\"{}\":[", key);
  size_t p = json.find(k);
  if (p == std::string_view::npos) return true;
  p += k.size();
  while (p < json.size() && json[p] != ']') {
    if (json[p] == ',') {
      ++p;
      continue;
    }
    if (json[p] != '"') return false;
    size_t q = json.find('"', p + 1);
    if (q == std::string_view::npos) return false;
    std::string_view s = json.substr(p + 1, q - p - 1);
    if (s.find('\\') != std::string_view::npos) return false;
    out->emplace_back(s);
    p = q + 1;
  }
  return p < json.size();
}

bool JsonUint(std::string_view json, std::string_view key, uint64_t* v) {
  std::string k = fmt::format("\"{}\":", key);
  size_t p = json.find(k);
  if (p == std::string_view::npos) return false;
  p += k.size();
  uint64_t x = 0;
  size_t digits = 0;
  while (p < json.size() && json[p] >= '0' && json[p] <= '9') {
    x = x * 10 + static_cast<uint64_t>(json[p] - '0');
    ++p;
    ++digits;
  }
  *v = x;
  return digits > 0;
}

}  // namespace

struct BlockWriter::State {
  std::string dir, tmp;
  FILE* data = nullptr;
  uint64_t data_bytes = 0;
  std::string index = std::string(kIndexMagic, 4), page_entries, last_id;
  BloomFilter bloom;
  Dictionary dict;
  PageBuilder builder{&dict};
  std::set<uint32_t> names, keys, resources;
  BlockMeta meta;
  uint32_t traces = 0, page_first = 0, page_count = 0;
  bool finished = false;
};

Result<std::unique_ptr<BlockWriter>> BlockWriter::Create(const std::string& dir, size_t expected_traces,
                                                         uint64_t wal_segment,
                                                         std::vector<std::string> compacted_from) {
  std::unique_ptr<BlockWriter> w(new BlockWriter());
  State& st = *w->st_;
  st.dir = dir;
  st.tmp = dir + ".tmp";
  RETURN_IF_ERROR(RemoveAll(st.tmp));
  RETURN_IF_ERROR(CreateDirs(st.tmp));
  st.data = std::fopen((st.tmp + "/data").c_str(), "wb");
  if (st.data == nullptr) return Status::FromErrno("open " + st.tmp + "/data", errno);
  PutFixed32(&st.index, 2);
  PutFixed32(&st.index, 0);  // the trace count, set by Finish
  PutFixed32(&st.index, 0);
  st.bloom = BloomFilter::ForCount(expected_traces);
  st.meta.wal_segment = wal_segment;
  st.meta.compacted_from = std::move(compacted_from);
  st.meta.min_time_unix_nano = UINT64_MAX;
  return w;
}

BlockWriter::BlockWriter() : st_(std::make_unique<State>()) {}

BlockWriter::~BlockWriter() {
  if (st_->data != nullptr) std::fclose(st_->data);
  if (!st_->finished) (void)RemoveAll(st_->tmp);
}

Status BlockWriter::FlushPage() {
  State& st = *st_;
  if (st.builder.num_traces() == 0) return Status::OK();
  for (uint32_t k : st.builder.attribute_keys()) st.keys.insert(k);
  st.resources.insert(st.builder.resource_ids().begin(), st.builder.resource_ids().end());
  st.names.insert(st.builder.name_ids().begin(), st.builder.name_ids().end());
  std::string body = st.builder.Finish();
  if (std::fwrite(body.data(), 1, body.size(), st.data) != body.size()) {
    return Status::FromErrno("write " + st.tmp + "/data", errno);
  }
  PutFixed64(&st.page_entries, st.data_bytes);
  PutFixed32(&st.page_entries, static_cast<uint32_t>(body.size()));
  PutFixed32(&st.page_entries, crc32c::Value(body.data(), body.size()));
  PutFixed32(&st.page_entries, st.page_first);
  PutFixed32(&st.page_entries, st.traces - st.page_first);
  st.data_bytes += body.size();
  st.page_first = st.traces;
  ++st.page_count;
  return Status::OK();
}

Status BlockWriter::Add(std::string_view trace_id, std::string_view traces_data) {
  State& st = *st_;
  if (st.data == nullptr) return Status::Internal("block writer " + st.dir + ": Add after Finish");
  if (trace_id.size() != 16) return Status::InvalidArgument("trace ID is not 16 bytes");
  if (st.traces > 0 && trace_id <= st.last_id) return Status::InvalidArgument("trace IDs not ascending");
  ASSIGN_OR_RETURN(TraceInfo info, st.builder.AddTrace(trace_id, traces_data));
  st.last_id.assign(trace_id);
  st.meta.spans += info.spans;
  st.index.append(trace_id);
  PutFixed32(&st.index, st.page_count);
  PutFixed32(&st.index, info.spans);
  PutFixed64(&st.index, info.start_unix_nano);
  PutFixed64(&st.index, info.end_unix_nano);
  PutFixed32(&st.index, info.root_service);
  PutFixed32(&st.index, info.root_name);
  st.bloom.Add(trace_id);
  st.meta.min_time_unix_nano = std::min(st.meta.min_time_unix_nano, info.start_unix_nano);
  st.meta.max_time_unix_nano = std::max(st.meta.max_time_unix_nano, info.end_unix_nano);
  ++st.traces;
  if (st.builder.num_spans() >= kPageSpans) return FlushPage();
  return Status::OK();
}

Status BlockWriter::Finish() {
  State& st = *st_;
  if (st.data == nullptr) return Status::Internal("block writer " + st.dir + ": Finish called twice");
  RETURN_IF_ERROR(FlushPage());
  bool ok = std::fflush(st.data) == 0 && fdatasync(fileno(st.data)) == 0;
  int err = errno;
  std::fclose(st.data);
  st.data = nullptr;
  if (!ok) return Status::FromErrno("write " + st.tmp + "/data", err);
  if (st.traces == 0) st.meta.min_time_unix_nano = 0;
  EncodeFixed32(&st.index[8], st.traces);
  PutFixed32(&st.index, crc32c::Value(st.index.data(), st.index.size()));
  std::string pages(kPagesMagic, 4);
  PutFixed32(&pages, 2);
  PutFixed32(&pages, st.page_count);
  pages += st.page_entries;
  for (const std::set<uint32_t>* ids : {&st.names, &st.keys, &st.resources}) {
    PutVarint64(&pages, ids->size());
    for (uint32_t id : *ids) PutVarint64(&pages, id);
  }
  PutFixed32(&pages, crc32c::Value(pages.data(), pages.size()));
  std::string dict_bytes = st.dict.Encode();
  PutFixed32(&dict_bytes, crc32c::Value(dict_bytes.data(), dict_bytes.size()));
  st.meta.traces = st.traces;
  st.meta.data_bytes = st.data_bytes;
  RETURN_IF_ERROR(WriteFileSynced(st.tmp + "/pages", pages));
  RETURN_IF_ERROR(WriteFileSynced(st.tmp + "/dict", dict_bytes));
  RETURN_IF_ERROR(WriteFileSynced(st.tmp + "/index", st.index));
  RETURN_IF_ERROR(WriteFileSynced(st.tmp + "/bloom", st.bloom.Encode()));
  RETURN_IF_ERROR(WriteFileSynced(st.tmp + "/meta.json", MetaJson(st.meta)));
  RETURN_IF_ERROR(SyncDir(st.tmp));
  if (std::rename(st.tmp.c_str(), st.dir.c_str()) != 0) return Status::FromErrno("rename " + st.tmp, errno);
  st.finished = true;
  return SyncDir(st.dir.substr(0, st.dir.find_last_of('/')));
}

Status WriteBlock(const std::string& dir, std::vector<BlockTrace> traces, uint64_t wal_segment,
                  std::vector<std::string> compacted_from) {
  for (const BlockTrace& t : traces) {
    if (t.trace_id.size() != 16) return Status::InvalidArgument("trace ID is not 16 bytes");
  }
  std::stable_sort(traces.begin(), traces.end(),
                   [](const BlockTrace& a, const BlockTrace& b) { return a.trace_id < b.trace_id; });
  size_t distinct = 0;
  for (size_t i = 0; i < traces.size(); ++i) distinct += i == 0 || traces[i].trace_id != traces[i - 1].trace_id;
  ASSIGN_OR_RETURN(std::unique_ptr<BlockWriter> w,
                   BlockWriter::Create(dir, distinct, wal_segment, std::move(compacted_from)));
  for (size_t i = 0; i < traces.size();) {
    // Fragments of the same trace, in their order, make one TracesData.
    size_t j = i + 1;
    while (j < traces.size() && traces[j].trace_id == traces[i].trace_id) traces[i].traces_data += traces[j++].traces_data;
    RETURN_IF_ERROR(w->Add(traces[i].trace_id, traces[i].traces_data));
    std::string().swap(traces[i].traces_data);
    for (size_t k = i + 1; k < j; ++k) std::string().swap(traces[k].traces_data);
    i = j;
  }
  return w->Finish();
}

Result<std::unique_ptr<Block>> Block::Open(const std::string& dir) {
  std::unique_ptr<Block> b(new Block());
  b->dir_ = dir;
  auto meta = ReadFile(dir + "/meta.json");
  if (!meta.ok()) return Status::NotFound("trace block " + dir + " has no meta.json");
  uint64_t version = 0;
  if (!JsonUint(*meta, "version", &version) || version != 2 ||
      !JsonUint(*meta, "min_time_unix_nano", &b->meta_.min_time_unix_nano) ||
      !JsonUint(*meta, "max_time_unix_nano", &b->meta_.max_time_unix_nano) ||
      !JsonUint(*meta, "traces", &b->meta_.traces) || !JsonUint(*meta, "spans", &b->meta_.spans) ||
      !JsonUint(*meta, "data_bytes", &b->meta_.data_bytes) ||
      !JsonUint(*meta, "wal_segment", &b->meta_.wal_segment) ||
      !JsonStrings(*meta, "compacted_from", &b->meta_.compacted_from)) {
    return Status::Corruption("trace block " + dir + ": bad meta.json (or not version 2)");
  }
  auto bad = [&dir](std::string_view what) { return Status::Corruption(fmt::format("trace block {}: {}", dir, what)); };
  ASSIGN_OR_RETURN(b->index_, ReadFile(dir + "/index"));
  const std::string& ix = b->index_;
  if (ix.size() < kIndexHeader + 4 || std::memcmp(ix.data(), kIndexMagic, 4) != 0 ||
      DecodeFixed32(ix.data() + ix.size() - 4) != crc32c::Value(ix.data(), ix.size() - 4) ||
      DecodeFixed32(ix.data() + 4) != 2) {
    return bad("bad index header or checksum");
  }
  b->count_ = DecodeFixed32(ix.data() + 8);
  if (ix.size() != kIndexHeader + b->count_ * kEntrySize + 4 || b->count_ != b->meta_.traces) {
    return bad("index size does not match its count");
  }
  ASSIGN_OR_RETURN(b->data_, MmapFile::Open(dir + "/data"));
  if (b->data_.data().size() != b->meta_.data_bytes) return bad("data file size mismatch");

  ASSIGN_OR_RETURN(std::string pages, ReadFile(dir + "/pages"));
  if (pages.size() < 16 || std::memcmp(pages.data(), kPagesMagic, 4) != 0 ||
      DecodeFixed32(pages.data() + pages.size() - 4) != crc32c::Value(pages.data(), pages.size() - 4) ||
      DecodeFixed32(pages.data() + 4) != 2) {
    return bad("bad page directory header or checksum");
  }
  std::string_view in(pages.data() + 12, pages.size() - 16);
  uint32_t npages = DecodeFixed32(pages.data() + 8);
  if (npages > in.size() / kPageEntrySize) return bad("truncated page directory");
  uint32_t next_trace = 0;
  for (uint32_t p = 0; p < npages; ++p) {
    const char* e = in.data() + p * kPageEntrySize;
    PageEntry pe{DecodeFixed64(e), DecodeFixed32(e + 8), DecodeFixed32(e + 12), DecodeFixed32(e + 16),
                 DecodeFixed32(e + 20)};
    if (pe.offset > b->data_.data().size() || pe.length > b->data_.data().size() - pe.offset ||
        pe.first_trace != next_trace || pe.traces == 0 || pe.traces > b->count_ - next_trace) {
      return bad("page directory entry out of the data file or the index");
    }
    next_trace += pe.traces;
    b->pages_.push_back(pe);
  }
  if (next_trace != b->count_) return bad("pages do not cover the index");
  in.remove_prefix(size_t{npages} * kPageEntrySize);
  for (std::vector<uint32_t>* ids : {&b->names_, &b->keys_, &b->resources_}) {
    uint64_t n = 0;
    if (!GetVarint64(&in, &n) || n > in.size()) return bad("truncated page directory lists");
    ids->resize(n);
    for (uint32_t& id : *ids) {
      uint64_t v = 0;
      if (!GetVarint64(&in, &v) || v > UINT32_MAX) return bad("truncated page directory lists");
      id = static_cast<uint32_t>(v);
    }
  }
  if (!in.empty()) return bad("trailing bytes in the page directory");

  ASSIGN_OR_RETURN(std::string dict, ReadFile(dir + "/dict"));
  if (dict.size() < 4 || DecodeFixed32(dict.data() + dict.size() - 4) != crc32c::Value(dict.data(), dict.size() - 4)) {
    return bad("dictionary checksum mismatch");
  }
  ASSIGN_OR_RETURN(b->dict_, Dictionary::Decode(std::string_view(dict).substr(0, dict.size() - 4)));
  for (const std::vector<uint32_t>* ids : {&b->names_, &b->keys_, &b->resources_}) {
    for (uint32_t id : *ids) {
      if (id >= b->dict_.size()) return bad("page directory list id out of the dictionary");
    }
  }
  for (size_t i = 0; i < b->count_; ++i) {
    IndexEntry e = b->Entry(i);
    if (e.page >= b->pages_.size() || i < b->pages_[e.page].first_trace ||
        i >= b->pages_[e.page].first_trace + b->pages_[e.page].traces || e.root_service >= b->dict_.size() ||
        e.root_name >= b->dict_.size()) {
      return bad("index entry out of its page or the dictionary");
    }
    if (i > 0 && !(b->Entry(i - 1).trace_id < e.trace_id)) return bad("index not sorted by trace ID");
  }
  ASSIGN_OR_RETURN(std::string bloom, ReadFile(dir + "/bloom"));
  ASSIGN_OR_RETURN(b->bloom_, BloomFilter::Decode(bloom));
  return b;
}

IndexEntry Block::Entry(size_t i) const {
  const char* p = index_.data() + kIndexHeader + i * kEntrySize;
  IndexEntry e;
  e.trace_id = std::string_view(p, 16);
  e.ordinal = static_cast<uint32_t>(i);
  e.page = DecodeFixed32(p + 16);
  e.spans = DecodeFixed32(p + 20);
  e.start_unix_nano = DecodeFixed64(p + 24);
  e.end_unix_nano = DecodeFixed64(p + 32);
  e.root_service = DecodeFixed32(p + 40);
  e.root_name = DecodeFixed32(p + 44);
  return e;
}

Result<std::unique_ptr<Page>> Block::OpenPage(size_t p) const {
  const PageEntry& pe = pages_[p];
  std::string_view body = data_.data().substr(pe.offset, pe.length);
  if (crc32c::Value(body.data(), body.size()) != pe.crc) {
    return Status::Corruption("trace block " + dir_ + ": page checksum mismatch");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Page> page, Page::Open(body));
  if (page->num_traces() != pe.traces) {
    return Status::Corruption("trace block " + dir_ + ": page trace count does not match the directory");
  }
  return page;
}

Result<std::string> Block::ReadTrace(const IndexEntry& e, Page* p) const {
  auto t = p->Trace(e.ordinal - pages_[e.page].first_trace, e.trace_id, dict_);
  if (!t.ok()) return t.status().WithContext("trace block " + dir_);
  return t;
}

Result<std::string> Block::ReadTrace(const IndexEntry& e) const {
  ASSIGN_OR_RETURN(std::unique_ptr<Page> p, OpenPage(e.page));
  return ReadTrace(e, p.get());
}

Result<std::optional<std::string>> Block::FindTrace(std::string_view trace_id) const {
  if (trace_id.size() != 16 || !MayContain(trace_id)) return std::optional<std::string>();
  size_t lo = 0, hi = count_;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (Entry(mid).trace_id < trace_id) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == count_ || Entry(lo).trace_id != trace_id) return std::optional<std::string>();
  ASSIGN_OR_RETURN(std::string t, ReadTrace(Entry(lo)));
  return std::optional<std::string>(std::move(t));
}

}  // namespace argus::tracestore
