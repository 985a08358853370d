// Block writer, reader and querier. Formats: block.h (directory, chunk segments, meta.json),
// block_index.h (index); docs/format/block.md has both with a worked example.

#include "tsdb/block.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <random>
#include <set>
#include <type_traits>

#include <simdjson.h>

#include "tsdb/histogram_chunk.h"
#include "tsdb/st_column.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace argus::tsdb {

// ---------------------------------------------------------------------------------------------
// ULIDs.

namespace {
constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
}  // namespace

std::string NewUlid(int64_t now_ms) {
  if (now_ms < 0) {
    now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  }
  std::random_device rd;
  const uint64_t r_hi = (uint64_t{rd()} << 32 | rd()) & 0xFFFF;  // 16 random bits
  const uint64_t r_lo = uint64_t{rd()} << 32 | rd();             // 64 random bits
  // 128 bits: 48-bit time, 80 random bits. Emitted 5 bits at a time from the top, the first
  // character holding only the top 3 bits (130 bits of room).
  const uint64_t hi = (static_cast<uint64_t>(now_ms) & 0xFFFFFFFFFFFF) << 16 | r_hi;
  const uint64_t lo = r_lo;
  std::string out(26, '0');
  for (int i = 25; i >= 0; --i) {
    const int shift = 5 * (25 - i);  // bit position of this character's lowest bit
    uint64_t v;
    if (shift >= 64) {
      v = hi >> (shift - 64);
    } else if (shift > 59) {
      v = (lo >> shift) | (hi << (64 - shift));
    } else {
      v = lo >> shift;
    }
    out[i] = kCrockford[v & 31];
  }
  return out;
}

bool IsUlid(std::string_view s) {
  if (s.size() != 26 || s[0] < '0' || s[0] > '7') return false;
  for (char c : s) {
    char u = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    if (std::string_view(kCrockford).find(u) == std::string_view::npos) return false;
  }
  return true;
}

int ChunkNumSamples(std::string_view xor_chunk) {
  if (xor_chunk.size() < 2) return 0;
  return (static_cast<uint8_t>(xor_chunk[0]) << 8) | static_cast<uint8_t>(xor_chunk[1]);
}

// ---------------------------------------------------------------------------------------------
// Writing.

namespace {

// A buffered file written once front to back and fsynced on Close.
class FileWriter {
 public:
  static Result<std::unique_ptr<FileWriter>> Create(const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Status::FromErrno("create " + path, errno);
    return std::make_unique<FileWriter>(path, fd);
  }
  FileWriter(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;
  ~FileWriter() {
    if (fd_ >= 0) ::close(fd_);
  }
  uint64_t size() const { return written_ + buf_.size(); }
  Status Append(std::string_view b) {
    buf_.append(b);
    if (buf_.size() >= kBufferBytes) return Flush();
    return Status::OK();
  }
  // Flushes, fsyncs and closes.
  Status Close() {
    RETURN_IF_ERROR(Flush());
    if (::fsync(fd_) != 0) return Status::FromErrno("fsync " + path_, errno);
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) return Status::FromErrno("close " + path_, errno);
    return Status::OK();
  }

 private:
  static constexpr size_t kBufferBytes = 1 << 20;
  Status Flush() {
    size_t off = 0;
    while (off < buf_.size()) {
      ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno("write " + path_, errno);
      }
      off += static_cast<size_t>(n);
    }
    written_ += buf_.size();
    buf_.clear();
    return Status::OK();
  }
  std::string path_;
  int fd_;
  uint64_t written_ = 0;
  std::string buf_;
};

std::string SegmentName(uint32_t n) {
  std::string s = std::to_string(n);
  return std::string(s.size() < 6 ? 6 - s.size() : 0, '0') + s;
}

