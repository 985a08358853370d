#include "tracestore/trace_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <set>
#include <unordered_map>

#include "tracestore/otlp_wire.h"
#include "util/coding.h"

namespace argus::tracestore {

namespace otlp = opentelemetry::proto;

namespace {

constexpr char kSpansRecord = 1;

bool IsBlockName(const std::string& name) {
  if (name.size() != 24) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

TraceSummary SummaryOf(const Block& b, const IndexEntry& e) {
  TraceSummary s;
  s.trace_id = std::string(e.trace_id);
  s.start_unix_nano = e.start_unix_nano;
  s.end_unix_nano = e.end_unix_nano;
  s.root_service = std::string(b.dict().Str(e.root_service));
  s.root_name = std::string(b.dict().Str(e.root_name));
  return s;
}

bool Overlaps(uint64_t s, uint64_t e, uint64_t start, uint64_t end) {
  if (start == 0 && end == 0) return true;
  return s <= end && e >= start;
}

// Whether the OTLP value `v` equals the condition's value (same type, same value).
bool ValueMatches(const otlp::common::v1::AnyValue& v, const SpanCondition& c) {
  if (c.value_type == ValueType::kInt) {
    return (v.has_int_value() && v.int_value() == c.int_value) ||
           (v.has_double_value() && v.double_value() == static_cast<double>(c.int_value));
  }
  return v.has_string_value() && v.string_value() == c.value;
}

// A ColumnFilter resolved against one block: dictionary ids, and the block's resources that
// satisfy each resource (or unscoped) condition.
class BlockFilter {
 public:
  // False if no trace of the block can match.
  bool Resolve(const Block& b, const ColumnFilter& f) {
    const Dictionary& d = b.dict();
    std::vector<otlp::resource::v1::Resource> resources(b.resources().size());
    for (size_t i = 0; i < resources.size(); ++i) {
      std::string_view r = d.Str(b.resources()[i]);
      if (!resources[i].ParseFromArray(r.data(), static_cast<int>(r.size()))) resources[i].Clear();
    }
    for (const auto& group : f.required) {
      std::vector<Resolved> g;
      for (const SpanCondition& sc : group) {
        Resolved r{sc, 0, 0, false, {}};
        switch (sc.field) {
          case SpanCondition::Field::kName: {
            int64_t v = d.Find(sc.value);
            if (v < 0) return false;  // no span of the block has this name
            r.value = static_cast<uint32_t>(v);
            break;
          }
          case SpanCondition::Field::kStatus: case SpanCondition::Field::kKind:
          case SpanCondition::Field::kDuration:
            break;
          case SpanCondition::Field::kAttribute: {
            bool span_scope = sc.any_scope || sc.scope == AttrScope::kSpan;
            bool resource_scope = sc.any_scope || sc.scope == AttrScope::kResource;
            if (resource_scope) {
              for (size_t i = 0; i < resources.size(); ++i) {
                for (const auto& kv : resources[i].attributes()) {
                  if (kv.key() == sc.key && ValueMatches(kv.value(), sc)) {
                    r.resources.push_back(b.resources()[i]);
                    break;
                  }
                }
              }
            }
            int64_t k = span_scope ? d.Find(sc.key) : -1;
            int64_t v = sc.value_type == ValueType::kString ? d.Find(sc.value) : 0;
            r.span_side = k >= 0 && v >= 0 &&
                          std::binary_search(b.span_keys().begin(), b.span_keys().end(), static_cast<uint32_t>(k));
            if (!r.span_side && r.resources.empty()) return false;
            r.key = static_cast<uint32_t>(std::max<int64_t>(k, 0));
            r.value = static_cast<uint32_t>(std::max<int64_t>(v, 0));
            break;
          }
        }
        g.push_back(std::move(r));
      }
      groups_.push_back(std::move(g));
    }
    return true;
  }

  // admitted[t] for each trace t of `page`: whether some span satisfies every group.
  Status Admit(Page* page, std::vector<uint8_t>* admitted) const {
    size_t n = page->num_spans();
    admitted->assign(page->num_traces(), 1);
    std::vector<uint8_t> rows(n), cond(n);
    for (const auto& g : groups_) {
      std::fill(rows.begin(), rows.end(), 1);
      for (const Resolved& r : g) {
        std::fill(cond.begin(), cond.end(), 0);
        RETURN_IF_ERROR(Mark(page, r, &cond));
        for (size_t i = 0; i < n; ++i) rows[i] &= cond[i];
      }
      for (size_t t = 0; t < page->num_traces(); ++t) {
        auto [first, last] = page->TraceRows(t);
        bool any = false;
        for (uint32_t i = first; i < last && !any; ++i) any = rows[i] != 0;
        if (!any) (*admitted)[t] = 0;
      }
    }
    return Status::OK();
  }

 private:
  struct Resolved {
    SpanCondition c;
    uint32_t key, value;
    bool span_side;                   // kAttribute: the span attribute column may match
    std::vector<uint32_t> resources;  // kAttribute: matching resources (sorted)
  };

  // Sets cond[row] for the rows of `page` that satisfy `r`.
  static Status Mark(Page* page, const Resolved& r, std::vector<uint8_t>* cond) {
    size_t n = page->num_spans();
    switch (r.c.field) {
      case SpanCondition::Field::kName: case SpanCondition::Field::kStatus:
      case SpanCondition::Field::kKind: case SpanCondition::Field::kDuration:
        RETURN_IF_ERROR(page->LoadCore());
        for (size_t i = 0; i < n; ++i) {
          bool ok = false;
          switch (r.c.field) {
            case SpanCondition::Field::kName: ok = page->name(i) == r.value; break;
            case SpanCondition::Field::kStatus: ok = page->status(i) == r.c.code; break;
            case SpanCondition::Field::kKind: ok = page->kind(i) == r.c.code; break;
            default: ok = page->duration_nano(i) >= r.c.min_duration_nano && page->duration_nano(i) <= r.c.max_duration_nano; break;
          }
          (*cond)[i] = ok;
        }
        return Status::OK();
      case SpanCondition::Field::kAttribute:
        if (!r.resources.empty()) {
          for (size_t i = 0; i < n; ++i) {
            (*cond)[i] = std::binary_search(r.resources.begin(), r.resources.end(), page->SpanResource(i));
          }
        }
        if (r.span_side) {
          ASSIGN_OR_RETURN(std::span<const AttrValue> col, page->Attribute(r.key));
          for (const AttrValue& v : col) {
            bool eq = false;
            if (r.c.value_type == ValueType::kString) {
              eq = v.type == ValueType::kString && v.bits == r.value;
            } else if (v.type == ValueType::kInt) {
              eq = static_cast<int64_t>(v.bits) == r.c.int_value;
            } else if (v.type == ValueType::kDouble) {  // TraceQL compares numbers by value
              eq = BitsDouble(v.bits) == static_cast<double>(r.c.int_value);
            }
            if (eq) (*cond)[v.row] = 1;
          }
        }
        return Status::OK();
    }
    return Status::OK();
  }

  std::vector<std::vector<Resolved>> groups_;
};

// Renames the block out of sight (`.deleted`, removed at startup if we crash), then removes it.
Status DeleteBlockDir(const std::string& dir) {
  std::string gone = dir + ".deleted";
  if (std::rename(dir.c_str(), gone.c_str()) != 0) return Status::FromErrno("rename " + dir, errno);
  return RemoveAll(gone);
}

// When a block was cut (Unix ms): the first 16 hex digits of its name (docs/format/traces.md);
// 0 for a name that does not start with them.
int64_t BlockCutMs(std::string_view dir) {
  std::string_view name = dir.substr(dir.find_last_of('/') + 1);
  uint64_t ms = 0;
  if (name.size() < 16 || std::from_chars(name.data(), name.data() + 16, ms, 16).ptr != name.data() + 16) return 0;
  return static_cast<int64_t>(ms);
}

}  // namespace

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TraceStore::TraceStore(std::string dir, TraceStoreOptions opts)
    : dir_(std::move(dir)), opts_(opts) {}

TraceStore::~TraceStore() { Close().IgnoreError(); }

Result<std::unique_ptr<TraceStore>> TraceStore::Open(const std::string& dir,
                                                     const TraceStoreOptions& opts) {
  if (opts.max_head_bytes == 0 || opts.max_head_age_ms <= 0 || opts.retention_ms < 0 ||
      opts.maintenance_interval_ms < 0) {
    return Status::InvalidArgument("trace store: bad options");
  }
  std::unique_ptr<TraceStore> s(new TraceStore(dir, opts));
  RETURN_IF_ERROR(CreateDirs(dir + "/blocks"));
  RETURN_IF_ERROR(s->Recover());
  if (opts.maintenance_interval_ms > 0) {
    s->maintenance_ = std::thread([p = s.get()] { p->MaintenanceLoop(); });
  }
  return s;
}

Status TraceStore::Recover() {
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir_ + "/blocks"));
  std::sort(names.begin(), names.end());
  uint64_t replay_from = 0;
  for (const std::string& name : names) {
    std::string path = dir_ + "/blocks/" + name;
    if (name.ends_with(".tmp") || name.ends_with(".deleted")) {
      RETURN_IF_ERROR(RemoveAll(path));
      continue;
    }
    if (!IsBlockName(name)) continue;
    auto b = Block::Open(path);
    if (!b.ok()) {
      spdlog::warn("trace store: skipping block {}: {}", path, b.status().ToString());
      continue;
    }
    replay_from = std::max(replay_from, (*b)->meta().wal_segment);
    block_seq_ = std::max<uint64_t>(block_seq_, std::stoull(name.substr(16), nullptr, 16) + 1);
    blocks_.push_back(std::move(*b));
  }
  // A crash after a compaction wrote its block but before it deleted the inputs leaves both:
  // the inputs go (their spans are all in the compacted block).
  std::set<std::string> compacted;
  for (const auto& b : blocks_) compacted.insert(b->meta().compacted_from.begin(), b->meta().compacted_from.end());
  for (auto it = blocks_.begin(); it != blocks_.end();) {
    std::string name = (*it)->dir().substr((*it)->dir().find_last_of('/') + 1);
    if (!compacted.count(name)) {
      ++it;
      continue;
    }
    spdlog::info("trace store: deleting block {}, already compacted", (*it)->dir());
    RETURN_IF_ERROR(DeleteBlockDir((*it)->dir()));
    it = blocks_.erase(it);
  }
  std::string wal_dir = dir_ + "/wal";
  wal::ReplayStats rs;
  int64_t now = NowMs();
  RETURN_IF_ERROR(wal::Replay(
      wal_dir, static_cast<int>(replay_from),
      [&](std::string_view rec) -> Status {
        if (rec.size() < 17 || rec[0] != kSpansRecord ||
            !ForEachSpan(rec.substr(17), [](std::string_view, std::string_view, const SpanView&) {})) {
          ++stats_.skipped_records;
          spdlog::warn("trace store: skipping a WAL record that does not decode ({} bytes)",
                       rec.size());
          return Status::OK();
        }
        std::lock_guard<std::mutex> l(mu_);
        ApplyLocked(std::string(rec.substr(1, 16)), std::string(rec.substr(17)), now);
        ++stats_.replayed_records;
        return Status::OK();
      },
      &rs));
  wal::WalOptions wo;
  wo.sync = opts_.wal_sync;
  ASSIGN_OR_RETURN(wal_, wal::Wal::Open(wal_dir, wo));
  if (replay_from > 0) RETURN_IF_ERROR(wal_->TruncateBefore(static_cast<int>(replay_from)));
  return Status::OK();
}

