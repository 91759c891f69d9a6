#include "nlpc/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"

namespace nlpc::safetensors {
namespace {

using json = nlohmann::json;

// The reference implementation refuses headers above 100 MB; so do we (a hostile length would
// otherwise make us parse or allocate gigabytes).
constexpr uint64_t kMaxHeaderBytes = 100u * 1000u * 1000u;

struct DTypeEntry {
  DType dtype;
  const char* name;
  size_t size;
};

constexpr DTypeEntry kDTypes[] = {
    {DType::F64, "F64", 8}, {DType::F32, "F32", 4},   {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8}, {DType::I32, "I32", 4},   {DType::I16, "I16", 2}, {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},   {DType::BOOL, "BOOL", 1},
};

[[noreturn]] void bad(const std::string& file, const std::string& what) {
  throw InputError(file, 0, 0, "invalid safetensors file: " + what);
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Reads an unsigned integer JSON value; anything else (negative, float, string) is an error.
uint64_t as_u64(const json& v, const std::string& file, const std::string& what) {
  if (!v.is_number_unsigned()) {
    if (v.is_number_integer() && v.get<int64_t>() >= 0) return v.get<uint64_t>();
    bad(file, what + " must be a non-negative integer, got " + v.dump());
  }
  return v.get<uint64_t>();
}

TensorInfo parse_entry(const std::string& name, const json& v, const std::string& file) {
  const std::string where = "tensor '" + name + "'";
  if (!v.is_object()) bad(file, where + ": expected an object with dtype, shape and data_offsets");
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!v.contains(key)) bad(file, where + ": missing \"" + key + "\"");
  }
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it.key() != "dtype" && it.key() != "shape" && it.key() != "data_offsets") {
      bad(file, where + ": unexpected key \"" + it.key() + "\"");
    }
  }
  TensorInfo t;
  t.name = name;
  if (!v["dtype"].is_string()) bad(file, where + ": dtype must be a string");
  t.dtype = parse_dtype(v["dtype"].get<std::string>(), file);
  const json& shape = v["shape"];
  if (!shape.is_array()) bad(file, where + ": shape must be an array of integers");
  uint64_t numel = 1;
  bool overflow = false;
  for (const auto& d : shape) {
    uint64_t n = as_u64(d, file, where + ": shape dimension");
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) overflow = true;
    if (n != 0 && numel > std::numeric_limits<uint64_t>::max() / n) overflow = true;
    numel *= n;
    t.shape.push_back(static_cast<int64_t>(n));
  }
  const json& off = v["data_offsets"];
  if (!off.is_array() || off.size() != 2) bad(file, where + ": data_offsets must be [begin, end]");
  t.begin = as_u64(off[0], file, where + ": data_offsets begin");
  t.end = as_u64(off[1], file, where + ": data_offsets end");
  if (t.end < t.begin) {
    bad(file, where + ": data_offsets end " + std::to_string(t.end) + " is before begin " +
                  std::to_string(t.begin));
  }
  const uint64_t size = dtype_size(t.dtype);
  if (overflow || (numel != 0 && numel > std::numeric_limits<uint64_t>::max() / size) ||
      numel * size != t.end - t.begin) {
    bad(file, where + ": shape " + shape_str(t.shape) + " x " + dtype_name(t.dtype) + " needs " +
                  (overflow ? std::string("more than 2^64") : std::to_string(numel * size)) +
                  " bytes but data_offsets span " + std::to_string(t.end - t.begin) + " bytes");
  }
  return t;
}

// Parses the header JSON, rejecting duplicate top-level names (nlohmann would keep the last one).
json parse_header(const char* text, size_t n, const std::string& file) {
  std::vector<std::string> duplicates;
  std::set<std::string> seen;
  auto cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1) {
      const std::string key = parsed.get<std::string>();
      if (!seen.insert(key).second) duplicates.push_back(key);
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text, text + n, cb);
  } catch (const json::exception& e) {
    bad(file, std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!duplicates.empty()) bad(file, "duplicate tensor name '" + duplicates.front() + "' in header");
  if (!header.is_object()) bad(file, "header must be a JSON object");
  return header;
}

}  // namespace

const char* dtype_name(DType d) {
  for (const auto& e : kDTypes) {
    if (e.dtype == d) return e.name;
  }
  return "?";
}

size_t dtype_size(DType d) {
  for (const auto& e : kDTypes) {
    if (e.dtype == d) return e.size;
  }
  return 0;
}

