// PyTorch checkpoint containers (see include/nlpc/io/torch_checkpoint.h). The format follows
// torch/serialization.py (_save/_legacy_save and _load/_legacy_load), reimplemented.
#include "nlpc/io/torch_checkpoint.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>

#include "nlpc/core/error.h"
#include "nlpc/io/zip.h"

namespace nlpc::pytorch {
namespace {

using pickle::Value;
using Kind = Value::Kind;

// 0x1950a86a20f9469cfc6c, the legacy format's magic number, as pickle's LONG1 bytes.
constexpr uint8_t kLegacyMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

[[noreturn]] void bad(const std::string& path, const std::string& what) { throw InputError(path, 0, 0, what); }

// Storage registry shared by both formats: a persistent id names a storage by key; the same key
// always yields the same storage index.
class Storages {
 public:
  Storages(const std::string& path, std::vector<Storage>& out) : path_(path), out_(out) {}
  // pid: ('storage', torch.<T>Storage, key, location, numel[, view_metadata]) -> a Storage value.
  pickle::ValuePtr load(const Value& pid, bool legacy) {
    const auto& it = pid.items;
    if (pid.kind != Kind::Tuple || it.size() < 5 || it[0]->kind != Kind::Str || it[0]->s != "storage") {
      bad(path_, "persistent id is not ('storage', type, key, location, numel)");
    }
    DType dtype;
    if (it[1]->kind != Kind::Global || !pickle::storage_dtype(it[1]->s.substr(it[1]->s.rfind('.') + 1), dtype)) {
      bad(path_, "persistent id names an unknown storage type '" + it[1]->s + "'");
    }
    if (it[2]->kind != Kind::Str || it[4]->kind != Kind::Int || it[4]->i < 0) {
      bad(path_, "persistent id: storage key must be a string and numel a non-negative integer");
    }
    const size_t index = intern(it[2]->s, dtype, static_cast<uint64_t>(it[4]->i));
    auto v = std::make_shared<Value>();
    v->kind = Kind::Storage;
    v->i = static_cast<int64_t>(index);
    v->s = it[2]->s;
    v->tensor = std::make_unique<pickle::TensorRef>();
    v->tensor->dtype = dtype;
    v->tensor->storage_numel = out_[index].numel;
    if (legacy && it.size() >= 6 && it[5]->kind == Kind::Tuple) {  // (view_key, offset, view_size)
      const auto& view = it[5]->items;
      if (view.size() != 3 || view[1]->kind != Kind::Int || view[2]->kind != Kind::Int || view[1]->i < 0 ||
          view[2]->i < 0 || static_cast<uint64_t>(view[1]->i) + static_cast<uint64_t>(view[2]->i) > out_[index].numel) {
        bad(path_, "storage view of '" + it[2]->s + "' lies outside its storage");
      }
      v->tensor->offset = view[1]->i;
      v->tensor->storage_numel = static_cast<uint64_t>(view[1]->i + view[2]->i);
    }
    return v;
  }

 private:
  size_t intern(const std::string& key, DType dtype, uint64_t numel) {
    auto [it, fresh] = index_.emplace(key, out_.size());
    if (fresh) {
      out_.push_back({key, dtype, numel, nullptr});
    } else if (out_[it->second].dtype != dtype || out_[it->second].numel != numel) {
      bad(path_, "storage '" + key + "' is used with two different types or sizes");
    }
    return it->second;
  }
  const std::string& path_;
  std::vector<Storage>& out_;
  std::map<std::string, size_t> index_;
};

}  // namespace

std::unique_ptr<Checkpoint> Checkpoint::open(const std::string& path) {
  std::unique_ptr<Checkpoint> c(new Checkpoint());
  c->path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) bad(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    bad(path, "not a regular file");
  }
  const auto size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    bad(path, "empty file: not a PyTorch checkpoint");
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) throw RuntimeError("cannot mmap " + path + ": " + std::strerror(errno));
  c->map_ = map;
  c->map_size_ = size;
  const auto* bytes = static_cast<const uint8_t*>(map);
  if (zip::looks_like_zip(bytes, size)) {
    c->read_zip(bytes, size);
  } else if (bytes[0] == 0x80) {
    c->read_legacy(bytes, size);
  } else if (size > 262 && std::memcmp(bytes + 257, "ustar", 5) == 0) {
    bad(path, "tar-format PyTorch checkpoint (torch < 0.4): not supported; re-save it with a newer torch.save");
  } else {
    bad(path, "not a PyTorch checkpoint (expected a zip archive or a pickle; a TensorFlow or Flax file?)");
  }
  return c;
}

Checkpoint::~Checkpoint() {
  if (map_ != nullptr) ::munmap(map_, map_size_);
}

