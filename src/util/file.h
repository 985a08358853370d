// Small POSIX file helpers for the storage engines: read a whole file, write a file atomically
// (temp file, fsync, rename, fsync directory), fsync a directory, and a read-only memory map.
//
// Example:
//   RETURN_IF_ERROR(WriteFileAtomic(dir + "/meta.json", json));
//   ASSIGN_OR_RETURN(MmapFile f, MmapFile::Open(dir + "/index"));
//   std::string_view bytes = f.data();   // valid while `f` lives
//
// Errors are Status::IOError with the path and strerror. Thread-safety: functions are
// stateless; an MmapFile may be read from many threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace argus {

// Reads the whole file at `path`.
Result<std::string> ReadFile(const std::string& path);

// Writes `data` to `path` so that after return the file holds exactly `data` even across a
// crash: writes `path`.tmp, fsyncs it, renames it over `path`, fsyncs the directory.
Status WriteFileAtomic(const std::string& path, std::string_view data);

// fsyncs the directory `dir` so that entries created or renamed in it are durable.
Status SyncDir(const std::string& dir);

// Lists the names (not paths) of the entries in `dir`, sorted; NotFound if it does not exist.
Result<std::vector<std::string>> ListDir(const std::string& dir);

// Creates `dir` and its parents if missing.
Status CreateDirs(const std::string& dir);

// Removes `path` and everything under it; OK if it does not exist.
Status RemoveAll(const std::string& path);

// Total size in bytes of the regular files under `dir` (recursively); 0 if missing.
uint64_t DirSizeBytes(const std::string& dir);

// A read-only, shared memory map of a whole file. Move-only; unmaps on destruction.
class MmapFile {
 public:
  static Result<MmapFile> Open(const std::string& path);
  MmapFile() = default;
  MmapFile(MmapFile&& o) noexcept;
  MmapFile& operator=(MmapFile&& o) noexcept;
  MmapFile(const MmapFile&) = delete;
  MmapFile& operator=(const MmapFile&) = delete;
  ~MmapFile();

  // The file's bytes; empty for an empty file. Valid until this object is destroyed.
  std::string_view data() const { return {static_cast<const char*>(addr_), size_}; }

 private:
  void* addr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace argus
