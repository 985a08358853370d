// Index file encoder and mmap reader. The layout is described in block_index.h and, with a
// worked example, in docs/format/block.md.

#include "tsdb/block_index.h"

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <unordered_map>

#include "util/coding.h"
#include "util/crc32c.h"

namespace argus::tsdb {

namespace {

constexpr size_t kHeaderSize = 8;
constexpr int kNumSections = 6;
// 6 x (offset, length), the all-postings offset, the crc.
constexpr size_t kTocSize = kNumSections * 16 + 8 + 4;
constexpr size_t kPostingsRecordSize = 16;
constexpr size_t kLabelRecordSize = 12;

enum Section { kSymbols = 0, kSeries, kSeriesTable, kPostings, kPostingsTable, kLabelTable };

void PutCrc(std::string* out, size_t from) {
  PutFixed32(out, crc32c::Value(out->data() + from, out->size() - from));
}

// Unsigned distance that round-trips through wrapping arithmetic for any int64 pair.
uint64_t WrapSub(int64_t a, int64_t b) {
  return static_cast<uint64_t>(a) - static_cast<uint64_t>(b);
}
int64_t WrapAdd(int64_t a, uint64_t d) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + d);
}

}  // namespace

Result<std::string> BuildIndex(const std::vector<IndexSeriesInput>& series) {
  if (series.size() >= UINT32_MAX) return Status::InvalidArgument("too many series for an index");
  std::vector<std::string_view> symbols;
  for (size_t i = 0; i < series.size(); ++i) {
    const Labels& ls = *series[i].labels;
    if (ls.empty()) return Status::InvalidArgument("series with an empty label set");
    if (i > 0 && !(*series[i - 1].labels < ls)) {
      return Status::InvalidArgument("series not strictly sorted by labels at " + ls.ToString());
    }
    std::string_view prev_name;
    for (size_t j = 0; j < ls.size(); ++j) {
      const Label& l = ls.labels()[j];
      if (l.value.empty() || (j > 0 && !(prev_name < l.name))) {
        return Status::InvalidArgument("malformed label set " + ls.ToString());
      }
      prev_name = l.name;
      symbols.push_back(l.name);
      symbols.push_back(l.value);
    }
    for (const ChunkMeta& c : series[i].chunks) {
      if (c.max_time_ms < c.min_time_ms) {
        return Status::InvalidArgument("chunk max time before min time in " + ls.ToString());
      }
    }
  }
  std::sort(symbols.begin(), symbols.end());
  symbols.erase(std::unique(symbols.begin(), symbols.end()), symbols.end());
  if (symbols.size() >= UINT32_MAX) return Status::InvalidArgument("too many symbols");
  std::unordered_map<std::string_view, uint32_t> symbol_ids;
  symbol_ids.reserve(symbols.size());
  for (size_t i = 0; i < symbols.size(); ++i) symbol_ids[symbols[i]] = static_cast<uint32_t>(i);

  std::string out;
  uint64_t toc[kNumSections][2] = {};
  auto begin_section = [&](Section s) { toc[s][0] = out.size(); };
  auto end_section = [&](Section s, bool with_crc) {
    toc[s][1] = out.size() - toc[s][0];
    if (with_crc) PutCrc(&out, toc[s][0]);
  };

  PutFixed32(&out, kIndexMagic);
  out.push_back(static_cast<char>(kIndexVersion));
  out.append(3, '\0');

  // Symbols.
  begin_section(kSymbols);
  PutFixed32(&out, static_cast<uint32_t>(symbols.size()));
  uint64_t area_size = 0;
  PutFixed32(&out, 0);
  for (std::string_view s : symbols) {
    area_size += s.size();
    if (area_size > UINT32_MAX) return Status::InvalidArgument("symbol table over 4 GiB");
    PutFixed32(&out, static_cast<uint32_t>(area_size));
  }
  for (std::string_view s : symbols) out.append(s);
  end_section(kSymbols, true);

  // Series entries, collecting postings keyed by (name id << 32 | value id).
  std::map<uint64_t, std::vector<uint32_t>> postings;
  std::vector<uint64_t> series_offsets;
  series_offsets.reserve(series.size());
  begin_section(kSeries);
  std::string payload;
  for (size_t i = 0; i < series.size(); ++i) {
    payload.clear();
    const Labels& ls = *series[i].labels;
    PutVarint64(&payload, ls.size());
    for (const Label& l : ls) {
      uint32_t n = symbol_ids[l.name], v = symbol_ids[l.value];
      PutVarint64(&payload, n);
      PutVarint64(&payload, v);
      postings[(uint64_t{n} << 32) | v].push_back(static_cast<uint32_t>(i));
    }
    const auto& chunks = series[i].chunks;
    PutVarint64(&payload, chunks.size());
    for (size_t k = 0; k < chunks.size(); ++k) {
      const ChunkMeta& c = chunks[k];
      if (k == 0) {
        PutVarsint64(&payload, c.min_time_ms);
        PutVarint64(&payload, WrapSub(c.max_time_ms, c.min_time_ms));
        PutVarint64(&payload, c.ref);
      } else {
        const ChunkMeta& p = chunks[k - 1];
        PutVarsint64(&payload, static_cast<int64_t>(WrapSub(c.min_time_ms, p.max_time_ms)));
        PutVarint64(&payload, WrapSub(c.max_time_ms, c.min_time_ms));
        PutVarsint64(&payload, static_cast<int64_t>(c.ref - p.ref));
      }
    }
    series_offsets.push_back(out.size());
    PutLengthPrefixed(&out, payload);
    PutFixed32(&out, crc32c::Value(payload.data(), payload.size()));
  }
  end_section(kSeries, false);

  begin_section(kSeriesTable);
  PutFixed32(&out, static_cast<uint32_t>(series_offsets.size()));
  for (uint64_t off : series_offsets) PutFixed64(&out, off);
  end_section(kSeriesTable, true);

  // Postings lists: the all-series list first, then one per label pair in table order.
  auto put_postings = [&](const std::vector<uint32_t>& ids) {
    payload.clear();
    PutVarint64(&payload, ids.size());
    uint32_t prev = 0;
    for (uint32_t id : ids) {
      PutVarint64(&payload, id - prev);
      prev = id;
    }
    PutFixed32(&out, static_cast<uint32_t>(payload.size()));
    out.append(payload);
    PutFixed32(&out, crc32c::Value(payload.data(), payload.size()));
  };
  begin_section(kPostings);
  uint64_t all_postings_offset = out.size();
  {
    std::vector<uint32_t> all(series.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint32_t>(i);
    put_postings(all);
  }
  std::vector<uint64_t> postings_offsets;
  postings_offsets.reserve(postings.size());
  for (const auto& [key, ids] : postings) {
    postings_offsets.push_back(out.size());
    put_postings(ids);
  }
  end_section(kPostings, false);

  begin_section(kPostingsTable);
  PutFixed32(&out, static_cast<uint32_t>(postings.size()));
  {
    size_t i = 0;
    for (const auto& [key, ids] : postings) {
      PutFixed32(&out, static_cast<uint32_t>(key >> 32));
      PutFixed32(&out, static_cast<uint32_t>(key));
      PutFixed64(&out, postings_offsets[i++]);
    }
  }
  end_section(kPostingsTable, true);

  begin_section(kLabelTable);
  {
    std::vector<std::array<uint32_t, 3>> names;  // name id, first entry, count
    uint32_t i = 0;
    for (const auto& [key, ids] : postings) {
      uint32_t name = static_cast<uint32_t>(key >> 32);
      if (names.empty() || names.back()[0] != name) names.push_back({name, i, 0});
      ++names.back()[2];
      ++i;
    }
    PutFixed32(&out, static_cast<uint32_t>(names.size()));
    for (const auto& n : names) {
      for (uint32_t x : n) PutFixed32(&out, x);
    }
  }
  end_section(kLabelTable, true);

  const size_t toc_begin = out.size();
  for (const auto& s : toc) {
    PutFixed64(&out, s[0]);
    PutFixed64(&out, s[1]);
  }
  PutFixed64(&out, all_postings_offset);
  PutCrc(&out, toc_begin);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reader.

Result<IndexReader> IndexReader::Open(MmapFile file) {
  IndexReader r;
  r.file_ = std::move(file);
  r.data_ = r.file_.data();
  const std::string_view d = r.data_;
  if (d.size() < kHeaderSize + kTocSize) {
    return Status::Corruption("index shorter than header and toc (" + std::to_string(d.size()) +
                              " bytes)");
  }
  if (DecodeFixed32(d.data()) != kIndexMagic) return Status::Corruption("index: bad magic");
  if (static_cast<uint8_t>(d[4]) != kIndexVersion) {
    return Status::Corruption("index: unsupported version " +
                              std::to_string(static_cast<uint8_t>(d[4])));
  }
  if (d[5] != 0 || d[6] != 0 || d[7] != 0) return Status::Corruption("index: bad header padding");

  const size_t toc_begin = d.size() - kTocSize;
  const char* toc = d.data() + toc_begin;
  if (crc32c::Value(toc, kTocSize - 4) != DecodeFixed32(toc + kTocSize - 4)) {
    return Status::Corruption("index: toc checksum mismatch");
  }
  uint64_t off[kNumSections], len[kNumSections];
  uint64_t prev_end = kHeaderSize;
  for (int s = 0; s < kNumSections; ++s) {
    off[s] = DecodeFixed64(toc + 16 * s);
    len[s] = DecodeFixed64(toc + 16 * s + 8);
    const bool with_crc = s != kSeries && s != kPostings;
    const uint64_t span = len[s] + (with_crc ? 4 : 0);
    if (off[s] < prev_end || off[s] > toc_begin || len[s] > toc_begin ||
        span > toc_begin - off[s]) {
      return Status::Corruption("index: section " + std::to_string(s) + " out of bounds");
    }
    if (with_crc && crc32c::Value(d.data() + off[s], len[s]) !=
                        DecodeFixed32(d.data() + off[s] + len[s])) {
      return Status::Corruption("index: section " + std::to_string(s) + " checksum mismatch");
    }
    prev_end = off[s] + span;
  }
  r.all_postings_offset_ = DecodeFixed64(toc + 16 * kNumSections);

  // Symbols: count, (count+1) end offsets, string area.
  {
    std::string_view sec = d.substr(off[kSymbols], len[kSymbols]);
    if (sec.size() < 4) return Status::Corruption("index: symbols section too short");
    const uint64_t n = DecodeFixed32(sec.data());
    if ((sec.size() - 4) / 4 < n + 1) return Status::Corruption("index: symbol offsets truncated");
    r.num_symbols_ = static_cast<uint32_t>(n);
    r.symbol_offsets_ = sec.data() + 4;
    r.symbol_area_ = sec.substr(4 + 4 * (n + 1));
    uint32_t prev = DecodeFixed32(r.symbol_offsets_);
    if (prev != 0) return Status::Corruption("index: first symbol offset not 0");
    for (uint64_t i = 1; i <= n; ++i) {
      uint32_t cur = DecodeFixed32(r.symbol_offsets_ + 4 * i);
      if (cur < prev) return Status::Corruption("index: symbol offsets not increasing");
      prev = cur;
    }
    if (prev != r.symbol_area_.size()) {
      return Status::Corruption("index: symbol area size mismatch");
    }
  }
  r.series_begin_ = off[kSeries];
  r.series_end_ = off[kSeries] + len[kSeries];
  {
    std::string_view sec = d.substr(off[kSeriesTable], len[kSeriesTable]);
    if (sec.size() < 4 || (sec.size() - 4) != uint64_t{8} * DecodeFixed32(sec.data())) {
      return Status::Corruption("index: series table size mismatch");
    }
    r.num_series_ = DecodeFixed32(sec.data());
    r.series_offsets_ = sec.data() + 4;
  }
  r.postings_begin_ = off[kPostings];
  r.postings_end_ = off[kPostings] + len[kPostings];
  {
    std::string_view sec = d.substr(off[kPostingsTable], len[kPostingsTable]);
    if (sec.size() < 4 ||
        (sec.size() - 4) != uint64_t{kPostingsRecordSize} * DecodeFixed32(sec.data())) {
      return Status::Corruption("index: postings table size mismatch");
    }
    r.num_postings_entries_ = DecodeFixed32(sec.data());
    r.postings_table_ = sec.data() + 4;
    uint64_t prev_key = 0;
    for (uint32_t i = 0; i < r.num_postings_entries_; ++i) {
      uint32_t n = r.PostingsEntryName(i), v = r.PostingsEntryValue(i);
      uint64_t key = (uint64_t{n} << 32) | v;
      if (n >= r.num_symbols_ || v >= r.num_symbols_ || (i > 0 && key <= prev_key)) {
        return Status::Corruption("index: postings table entry " + std::to_string(i) +
                                  " out of order or range");
      }
      prev_key = key;
    }
  }
  {
    std::string_view sec = d.substr(off[kLabelTable], len[kLabelTable]);
    if (sec.size() < 4 ||
        (sec.size() - 4) != uint64_t{kLabelRecordSize} * DecodeFixed32(sec.data())) {
      return Status::Corruption("index: label table size mismatch");
    }
    r.num_label_names_ = DecodeFixed32(sec.data());
    r.label_table_ = sec.data() + 4;
    for (uint32_t i = 0; i < r.num_label_names_; ++i) {
      const char* rec = r.label_table_ + kLabelRecordSize * i;
      uint32_t name = DecodeFixed32(rec);
      uint64_t first = DecodeFixed32(rec + 4), count = DecodeFixed32(rec + 8);
      if ((i > 0 && name <= DecodeFixed32(rec - kLabelRecordSize)) || count == 0 ||
          first + count > r.num_postings_entries_ || r.PostingsEntryName(first) != name ||
          r.PostingsEntryName(static_cast<uint32_t>(first + count - 1)) != name) {
        return Status::Corruption("index: label table entry " + std::to_string(i) +
                                  " inconsistent");
      }
    }
  }
  return r;
}

std::string_view IndexReader::Symbol(uint32_t id) const {
  uint32_t b = DecodeFixed32(symbol_offsets_ + 4 * uint64_t{id});
  uint32_t e = DecodeFixed32(symbol_offsets_ + 4 * (uint64_t{id} + 1));
  return symbol_area_.substr(b, e - b);
}

bool IndexReader::FindSymbol(std::string_view s, uint32_t* id) const {
  uint32_t lo = 0, hi = num_symbols_;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (Symbol(mid) < s) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo < num_symbols_ && Symbol(lo) == s) {
    *id = lo;
    return true;
  }
  return false;
}

uint32_t IndexReader::PostingsEntryName(uint32_t i) const {
  return DecodeFixed32(postings_table_ + kPostingsRecordSize * uint64_t{i});
}
uint32_t IndexReader::PostingsEntryValue(uint32_t i) const {
  return DecodeFixed32(postings_table_ + kPostingsRecordSize * uint64_t{i} + 4);
}
uint64_t IndexReader::PostingsEntryOffset(uint32_t i) const {
  return DecodeFixed64(postings_table_ + kPostingsRecordSize * uint64_t{i} + 8);
}

bool IndexReader::LabelRange(uint32_t name_id, uint32_t* first, uint32_t* count) const {
  uint32_t lo = 0, hi = num_label_names_;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (DecodeFixed32(label_table_ + kLabelRecordSize * uint64_t{mid}) < name_id) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == num_label_names_) return false;
  const char* rec = label_table_ + kLabelRecordSize * uint64_t{lo};
  if (DecodeFixed32(rec) != name_id) return false;
  *first = DecodeFixed32(rec + 4);
  *count = DecodeFixed32(rec + 8);
  return true;
}

