#pragma once
// nlpc's own reader of PyTorch checkpoints (torch.save of a state dict), without libtorch and
// without executing anything from the file (see nlpc/io/pickle.h):
//   * zip format (torch >= 1.6): <prefix>/data.pkl, <prefix>/data/<key> records (stored),
//     <prefix>/byteorder ("little"; "big" is refused), <prefix>/version;
//   * legacy format (_use_new_zipfile_serialization=False and torch < 1.6): five pickles in a row —
//     magic number, protocol version, sys info (little_endian), the state dict, the storage keys —
//     then each storage as an 8-byte little-endian element count followed by its bytes.
// The file is memory-mapped; tensors are descriptions (storage, offset, size, stride) validated
// against their storage, so shared storages (tied weights, views) come out right in the bridge.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nlpc/io/pickle.h"

namespace nlpc::pytorch {

using safetensors::DType;

struct Storage {
  std::string key;
  DType dtype = DType::F32;
  uint64_t numel = 0;               // elements (as declared by the pickle, checked against the file)
  const uint8_t* data = nullptr;    // inside the mapping
};

struct Tensor {
  std::string name;
  pickle::TensorRef ref;  // ref.storage indexes storages()
};

class Checkpoint {
 public:
  // Throws InputError naming `path` for anything that is not a well-formed PyTorch state dict.
  static std::unique_ptr<Checkpoint> open(const std::string& path);
  ~Checkpoint();
  Checkpoint(const Checkpoint&) = delete;
  Checkpoint& operator=(const Checkpoint&) = delete;

  const std::string& path() const { return path_; }
  const char* format() const { return zip_ ? "zip" : "legacy"; }
  const std::vector<Tensor>& tensors() const { return tensors_; }  // in the file's (state dict) order
  const std::vector<Storage>& storages() const { return storages_; }
  // Element 0 of the tensor's storage (add ref.offset * element size for the tensor's first element).
  const uint8_t* storage_data(const Tensor& t) const { return storages_[t.ref.storage].data; }

 private:
  Checkpoint() = default;
  void read_zip(const uint8_t* bytes, size_t size);
  void read_legacy(const uint8_t* bytes, size_t size);
  void collect(const pickle::Value& root);
  std::string path_;
  bool zip_ = false;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::vector<Storage> storages_;
  std::vector<Tensor> tensors_;
};

// True when the first bytes look like a PyTorch checkpoint (zip archive or a pickle).
bool looks_like_checkpoint(const std::string& path);

}  // namespace nlpc::pytorch
