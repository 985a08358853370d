// Loki's live tail (Loki docs, reference/loki-http-api "Stream logs"): GET /loki/api/v1/tail
// upgraded to a WebSocket. Parameters: query (a log query), delay_for (seconds, 0..5, default
// 0), limit (default 100, at most 5000), start (Unix ns or another Loki time form, default one
// hour ago). The session first sends the entries from start to now (oldest first, at most
// `limit`), then every entry pushed afterwards that the query keeps, each frame shaped
//   {"streams":[{"stream":{...},"values":[["<ns>","<line>"],...]}],
//    "dropped_entries":[{"labels":{...},"timestamp":"<ns>"}]}
// with dropped_entries present only when the session had to drop entries because the client
// did not keep up.
//
// New entries reach the session through LogStore's TailSink (the store hands each push to the
// registered tailers after its WAL write), so nothing polls the store. An entry is held back
// until it is delay_for old by arrival, then the query's pipeline runs over the batch.
//
// Example:
//   UpgradeResult up = StartLokiTail(store, req, now_ns);
//   if (!up.session) return up.error;     // 400 with Loki's message
//   std::vector<std::string> frames;
//   up.session->Poll(now_ns, &frames);    // from the connection's thread
//
// Thread-safety: the store feeds a session from pushing threads; Poll runs on one thread.
#pragma once

#include <cstdint>

#include "api/http.h"
#include "logstore/log_store.h"

namespace argus::api {

// Pending entries a session holds at most; beyond this the oldest are dropped and reported.
inline constexpr size_t kTailMaxPendingEntries = 10000;

// Validates `req`, registers a tailer on `store` (which must outlive the session) and runs the
// lookback. On bad parameters returns no session and a Loki 400 (text/plain).
UpgradeResult StartLokiTail(logstore::LogStore* store, const HttpRequest& req, int64_t now_ns);

}  // namespace argus::api