Result<std::string_view> IndexReader::SeriesPayload(uint32_t id) const {
  if (id >= num_series_) {
    return Status::InvalidArgument("series id " + std::to_string(id) + " out of range");
  }
  const uint64_t off = DecodeFixed64(series_offsets_ + 8 * uint64_t{id});
  if (off < series_begin_ || off >= series_end_) {
    return Status::Corruption("index: series " + std::to_string(id) + " offset out of bounds");
  }
  std::string_view in = data_.substr(off, series_end_ - off);
  uint64_t len;
  if (!GetVarint64(&in, &len) || len > in.size() || in.size() - len < 4) {
    return Status::Corruption("index: series " + std::to_string(id) + " entry truncated");
  }
  std::string_view payload = in.substr(0, len);
  if (crc32c::Value(payload.data(), payload.size()) != DecodeFixed32(in.data() + len)) {
    return Status::Corruption("index: series " + std::to_string(id) + " checksum mismatch");
  }
  return payload;
}

namespace {

// Decodes the label part of a series payload, advancing `in`.
Status DecodeLabels(std::string_view* in, uint32_t num_symbols,
                    const std::function<std::string_view(uint32_t)>& symbol, Labels* out) {
  uint64_t n;
  if (!GetVarint64(in, &n) || n == 0 || n > in->size() / 2) {
    return Status::Corruption("bad label count");
  }
  std::vector<Label> ls;
  ls.reserve(n);
  uint64_t prev_name = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t name, value;
    if (!GetVarint64(in, &name) || !GetVarint64(in, &value) || name >= num_symbols ||
        value >= num_symbols || (i > 0 && name <= prev_name)) {
      return Status::Corruption("bad label reference");
    }
    prev_name = name;
    std::string_view v = symbol(static_cast<uint32_t>(value));
    if (v.empty()) return Status::Corruption("empty label value");
    ls.push_back({std::string(symbol(static_cast<uint32_t>(name))), std::string(v)});
  }
  *out = Labels::FromSorted(std::move(ls));
  return Status::OK();
}

}  // namespace

