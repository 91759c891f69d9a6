#pragma once
// File helpers. Every output nlpc writes goes through AtomicFile or write_file_atomic: content is
// written to "<path>.tmp-<pid>" in the same folder and renamed over <path> only when complete, so
// a killed job never leaves a half-written file that looks complete.
#include <cstdio>
#include <string>

namespace nlpc {

class AtomicFile {
 public:
  // path "-" writes to stdout directly (no temporary, commit() only flushes); path "" writes
  // nowhere (only to a capture buffer, see capture()).
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // not committed: removes the temporary file
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const char* data, size_t n);
  void write(const std::string& s) { write(s.data(), s.size()); }
  void flush();
  // fsyncs, closes and renames onto the final path. Throws RuntimeError on failure.
  void commit();
  std::FILE* handle() { return f_; }
  // While `buffer` is not null, write() appends to it instead of the file (sharded prediction:
  // a rank's rows travel to rank 0, which writes them in input order).
  void capture(std::string* buffer) { capture_ = buffer; }
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return tmp_; }
  bool is_stdout() const { return path_ == "-"; }

 private:
  std::string path_;
  std::string tmp_;
  std::FILE* f_ = nullptr;
  bool committed_ = false;
  std::string* capture_ = nullptr;
};

// A folder written as a whole: its files go into "<path>.tmp-<pid>" beside it, and commit() puts
// that folder in place of <path> (replacing what was there). Without commit() the temporary folder
// is removed, so a failed or killed writer never leaves a half-written model folder.
class AtomicDir {
 public:
  explicit AtomicDir(const std::string& path);  // creates the temporary folder
  ~AtomicDir();
  AtomicDir(const AtomicDir&) = delete;
  AtomicDir& operator=(const AtomicDir&) = delete;
  // The temporary folder to write into.
  const std::string& temp_path() const { return tmp_; }
  // Throws RuntimeError when the folder cannot be put in place.
  void commit();

 private:
  std::string path_;
  std::string tmp_;
  bool committed_ = false;
};

void write_file_atomic(const std::string& path, const std::string& content);
// Reads a whole file; throws InputError naming the file when it cannot be read.
std::string read_file(const std::string& path);
bool file_exists(const std::string& path);

}  // namespace nlpc