uint64_t TraceStore::ApplyLocked(const std::string& trace_id, std::string fragment, int64_t now_ms) {
  auto [it, inserted] = head_.try_emplace(trace_id);
  LiveTrace& t = it->second;
  if (inserted) {
    t.first_append_ms = now_ms;
    if (head_.size() == 1) head_oldest_ms_ = now_ms;
  }
  uint64_t spans = 0;
  ForEachSpan(fragment, [&](std::string_view resource, std::string_view, const SpanView& s) {
    ++spans;
    t.start_unix_nano = std::min<uint64_t>(t.start_unix_nano, s.start_time_unix_nano);
    t.end_unix_nano = std::max<uint64_t>(t.end_unix_nano, std::max(s.end_time_unix_nano, s.start_time_unix_nano));
    if (s.parent_span_id.empty() && t.root_name.empty()) {
      t.root_name = std::string(s.name);
      t.root_service = std::string(ResourceAttribute(resource, "service.name"));
    }
  });
  t.bytes += fragment.size();
  head_bytes_ += fragment.size();
  t.fragments.push_back(std::move(fragment));
  return spans;
}

Result<AppendResult> TraceStore::Append(const std::vector<TraceBatch>& batches) {
  for (const TraceBatch& b : batches) {
    if (b.trace_id.size() != 16) return Status::InvalidArgument("trace ID is not 16 bytes");
  }
  AppendResult result;
  std::vector<std::string> records;
  std::vector<size_t> accepted;
  auto span_count = [](std::string_view td) {
    uint64_t n = 0;
    ForEachSpan(td, [&](std::string_view, std::string_view, const SpanView&) { ++n; });
    return n;
  };
  std::shared_lock<std::shared_mutex> gate(commit_);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return Status::Unavailable("trace store is closed");
    // Bytes of this request per trace so far (a request usually has each trace once).
    std::unordered_map<std::string_view, uint64_t> pending_bytes;
    pending_bytes.reserve(batches.size());
    uint64_t new_traces = 0;
    records.reserve(batches.size());
    for (size_t i = 0; i < batches.size(); ++i) {
      // The WAL gets the record, and the head keeps its spans part.
      std::string rec;
      rec.reserve(17 + batches[i].spans.size());
      rec.push_back(kSpansRecord);
      rec += batches[i].trace_id;
      rec += batches[i].spans;
      uint64_t bytes = rec.size() - 17;
      auto it = head_.find(batches[i].trace_id);
      uint64_t& pending = pending_bytes[batches[i].trace_id];
      uint64_t have = (it == head_.end() ? 0 : it->second.bytes) + pending;
      std::string refusal;
      if (opts_.max_bytes_per_trace > 0 && have + bytes > opts_.max_bytes_per_trace) {
        refusal = fmt::format("trace too large: max size of trace ({} bytes) exceeded",
                              opts_.max_bytes_per_trace);
      } else if (it == head_.end() && pending == 0 && opts_.max_live_traces > 0 &&
                 head_.size() + new_traces >= opts_.max_live_traces) {
        refusal = fmt::format("max live traces ({}) exceeded", opts_.max_live_traces);
      }
      if (!refusal.empty()) {
        result.rejected_spans += span_count(batches[i].spans);
        if (result.error.empty()) result.error = refusal;
        continue;
      }
      if (it == head_.end() && pending == 0) ++new_traces;
      pending += bytes;
      records.push_back(std::move(rec));
      accepted.push_back(i);
    }
  }
  if (records.empty()) return result;
  result.accepted = accepted;
  std::vector<std::string_view> views(records.begin(), records.end());
  RETURN_IF_ERROR(wal_->Log(views));
  int64_t now = NowMs();
  std::lock_guard<std::mutex> l(mu_);
  for (size_t k = 0; k < accepted.size(); ++k) {
    const TraceBatch& b = batches[accepted[k]];
    records[k].erase(0, 17);  // the spans part, without a second allocation
    result.accepted_spans += ApplyLocked(b.trace_id, std::move(records[k]), now);
  }
  return result;
}

