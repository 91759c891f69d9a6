#pragma once
// Byte input shared by the CSV, JSONL and text-line readers: a file, standard input ("-") or an
// in-memory string, read in chunks into a buffer of bounded size (constant memory: the buffer only
// grows past its initial capacity for a single record or line longer than it).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nlpc::io {

// Where a reader stands in its input, to come back to it later (streamed training re-reads rows):
// the byte offset where the next record's reading starts, the physical line and record count there.
struct ReadPosition {
  int64_t offset = 0;
  int64_t line = 0;
  int64_t number = 0;
  bool operator==(const ReadPosition& o) const {
    return offset == o.offset && line == o.line && number == o.number;
  }
};

class InputSource {
 public:
  // path "-" reads standard input. Throws InputError naming the file when it cannot be opened.
  explicit InputSource(const std::string& path);
  // An in-memory input named `name` in error messages (tests, strings from the network).
  static InputSource from_string(std::string name, std::string data);
  InputSource(InputSource&& other) noexcept;
  InputSource& operator=(InputSource&&) = delete;
  InputSource(const InputSource&) = delete;
  ~InputSource();

  // Reads up to n bytes; returns 0 only at end of input. Throws RuntimeError on a read error.
  size_t read(char* dst, size_t n);
  // The next read() starts at byte `offset`. Throws RuntimeError where the input cannot seek
  // (standard input, a pipe) or the offset is past its end.
  void seek(int64_t offset);
  // The name used in error messages: the path, or "<stdin>".
  const std::string& name() const { return name_; }
  const std::string& path() const { return path_; }
  // Size in bytes when known (regular files and strings), else -1. For progress bars.
  int64_t size() const { return size_; }

 private:
  InputSource() = default;
  std::string path_;
  std::string name_;
  int fd_ = -1;
  bool owns_fd_ = false;
  bool in_memory_ = false;
  std::string data_;
  size_t data_pos_ = 0;
  int64_t size_ = -1;
};

// Sliding window over an InputSource. Readers look at [data(), data() + size()), consume() what
// they have parsed and call fill() when they need more; fill() keeps the unconsumed bytes.
class ChunkBuffer {
 public:
  static constexpr size_t kDefaultCapacity = 1 << 20;  // 1 MiB
  explicit ChunkBuffer(InputSource source, size_t capacity = kDefaultCapacity);

  const char* data() const { return buf_.data() + begin_; }
  size_t size() const { return end_ - begin_; }
  // True once the source has reported its end (no more bytes will arrive).
  bool eof() const { return eof_; }
  void consume(size_t n) {
    begin_ += n;
    consumed_ += static_cast<int64_t>(n);
  }
  // Reads more bytes after the unconsumed ones (moving them to the front, growing the buffer when
  // they fill it). Returns false when the source is exhausted and nothing was added.
  bool fill();
  // Bytes consumed so far (position of data() in the input).
  int64_t offset() const { return consumed_; }
  // Drops the buffered bytes and goes on reading at byte `offset` of the input.
  void seek(int64_t offset);
  size_t capacity() const { return buf_.size(); }
  const InputSource& source() const { return source_; }

 private:
  InputSource source_;
  std::vector<char> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  int64_t consumed_ = 0;
  bool eof_ = false;
};

// Skips a UTF-8 byte-order mark at the start of the buffer (fills as needed). Returns true if one was
// skipped.
bool skip_utf8_bom(ChunkBuffer& buf);

}  // namespace nlpc::io
