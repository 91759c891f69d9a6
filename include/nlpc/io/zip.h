#pragma once
// A read-only view of a zip archive held in memory (a memory-mapped file), enough for the
// containers PyTorch writes: torch.save (zip format, torch >= 1.6) stores every record uncompressed
// ("stored", method 0), 64-byte aligned, with zip64 fields when the archive passes 4 GiB.
// Compressed entries are listed but their data is refused with a clear error. No libtorch, no zlib.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace nlpc::zip {

struct Entry {
  std::string name;
  uint16_t method = 0;        // 0 stored, 8 deflate, ...
  uint64_t size = 0;          // uncompressed size
  uint64_t compressed = 0;    // compressed size
  uint64_t data_offset = 0;   // offset of the entry's data in the archive
};

// Parses the central directory of `bytes` (the whole archive). Every entry's local header and data
// range are checked against the archive size. Throws InputError naming `source` for anything that is
// not a well-formed zip archive (no end-of-central-directory record, truncated directory, an entry
// running past the end of the file, multi-disk archives).
class Archive {
 public:
  Archive(const uint8_t* bytes, size_t size, std::string source);
  const std::vector<Entry>& entries() const { return entries_; }
  const Entry* find(const std::string& name) const;  // nullptr when absent
  // The data of a stored entry; InputError for compressed entries.
  const uint8_t* data(const Entry& e) const;

 private:
  void read_directory(uint64_t offset, uint64_t count, uint64_t length);
  const uint8_t* bytes_;
  size_t size_;
  std::string source_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> index_;
};

// True when `bytes` starts like a zip archive (a local file header "PK\3\4", or an empty archive).
bool looks_like_zip(const uint8_t* bytes, size_t size);

}  // namespace nlpc::zip