std::vector<std::shared_ptr<const Block>> TraceStore::BlocksSnapshot() const {
  std::lock_guard<std::mutex> l(mu_);
  return blocks_;
}

Result<std::optional<std::string>> TraceStore::FindTrace(std::string_view trace_id) const {
  std::string out;
  bool found = false;
  std::shared_ptr<const Head> cutting;
  {
    std::lock_guard<std::mutex> l(mu_);
    cutting = cutting_;
    auto it = head_.find(std::string(trace_id));
    if (it != head_.end()) {
      found = true;
      for (const std::string& f : it->second.fragments) out += f;
    }
  }
  if (cutting) {
    auto it = cutting->find(std::string(trace_id));
    if (it != cutting->end()) {
      found = true;
      for (const std::string& f : it->second.fragments) out += f;
    }
  }
  for (const auto& b : BlocksSnapshot()) {
    ASSIGN_OR_RETURN(std::optional<std::string> t, b->FindTrace(trace_id));
    if (t) {
      found = true;
      out += *t;
    }
  }
  if (!found) return std::optional<std::string>();
  return std::optional<std::string>(std::move(out));
}

Status TraceStore::ForEachTrace(
    uint64_t start, uint64_t end, const std::function<bool(const TraceSummary&)>& prefilter,
    const std::function<Result<bool>(const TraceSummary&, const std::string&)>& fn,
    const ColumnFilter* columns) const {
  // The head: the summaries that pass under the lock, then each trace's spans copied (under
  // the lock again) and evaluated outside it, newest first, so that a prefilter that narrows
  // as results come in (search's most recent `limit`) reads few of them.
  std::vector<std::pair<TraceSummary, bool>> live;  // and whether it is from the cut in progress
  std::shared_ptr<const Head> cutting;
  {
    std::lock_guard<std::mutex> l(mu_);
    cutting = cutting_;
    auto collect = [&](const Head& h, bool from_cutting) {
      for (const auto& [id, t] : h) {
        if (!Overlaps(t.start_unix_nano, t.end_unix_nano, start, end)) continue;
        TraceSummary s{id, t.start_unix_nano, t.end_unix_nano, t.root_service, t.root_name};
        if (prefilter && !prefilter(s)) continue;
        live.emplace_back(std::move(s), from_cutting);
      }
    };
    collect(head_, false);
    if (cutting) collect(*cutting, true);
  }
  std::stable_sort(live.begin(), live.end(), [](const auto& a, const auto& b) {
    return a.first.start_unix_nano > b.first.start_unix_nano;
  });
  std::string data;
  for (const auto& [s, from_cutting] : live) {
    if (prefilter && !prefilter(s)) continue;
    data.clear();
    bool present = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      // A part that was being cut and is now in a block is read from the block below.
      // A live part cut meanwhile is in the cut in progress, or in a block by now.
      std::vector<const Head*> where;
      if (!from_cutting) where.push_back(&head_);
      if (cutting_ && (!from_cutting || cutting_ == cutting)) where.push_back(cutting_.get());
      for (const Head* h : where) {
        auto it = h->find(s.trace_id);
        if (it == h->end()) continue;
        present = true;
        for (const std::string& f : it->second.fragments) data += f;
        break;
      }
    }
    if (!present) continue;  // cut meanwhile: read from its block below
    ASSIGN_OR_RETURN(bool more, fn(s, data));
    if (!more) return Status::OK();
  }
  // Blocks with the newest spans first (a merged block is appended to the list, but may hold
  // old spans): a prefilter that narrows as results come in then skips most of the older ones.
  auto blocks = BlocksSnapshot();
  std::stable_sort(blocks.begin(), blocks.end(), [](const auto& a, const auto& b) {
    return a->meta().max_time_unix_nano > b->meta().max_time_unix_nano;
  });
  std::vector<uint8_t> admitted;
  std::vector<std::pair<IndexEntry, TraceSummary>> candidates;
  for (const auto& block : blocks) {
    const Block& b = *block;
    if (!Overlaps(b.meta().min_time_unix_nano, b.meta().max_time_unix_nano, start, end)) continue;
    BlockFilter bf;
    bool filtered = columns != nullptr && !columns->required.empty();
    if (filtered && !bf.Resolve(b, *columns)) continue;  // nothing here can match
    for (size_t p = 0; p < b.num_pages(); ++p) {
      const PageEntry& pe = b.page(p);
      candidates.clear();
      for (uint32_t i = pe.first_trace; i < pe.first_trace + pe.traces; ++i) {
        IndexEntry e = b.Entry(i);
        if (!Overlaps(e.start_unix_nano, e.end_unix_nano, start, end)) continue;
        TraceSummary s = SummaryOf(b, e);
        if (prefilter && !prefilter(s)) continue;
        candidates.emplace_back(e, std::move(s));
      }
      if (candidates.empty()) continue;
      ASSIGN_OR_RETURN(std::unique_ptr<Page> page, b.OpenPage(p));
      if (filtered) RETURN_IF_ERROR(bf.Admit(page.get(), &admitted));
      for (const auto& [e, s] : candidates) {
        if (filtered && !admitted[e.ordinal - pe.first_trace]) continue;
        ASSIGN_OR_RETURN(std::string data, b.ReadTrace(e, page.get()));
        ASSIGN_OR_RETURN(bool more, fn(s, data));
        if (!more) return Status::OK();
      }
    }
  }
  return Status::OK();
}