Status IndexReader::ReadSeries(uint32_t id, IndexSeriesEntry* out) const {
  ASSIGN_OR_RETURN(std::string_view in, SeriesPayload(id));
  auto symbol = [this](uint32_t i) { return Symbol(i); };
  Status st = DecodeLabels(&in, num_symbols_, symbol, &out->labels);
  if (!st.ok()) return st.WithContext("index: series " + std::to_string(id));
  uint64_t n;
  // Each chunk meta takes at least 3 bytes.
  if (!GetVarint64(&in, &n) || n > in.size() / 3) {
    return Status::Corruption("index: series " + std::to_string(id) + " bad chunk count");
  }
  out->chunks.clear();
  out->chunks.reserve(n);
  for (uint64_t k = 0; k < n; ++k) {
    ChunkMeta c;
    uint64_t span;
    bool ok;
    if (k == 0) {
      ok = GetVarsint64(&in, &c.min_time_ms) && GetVarint64(&in, &span) &&
           GetVarint64(&in, &c.ref);
    } else {
      const ChunkMeta& p = out->chunks.back();
      int64_t dmin, dref;
      ok = GetVarsint64(&in, &dmin) && GetVarint64(&in, &span) && GetVarsint64(&in, &dref);
      c.min_time_ms = WrapAdd(p.max_time_ms, static_cast<uint64_t>(dmin));
      c.ref = p.ref + static_cast<uint64_t>(dref);
    }
    c.max_time_ms = WrapAdd(c.min_time_ms, span);
    if (!ok || c.max_time_ms < c.min_time_ms) {
      return Status::Corruption("index: series " + std::to_string(id) + " bad chunk meta");
    }
    out->chunks.push_back(c);
  }
  if (!in.empty()) {
    return Status::Corruption("index: series " + std::to_string(id) + " has trailing bytes");
  }
  return Status::OK();
}

