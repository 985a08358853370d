#include "tracestore/span_columns.h"

#include <fmt/format.h>

#include <cstring>

#include "util/coding.h"
#include "util/crc32c.h"

namespace argus::tracestore {

namespace otlp = opentelemetry::proto;

namespace {
constexpr char kMagic[4] = {'A', 'T', 'C', 'L'};

std::string_view ServiceName(const otlp::resource::v1::Resource& r) {
  for (const auto& kv : r.attributes()) {
    if (kv.key() == "service.name" && kv.value().has_string_value()) return kv.value().string_value();
  }
  return "";
}

template <typename T>
void PutArray(std::string* out, const std::vector<T>& v) {
  for (T x : v) {
    if constexpr (sizeof(T) == 1) {
      out->push_back(static_cast<char>(x));
    } else if constexpr (sizeof(T) == 4) {
      PutFixed32(out, x);
    } else {
      PutFixed64(out, x);
    }
  }
}

template <typename T>
bool GetArray(std::string_view* in, size_t n, std::vector<T>* v) {
  if (n > in->size() / sizeof(T)) return false;
  v->resize(n);
  for (size_t i = 0; i < n; ++i) {
    if constexpr (sizeof(T) == 1) {
      (*v)[i] = static_cast<T>((*in)[i]);
    } else if constexpr (sizeof(T) == 4) {
      (*v)[i] = DecodeFixed32(in->data() + 4 * i);
    } else {
      (*v)[i] = DecodeFixed64(in->data() + 8 * i);
    }
  }
  in->remove_prefix(n * sizeof(T));
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

uint32_t SpanColumns::Intern(std::string_view s) {
  auto it = ids_.find(std::string(s));
  if (it != ids_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(strings_.size());
  strings_.emplace_back(s);
  ids_.emplace(strings_.back(), id);
  return id;
}

int64_t SpanColumns::Find(std::string_view s) const {
  auto it = ids_.find(std::string(s));
  return it == ids_.end() ? -1 : it->second;
}

void SpanColumns::AddTrace(const otlp::trace::v1::TracesData& trace) {
  uint32_t ordinal = static_cast<uint32_t>(root_service_.size());
  uint32_t root_service = Intern(""), root_name = Intern("");
  bool have_root = false;
  for (const auto& rs : trace.resource_spans()) {
    uint32_t service = Intern(ServiceName(rs.resource()));
    std::vector<ColumnAttr> resource_attrs;
    for (const auto& kv : rs.resource().attributes()) {
      auto [type, text] = ValueText(kv.value());
      resource_attrs.push_back({AttrScope::kResource, type, Intern(kv.key()), Intern(text)});
    }
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& s : ss.spans()) {
        trace_.push_back(ordinal);
        service_.push_back(service);
        name_.push_back(Intern(s.name()));
        kind_.push_back(static_cast<uint8_t>(s.kind()));
        status_.push_back(static_cast<uint8_t>(s.status().code()));
        start_.push_back(s.start_time_unix_nano());
        duration_.push_back(s.end_time_unix_nano() > s.start_time_unix_nano()
                                ? s.end_time_unix_nano() - s.start_time_unix_nano() : 0);
        for (const auto& kv : s.attributes()) {
          auto [type, text] = ValueText(kv.value());
          attrs_.push_back({AttrScope::kSpan, type, Intern(kv.key()), Intern(text)});
        }
        attrs_.insert(attrs_.end(), resource_attrs.begin(), resource_attrs.end());
        attr_offsets_.push_back(static_cast<uint32_t>(attrs_.size()));
        if (s.parent_span_id().empty() && !have_root) {
          have_root = true;
          root_service = service;
          root_name = name_.back();
        }
      }
    }
  }
  root_service_.push_back(root_service);
  root_name_.push_back(root_name);
}

std::string SpanColumns::Encode() const {
  std::string out(kMagic, 4);
  PutFixed32(&out, 1);
  PutFixed32(&out, static_cast<uint32_t>(strings_.size()));
  for (const std::string& s : strings_) PutLengthPrefixed(&out, s);
  PutFixed32(&out, static_cast<uint32_t>(root_service_.size()));
  PutArray(&out, root_service_);
  PutArray(&out, root_name_);
  PutFixed32(&out, static_cast<uint32_t>(trace_.size()));
  PutArray(&out, trace_);
  PutArray(&out, service_);
  PutArray(&out, name_);
  PutArray(&out, kind_);
  PutArray(&out, status_);
  PutArray(&out, start_);
  PutArray(&out, duration_);
  PutArray(&out, attr_offsets_);
  PutFixed32(&out, static_cast<uint32_t>(attrs_.size()));
  for (const ColumnAttr& a : attrs_) {
    out.push_back(static_cast<char>(a.scope));
    out.push_back(static_cast<char>(a.type));
    PutFixed32(&out, a.key);
    PutFixed32(&out, a.value);
  }
  PutFixed32(&out, crc32c::Value(out.data(), out.size()));
  return out;
}

Result<SpanColumns> SpanColumns::Decode(std::string_view bytes) {
  auto bad = [](std::string_view what) { return Status::Corruption(fmt::format("span columns: {}", what)); };
  if (bytes.size() < 12 || std::memcmp(bytes.data(), kMagic, 4) != 0) return bad("bad magic");
  uint32_t crc = DecodeFixed32(bytes.data() + bytes.size() - 4);
  if (crc != crc32c::Value(bytes.data(), bytes.size() - 4)) return bad("checksum mismatch");
  std::string_view in = bytes.substr(4, bytes.size() - 8);
  uint32_t version = 0, n = 0;
  if (!GetFixed32(&in, &version) || version != 1) return bad("unknown version");
  SpanColumns c;
  c.attr_offsets_.clear();
  if (!GetFixed32(&in, &n)) return bad("truncated dictionary");
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view s;
    if (!GetLengthPrefixed(&in, &s)) return bad("truncated dictionary");
    c.strings_.emplace_back(s);
    c.ids_.emplace(c.strings_.back(), i);
  }
  uint32_t traces = 0, spans = 0, nattrs = 0;
  if (!GetFixed32(&in, &traces) || !GetArray(&in, traces, &c.root_service_) ||
      !GetArray(&in, traces, &c.root_name_) || !GetFixed32(&in, &spans) ||
      !GetArray(&in, spans, &c.trace_) || !GetArray(&in, spans, &c.service_) ||
      !GetArray(&in, spans, &c.name_) || !GetArray(&in, spans, &c.kind_) ||
      !GetArray(&in, spans, &c.status_) || !GetArray(&in, spans, &c.start_) ||
      !GetArray(&in, spans, &c.duration_) || !GetArray(&in, size_t{spans} + 1, &c.attr_offsets_) ||
      !GetFixed32(&in, &nattrs) || in.size() != size_t{nattrs} * 10) {
    return bad("truncated columns");
  }
  c.attrs_.resize(nattrs);
  for (uint32_t i = 0; i < nattrs; ++i) {
    const char* p = in.data() + 10 * i;
    uint8_t scope = static_cast<uint8_t>(p[0]), type = static_cast<uint8_t>(p[1]);
    if (scope > 1 || type > 4) return bad("bad attribute scope or type");
    c.attrs_[i] = {static_cast<AttrScope>(scope), static_cast<ValueType>(type),
                   DecodeFixed32(p + 2), DecodeFixed32(p + 6)};
    if (c.attrs_[i].key >= n || c.attrs_[i].value >= n) return bad("dictionary id out of range");
  }
  for (size_t i = 0; i < traces; ++i) {
    if (c.root_service_[i] >= n || c.root_name_[i] >= n) return bad("dictionary id out of range");
  }
  if (c.attr_offsets_[0] != 0 || c.attr_offsets_.back() != nattrs) return bad("bad attribute offsets");
  for (size_t i = 0; i < spans; ++i) {
    if (c.trace_[i] >= traces || c.service_[i] >= n || c.name_[i] >= n ||
        c.attr_offsets_[i] > c.attr_offsets_[i + 1]) {
      return bad("span row out of range");
    }
  }
  return c;
}

}  // namespace argus::tracestore