std::vector<std::string> TraceStore::TagNames(AttrScope scope) const {
  std::set<std::string> out;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [id, t] : head_) {
      for (const std::string& f : t.fragments) {
        otlp::trace::v1::TracesData td;
        if (!td.ParseFromString(f)) continue;
        for (const auto& rs : td.resource_spans()) {
          if (scope == AttrScope::kResource) {
            for (const auto& kv : rs.resource().attributes()) out.insert(kv.key());
            continue;
          }
          for (const auto& ss : rs.scope_spans()) {
            for (const auto& s : ss.spans()) {
              for (const auto& kv : s.attributes()) out.insert(kv.key());
            }
          }
        }
      }
    }
  }
  for (const auto& b : BlocksSnapshot()) {
    const Dictionary& d = b->dict();
    if (scope == AttrScope::kSpan) {
      for (uint32_t k : b->span_keys()) out.insert(std::string(d.Str(k)));
      continue;
    }
    for (uint32_t id : b->resources()) {
      otlp::resource::v1::Resource r;
      std::string_view blob = d.Str(id);
      if (!r.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) continue;
      for (const auto& kv : r.attributes()) out.insert(kv.key());
    }
  }
  return {out.begin(), out.end()};
}

std::vector<TagValue> TraceStore::TagValues(AttrScope scope, const std::string& key) const {
  std::set<TagValue> out;
  auto add = [&](const otlp::common::v1::AnyValue& v) {
    auto [type, text] = ValueText(v);
    if (type != ValueType::kOther) out.insert(TagValue{type, std::move(text)});
  };
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [id, t] : head_) {
      for (const std::string& f : t.fragments) {
        otlp::trace::v1::TracesData td;
        if (!td.ParseFromString(f)) continue;
        for (const auto& rs : td.resource_spans()) {
          if (scope == AttrScope::kResource) {
            for (const auto& kv : rs.resource().attributes()) {
              if (kv.key() == key) add(kv.value());
            }
            continue;
          }
          for (const auto& ss : rs.scope_spans()) {
            for (const auto& s : ss.spans()) {
              for (const auto& kv : s.attributes()) {
                if (kv.key() == key) add(kv.value());
              }
            }
          }
        }
      }
    }
  }
  for (const auto& b : BlocksSnapshot()) {
    const Dictionary& d = b->dict();
    if (scope == AttrScope::kResource) {
      for (uint32_t id : b->resources()) {
        otlp::resource::v1::Resource r;
        std::string_view blob = d.Str(id);
        if (!r.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) continue;
        for (const auto& kv : r.attributes()) {
          if (kv.key() == key) add(kv.value());
        }
      }
      continue;
    }
    int64_t k = d.Find(key);
    if (k < 0 || !std::binary_search(b->span_keys().begin(), b->span_keys().end(), static_cast<uint32_t>(k))) continue;
    for (size_t p = 0; p < b->num_pages(); ++p) {
      auto page = b->OpenPage(p);
      if (!page.ok()) continue;  // a corrupt page is reported by the reads that need it
      auto col = (*page)->Attribute(static_cast<uint32_t>(k));
      if (!col.ok()) continue;
      for (const AttrValue& v : *col) {
        switch (v.type) {
          case ValueType::kString:
            if (v.bits < d.size()) out.insert(TagValue{v.type, std::string(d.Str(static_cast<uint32_t>(v.bits)))});
            break;
          case ValueType::kInt: out.insert(TagValue{v.type, std::to_string(static_cast<int64_t>(v.bits))}); break;
          case ValueType::kDouble: out.insert(TagValue{v.type, fmt::format("{}", BitsDouble(v.bits))}); break;
          case ValueType::kBool: out.insert(TagValue{v.type, v.bits ? "true" : "false"}); break;
          case ValueType::kOther: break;
        }
      }
    }
  }
  return {out.begin(), out.end()};
}