Result<Labels> IndexReader::ReadSeriesLabels(uint32_t id) const {
  ASSIGN_OR_RETURN(std::string_view in, SeriesPayload(id));
  auto symbol = [this](uint32_t i) { return Symbol(i); };
  Labels ls;
  Status st = DecodeLabels(&in, num_symbols_, symbol, &ls);
  if (!st.ok()) return st.WithContext("index: series " + std::to_string(id));
  return ls;
}

std::vector<std::string> IndexReader::LabelNames() const {
  std::vector<std::string> out;
  out.reserve(num_label_names_);
  for (uint32_t i = 0; i < num_label_names_; ++i) {
    out.emplace_back(Symbol(DecodeFixed32(label_table_ + kLabelRecordSize * uint64_t{i})));
  }
  return out;
}

std::vector<std::string> IndexReader::LabelValues(std::string_view name) const {
  std::vector<std::string> out;
  uint32_t name_id, first, count;
  if (!FindSymbol(name, &name_id) || !LabelRange(name_id, &first, &count)) return out;
  out.reserve(count);
  for (uint32_t i = first; i < first + count; ++i) out.emplace_back(Symbol(PostingsEntryValue(i)));
  return out;
}

Result<::Roaring> IndexReader::ReadPostingsAt(uint64_t offset) const {
  if (offset < postings_begin_ || offset >= postings_end_ || postings_end_ - offset < 8) {
    return Status::Corruption("index: postings offset out of bounds");
  }
  const uint64_t len = DecodeFixed32(data_.data() + offset);
  if (postings_end_ - offset - 8 < len) return Status::Corruption("index: postings truncated");
  std::string_view in = data_.substr(offset + 4, len);
  if (crc32c::Value(in.data(), in.size()) != DecodeFixed32(in.data() + len)) {
    return Status::Corruption("index: postings checksum mismatch");
  }
  uint64_t n;
  if (!GetVarint64(&in, &n) || n > num_series_ || n > in.size()) {
    return Status::Corruption("index: bad postings count");
  }
  std::vector<uint32_t> ids;
  ids.reserve(n);
  uint64_t prev = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t delta;
    if (!GetVarint64(&in, &delta) || (i > 0 && delta == 0) || delta >= num_series_ ||
        prev + delta >= num_series_) {
      return Status::Corruption("index: bad postings entry");
    }
    prev += delta;
    ids.push_back(static_cast<uint32_t>(prev));
  }
  if (!in.empty()) return Status::Corruption("index: postings list has trailing bytes");
  ::Roaring r;
  r.addMany(ids.size(), ids.data());
  return r;
}

