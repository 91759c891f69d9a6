#pragma once
// A restricted unpickler for PyTorch state dicts (pickle protocols 2-5, and the few protocol 0/1
// opcodes old files use). It builds plain values — None, bools, ints, floats, strings, bytes,
// tuples, lists, dicts — and never executes anything from the file: a GLOBAL is accepted only from
// an allow-list (collections.OrderedDict, torch._utils._rebuild_tensor / _rebuild_tensor_v2 /
// _rebuild_parameter and the storage types torch.*Storage), and calling one is interpreted here
// (OrderedDict() is a dict, _rebuild_tensor_v2(...) a tensor description). Any other global
// (posix.system, builtins.eval, ...) is refused with an InputError naming it and the file.
//
// Limits: every length is checked against the bytes left before anything is allocated, memo
// references must exist, marks must match, nesting is destroyed iteratively (a deep hostile
// structure cannot overflow the stack). No libtorch.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "nlpc/io/safetensors.h"

namespace nlpc::pickle {

using DType = safetensors::DType;

struct Value;
using ValuePtr = std::shared_ptr<Value>;

// A tensor as torch._utils._rebuild_tensor_v2 describes it: a view of a storage.
struct TensorRef {
  int64_t storage = -1;        // index given by the persistent loader
  DType dtype = DType::F32;    // the storage's element type
  uint64_t storage_numel = 0;  // elements in the storage
  int64_t offset = 0;          // storage offset, in elements
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;
  int64_t numel() const;
  bool contiguous() const;     // row-major strides (any stride for size-1 dims)
};

struct Value {
  enum class Kind { None, Bool, Int, BigInt, Float, Str, Bytes, Tuple, List, Dict, Global, Storage, Tensor };
  Kind kind = Kind::None;
  int64_t i = 0;                 // Bool, Int; Storage: index
  double f = 0;                  // Float
  std::string s;                 // Str, Bytes, BigInt (little-endian two's complement), Global "module.name"
  std::vector<ValuePtr> items;   // Tuple, List; Dict: keys and values interleaved
  std::unique_ptr<std::unordered_map<std::string, size_t>> str_keys;  // Dict: string key -> index in items
  std::unique_ptr<TensorRef> tensor;  // Tensor; Storage: dtype and storage_numel
  ~Value();                      // iterative: a deeply nested value cannot overflow the stack
  const char* kind_name() const;
};

// The persistent loader turns a BINPERSID tuple ('storage', <storage type global>, key, location,
// numel[, view metadata]) into a Storage value (or throws InputError).
using PersistentLoad = std::function<ValuePtr(const Value& pid)>;

// At most this many values per pickle (a state dict of 100k tensors needs ~1.5 million): bounds
// the memory a hostile pickle can claim.
constexpr size_t kMaxValues = 4'000'000;

// Storage type name ("FloatStorage", "UntypedStorage", ...) -> element type; false when unknown.
bool storage_dtype(const std::string& global, DType& out);

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, std::string source, PersistentLoad persistent_load = nullptr);
  // Runs one pickle up to its STOP opcode and returns its value. `position()` is then just past it.
  ValuePtr load();
  size_t position() const { return pos_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string source_;
  PersistentLoad persistent_load_;
};

}  // namespace nlpc::pickle