std::vector<std::string> TraceStore::SpanNames() const {
  std::set<std::string> out;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [id, t] : head_) {
      for (const std::string& f : t.fragments) {
        otlp::trace::v1::TracesData td;
        if (!td.ParseFromString(f)) continue;
        for (const auto& rs : td.resource_spans()) {
          for (const auto& ss : rs.scope_spans()) {
            for (const auto& s : ss.spans()) out.insert(s.name());
          }
        }
      }
    }
  }
  for (const auto& b : BlocksSnapshot()) {
    for (uint32_t id : b->span_names()) out.insert(std::string(b->dict().Str(id)));
  }
  return {out.begin(), out.end()};
}

Status TraceStore::CutHead(int64_t now_ms) {
  std::lock_guard<std::mutex> cut(cut_mu_);
  std::shared_ptr<const Head> head;
  int segment = 0;
  uint64_t seq = 0;
  {
    std::unique_lock<std::shared_mutex> gate(commit_);
    std::lock_guard<std::mutex> l(mu_);
    if (head_.empty()) return Status::OK();
    ASSIGN_OR_RETURN(segment, wal_->NextSegment());
    head = std::make_shared<const Head>(std::move(head_));
    head_ = Head();
    head_bytes_ = 0;
    cutting_ = head;
    seq = block_seq_++;
  }
  std::vector<BlockTrace> traces;
  traces.reserve(head->size());
  for (const auto& [id, t] : *head) {
    BlockTrace bt;
    bt.trace_id = id;
    for (const std::string& f : t.fragments) bt.traces_data += f;
    traces.push_back(std::move(bt));
  }
  std::string dir = fmt::format("{}/blocks/{:016x}{:08x}", dir_, static_cast<uint64_t>(now_ms), seq);
  Status st = WriteBlock(dir, std::move(traces), static_cast<uint64_t>(segment));
  Result<std::unique_ptr<Block>> b = st.ok() ? Block::Open(dir) : Result<std::unique_ptr<Block>>(st);
  std::lock_guard<std::mutex> l(mu_);
  if (!b.ok()) {
    // Keep the spans readable and in the WAL: put them back into the head.
    for (const auto& [id, t] : *head) {
      LiveTrace& live = head_[id];
      live.fragments.insert(live.fragments.begin(), t.fragments.begin(), t.fragments.end());
      live.bytes += t.bytes;
      live.start_unix_nano = std::min(live.start_unix_nano, t.start_unix_nano);
      live.end_unix_nano = std::max(live.end_unix_nano, t.end_unix_nano);
      if (live.root_name.empty()) {
        live.root_name = t.root_name;
        live.root_service = t.root_service;
      }
      live.first_append_ms = t.first_append_ms;
      head_bytes_ += t.bytes;
    }
    cutting_.reset();
    return b.status().WithContext("cutting the trace head");
  }
  blocks_.push_back(std::move(*b));
  cutting_.reset();
  head_oldest_ms_ = head_.empty() ? 0 : now_ms;
  return wal_->TruncateBefore(segment);
}