std::string SegmentHeader() {
  std::string h;
  PutFixed32(&h, kChunkSegmentMagic);
  h.push_back(static_cast<char>(kChunkSegmentVersion));
  h.append(3, '\0');
  return h;
}
constexpr size_t kSegmentHeaderSize = 8;

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\t': out->append("\\t"); break;
      case '\r': out->append("\\r"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

std::string EncodeMeta(const BlockMeta& m) {
  std::string j = "{\n  \"ulid\": ";
  AppendJsonString(&j, m.ulid);
  j += ",\n  \"minTime\": " + std::to_string(m.min_time_ms);
  j += ",\n  \"maxTime\": " + std::to_string(m.max_time_ms);
  j += ",\n  \"stats\": {\n    \"numSeries\": " + std::to_string(m.num_series);
  j += ",\n    \"numSamples\": " + std::to_string(m.num_samples);
  j += ",\n    \"numChunks\": " + std::to_string(m.num_chunks);
  j += "\n  },\n  \"compaction\": {\n    \"level\": " + std::to_string(m.level);
  j += ",\n    \"sources\": [";
  for (size_t i = 0; i < m.sources.size(); ++i) {
    j += i == 0 ? "\n      " : ",\n      ";
    AppendJsonString(&j, m.sources[i]);
  }
  j += m.sources.empty() ? "]" : "\n    ]";
  j += "\n  },\n  \"version\": " + std::to_string(kBlockMetaVersion) + "\n}\n";
  return j;
}

Result<BlockMeta> ParseMeta(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element doc;
  if (auto err = parser.parse(padded).get(doc)) {
    return Status::Corruption(std::string("meta.json: ") + simdjson::error_message(err));
  }
  BlockMeta m;
  std::string_view ulid;
  int64_t version = 0, level = 0;
  simdjson::dom::array sources;
  if (doc["ulid"].get_string().get(ulid) || doc["minTime"].get_int64().get(m.min_time_ms) ||
      doc["maxTime"].get_int64().get(m.max_time_ms) ||
      doc["stats"]["numSeries"].get_uint64().get(m.num_series) ||
      doc["stats"]["numSamples"].get_uint64().get(m.num_samples) ||
      doc["stats"]["numChunks"].get_uint64().get(m.num_chunks) ||
      doc["compaction"]["level"].get_int64().get(level) ||
      doc["compaction"]["sources"].get_array().get(sources) ||
      doc["version"].get_int64().get(version)) {
    return Status::Corruption("meta.json: missing or mistyped field");
  }
  if (version != kBlockMetaVersion) {
    return Status::Corruption("meta.json: unsupported version " + std::to_string(version));
  }
  if (!IsUlid(ulid)) return Status::Corruption("meta.json: bad ulid");
  if (m.max_time_ms <= m.min_time_ms) return Status::Corruption("meta.json: empty time range");
  if (level < 1 || level > 1000) return Status::Corruption("meta.json: bad level");
  m.ulid = std::string(ulid);
  m.level = static_cast<int>(level);
  for (simdjson::dom::element e : sources) {
    std::string_view s;
    if (e.get_string().get(s)) return Status::Corruption("meta.json: bad source");
    m.sources.emplace_back(s);
  }
  return m;
}

Status WriteBlockFiles(const std::string& tmp, BlockMeta* meta,
                       const std::vector<BlockSeries>& series) {
  RETURN_IF_ERROR(CreateDirs(tmp + "/chunks"));
  std::vector<IndexSeriesInput> index_series;
  index_series.reserve(series.size());

  uint32_t segment = 1;
  ASSIGN_OR_RETURN(std::unique_ptr<FileWriter> w,
                   FileWriter::Create(tmp + "/chunks/" + SegmentName(segment)));
  RETURN_IF_ERROR(w->Append(SegmentHeader()));
  std::string head;
  for (const BlockSeries& s : series) {
    if (s.chunks.empty()) continue;
    IndexSeriesInput in;
    in.labels = &s.labels;
    for (const ChunkData& c : s.chunks) {
      head.clear();
      PutVarint64(&head, c.bytes.size());
      head.push_back(static_cast<char>(c.encoding));
      const uint64_t record_bytes = head.size() + c.bytes.size() + 4;
      if (w->size() > kSegmentHeaderSize && w->size() + record_bytes > kMaxChunkSegmentBytes) {
        RETURN_IF_ERROR(w->Close());
        ++segment;
        ASSIGN_OR_RETURN(w, FileWriter::Create(tmp + "/chunks/" + SegmentName(segment)));
        RETURN_IF_ERROR(w->Append(SegmentHeader()));
      }
      in.chunks.push_back({c.min_time_ms, c.max_time_ms, uint64_t{segment} << 32 | w->size()});
      uint32_t crc = crc32c::Value(head.data() + head.size() - 1, 1);
      crc = crc32c::Extend(crc, c.bytes.data(), c.bytes.size());
      RETURN_IF_ERROR(w->Append(head));
      RETURN_IF_ERROR(w->Append(c.bytes));
      head.clear();
      PutFixed32(&head, crc);
      RETURN_IF_ERROR(w->Append(head));
      ++meta->num_chunks;
      meta->num_samples += static_cast<uint64_t>(ChunkNumSamples(c.bytes));
    }
    index_series.push_back(std::move(in));
  }
  RETURN_IF_ERROR(w->Close());
  meta->num_series = index_series.size();

  ASSIGN_OR_RETURN(std::string index, BuildIndex(index_series));
  ASSIGN_OR_RETURN(w, FileWriter::Create(tmp + "/index"));
  RETURN_IF_ERROR(w->Append(index));
  RETURN_IF_ERROR(w->Close());
  RETURN_IF_ERROR(SyncDir(tmp + "/chunks"));
  // meta.json last (WriteFileAtomic also fsyncs `tmp`).
  return WriteFileAtomic(tmp + "/meta.json", EncodeMeta(*meta));
}

}  // namespace

