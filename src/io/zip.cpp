// Zip central-directory reader (see include/nlpc/io/zip.h). Layout per PKWARE APPNOTE 6.3:
// end of central directory (EOCD, "PK\5\6") at the end of the file, optionally preceded by the
// zip64 EOCD locator ("PK\6\7") pointing at the zip64 EOCD ("PK\6\6"); central directory headers
// ("PK\1\2") each pointing at a local header ("PK\3\4") followed by the entry's data.
#include "nlpc/io/zip.h"


#include "nlpc/core/error.h"

namespace nlpc::zip {
namespace {

constexpr uint32_t kLocal = 0x04034b50, kCentral = 0x02014b50, kEocd = 0x06054b50;
constexpr uint32_t kEocd64 = 0x06064b50, kLocator64 = 0x07064b50;

uint64_t le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

bool looks_like_zip(const uint8_t* bytes, size_t size) {
  return size >= 4 && (le(bytes, 4) == kLocal || le(bytes, 4) == kEocd);
}

Archive::Archive(const uint8_t* bytes, size_t size, std::string source)
    : bytes_(bytes), size_(size), source_(std::move(source)) {
  auto bad = [&](const std::string& what) { throw InputError(source_, 0, 0, "invalid zip archive: " + what); };
  if (size_ < 22) bad("the file has " + std::to_string(size_) + " bytes, too short for a zip archive (truncated?)");
  // The EOCD is 22 bytes plus a comment of at most 65535 bytes: search backwards for its signature.
  size_t eocd = size_;
  const size_t lowest = size_ > 22 + 65535 ? size_ - 22 - 65535 : 0;
  for (size_t p = size_ - 22 + 1; p-- > lowest;) {
    if (le(bytes_ + p, 4) == kEocd && p + 22 + le(bytes_ + p + 20, 2) <= size_) {
      eocd = p;
      break;
    }
  }
  if (eocd == size_) bad("no end-of-central-directory record (truncated or not a zip file)");
  const uint8_t* e = bytes_ + eocd;
  if (le(e + 4, 2) != 0 || le(e + 6, 2) != 0) bad("multi-disk archives are not supported");
  uint64_t count = le(e + 10, 2), length = le(e + 12, 4), offset = le(e + 16, 4);
  if ((count == 0xffff || length == 0xffffffff || offset == 0xffffffff) && eocd >= 20 &&
      le(bytes_ + eocd - 20, 4) == kLocator64) {
    const uint64_t at = le(bytes_ + eocd - 20 + 8, 8);
    if (at > size_ || size_ - at < 56 || le(bytes_ + at, 4) != kEocd64) bad("broken zip64 end-of-central-directory record");
    count = le(bytes_ + at + 32, 8);
    length = le(bytes_ + at + 40, 8);
    offset = le(bytes_ + at + 48, 8);
  }
  if (offset > size_ || length > size_ - offset) {
    bad("the central directory (" + std::to_string(length) + " bytes at offset " + std::to_string(offset) +
        ") runs past the end of the file (" + std::to_string(size_) + " bytes; truncated?)");
  }
  if (count > length / 46) bad(std::to_string(count) + " entries cannot fit in a central directory of " +
                               std::to_string(length) + " bytes");
  read_directory(offset, count, length);
}

void Archive::read_directory(uint64_t offset, uint64_t count, uint64_t length) {
  auto bad = [&](const std::string& what) { throw InputError(source_, 0, 0, "invalid zip archive: " + what); };
  const uint64_t end = offset + length;
  uint64_t p = offset;
  entries_.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (end - p < 46 || le(bytes_ + p, 4) != kCentral) bad("central directory entry " + std::to_string(i) + " is damaged");
    const uint8_t* c = bytes_ + p;
    Entry en;
    en.method = static_cast<uint16_t>(le(c + 10, 2));
    en.compressed = le(c + 20, 4);
    en.size = le(c + 24, 4);
    const uint64_t name_len = le(c + 28, 2), extra_len = le(c + 30, 2), comment_len = le(c + 32, 2);
    uint64_t local = le(c + 42, 4);
    if (end - p - 46 < name_len + extra_len + comment_len) bad("central directory entry " + std::to_string(i) + " is truncated");
    en.name.assign(reinterpret_cast<const char*>(c + 46), name_len);
    // zip64 extended information: the 0xffffffff fields, in order, are 8-byte values here.
    for (uint64_t x = 0; x + 4 <= extra_len;) {
      const uint8_t* f = c + 46 + name_len + x;
      const uint64_t id = le(f, 2), n = le(f + 2, 2);
      if (x + 4 + n > extra_len) bad("entry '" + en.name + "': extra field runs past its header");
      if (id == 1) {
        uint64_t q = 4;
        for (uint64_t* v : {&en.size, &en.compressed, &local}) {
          if (*v != 0xffffffff) continue;
          if (q + 8 > 4 + n) bad("entry '" + en.name + "': short zip64 extra field");
          *v = le(f + q, 8);
          q += 8;
        }
      }
      x += 4 + n;
    }
    if (local > size_ || size_ - local < 30 || le(bytes_ + local, 4) != kLocal) {
      bad("entry '" + en.name + "': local header at offset " + std::to_string(local) + " is missing (truncated?)");
    }
    const uint64_t header = 30 + le(bytes_ + local + 26, 2) + le(bytes_ + local + 28, 2);
    en.data_offset = local + header;
    if (header > size_ - local || en.compressed > size_ - en.data_offset) {
      bad("entry '" + en.name + "' (" + std::to_string(en.compressed) + " bytes at offset " +
          std::to_string(en.data_offset) + ") runs past the end of the file (" + std::to_string(size_) +
          " bytes; truncated?)");
    }
    if (en.method == 0 && en.compressed != en.size) {
      bad("stored entry '" + en.name + "' has compressed size " + std::to_string(en.compressed) +
          " but size " + std::to_string(en.size));
    }
    index_.emplace(en.name, entries_.size());
    entries_.push_back(std::move(en));
    p += 46 + name_len + extra_len + comment_len;
  }
}

const Entry* Archive::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

const uint8_t* Archive::data(const Entry& e) const {
  if (e.method != 0) {
    throw InputError(source_, 0, 0, "zip entry '" + e.name + "' is compressed (method " + std::to_string(e.method) +
                                        (e.method == 8 ? ", deflate" : "") +
                                        "); nlpc reads the uncompressed entries torch.save writes — re-save the "
                                        "file with torch.save, or unzip and re-zip it with `zip -0`");
  }
  return bytes_ + e.data_offset;
}

}  // namespace nlpc::zip