Status TraceStore::ApplyRetention(int64_t now_ms) {
  if (opts_.retention_ms == 0) return Status::OK();
  uint64_t cutoff_ns = static_cast<uint64_t>(std::max<int64_t>(0, now_ms - opts_.retention_ms)) * 1000000ULL;
  std::vector<std::shared_ptr<const Block>> expired;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto keep = std::stable_partition(blocks_.begin(), blocks_.end(), [&](const auto& b) {
      return b->meta().max_time_unix_nano >= cutoff_ns;
    });
    expired.assign(keep, blocks_.end());
    blocks_.erase(keep, blocks_.end());
  }
  for (const auto& b : expired) {
    RETURN_IF_ERROR(DeleteBlockDir(b->dir()));
    spdlog::info("trace store: deleted block {} past retention", b->dir());
  }
  return Status::OK();
}

Status TraceStore::Maintain(int64_t now_ms, bool force) {
  bool cut = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return Status::OK();
    cut = !head_.empty() && (force || head_bytes_ >= opts_.max_head_bytes ||
                             now_ms - head_oldest_ms_ >= opts_.max_head_age_ms);
  }
  if (cut) RETURN_IF_ERROR(CutHead(now_ms));
  RETURN_IF_ERROR(Compact(now_ms).status());
  return ApplyRetention(now_ms);
}