DType parse_dtype(const std::string& s, const std::string& file) {
  for (const auto& e : kDTypes) {
    if (s == e.name) return e.dtype;
  }
  std::string names;
  for (const auto& e : kDTypes) names += std::string(names.empty() ? "" : ", ") + e.name;
  throw InputError(file, 0, 0, "unsupported safetensors dtype '" + s + "' (supported: " + names + ")");
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::unique_ptr<File> File::open(const std::string& path) {
  std::unique_ptr<File> f(new File());
  f->path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(path, 0, 0, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw InputError(path, 0, 0, "not a regular file");
  }
  const auto file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    bad(path, "file has " + std::to_string(file_size) + " bytes, fewer than the 8-byte header length");
  }
  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) throw RuntimeError("cannot mmap " + path + ": " + std::strerror(errno));
  f->map_ = map;
  f->map_size_ = file_size;
  const auto* bytes = static_cast<const uint8_t*>(map);

  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];  // little-endian u64
  if (n > kMaxHeaderBytes) {
    bad(path, "header length " + std::to_string(n) + " exceeds the 100 MB limit (not a safetensors file?)");
  }
  if (n > file_size - 8) {
    bad(path, "header length " + std::to_string(n) + " runs past the end of the file (" +
                  std::to_string(file_size) + " bytes; truncated?)");
  }
  const json header = parse_header(reinterpret_cast<const char*>(bytes + 8), n, path);
  f->data_ = bytes + 8 + n;
  const uint64_t buffer_size = file_size - 8 - n;

  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) bad(path, "__metadata__ must be an object of strings");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) bad(path, "__metadata__ value for '" + m.key() + "' must be a string");
        f->metadata_[m.key()] = m->get<std::string>();
      }
      continue;
    }
    TensorInfo t = parse_entry(it.key(), *it, path);
    if (t.end > buffer_size) {
      bad(path, "tensor '" + t.name + "': data_offsets [" + std::to_string(t.begin) + ", " +
                    std::to_string(t.end) + "] run past the data buffer (" + std::to_string(buffer_size) +
                    " bytes; truncated file?)");
    }
    f->index_[t.name] = f->tensors_.size();
    f->tensors_.push_back(std::move(t));
  }
  // Overlap check: sort by begin, every tensor must start at or after the previous one's end.
  std::vector<const TensorInfo*> order;
  for (const auto& t : f->tensors_) {
    if (t.end > t.begin) order.push_back(&t);
  }
  std::sort(order.begin(), order.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < order.size(); ++i) {
    if (order[i]->begin < order[i - 1]->end) {
      bad(path, "tensors '" + order[i - 1]->name + "' and '" + order[i]->name + "' overlap (bytes [" +
                    std::to_string(order[i - 1]->begin) + ", " + std::to_string(order[i - 1]->end) +
                    ") and [" + std::to_string(order[i]->begin) + ", " + std::to_string(order[i]->end) +
                    "))");
    }
  }
  return f;
}

void File::copy_out(const TensorInfo& t, void* dst) const {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t piece = size_t(16) << 20;
  const uint8_t* src = data_ + t.begin;
  auto* out = static_cast<uint8_t*>(dst);
  const size_t n = static_cast<size_t>(t.end - t.begin);
  for (size_t at = 0; at < n; at += piece) {
    const size_t len = std::min(piece, n - at);
    std::memcpy(out + at, src + at, len);
    // The whole pages inside the piece copied so far (MAP_PRIVATE, read only: they would be read
    // again from the file if touched).
    const auto first = reinterpret_cast<uintptr_t>(src + at),
               last = reinterpret_cast<uintptr_t>(src + at + len);
    const uintptr_t b = (first + page - 1) / page * page, e = last / page * page;
    if (e > b) ::madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED);
  }
}

File::~File() {
  if (map_ != nullptr) ::munmap(map_, map_size_);
}

const TensorInfo* File::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void write(const std::string& path, const std::vector<TensorView>& tensors,
           const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorView*> sorted;
  for (const auto& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const TensorView* a, const TensorView* b) { return a->name < b->name; });
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const TensorView& t = *sorted[i];
    if (t.name == "__metadata__") throw RuntimeError("safetensors: '__metadata__' is not a tensor name");
    if (i > 0 && sorted[i - 1]->name == t.name) {
      throw RuntimeError("safetensors: duplicate tensor name '" + t.name + "' while writing " + path);
    }
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0) throw RuntimeError("safetensors: negative dimension in '" + t.name + "'");
      numel *= static_cast<uint64_t>(d);
    }
    if (numel * dtype_size(t.dtype) != t.nbytes || (t.nbytes > 0 && t.data == nullptr)) {
      throw RuntimeError("safetensors: tensor '" + t.name + "' has " + std::to_string(t.nbytes) +
                         " bytes but shape " + shape_str(t.shape) + " x " + dtype_name(t.dtype) + " needs " +
                         std::to_string(numel * dtype_size(t.dtype)));
    }
    header[t.name] = {
        {"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.nbytes}}};
    offset += t.nbytes;
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text.push_back(' ');
  AtomicFile out(path);
  char len[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out.write(len, 8);
  out.write(text);
  for (const TensorView* t : sorted) out.write(static_cast<const char*>(t->data), t->nbytes);
  out.commit();
}

}  // namespace nlpc::safetensors