void Checkpoint::read_zip(const uint8_t* bytes, size_t size) {
  zip_ = true;
  zip::Archive archive(bytes, size, path_);
  const zip::Entry* pkl = nullptr;
  for (const auto& e : archive.entries()) {
    const auto slash = e.name.find('/');
    if (slash != std::string::npos && e.name.compare(slash, std::string::npos, "/data.pkl") == 0) pkl = &e;
  }
  if (pkl == nullptr) {
    bad(path_, std::string("zip archive without <name>/data.pkl: not a torch.save checkpoint") +
                   (archive.find("constants.pkl") || archive.entries().size() > 1 ? " (a TorchScript archive?)" : ""));
  }
  const std::string prefix = pkl->name.substr(0, pkl->name.size() - 8);  // "archive/"
  if (const zip::Entry* order = archive.find(prefix + "byteorder")) {
    const std::string b(reinterpret_cast<const char*>(archive.data(*order)), order->size);
    if (b != "little") bad(path_, "byte order '" + b.substr(0, 16) + "': nlpc reads little-endian checkpoints only");
  }
  Storages registry(path_, storages_);
  pickle::Unpickler u(archive.data(*pkl), pkl->size, path_, [&](const Value& pid) {
    auto v = registry.load(pid, false);
    Storage& s = storages_[v->i];
    if (s.data == nullptr) {
      const std::string name = prefix + "data/" + s.key;
      const zip::Entry* rec = archive.find(name);
      if (rec == nullptr) bad(path_, "storage '" + s.key + "' has no record " + name + " (truncated archive?)");
      if (s.numel > rec->size / safetensors::dtype_size(s.dtype)) {
        bad(path_, "record " + name + " has " + std::to_string(rec->size) + " bytes, shorter than its storage of " +
                       std::to_string(s.numel) + " x " + safetensors::dtype_name(s.dtype));
      }
      s.data = archive.data(*rec);
    }
    return v;
  });
  collect(*u.load());
}

void Checkpoint::read_legacy(const uint8_t* bytes, size_t size) {
  pickle::Unpickler u(bytes, size, path_);
  const auto magic = u.load();
  if (magic->kind != Kind::BigInt || magic->s != std::string(reinterpret_cast<const char*>(kLegacyMagic), sizeof kLegacyMagic)) {
    bad(path_, "a pickle without PyTorch's magic number: not a torch.save checkpoint");
  }
  const auto protocol = u.load();
  if (protocol->kind != Kind::Int || protocol->i != 1001) bad(path_, "unsupported legacy protocol version (expected 1001)");
  const auto info = u.load();
  if (info->kind == Kind::Dict && info->str_keys) {
    auto it = info->str_keys->find("little_endian");
    if (it != info->str_keys->end() && info->items[it->second + 1]->kind == Kind::Bool && info->items[it->second + 1]->i == 0) {
      bad(path_, "big-endian checkpoint: nlpc reads little-endian checkpoints only");
    }
  }
  Storages registry(path_, storages_);
  pickle::Unpickler body(bytes + u.position(), size - u.position(), path_,
                         [&](const Value& pid) { return registry.load(pid, true); });
  const auto root = body.load();
  pickle::Unpickler keys_u(bytes + u.position() + body.position(), size - u.position() - body.position(), path_);
  const auto keys = keys_u.load();
  if (keys->kind != Kind::List) bad(path_, "legacy checkpoint: the storage key list is missing");
  size_t pos = u.position() + body.position() + keys_u.position();
  std::map<std::string, size_t> by_key;
  for (size_t i = 0; i < storages_.size(); ++i) by_key[storages_[i].key] = i;
  for (const auto& k : keys->items) {
    auto it = k->kind == Kind::Str ? by_key.find(k->s) : by_key.end();
    if (it == by_key.end()) bad(path_, "legacy checkpoint lists a storage no tensor uses");
    Storage& s = storages_[it->second];
    if (size - pos < 8) bad(path_, "storage '" + s.key + "' is missing: the file ends at byte " + std::to_string(size) + " (truncated?)");
    uint64_t n = 0;
    for (int b = 7; b >= 0; --b) n = (n << 8) | bytes[pos + b];
    pos += 8;
    const uint64_t esize = safetensors::dtype_size(s.dtype);
    if (n < s.numel) {
      bad(path_, "storage '" + s.key + "' holds " + std::to_string(n) + " elements, fewer than the " +
                     std::to_string(s.numel) + " its tensors declare");
    }
    if (n > (size - pos) / esize) {
      bad(path_, "storage '" + s.key + "' (" + std::to_string(n) + " x " + safetensors::dtype_name(s.dtype) +
                     ") runs past the end of the file (truncated?)");
    }
    s.data = bytes + pos;
    pos += n * esize;
  }
  for (const auto& s : storages_) {
    if (s.data == nullptr) bad(path_, "storage '" + s.key + "' is not in the file (truncated?)");
  }
  collect(*root);
}

void Checkpoint::collect(const Value& root) {
  if (root.kind != Kind::Dict) {
    bad(path_, std::string("the checkpoint holds a ") + root.kind_name() + ", expected a state dict (name -> tensor)");
  }
  for (size_t i = 0; i + 1 < root.items.size(); i += 2) {
    const Value& k = *root.items[i];
    const Value& v = *root.items[i + 1];
    if (k.kind != Kind::Str) bad(path_, std::string("state dict key is a ") + k.kind_name() + ", expected a string");
    if (v.kind != Kind::Tensor) {
      bad(path_, "state dict entry '" + k.s + "' is a " + v.kind_name() + ", not a tensor" +
                     (v.kind == Kind::Dict ? " (a training checkpoint? save model.state_dict() instead)" : ""));
    }
    tensors_.push_back({k.s, *v.tensor});
  }
}

bool looks_like_checkpoint(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char b[4] = {0, 0, 0, 0};
  f.read(b, 4);
  return (b[0] == 'P' && b[1] == 'K') || static_cast<uint8_t>(b[0]) == 0x80;
}

}  // namespace nlpc::pytorch
