// The web UI's files, embedded into the binary at build time (web/CMakeLists.txt runs the Vite
// build and web/embed.cmake generates the definitions below).
//
// Example:
//   for (const WebAsset& a : WebAssets()) {
//     if (a.path == "/index.html") Serve(a.content_type, a.body);
//   }
//
// Thread-safety: immutable static data.
#pragma once

#include <span>
#include <string_view>

namespace argus::server {

struct WebAsset {
  std::string_view path;          // URL path, e.g. "/index.html", "/assets/index-3f2a.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view etag;          // quoted strong ETag: "\"<16 hex digits of SHA-256>\""
  std::string_view body;          // the file's bytes
  std::string_view gzip;          // the same bytes gzip-compressed, or empty when not smaller
};

// All embedded files, sorted by path. Always holds at least "/index.html".
std::span<const WebAsset> WebAssets();

// True when the build had no npm and embedded only the placeholder page.
bool WebAssetsArePlaceholder();

}  // namespace argus::server