Result<BlockMeta> WriteBlock(const std::string& parent_dir, int64_t min_time_ms,
                             int64_t max_time_ms, int level,
                             const std::vector<std::string>& sources,
                             std::vector<BlockSeries> series) {
  if (max_time_ms <= min_time_ms) {
    return Status::InvalidArgument("block time range is empty");
  }
  if (level < 1) return Status::InvalidArgument("block level must be >= 1");
  for (size_t i = 0; i < series.size(); ++i) {
    if (i > 0 && !(series[i - 1].labels < series[i].labels)) {
      return Status::InvalidArgument("block series not strictly sorted by labels at " +
                                     series[i].labels.ToString());
    }
    auto& chunks = series[i].chunks;
    for (const ChunkData& c : chunks) {
      if (c.bytes.size() < 2 || c.max_time_ms < c.min_time_ms) {
        return Status::InvalidArgument("malformed chunk in " + series[i].labels.ToString());
      }
    }
    std::stable_sort(chunks.begin(), chunks.end(), [](const ChunkData& a, const ChunkData& b) {
      return a.min_time_ms < b.min_time_ms;
    });
  }
  BlockMeta meta;
  meta.ulid = NewUlid();
  meta.min_time_ms = min_time_ms;
  meta.max_time_ms = max_time_ms;
  meta.level = level;
  meta.sources = sources;
  if (meta.sources.empty()) meta.sources.push_back(meta.ulid);

  const std::string tmp = parent_dir + "/" + meta.ulid + ".tmp";
  const std::string final_dir = parent_dir + "/" + meta.ulid;
  RETURN_IF_ERROR(RemoveAll(tmp));
  Status st = WriteBlockFiles(tmp, &meta, series);
  if (st.ok() && ::rename(tmp.c_str(), final_dir.c_str()) != 0) {
    st = Status::FromErrno("rename " + tmp, errno);
  }
  if (!st.ok()) {
    RemoveAll(tmp).IgnoreError();  // best effort; the original error is what matters
    return st.WithContext("write block " + meta.ulid);
  }
  RETURN_IF_ERROR(SyncDir(parent_dir));
  return meta;
}

// ---------------------------------------------------------------------------------------------
// Reading.

