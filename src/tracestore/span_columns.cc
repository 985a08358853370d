#include "tracestore/span_columns.h"

#include <fmt/format.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "tracestore/otlp_wire.h"
#include "util/coding.h"
#include "util/protowire.h"

namespace argus::tracestore {

namespace otlp = opentelemetry::proto;

namespace {

constexpr char kPageMagic[4] = {'A', 'T', 'P', 'G'};
constexpr uint32_t kMaxColumnBytes = 1u << 30;
constexpr int kZstdLevel = 3;

Status Bad(std::string_view what) { return Status::Corruption(fmt::format("trace page: {}", what)); }

std::string Compress(std::string_view raw) {
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  // One context per thread, reused: ZSTD_compress would set one up (and its tables) per column.
  thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  size_t n = ZSTD_compressCCtx(cctx.get(), out.data(), out.size(), raw.data(), raw.size(), kZstdLevel);
  if (ZSTD_isError(n)) return std::string();  // only on allocation failure; caught by the size check
  out.resize(n);
  return out;
}

Result<std::string> Decompress(std::string_view c, uint32_t raw_size) {
  // The frame header carries the size (ZSTD_compress writes it): check before allocating.
  if (ZSTD_getFrameContentSize(c.data(), c.size()) != raw_size) return Bad("column size does not match its frame");
  std::string out(raw_size, '\0');
  thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  size_t n = ZSTD_decompressDCtx(dctx.get(), out.data(), out.size(), c.data(), c.size());
  if (ZSTD_isError(n) || n != raw_size) return Bad("column does not decompress");
  return out;
}

// GetVarint64 with the one-byte case inline: most values in the columns are below 128.
inline bool Varint(std::string_view* in, uint64_t* v) {
  if (!in->empty() && static_cast<uint8_t>((*in)[0]) < 0x80) {
    *v = static_cast<uint8_t>((*in)[0]);
    in->remove_prefix(1);
    return true;
  }
  return GetVarint64(in, v);
}

inline bool Varsint(std::string_view* in, int64_t* v) {
  uint64_t u = 0;
  if (!Varint(in, &u)) return false;
  *v = ZigZagDecode(u);
  return true;
}

bool GetU32(std::string_view* in, uint32_t* v) {
  uint64_t x = 0;
  if (!Varint(in, &x) || x > UINT32_MAX) return false;
  *v = static_cast<uint32_t>(x);
  return true;
}

bool GetBytes(std::string_view* in, size_t n, std::string_view* out) {
  if (in->size() < n) return false;
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

bool GetByte(std::string_view* in, uint8_t* v) {
  if (in->empty()) return false;
  *v = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  return true;
}

}  // namespace

std::pair<ValueType, std::string> ValueText(const otlp::common::v1::AnyValue& v) {
  switch (v.value_case()) {
    case otlp::common::v1::AnyValue::kStringValue: return {ValueType::kString, v.string_value()};
    case otlp::common::v1::AnyValue::kIntValue: return {ValueType::kInt, std::to_string(v.int_value())};
    case otlp::common::v1::AnyValue::kDoubleValue: return {ValueType::kDouble, fmt::format("{}", v.double_value())};
    case otlp::common::v1::AnyValue::kBoolValue: return {ValueType::kBool, v.bool_value() ? "true" : "false"};
    default: return {ValueType::kOther, ""};
  }
}

// ---- Dictionary ----

Dictionary::Dictionary() : offsets_{0} { Intern(""); }

uint32_t Dictionary::Intern(std::string_view s) {
  if ((size() + 1) * 2 > slots_.size()) Grow();
  uint64_t h = std::hash<std::string_view>{}(s);
  for (size_t i = Home(h);; i = NextSlot(i)) {
    uint32_t id = slots_[i];
    if (id == kEmptySlot) {
      id = static_cast<uint32_t>(size());
      bytes_.append(s);
      offsets_.push_back(static_cast<uint32_t>(bytes_.size()));
      hashes_.push_back(h);
      slots_[i] = id;
      return id;
    }
    if (hashes_[id] == h && Str(id) == s) return id;
  }
}

void Dictionary::Grow() {
  slots_.assign(std::max<size_t>(1024, slots_.size() * 2), kEmptySlot);
  for (uint32_t id = 0; id < hashes_.size(); ++id) {
    size_t i = Home(hashes_[id]);
    while (slots_[i] != kEmptySlot) i = NextSlot(i);
    slots_[i] = id;
  }
}

std::string Dictionary::Encode() const {
  std::string raw;
  for (size_t i = 0; i < size(); ++i) PutLengthPrefixed(&raw, Str(static_cast<uint32_t>(i)));
  std::string out;
  PutFixed32(&out, static_cast<uint32_t>(size()));
  PutFixed32(&out, static_cast<uint32_t>(raw.size()));
  out += Compress(raw);
  return out;
}

Result<Dictionary> Dictionary::Decode(std::string_view bytes) {
  auto bad = [](std::string_view what) { return Status::Corruption(fmt::format("trace dictionary: {}", what)); };
  uint32_t n = 0, raw_size = 0;
  if (!GetFixed32(&bytes, &n) || !GetFixed32(&bytes, &raw_size) || raw_size > kMaxColumnBytes) {
    return bad("truncated header");
  }
  if (ZSTD_getFrameContentSize(bytes.data(), bytes.size()) != raw_size) return bad("size does not match its frame");
  std::string raw(raw_size, '\0');
  size_t got = ZSTD_decompress(raw.data(), raw.size(), bytes.data(), bytes.size());
  if (ZSTD_isError(got) || got != raw_size) return bad("does not decompress");
  Dictionary d;
  d.slots_.clear();
  d.hashes_.clear();
  d.bytes_.clear();
  d.offsets_.assign(1, 0);
  if (n > raw_size + 1) return bad("more strings than bytes");
  d.offsets_.reserve(n + 1);
  std::string_view in(raw);
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view s;
    if (!GetLengthPrefixed(&in, &s)) return bad("truncated string");
    d.bytes_.append(s);
    d.offsets_.push_back(static_cast<uint32_t>(d.bytes_.size()));
  }
  if (!in.empty() || n == 0 || d.offsets_[1] != 0) return bad("trailing bytes or no empty string first");
  // The table for Find, without the builder's per-id hashes (8 bytes per string fewer): one
  // hash per string here is far cheaper than sorting the strings, which every block open and
  // every compaction paid.
  d.slots_.assign(std::max<size_t>(16, size_t{n} + n / 2 + 1), kEmptySlot);  // at most 2/3 full
  for (uint32_t id = 0; id < n; ++id) {
    size_t i = d.Home(std::hash<std::string_view>{}(d.Str(id)));
    while (d.slots_[i] != kEmptySlot) i = d.NextSlot(i);
    d.slots_[i] = id;
  }
  return d;
}

int64_t Dictionary::Find(std::string_view s) const {
  uint64_t h = std::hash<std::string_view>{}(s);
  const bool hashed = !hashes_.empty();  // a builder keeps each id's hash; a decoded one does not
  for (size_t i = Home(h); slots_[i] != kEmptySlot; i = NextSlot(i)) {
    uint32_t id = slots_[i];
    if ((!hashed || hashes_[id] == h) && Str(id) == s) return id;
  }
  return -1;
}

// ---- PageBuilder ----

Result<TraceInfo> PageBuilder::AddTrace(std::string_view trace_id, std::string_view traces_data) {
  constexpr uint64_t kLen = WireReader::kLengthDelimited;
  const Status malformed = Status::InvalidArgument("spans of a trace do not parse as OTLP TracesData");
  // First read the whole trace as views, so that bad bytes change nothing in the builder.
  // The views go into the builder's scratch vectors, reused from trace to trace.
  std::vector<ResourceRef>& resources = scratch_resources_;
  std::vector<ScopeRef>& scopes = scratch_scopes_;
  std::vector<std::string_view>& span_bytes = scratch_span_bytes_;
  std::vector<SpanView>& spans = scratch_spans_;
  resources.clear();
  scopes.clear();
  span_bytes.clear();
  spans.clear();
  WireReader top(traces_data);
  WireField f;
  while (top.Next(&f)) {
    if (f.number != otlp_field::kResourceSpans || f.type != kLen) continue;
    ResourceRef& r = resources.emplace_back();
    r.first_scope = scopes.size();
    WireReader rs(f.bytes);
    WireField g;
    while (rs.Next(&g)) {
      if (g.type != kLen) continue;
      if (g.number == otlp_field::kResource) r.resource = g.bytes;
      if (g.number == otlp_field::kSchemaUrl) r.schema = g.bytes;
      if (g.number != otlp_field::kScopeSpans) continue;
      ScopeRef& sc = scopes.emplace_back();
      sc.first_span = spans.size();
      WireReader ss(g.bytes);
      WireField h;
      while (ss.Next(&h)) {
        if (h.type != kLen) continue;
        if (h.number == otlp_field::kScope) sc.scope = h.bytes;
        if (h.number == otlp_field::kSchemaUrl) sc.schema = h.bytes;
        if (h.number != otlp_field::kSpans) continue;
        if (!ReadSpan(h.bytes, &spans.emplace_back())) return malformed;
        span_bytes.push_back(h.bytes);
      }
      if (ss.error()) return malformed;
      sc.spans = spans.size() - sc.first_span;
      ++r.scopes;
    }
    if (rs.error()) return malformed;
  }
  if (top.error()) return malformed;

  TraceInfo info;
  info.start_unix_nano = UINT64_MAX;
  for (const SpanView& s : spans) {
    info.start_unix_nano = std::min<uint64_t>(info.start_unix_nano, s.start_time_unix_nano);
    info.end_unix_nano = std::max<uint64_t>(info.end_unix_nano, std::max(s.end_time_unix_nano, s.start_time_unix_nano));
  }
  if (spans.empty()) info.start_unix_nano = 0;
  info.spans = static_cast<uint32_t>(spans.size());
  std::unordered_map<std::string_view, uint32_t>& row_of = scratch_row_of_;
  row_of.clear();
  for (uint32_t i = 0; i < spans.size(); ++i) row_of.emplace(spans[i].span_id, i);  // the first span with an ID wins

  PutVarint64(&structure_, info.start_unix_nano);
  PutVarint64(&structure_, resources.size());
  bool have_root = false;
  for (const ResourceRef& r : resources) {
    uint32_t service = dict_->Intern(ResourceAttribute(r.resource, "service.name"));
    uint32_t resource = dict_->Intern(r.resource);
    resources_.push_back(resource);
    PutVarint64(&structure_, resource);
    PutVarint64(&structure_, dict_->Intern(r.schema));
    PutVarint64(&structure_, r.scopes);
    for (size_t si = r.first_scope; si < r.first_scope + r.scopes; ++si) {
      const ScopeRef& sc = scopes[si];
      PutVarint64(&structure_, dict_->Intern(sc.scope));
      PutVarint64(&structure_, dict_->Intern(sc.schema));
      PutVarint64(&structure_, sc.spans);
      for (size_t k = sc.first_span; k < sc.first_span + sc.spans; ++k) {
        const SpanView& s = spans[k];
        uint64_t row = spans_++;
        span_ids_.push_back(static_cast<char>(std::min<size_t>(s.span_id.size(), 255)));
        span_ids_.append(s.span_id.substr(0, 255));
        if (s.parent_span_id.empty()) {
          parents_.push_back(0);
        } else if (auto it = row_of.find(s.parent_span_id); it != row_of.end()) {
          PutVarint64(&parents_, 2 + uint64_t{it->second});
        } else {
          parents_.push_back(1);
          parents_.push_back(static_cast<char>(std::min<size_t>(s.parent_span_id.size(), 255)));
          parents_.append(s.parent_span_id.substr(0, 255));
        }
        uint32_t name = dict_->Intern(s.name);
        names_list_.push_back(name);
        PutVarint64(&names_, name);
        uint64_t kind = static_cast<uint64_t>(s.kind);
        uint64_t code = static_cast<uint64_t>(s.status_code);
        if (kind <= 7 && code <= 3) {
          kind_status_.push_back(static_cast<char>(kind | code << 3 | (s.has_status ? 0x20 : 0)));
        } else {
          kind_status_.push_back(static_cast<char>(0xff));
          PutVarint64(&kind_status_, kind);
          PutVarint64(&kind_status_, code);
          kind_status_.push_back(s.has_status ? 1 : 0);
        }
        PutVarint64(&status_messages_, dict_->Intern(s.status_message));
        PutVarsint64(&times_, static_cast<int64_t>(s.start_time_unix_nano - info.start_unix_nano));
        PutVarsint64(&times_, static_cast<int64_t>(s.end_time_unix_nano - s.start_time_unix_nano));
        // Attributes go to their columns; whatever the columns do not hold (trace state,
        // flags, dropped counts, events, links, fields newer than ours) stays as the span's
        // own bytes of those fields: a Span message of its own in the extras column.
        uint32_t attributes = 0;
        std::string& extra = scratch_extra_;
        extra.clear();
        WireReader sr(span_bytes[k]);
        std::string_view before = sr.rest();
        while (sr.Next(&f)) {
          std::string_view raw = before.substr(0, before.size() - sr.rest().size());
          before = sr.rest();
          bool in_columns = false;
          switch (f.number) {
            case 1: in_columns = f.type == kLen && f.bytes == trace_id; break;  // the trace's own
            case 2: case 4: case 5: case 9: case 15: in_columns = f.type == kLen; break;
            case 6: in_columns = f.type == WireReader::kVarint; break;
            case 7: case 8: in_columns = f.type == WireReader::kFixed64; break;
          }
          if (!in_columns) {
            extra.append(raw);
            continue;
          }
          if (f.number != 9) continue;
          ++attributes;
          AddAttribute(row, f.bytes);  // its column order goes to layout_pending_
        }
        PutVarint64(&layout_, attributes);
        layout_ += layout_pending_;
        layout_pending_.clear();
        PutLengthPrefixed(&extras_, extra);
        if (s.parent_span_id.empty() && !have_root) {
          have_root = true;
          info.root_service = service;
          info.root_name = name;
        }
      }
    }
  }
  ++traces_;
  return info;
}

void PageBuilder::AddAttribute(uint64_t row, std::string_view key_value) {
  constexpr uint64_t kLen = WireReader::kLengthDelimited;
  std::string_view key, value;
  WireReader r(key_value);
  WireField f;
  while (r.Next(&f)) {
    if (f.type != kLen) continue;
    if (f.number == 1) key = f.bytes;
    if (f.number == 2) value = f.bytes;
  }
  uint32_t k = dict_->Intern(key);
  auto [it, added] = key_column_.try_emplace(k, static_cast<uint32_t>(keys_.size()));
  if (added) {
    keys_.push_back(k);
    key_data_.emplace_back();
    key_last_row_.push_back(0);
  }
  uint32_t col = it->second;
  PutVarint64(&layout_pending_, col);
  std::string& d = key_data_[col];
  PutVarint64(&d, row - key_last_row_[col]);
  key_last_row_[col] = row;
  // The value's case is its last field, as in protobuf's oneof.
  WireField last;
  bool any = false;
  WireReader v(value);
  while (v.Next(&f)) {
    if (f.number >= 1 && f.number <= 7) {
      last = f;
      any = true;
    }
  }
  bool scalar = any && !v.error();
  if (scalar) {
    switch (last.number) {
      case 1:
        scalar = last.type == kLen;
        if (scalar) {
          d.push_back(static_cast<char>(ValueType::kString));
          PutVarint64(&d, dict_->Intern(last.bytes));
        }
        break;
      case 2:
        scalar = last.type == WireReader::kVarint;
        if (scalar) {
          d.push_back(static_cast<char>(ValueType::kBool));
          d.push_back(last.value != 0 ? 1 : 0);
        }
        break;
      case 3:
        scalar = last.type == WireReader::kVarint;
        if (scalar) {
          d.push_back(static_cast<char>(ValueType::kInt));
          PutVarsint64(&d, static_cast<int64_t>(last.value));
        }
        break;
      case 4:
        scalar = last.type == WireReader::kFixed64;
        if (scalar) {
          d.push_back(static_cast<char>(ValueType::kDouble));
          PutFixed64(&d, last.value);
        }
        break;
      default:
        scalar = false;
    }
  }
  if (!scalar) {
    d.push_back(static_cast<char>(ValueType::kOther));
    PutLengthPrefixed(&d, value);
  }
}

std::string PageBuilder::Finish() {
  std::vector<std::tuple<ColumnKind, uint32_t, std::string*>> cols = {
      {ColumnKind::kStructure, 0, &structure_}, {ColumnKind::kSpanIds, 0, &span_ids_},
      {ColumnKind::kParents, 0, &parents_},     {ColumnKind::kNames, 0, &names_},
      {ColumnKind::kKindStatus, 0, &kind_status_}, {ColumnKind::kStatusMessages, 0, &status_messages_},
      {ColumnKind::kTimes, 0, &times_},         {ColumnKind::kAttrLayout, 0, &layout_},
      {ColumnKind::kExtras, 0, &extras_}};
  for (size_t i = 0; i < keys_.size(); ++i) cols.emplace_back(ColumnKind::kAttribute, keys_[i], &key_data_[i]);
  std::string table(kPageMagic, 4), frames;
  PutFixed32(&table, static_cast<uint32_t>(traces_));
  PutFixed32(&table, static_cast<uint32_t>(spans_));
  PutFixed32(&table, static_cast<uint32_t>(cols.size()));
  for (auto& [kind, key, raw] : cols) {
    std::string c = Compress(*raw);
    PutFixed32(&table, static_cast<uint32_t>(kind));
    PutFixed32(&table, key);
    PutFixed32(&table, static_cast<uint32_t>(c.size()));
    PutFixed32(&table, static_cast<uint32_t>(raw->size()));
    frames += c;
  }
  *this = PageBuilder(dict_);
  return table + frames;
}

// ---- Page ----

Result<std::unique_ptr<Page>> Page::Open(std::string_view body) {
  std::unique_ptr<Page> p(new Page());
  uint32_t traces = 0, spans = 0, ncols = 0;
  if (body.size() < 16 || std::memcmp(body.data(), kPageMagic, 4) != 0) return Bad("bad magic");
  body.remove_prefix(4);
  if (!GetFixed32(&body, &traces) || !GetFixed32(&body, &spans) || !GetFixed32(&body, &ncols) ||
      ncols > body.size() / 16) {
    return Bad("truncated column table");
  }
  std::string_view frames = body.substr(size_t{ncols} * 16);
  for (uint32_t i = 0; i < ncols; ++i) {
    const char* e = body.data() + 16 * i;
    ColumnRef c{static_cast<ColumnKind>(DecodeFixed32(e)), DecodeFixed32(e + 4), {}, DecodeFixed32(e + 12)};
    uint32_t clen = DecodeFixed32(e + 8);
    if (clen > frames.size() || c.raw_size > kMaxColumnBytes) return Bad("column out of the page");
    c.compressed = frames.substr(0, clen);
    frames.remove_prefix(clen);
    if (c.kind == ColumnKind::kAttribute) p->attr_keys_.push_back(c.key);
    p->columns_.push_back(c);
  }
  ASSIGN_OR_RETURN(std::string_view st, p->Column(ColumnKind::kStructure, 0));
  if (traces > st.size()) return Bad("more traces than structure bytes");
  p->traces_.resize(traces);
  p->span_resource_.reserve(spans);
  p->resources_.reserve(traces * 4);
  p->scopes_.reserve(traces * 4);
  uint32_t row = 0;
  for (TraceRef& t : p->traces_) {
    t.first_row = row;
    t.first_resource = static_cast<uint32_t>(p->resources_.size());
    if (!Varint(&st, &t.start) || !GetU32(&st, &t.resources) || t.resources > st.size()) {
      return Bad("truncated structure");
    }
    for (uint32_t k = 0; k < t.resources; ++k) {
      ResourceSpansRef r{0, 0, static_cast<uint32_t>(p->scopes_.size()), 0};
      if (!GetU32(&st, &r.resource) || !GetU32(&st, &r.schema_url) || !GetU32(&st, &r.scopes) ||
          r.scopes > st.size()) {
        return Bad("truncated structure");
      }
      for (uint32_t j = 0; j < r.scopes; ++j) {
        ScopeSpansRef s{};
        if (!GetU32(&st, &s.scope) || !GetU32(&st, &s.schema_url) || !GetU32(&st, &s.spans) ||
            s.spans > spans - row) {
          return Bad("truncated structure or too many spans");
        }
        row += s.spans;
        p->span_resource_.insert(p->span_resource_.end(), s.spans, r.resource);
        p->scopes_.push_back(s);
      }
      p->resources_.push_back(r);
    }
    t.spans = row - t.first_row;
  }
  if (row != spans || !st.empty()) return Bad("span count does not match the structure");
  return p;
}

Result<std::string_view> Page::Column(ColumnKind kind, uint32_t key) {
  for (const ColumnRef& c : columns_) {
    if (c.kind != kind || c.key != key) continue;
    ASSIGN_OR_RETURN(std::string raw, Decompress(c.compressed, c.raw_size));
    buffers_.push_back(std::make_unique<std::string>(std::move(raw)));
    return std::string_view(*buffers_.back());
  }
  if (kind == ColumnKind::kAttribute) return std::string_view();
  return Bad(fmt::format("missing column {}", static_cast<uint32_t>(kind)));
}

std::vector<uint32_t> Page::Resources() const {
  std::vector<uint32_t> out;
  for (const ResourceSpansRef& r : resources_) out.push_back(r.resource);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<uint32_t> Page::AttributeKeys() const { return attr_keys_; }

Status Page::LoadCore() {
  if (core_) return Status::OK();
  size_t n = num_spans();
  ASSIGN_OR_RETURN(std::string_view names, Column(ColumnKind::kNames, 0));
  ASSIGN_OR_RETURN(std::string_view ks, Column(ColumnKind::kKindStatus, 0));
  ASSIGN_OR_RETURN(std::string_view times, Column(ColumnKind::kTimes, 0));
  names_.resize(n);
  kinds_.resize(n);
  codes_.resize(n);
  has_status_.resize(n);
  starts_.resize(n);
  ends_.resize(n);
  size_t row = 0;
  for (const TraceRef& t : traces_) {
    for (uint32_t i = 0; i < t.spans; ++i, ++row) {
      uint8_t b = 0;
      int64_t ds = 0, dd = 0;
      if (!GetU32(&names, &names_[row]) || !GetByte(&ks, &b) || !Varsint(&times, &ds) ||
          !Varsint(&times, &dd)) {
        return Bad("truncated core columns");
      }
      if (b == 0xff) {
        uint64_t kind = 0, code = 0;
        if (!Varint(&ks, &kind) || !Varint(&ks, &code) || !GetByte(&ks, &has_status_[row])) {
          return Bad("truncated kind/status");
        }
        kinds_[row] = static_cast<uint8_t>(kind);
        codes_[row] = static_cast<uint8_t>(code);
      } else {
        kinds_[row] = b & 7;
        codes_[row] = (b >> 3) & 3;
        has_status_[row] = (b >> 5) & 1;
      }
      starts_[row] = t.start + static_cast<uint64_t>(ds);
      ends_[row] = starts_[row] + static_cast<uint64_t>(dd);
    }
  }
  if (!names.empty() || !ks.empty() || !times.empty()) return Bad("trailing bytes in core columns");
  core_ = true;
  return Status::OK();
}

Result<std::span<const AttrValue>> Page::Attribute(uint32_t key) {
  if (auto it = attrs_.find(key); it != attrs_.end()) return std::span<const AttrValue>(it->second);
  ASSIGN_OR_RETURN(std::string_view in, Column(ColumnKind::kAttribute, key));
  std::vector<AttrValue>& out = attrs_[key];
  out.reserve(num_spans());
  uint64_t row = 0;
  while (!in.empty()) {
    uint64_t delta = 0;
    uint8_t type = 0;
    if (!Varint(&in, &delta) || !GetByte(&in, &type)) return Bad("truncated attribute column");
    row += delta;
    if (row >= num_spans()) return Bad("attribute row out of range");
    AttrValue v;
    v.row = static_cast<uint32_t>(row);
    v.type = static_cast<ValueType>(type);
    bool ok = true;
    switch (v.type) {
      case ValueType::kString: ok = Varint(&in, &v.bits); break;
      case ValueType::kInt: {
        int64_t x = 0;
        ok = Varsint(&in, &x);
        v.bits = static_cast<uint64_t>(x);
        break;
      }
      case ValueType::kDouble: ok = GetFixed64(&in, &v.bits); break;
      case ValueType::kBool: {
        uint8_t b = 0;
        ok = GetByte(&in, &b);
        v.bits = b;
        break;
      }
      case ValueType::kOther: ok = GetLengthPrefixed(&in, &v.other); break;
      default: return Bad("bad attribute type");
    }
    if (!ok) return Bad("truncated attribute value");
    out.push_back(v);
  }
  return std::span<const AttrValue>(out);
}

Status Page::LoadAll() {
  if (all_) return Status::OK();
  RETURN_IF_ERROR(LoadCore());
  size_t n = num_spans();
  ASSIGN_OR_RETURN(std::string_view ids, Column(ColumnKind::kSpanIds, 0));
  ASSIGN_OR_RETURN(std::string_view parents, Column(ColumnKind::kParents, 0));
  ASSIGN_OR_RETURN(std::string_view msgs, Column(ColumnKind::kStatusMessages, 0));
  ASSIGN_OR_RETURN(std::string_view layout, Column(ColumnKind::kAttrLayout, 0));
  ASSIGN_OR_RETURN(std::string_view extras, Column(ColumnKind::kExtras, 0));
  span_ids_.resize(n);
  extras_.resize(n);
  status_messages_.resize(n);
  parents_.resize(n);
  raw_parents_.resize(n);
  layout_offsets_.assign(1, 0);
  layout_.clear();
  size_t row = 0;
  for (const TraceRef& t : traces_) {
    for (uint32_t i = 0; i < t.spans; ++i, ++row) {
      uint8_t len = 0;
      uint64_t code = 0, nattrs = 0;
      if (!GetByte(&ids, &len) || !GetBytes(&ids, len, &span_ids_[row]) || !Varint(&parents, &code) ||
          !GetU32(&msgs, &status_messages_[row]) || !GetLengthPrefixed(&extras, &extras_[row]) ||
          !Varint(&layout, &nattrs) || nattrs > layout.size()) {
        return Bad("truncated span columns");
      }
      if (code == 0) {
        parents_[row] = -1;
      } else if (code == 1) {
        parents_[row] = -2;
        if (!GetByte(&parents, &len) || !GetBytes(&parents, len, &raw_parents_[row])) return Bad("truncated parent");
      } else {
        if (code - 2 >= t.spans) return Bad("parent out of its trace");
        parents_[row] = static_cast<int64_t>(t.first_row + (code - 2));
      }
      for (uint64_t k = 0; k < nattrs; ++k) {
        uint32_t col = 0;
        if (!GetU32(&layout, &col) || col >= attr_keys_.size()) return Bad("bad attribute layout");
        layout_.push_back(col);
      }
      layout_offsets_.push_back(static_cast<uint32_t>(layout_.size()));
    }
  }
  if (!ids.empty() || !parents.empty() || !msgs.empty() || !layout.empty() || !extras.empty()) {
    return Bad("trailing bytes in span columns");
  }
  for (uint32_t key : attr_keys_) RETURN_IF_ERROR(Attribute(key).status());
  all_ = true;
  return Status::OK();
}

Result<std::string> Page::Trace(size_t t, std::string_view trace_id, const Dictionary& dict) {
  if (t >= traces_.size()) return Bad("trace ordinal out of the page");
  RETURN_IF_ERROR(LoadAll());
  constexpr uint64_t kLen = WireReader::kLengthDelimited;
  auto str = [&](uint64_t id) -> Result<std::string_view> {
    if (id >= dict.size()) return Bad("dictionary id out of range");
    return dict.Str(static_cast<uint32_t>(id));
  };
  const TraceRef& tr = traces_[t];
  // Per attribute column: the next entry to use, found on first use in this trace.
  std::vector<int64_t>& cursor = scratch_.cursor;
  cursor.assign(attr_keys_.size(), -1);
  std::vector<std::span<const AttrValue>>& cols = scratch_.cols;
  cols.resize(attr_keys_.size());
  for (size_t c = 0; c < attr_keys_.size(); ++c) cols[c] = attrs_[attr_keys_[c]];
  // Written straight in protobuf's wire format, each message in field-number order with
  // proto3's defaults left out, as protobuf serializes it: the bytes equal those of the
  // TracesData the spans came in (for spans protobuf wrote), so a trace reads back exactly.
  // The buffers are the page's, reused from trace to trace (a merge reads every trace).
  std::string out;
  std::string &rs_buf = scratch_.rs, &ss_buf = scratch_.ss, &span_buf = scratch_.span, &sub = scratch_.sub,
              &kv_buf = scratch_.kv;
  uint32_t row = tr.first_row;
  for (uint32_t ri = tr.first_resource; ri < tr.first_resource + tr.resources; ++ri) {
    const ResourceSpansRef& r = resources_[ri];
    rs_buf.clear();
    ASSIGN_OR_RETURN(std::string_view res, str(r.resource));
    if (!res.empty()) PutLengthDelimitedField(&rs_buf, otlp_field::kResource, res);
    for (uint32_t si = r.first_scope; si < r.first_scope + r.scopes; ++si) {
      const ScopeSpansRef& sr = scopes_[si];
      ss_buf.clear();
      ASSIGN_OR_RETURN(std::string_view scope, str(sr.scope));
      if (!scope.empty()) PutLengthDelimitedField(&ss_buf, otlp_field::kScope, scope);
      for (uint32_t k = 0; k < sr.spans; ++k, ++row) {
        // The extras' fields, interleaved with the columns' in number order: 1 (a span's
        // own trace ID) and 3 (trace state) around 2, 10 to 14 after 9, the rest (16 and
        // fields newer than ours) after 15.
        std::string &own_trace_id = scratch_.own_trace_id, &trace_state = scratch_.trace_state,
                    &middle = scratch_.middle, &late = scratch_.late;
        own_trace_id.clear();
        trace_state.clear();
        middle.clear();
        late.clear();
        {
          WireReader er(extras_[row]);
          WireField f;
          std::string_view before = er.rest();
          while (er.Next(&f)) {
            std::string_view raw = before.substr(0, before.size() - er.rest().size());
            before = er.rest();
            std::string* to = f.number == 1 && f.type == kLen ? &own_trace_id : f.number == 3 ? &trace_state
                              : f.number >= 10 && f.number <= 14 ? &middle : &late;
            to->append(raw);
          }
          if (er.error()) return Bad("span extras do not parse");
        }
        span_buf.clear();
        if (own_trace_id.empty()) {
          PutLengthDelimitedField(&span_buf, 1, trace_id);
        } else {
          span_buf.append(own_trace_id);
        }
        if (!span_ids_[row].empty()) PutLengthDelimitedField(&span_buf, 2, span_ids_[row]);
        span_buf.append(trace_state);
        if (parents_[row] == -2) {
          PutLengthDelimitedField(&span_buf, 4, raw_parents_[row]);
        } else if (parents_[row] >= 0 && !span_ids_[parents_[row]].empty()) {
          PutLengthDelimitedField(&span_buf, 4, span_ids_[parents_[row]]);
        }
        ASSIGN_OR_RETURN(std::string_view name, str(names_[row]));
        if (!name.empty()) PutLengthDelimitedField(&span_buf, 5, name);
        if (kinds_[row] != 0) {
          PutFieldTag(&span_buf, 6, WireReader::kVarint);
          PutVarint64(&span_buf, kinds_[row]);
        }
        if (starts_[row] != 0) {
          PutFieldTag(&span_buf, 7, WireReader::kFixed64);
          PutFixed64(&span_buf, starts_[row]);
        }
        if (ends_[row] != 0) {
          PutFieldTag(&span_buf, 8, WireReader::kFixed64);
          PutFixed64(&span_buf, ends_[row]);
        }
        for (uint32_t a = layout_offsets_[row]; a < layout_offsets_[row + 1]; ++a) {
          uint32_t c = layout_[a];
          std::span<const AttrValue> col = cols[c];
          if (cursor[c] < 0) {
            cursor[c] = std::lower_bound(col.begin(), col.end(), row,
                                         [](const AttrValue& v, uint32_t r) { return v.row < r; }) -
                        col.begin();
          }
          while (static_cast<size_t>(cursor[c]) < col.size() && col[cursor[c]].row < row) ++cursor[c];
          if (static_cast<size_t>(cursor[c]) >= col.size() || col[cursor[c]].row != row) {
            return Bad("attribute layout does not match its column");
          }
          const AttrValue& v = col[cursor[c]++];
          ASSIGN_OR_RETURN(std::string_view key, str(attr_keys_[c]));
          sub.clear();  // the AnyValue
          switch (v.type) {
            case ValueType::kString: {
              ASSIGN_OR_RETURN(std::string_view sv, str(v.bits));
              PutLengthDelimitedField(&sub, 1, sv);
              break;
            }
            case ValueType::kBool:
              PutFieldTag(&sub, 2, WireReader::kVarint);
              sub.push_back(v.bits != 0 ? 1 : 0);
              break;
            case ValueType::kInt:
              PutFieldTag(&sub, 3, WireReader::kVarint);
              PutVarint64(&sub, v.bits);
              break;
            case ValueType::kDouble:
              PutFieldTag(&sub, 4, WireReader::kFixed64);
              PutFixed64(&sub, v.bits);
              break;
            case ValueType::kOther:
              sub.assign(v.other);
              break;
          }
          kv_buf.clear();
          if (!key.empty()) PutLengthDelimitedField(&kv_buf, 1, key);
          PutLengthDelimitedField(&kv_buf, 2, sub);
          PutLengthDelimitedField(&span_buf, 9, kv_buf);
        }
        span_buf.append(middle);  // 10 to 14: dropped counts, events, links
        if (has_status_[row]) {
          sub.clear();
          ASSIGN_OR_RETURN(std::string_view msg, str(status_messages_[row]));
          if (!msg.empty()) PutLengthDelimitedField(&sub, 2, msg);
          if (codes_[row] != 0) {
            PutFieldTag(&sub, 3, WireReader::kVarint);
            PutVarint64(&sub, codes_[row]);
          }
          PutLengthDelimitedField(&span_buf, 15, sub);
        }
        span_buf.append(late);  // 16 (flags) and newer fields
        PutLengthDelimitedField(&ss_buf, otlp_field::kSpans, span_buf);
      }
      ASSIGN_OR_RETURN(std::string_view sschema, str(sr.schema_url));
      if (!sschema.empty()) PutLengthDelimitedField(&ss_buf, otlp_field::kSchemaUrl, sschema);
      PutLengthDelimitedField(&rs_buf, otlp_field::kScopeSpans, ss_buf);
    }
    ASSIGN_OR_RETURN(std::string_view schema, str(r.schema_url));
    if (!schema.empty()) PutLengthDelimitedField(&rs_buf, otlp_field::kSchemaUrl, schema);
    PutLengthDelimitedField(&out, otlp_field::kResourceSpans, rs_buf);
  }
  return out;
}

}  // namespace argus::tracestore
