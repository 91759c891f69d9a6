#include "nlpc/io/input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "nlpc/core/error.h"

namespace nlpc::io {

InputSource::InputSource(const std::string& path) : path_(path) {
  if (path == "-") {
    name_ = "<stdin>";
    fd_ = STDIN_FILENO;
    return;
  }
  name_ = path;
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    throw InputError(path, 0, 0, std::string("cannot open file: ") + std::strerror(errno));
  }
  owns_fd_ = true;
  struct stat st {};
  if (::fstat(fd_, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      ::close(fd_);
      owns_fd_ = false;
      throw InputError(path, 0, 0, "is a directory: expected a file");
    }
    if (S_ISREG(st.st_mode)) size_ = static_cast<int64_t>(st.st_size);
  }
#ifdef POSIX_FADV_SEQUENTIAL
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
}

InputSource InputSource::from_string(std::string name, std::string data) {
  InputSource s;
  s.path_ = name;
  s.name_ = std::move(name);
  s.in_memory_ = true;
  s.size_ = static_cast<int64_t>(data.size());
  s.data_ = std::move(data);
  return s;
}

InputSource::InputSource(InputSource&& o) noexcept
    : path_(std::move(o.path_)),
      name_(std::move(o.name_)),
      fd_(o.fd_),
      owns_fd_(o.owns_fd_),
      in_memory_(o.in_memory_),
      data_(std::move(o.data_)),
      data_pos_(o.data_pos_),
      size_(o.size_) {
  o.fd_ = -1;
  o.owns_fd_ = false;
}

InputSource::~InputSource() {
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

size_t InputSource::read(char* dst, size_t n) {
  if (in_memory_) {
    const size_t k = std::min(n, data_.size() - data_pos_);
    std::memcpy(dst, data_.data() + data_pos_, k);
    data_pos_ += k;
    return k;
  }
  for (;;) {
    const ssize_t r = ::read(fd_, dst, n);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno == EINTR) continue;
    throw RuntimeError("cannot read " + name_ + ": " + std::strerror(errno));
  }
}

void InputSource::seek(int64_t offset) {
  if (offset < 0 || (size_ >= 0 && offset > size_)) {
    throw RuntimeError("cannot seek to byte " + std::to_string(offset) + " of " + name_ + " (" +
                       std::to_string(size_) + " bytes): the file changed since it was read");
  }
  if (in_memory_) {
    data_pos_ = static_cast<size_t>(offset);
    return;
  }
  if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) {
    throw RuntimeError("cannot seek in " + name_ + ": " + std::strerror(errno) +
                       " (reading rows again needs a regular file, not a pipe or standard input)");
  }
}

void ChunkBuffer::seek(int64_t offset) {
  // Inside what is buffered (rows read again in file order often are): no reading.
  const int64_t base = consumed_ - static_cast<int64_t>(begin_);
  if (offset >= base && offset <= base + static_cast<int64_t>(end_)) {
    begin_ = static_cast<size_t>(offset - base);
    consumed_ = offset;
    return;
  }
  source_.seek(offset);
  begin_ = end_ = 0;
  consumed_ = offset;
  eof_ = false;
}

ChunkBuffer::ChunkBuffer(InputSource source, size_t capacity)
    : source_(std::move(source)), buf_(capacity < 16 ? 16 : capacity) {}

bool ChunkBuffer::fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    const size_t n = end_ - begin_;
    if (n > 0) std::memmove(buf_.data(), buf_.data() + begin_, n);
    begin_ = 0;
    end_ = n;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
  const size_t got = source_.read(buf_.data() + end_, buf_.size() - end_);
  if (got == 0) {
    eof_ = true;
    return false;
  }
  end_ += got;
  return true;
}

bool skip_utf8_bom(ChunkBuffer& buf) {
  while (buf.size() < 3 && buf.fill()) {
  }
  const auto* p = reinterpret_cast<const unsigned char*>(buf.data());
  if (buf.size() >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
    buf.consume(3);
    return true;
  }
  return false;
}

}  // namespace nlpc::io