Block::Block(PrivateTag, std::string dir, BlockMeta meta, IndexReader index,
             std::vector<MmapFile> segments, uint64_t size_bytes)
    : dir_(std::move(dir)),
      meta_(std::move(meta)),
      index_(std::move(index)),
      segments_(std::move(segments)),
      size_bytes_(size_bytes) {}

Result<std::shared_ptr<Block>> Block::Open(const std::string& block_dir) {
  struct stat st;
  if (::stat(block_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::NotFound("block " + block_dir);
  }
  auto json = ReadFile(block_dir + "/meta.json");
  if (!json.ok()) {
    if (json.status().code() == StatusCode::kNotFound) {
      return Status::NotFound("block " + block_dir + " has no meta.json");
    }
    return json.status();
  }
  auto corrupt = [&](const Status& s) { return s.WithContext("block " + block_dir); };
  auto meta = ParseMeta(*json);
  if (!meta.ok()) return corrupt(meta.status());

  auto index_file = MmapFile::Open(block_dir + "/index");
  if (!index_file.ok()) {
    if (index_file.status().code() == StatusCode::kNotFound) {
      return corrupt(Status::Corruption("index file missing"));
    }
    return index_file.status();
  }
  auto index = IndexReader::Open(std::move(*index_file));
  if (!index.ok()) return corrupt(index.status());
  if (index->num_series() != meta->num_series) {
    return corrupt(Status::Corruption("meta.json says " + std::to_string(meta->num_series) +
                                      " series, the index has " +
                                      std::to_string(index->num_series())));
  }

  auto names = ListDir(block_dir + "/chunks");
  if (!names.ok()) {
    if (names.status().code() == StatusCode::kNotFound) {
      return corrupt(Status::Corruption("chunks directory missing"));
    }
    return names.status();
  }
  std::vector<MmapFile> segments;
  for (const std::string& name : *names) {
    if (name != SegmentName(static_cast<uint32_t>(segments.size() + 1))) {
      return corrupt(Status::Corruption("unexpected chunk segment name " + name));
    }
    ASSIGN_OR_RETURN(MmapFile f, MmapFile::Open(block_dir + "/chunks/" + name));
    std::string_view d = f.data();
    if (d.size() < kSegmentHeaderSize || DecodeFixed32(d.data()) != kChunkSegmentMagic ||
        static_cast<uint8_t>(d[4]) != kChunkSegmentVersion || d[5] != 0 || d[6] != 0 ||
        d[7] != 0) {
      return corrupt(Status::Corruption("chunk segment " + name + ": bad header"));
    }
    segments.push_back(std::move(f));
  }
  if (segments.empty()) return corrupt(Status::Corruption("no chunk segments"));
  return std::make_shared<Block>(PrivateTag{}, block_dir, std::move(*meta), std::move(*index),
                                 std::move(segments), DirSizeBytes(block_dir));
}

Result<std::string_view> Block::ChunkBytes(uint64_t ref, ChunkEncoding* encoding) const {
  const uint64_t seg = ref >> 32;
  const uint64_t off = ref & 0xFFFFFFFF;
  if (seg == 0 || seg > segments_.size()) {
    return Status::Corruption("chunk ref " + std::to_string(ref) + ": no such segment");
  }
  std::string_view d = segments_[seg - 1].data();
  if (off < kSegmentHeaderSize || off >= d.size()) {
    return Status::Corruption("chunk ref " + std::to_string(ref) + ": offset out of bounds");
  }
  std::string_view in = d.substr(off);
  uint64_t len;
  // Need the encoding byte, `len` data bytes and the crc after the varint.
  if (!GetVarint64(&in, &len) || in.size() < 5 || len > in.size() - 5 || len < 2) {
    return Status::Corruption("chunk ref " + std::to_string(ref) + ": truncated");
  }
  const uint8_t enc = static_cast<uint8_t>(in[0]);
  if (enc < static_cast<uint8_t>(ChunkEncoding::kXor) ||
      enc > static_cast<uint8_t>(ChunkEncoding::kXorST)) {
    return Status::Corruption("chunk ref " + std::to_string(ref) + ": unknown encoding " +
                              std::to_string(static_cast<uint8_t>(in[0])));
  }
  if (crc32c::Value(in.data(), len + 1) != DecodeFixed32(in.data() + len + 1)) {
    return Status::Corruption("chunk ref " + std::to_string(ref) + ": checksum mismatch");
  }
  if (encoding != nullptr) *encoding = static_cast<ChunkEncoding>(enc);
  return in.substr(1, len);
}

Result<std::vector<BlockSeries>> Block::ReadAllSeries() const {
  std::vector<BlockSeries> out;
  out.reserve(index_.num_series());
  IndexSeriesEntry e;
  for (uint32_t id = 0; id < index_.num_series(); ++id) {
    RETURN_IF_ERROR(index_.ReadSeries(id, &e).WithContext("block " + dir_));
    BlockSeries s;
    s.labels = std::move(e.labels);
    for (const ChunkMeta& c : e.chunks) {
      ChunkEncoding enc;
      auto b = ChunkBytes(c.ref, &enc);
      if (!b.ok()) return b.status().WithContext("block " + dir_ + ": " + s.labels.ToString());
      s.chunks.push_back({c.min_time_ms, c.max_time_ms, std::string(*b), enc});
    }
    out.push_back(std::move(s));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Querier.

namespace {

class BlockQuerier : public Querier {
 public:
  BlockQuerier(std::shared_ptr<const Block> block, int64_t mint_ms, int64_t maxt_ms)
      : block_(std::move(block)), mint_ms_(mint_ms), maxt_ms_(maxt_ms) {}

  Result<std::vector<Series>> Select(const std::vector<Matcher>& matchers,
                                     const SelectHints& hints) override {
    if (matchers.empty()) return Status::InvalidArgument("select needs at least one matcher");
    std::vector<Series> out;
    if (maxt_ms_ < mint_ms_) return out;
    const IndexReader& index = block_->index();
    ASSIGN_OR_RETURN(::Roaring ids, WithBlock(index.PostingsForMatchers(matchers)));
    IndexSeriesEntry e;
    for (uint32_t id : ids) {
      RETURN_IF_ERROR(WithBlock(index.ReadSeries(id, &e)));
      Series s;
      bool overlapping_chunks = false;
      bool any = false;
      int64_t prev_max = 0;
      for (const ChunkMeta& c : e.chunks) {
        if (c.max_time_ms < mint_ms_ || c.min_time_ms > maxt_ms_) continue;
        if (any && c.min_time_ms <= prev_max) overlapping_chunks = true;
        prev_max = any ? std::max(prev_max, c.max_time_ms) : c.max_time_ms;
        any = true;
        if (hints.series_only) break;
        RETURN_IF_ERROR(AppendSamples(c, &s.samples, &s.histograms, &s.sample_st)
                            .WithContext(e.labels.ToString()));
      }
      if (!any || (!hints.series_only && s.samples.empty() && s.histograms.empty())) continue;
      if (overlapping_chunks) {
        // Chunks of one series that overlap (out-of-order data): the earlier chunk wins on
        // equal timestamps.
        std::stable_sort(s.samples.begin(), s.samples.end(),
                         [](const Sample& a, const Sample& b) { return a.t_ms < b.t_ms; });
        auto last = std::unique(s.samples.begin(), s.samples.end(),
                                [](const Sample& a, const Sample& b) { return a.t_ms == b.t_ms; });
        s.samples.erase(last, s.samples.end());
        std::stable_sort(s.histograms.begin(), s.histograms.end(),
                         [](const HistogramSample& a, const HistogramSample& b) {
                           return a.t_ms < b.t_ms;
                         });
        auto hlast = std::unique(
            s.histograms.begin(), s.histograms.end(),
            [](const HistogramSample& a, const HistogramSample& b) { return a.t_ms == b.t_ms; });
        s.histograms.erase(hlast, s.histograms.end());
      }
      s.labels = std::move(e.labels);
      out.push_back(std::move(s));
    }
    return out;
  }

  Result<std::vector<std::string>> LabelNames(const std::vector<Matcher>& matchers) override {
    const IndexReader& index = block_->index();
    if (matchers.empty()) return index.LabelNames();
    ASSIGN_OR_RETURN(::Roaring ids, WithBlock(index.PostingsForMatchers(matchers)));
    std::set<std::string> names;
    for (uint32_t id : ids) {
      ASSIGN_OR_RETURN(Labels ls, WithBlock(index.ReadSeriesLabels(id)));
      for (const Label& l : ls) names.insert(l.name);
    }
    return std::vector<std::string>(names.begin(), names.end());
  }

  Result<std::vector<std::string>> LabelValues(std::string_view name,
                                               const std::vector<Matcher>& matchers) override {
    const IndexReader& index = block_->index();
    std::vector<std::string> values = index.LabelValues(name);
    if (matchers.empty() || values.empty()) return values;
    ASSIGN_OR_RETURN(::Roaring ids, WithBlock(index.PostingsForMatchers(matchers)));
    std::vector<std::string> out;
    if (ids.cardinality() < values.size()) {
      // Fewer matching series than values: read the series' labels.
      std::set<std::string> found;
      for (uint32_t id : ids) {
        ASSIGN_OR_RETURN(Labels ls, WithBlock(index.ReadSeriesLabels(id)));
        std::string_view v = ls.Get(name);
        if (!v.empty()) found.emplace(v);
      }
      return std::vector<std::string>(found.begin(), found.end());
    }
    for (std::string& v : values) {
      ASSIGN_OR_RETURN(::Roaring p, WithBlock(index.Postings(name, v)));
      if (p.intersect(ids)) out.push_back(std::move(v));
    }
    return out;
  }

 private:
  template <typename T>
  T WithBlock(T r) const {
    if constexpr (std::is_same_v<T, Status>) {
      return r.WithContext("block " + block_->dir());
    } else {
      if (r.ok()) return r;
      return r.status().WithContext("block " + block_->dir());
    }
  }

  // Appends the samples of chunk `c` within [mint_ms_, maxt_ms_].
  // Start timestamps of kXorST chunks go to `stout` (merged in time order).
  Status AppendSamples(const ChunkMeta& c, std::vector<Sample>* out,
                       std::vector<HistogramSample>* hout, std::vector<SampleST>* stout) const {
    ChunkEncoding enc;
    ASSIGN_OR_RETURN(std::string_view bytes, WithBlock(block_->ChunkBytes(c.ref, &enc)));
    if (IsHistogramEncoding(enc)) {
      return WithBlock(DecodeHistogramChunk(bytes, mint_ms_, maxt_ms_, hout));
    }
    if (enc == ChunkEncoding::kXorST) {
      std::string_view entries;
      RETURN_IF_ERROR(WithBlock(SplitXorSTChunk(bytes, &bytes, &entries)));
      std::vector<SampleST> sts;
      RETURN_IF_ERROR(WithBlock(DecodeSTEntries(entries, mint_ms_, maxt_ms_, &sts)));
      *stout = MergeByTime(std::move(*stout), sts);
    }
    XorIterator it(bytes);
    while (it.Next()) {
      Sample s = it.At();
      if (s.t_ms < mint_ms_) continue;
      if (s.t_ms > maxt_ms_) break;
      out->push_back(s);
    }
    return WithBlock(it.status());
  }

  std::shared_ptr<const Block> block_;
  int64_t mint_ms_, maxt_ms_;
};

}  // namespace

Result<std::unique_ptr<Querier>> Block::NewQuerier(int64_t mint_ms, int64_t maxt_ms) const {
  return std::unique_ptr<Querier>(
      std::make_unique<BlockQuerier>(shared_from_this(), mint_ms, maxt_ms));
}

}  // namespace argus::tsdb