Result<bool> TraceStore::Compact(int64_t now_ms) {
  if (opts_.compaction_max_bytes == 0 || opts_.compaction_max_blocks < 2) return false;
  std::lock_guard<std::mutex> one(compact_mu_);
  std::vector<std::shared_ptr<const Block>> blocks = BlocksSnapshot();
  const uint64_t window_ns = static_cast<uint64_t>(std::max<int64_t>(1, opts_.compaction_window_ms)) * 1'000'000ULL;
  std::map<uint64_t, std::vector<std::shared_ptr<const Block>>> windows;
  for (const auto& b : blocks) {
    if (b->meta().data_bytes < opts_.compaction_max_bytes) {
      windows[b->meta().min_time_unix_nano / window_ns].push_back(b);
    }
  }
  std::vector<std::shared_ptr<const Block>> group;
  for (auto& [w, in_window] : windows) {
    std::stable_sort(in_window.begin(), in_window.end(), [](const auto& a, const auto& b) {
      return a->meta().data_bytes < b->meta().data_bytes;  // smallest first: most merged
    });
    uint64_t bytes = 0;
    bool full = false;
    int64_t newest_cut_ms = 0;
    group.clear();
    for (const auto& b : in_window) {
      // Size tiers: a block more than 4 times the smallest of the group waits for blocks of
      // its own size, so each span is rewritten O(log n) times rather than at every cut.
      if (!group.empty() && b->meta().data_bytes > 4 * std::max<uint64_t>(group[0]->meta().data_bytes, 1)) break;
      if (group.size() == opts_.compaction_max_blocks || bytes + b->meta().data_bytes > opts_.compaction_max_bytes) {
        full = true;
        break;
      }
      bytes += b->meta().data_bytes;
      group.push_back(b);
      newest_cut_ms = std::max(newest_cut_ms, BlockCutMs(b->dir()));
    }
    full = full || group.size() == opts_.compaction_max_blocks;
    // A group that is not full waits for more blocks of its size until it settles: merging
    // each new cut into it at once would rewrite its spans at every cut.
    if (group.size() >= 2 && (full || now_ms - newest_cut_ms >= opts_.compaction_settle_ms)) break;
    group.clear();
  }
  if (group.size() < 2) return false;

  std::vector<std::string> names;
  uint64_t wal_segment = 0;
  size_t traces = 0;
  for (const auto& b : group) {
    names.push_back(b->dir().substr(b->dir().find_last_of('/') + 1));
    wal_segment = std::max(wal_segment, b->meta().wal_segment);
    traces += b->num_traces();
  }
  uint64_t seq = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    seq = block_seq_++;
  }
  std::string dir = fmt::format("{}/blocks/{:016x}{:08x}", dir_, static_cast<uint64_t>(now_ms), seq);
  // A k-way merge of the inputs' sorted indexes: each trace is read from its input's page
  // (one open page per input) and written at once, so the merge holds a page per input and
  // the writer's page, not the inputs' traces. A trace in several inputs gets its fragments
  // in group order; every span is in exactly one input, so none is doubled.
  ASSIGN_OR_RETURN(std::unique_ptr<BlockWriter> writer, BlockWriter::Create(dir, traces, wal_segment, names));
  struct Cursor {
    const Block* block;
    size_t next = 0;
    size_t page = SIZE_MAX;
    std::unique_ptr<Page> open;
  };
  std::vector<Cursor> cursors;
  for (const auto& b : group) cursors.push_back(Cursor{b.get(), 0, SIZE_MAX, nullptr});
  std::string trace_id, traces_data;
  while (true) {
    std::string_view smallest;
    for (const Cursor& c : cursors) {
      if (c.next == c.block->num_traces()) continue;
      std::string_view id = c.block->Entry(c.next).trace_id;
      if (smallest.empty() || id < smallest) smallest = id;
    }
    if (smallest.empty()) break;
    trace_id.assign(smallest);
    traces_data.clear();
    for (Cursor& c : cursors) {
      if (c.next == c.block->num_traces()) continue;
      IndexEntry e = c.block->Entry(c.next);
      if (e.trace_id != trace_id) continue;
      if (e.page != c.page) {
        ASSIGN_OR_RETURN(c.open, c.block->OpenPage(e.page));
        c.page = e.page;
      }
      ASSIGN_OR_RETURN(std::string part, c.block->ReadTrace(e, c.open.get()));
      if (traces_data.empty()) {
        traces_data = std::move(part);
      } else {
        traces_data += part;
      }
      ++c.next;
    }
    RETURN_IF_ERROR(writer->Add(trace_id, traces_data));
  }
  RETURN_IF_ERROR(writer->Finish());
  ASSIGN_OR_RETURN(std::unique_ptr<Block> merged, Block::Open(dir));
  {
    std::lock_guard<std::mutex> l(mu_);
    std::erase_if(blocks_, [&](const auto& b) {
      return std::find(group.begin(), group.end(), b) != group.end();
    });
    blocks_.push_back(std::move(merged));
    ++compactions_;
  }
  spdlog::info("trace store: compacted {} blocks into {}", group.size(), dir);
  for (const auto& b : group) RETURN_IF_ERROR(DeleteBlockDir(b->dir()));
  return true;
}

void TraceStore::MaintenanceLoop() {
  std::unique_lock<std::mutex> l(stop_mu_);
  while (!stop_) {
    stop_cv_.wait_for(l, std::chrono::milliseconds(opts_.maintenance_interval_ms));
    if (stop_) break;
    l.unlock();
    Status st = Maintain(NowMs(), false);
    if (!st.ok()) spdlog::error("trace store maintenance: {}", st.ToString());
    l.lock();
  }
}

Status TraceStore::Close() {
  {
    std::lock_guard<std::mutex> l(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_ || !wal_) return Status::OK();
  }
  Status cut = CutHead(NowMs());
  {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
  }
  Status wal = wal_->Close();
  return cut.ok() ? wal : cut;
}

TraceStoreStats TraceStore::stats() const {
  std::lock_guard<std::mutex> l(mu_);
  TraceStoreStats s = stats_;
  s.live_traces = head_.size();
  s.head_bytes = head_bytes_;
  s.blocks = blocks_.size();
  s.compactions = compactions_;
  for (const auto& b : blocks_) s.block_traces += b->num_traces();
  return s;
}

}  // namespace argus::tracestore
