#include "tracestore/otlp_wire.h"

#include "model/labels.h"

namespace argus::tracestore {

namespace {

constexpr uint64_t kLen = WireReader::kLengthDelimited;
constexpr int kMaxDepth = 100;  // protobuf's default recursion limit

// The message types of trace.proto and common.proto that a span can hold.
enum class Msg { kSpan, kEvent, kLink, kStatus, kKeyValue, kAnyValue, kArrayValue, kKeyValueList,
                 kResource, kScope };

// How field `number` of `m` is encoded: 's' string (UTF-8), 'b' bytes, 'v' varint, '8'
// fixed64, '4' fixed32, 'm' message (its type in *sub), 0 unknown to us.
char FieldKind(Msg m, uint64_t number, Msg* sub) {
  switch (m) {
    case Msg::kSpan:
      switch (number) {
        case 1: case 2: case 4: return 'b';
        case 3: case 5: return 's';
        case 6: case 10: case 12: case 14: return 'v';
        case 7: case 8: return '8';
        case 9: *sub = Msg::kKeyValue; return 'm';
        case 11: *sub = Msg::kEvent; return 'm';
        case 13: *sub = Msg::kLink; return 'm';
        case 15: *sub = Msg::kStatus; return 'm';
        case 16: return '4';
      }
      return 0;
    case Msg::kEvent:
      switch (number) {
        case 1: return '8';
        case 2: return 's';
        case 3: *sub = Msg::kKeyValue; return 'm';
        case 4: return 'v';
      }
      return 0;
    case Msg::kLink:
      switch (number) {
        case 1: case 2: return 'b';
        case 3: return 's';
        case 4: *sub = Msg::kKeyValue; return 'm';
        case 5: return 'v';
        case 6: return '4';
      }
      return 0;
    case Msg::kStatus:
      return number == 2 ? 's' : number == 3 ? 'v' : 0;
    case Msg::kKeyValue:
      if (number == 1) return 's';
      if (number == 2) { *sub = Msg::kAnyValue; return 'm'; }
      return 0;
    case Msg::kAnyValue:
      switch (number) {
        case 1: return 's';
        case 2: case 3: return 'v';
        case 4: return '8';
        case 5: *sub = Msg::kArrayValue; return 'm';
        case 6: *sub = Msg::kKeyValueList; return 'm';
        case 7: return 'b';
      }
      return 0;
    case Msg::kArrayValue:
      if (number == 1) { *sub = Msg::kAnyValue; return 'm'; }
      return 0;
    case Msg::kKeyValueList:
      if (number == 1) { *sub = Msg::kKeyValue; return 'm'; }
      return 0;
    case Msg::kResource:
      if (number == 1) { *sub = Msg::kKeyValue; return 'm'; }
      return number == 2 ? 'v' : 0;
    case Msg::kScope:
      switch (number) {
        case 1: case 2: return 's';
        case 3: *sub = Msg::kKeyValue; return 'm';
        case 4: return 'v';
      }
      return 0;
  }
  return 0;
}

bool Valid(Msg m, std::string_view bytes, int depth) {
  if (depth > kMaxDepth) return false;
  WireReader r(bytes);
  WireField f;
  while (r.Next(&f)) {
    Msg sub = Msg::kSpan;
    char k = FieldKind(m, f.number, &sub);
    // A known field with another wire type is kept as unknown by protobuf: not checked.
    if (f.type != kLen) continue;
    if (k == 's' && !IsValidUtf8(f.bytes)) return false;
    if (k == 'm' && !Valid(sub, f.bytes, depth + 1)) return false;
  }
  return !r.error();
}

}  // namespace

bool ReadSpan(std::string_view bytes, SpanView* out) {
  *out = SpanView{};
  WireReader r(bytes);
  WireField f;
  while (r.Next(&f)) {
    if (f.type == kLen) {
      switch (f.number) {
        case 1: out->trace_id = f.bytes; break;
        case 2: out->span_id = f.bytes; break;
        case 4: out->parent_span_id = f.bytes; break;
        case 5: out->name = f.bytes; break;
        case 15: {
          out->has_status = true;
          WireReader s(f.bytes);
          WireField g;
          while (s.Next(&g)) {
            if (g.number == 2 && g.type == kLen) out->status_message = g.bytes;
            if (g.number == 3 && g.type == WireReader::kVarint) out->status_code = static_cast<int32_t>(g.value);
          }
          if (s.error()) return false;
          break;
        }
      }
    } else if (f.type == WireReader::kVarint && f.number == 6) {
      out->kind = static_cast<int32_t>(f.value);
    } else if (f.type == WireReader::kFixed64) {
      if (f.number == 7) out->start_time_unix_nano = f.value;
      if (f.number == 8) out->end_time_unix_nano = f.value;
    }
  }
  return !r.error();
}

bool ValidSpan(std::string_view bytes) { return Valid(Msg::kSpan, bytes, 0); }
bool ValidResource(std::string_view bytes) { return Valid(Msg::kResource, bytes, 0); }
bool ValidScope(std::string_view bytes) { return Valid(Msg::kScope, bytes, 0); }

std::string_view ResourceAttribute(std::string_view resource, std::string_view key) {
  std::string_view found;
  WireReader r(resource);
  WireField f;
  while (r.Next(&f)) {
    if (f.number != 1 || f.type != kLen) continue;
    std::string_view k, value;
    bool is_string = false;
    WireReader kv(f.bytes);
    WireField g;
    while (kv.Next(&g)) {
      if (g.type != kLen) continue;
      if (g.number == 1) k = g.bytes;
      if (g.number == 2) {
        WireReader v(g.bytes);
        WireField h;
        is_string = false;  // the last value field set wins, as in protobuf's oneof
        while (v.Next(&h)) {
          is_string = h.number == 1 && h.type == kLen;
          if (is_string) value = h.bytes;
        }
      }
    }
    if (k == key) found = is_string ? value : std::string_view();  // the last one wins
  }
  return found;
}

}  // namespace argus::tracestore
