#include "nlpc/core/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "nlpc/core/error.h"

namespace nlpc {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  if (path_.empty()) return;
  if (is_stdout()) {
    f_ = stdout;
    return;
  }
  std::filesystem::path p(path_);
  if (p.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
  }
  tmp_ = path_ + ".tmp-" + std::to_string(getpid());
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (f_ == nullptr) {
    throw RuntimeError("cannot create " + tmp_ + " (for " + path_ + "): " + std::strerror(errno));
  }
  static thread_local char buf[1 << 16];
  std::setvbuf(f_, buf, _IOFBF, sizeof(buf));
}

AtomicFile::~AtomicFile() {
  if (path_.empty()) return;
  if (is_stdout()) {
    std::fflush(stdout);
    return;
  }
  if (!committed_ && f_ != nullptr) {
    std::fclose(f_);
    std::remove(tmp_.c_str());
  }
}

void AtomicFile::write(const char* data, size_t n) {
  if (n == 0) return;
  if (capture_ != nullptr) {
    capture_->append(data, n);
    return;
  }
  if (f_ == nullptr) return;  // path "": nowhere
  if (std::fwrite(data, 1, n, f_) != n) {
    throw RuntimeError("cannot write " + (is_stdout() ? std::string("standard output") : tmp_) + ": " +
                       std::strerror(errno));
  }
}

void AtomicFile::flush() {
  if (f_ == nullptr) return;
  if (std::fflush(f_) != 0) {
    throw RuntimeError("cannot write " + (is_stdout() ? std::string("standard output") : tmp_) + ": " +
                       std::strerror(errno));
  }
}

void AtomicFile::commit() {
  if (committed_) return;
  flush();
  committed_ = true;
  if (path_.empty()) return;
  if (is_stdout()) return;
  fsync(fileno(f_));
  if (std::fclose(f_) != 0) {
    f_ = nullptr;
    std::remove(tmp_.c_str());
    throw RuntimeError("cannot close " + tmp_ + ": " + std::strerror(errno));
  }
  f_ = nullptr;
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp_.c_str());
    throw RuntimeError("cannot rename " + tmp_ + " to " + path_ + ": " + why);
  }
}

AtomicDir::AtomicDir(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path final_dir = fs::absolute(path).lexically_normal();
  if (final_dir.filename().empty()) final_dir = final_dir.parent_path();  // "q8/" names q8
  path_ = final_dir.string();
  tmp_ = path_ + ".tmp-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp_, ec);
  fs::create_directories(tmp_, ec);
  if (ec) throw RuntimeError("cannot create " + tmp_ + ": " + ec.message());
}

AtomicDir::~AtomicDir() {
  std::error_code ec;
  if (!committed_) std::filesystem::remove_all(tmp_, ec);
}

void AtomicDir::commit() {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::remove_all(path_, ec);  // what was there (rename replaces an empty folder only)
  fs::rename(tmp_, path_, ec);
  if (ec) throw RuntimeError("cannot rename " + tmp_ + " to " + path_ + ": " + ec.message());
  committed_ = true;
}

void write_file_atomic(const std::string& path, const std::string& content) {
  AtomicFile f(path);
  f.write(content);
  f.commit();
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path, 0, 0, std::string("cannot open file: ") + std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace nlpc