Result<::Roaring> IndexReader::AllPostings() const {
  return ReadPostingsAt(all_postings_offset_);
}

Result<::Roaring> IndexReader::Postings(std::string_view name,
                                               std::string_view value) const {
  uint32_t name_id, value_id;
  if (!FindSymbol(name, &name_id) || !FindSymbol(value, &value_id)) return ::Roaring();
  const uint64_t key = (uint64_t{name_id} << 32) | value_id;
  uint32_t lo = 0, hi = num_postings_entries_;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    uint64_t k = (uint64_t{PostingsEntryName(mid)} << 32) | PostingsEntryValue(mid);
    if (k < key) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == num_postings_entries_ || PostingsEntryName(lo) != name_id ||
      PostingsEntryValue(lo) != value_id) {
    return ::Roaring();
  }
  return ReadPostingsAt(PostingsEntryOffset(lo));
}

Result<::Roaring> IndexReader::PostingsForMatcher(const Matcher& m) const {
  // The union of the lists of the values of m.name() for which `want(value)` holds.
  auto union_where = [&](auto want) -> Result<::Roaring> {
    ::Roaring out;
    uint32_t name_id, first, count;
    if (!FindSymbol(m.name(), &name_id) || !LabelRange(name_id, &first, &count)) return out;
    for (uint32_t i = first; i < first + count; ++i) {
      if (!want(Symbol(PostingsEntryValue(i)))) continue;
      ASSIGN_OR_RETURN(::Roaring p, ReadPostingsAt(PostingsEntryOffset(i)));
      out |= p;
    }
    return out;
  };
  if (m.MatchesEmpty()) {
    // Series without the label match too: all series minus those whose value does not match.
    ASSIGN_OR_RETURN(::Roaring all, AllPostings());
    ASSIGN_OR_RETURN(::Roaring drop,
                     union_where([&](std::string_view v) { return !m.Matches(v); }));
    all -= drop;
    return all;
  }
  if (m.type() == MatchType::kEqual) return Postings(m.name(), m.value());
  if (m.type() == MatchType::kRegexMatch && !m.set_matches().empty()) {
    ::Roaring out;
    for (const std::string& v : m.set_matches()) {
      ASSIGN_OR_RETURN(::Roaring p, Postings(m.name(), v));
      out |= p;
    }
    return out;
  }
  return union_where([&](std::string_view v) { return m.Matches(v); });
}

Result<::Roaring> IndexReader::PostingsForMatchers(const std::vector<Matcher>& ms) const {
  if (ms.empty()) return AllPostings();
  // Matchers that select specific values first: they are usually the smallest sets, and an
  // empty intersection stops early.
  std::vector<const Matcher*> order;
  for (const Matcher& m : ms) {
    if (!m.MatchesEmpty()) order.push_back(&m);
  }
  for (const Matcher& m : ms) {
    if (m.MatchesEmpty()) order.push_back(&m);
  }
  ::Roaring out;
  for (size_t i = 0; i < order.size(); ++i) {
    ASSIGN_OR_RETURN(::Roaring p, PostingsForMatcher(*order[i]));
    if (i == 0) {
      out = std::move(p);
    } else {
      out &= p;
    }
    if (out.isEmpty()) break;
  }
  return out;
}

}  // namespace argus::tsdb
