#pragma once
// safetensors reader (memory-mapped) and writer, without libtorch. The libtorch bridge (dtype
// conversion into torch::Tensor, sharded checkpoints via model.safetensors.index.json) lives in
// include/nlpc/models/checkpoint.h.
//
// Format: 8-byte little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}
// then the data buffer; offsets are relative to the start of the buffer.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nlpc::safetensors {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

const char* dtype_name(DType d);  // "F32", ...
size_t dtype_size(DType d);       // bytes per element
// Throws InputError naming `file` when the dtype string is not supported.
DType parse_dtype(const std::string& s, const std::string& file);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data buffer
  uint64_t end = 0;
  int64_t numel() const;
};

// A validated, memory-mapped safetensors file. Hostile input (header length beyond the file, invalid
// JSON, offsets out of range or overlapping, shape x dtype != byte length, duplicate names) is
// rejected with an InputError naming the file and the tensor.
class File {
 public:
  static std::unique_ptr<File> open(const std::string& path);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(const std::string& name) const;  // nullptr when absent
  const uint8_t* data(const TensorInfo& t) const { return data_ + t.begin; }
  // Copies the bytes of `t` to `dst` and gives the mapped pages back as it goes, so that a large
  // tensor is not in memory twice (mapped and copied).
  void copy_out(const TensorInfo& t, void* dst) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  File() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* data_ = nullptr;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// A tensor to write: contiguous row-major bytes.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t nbytes = 0;
};

// Writes a safetensors file atomically (temporary + rename). Tensors are sorted by name, the header
// is padded with spaces to a multiple of 8 bytes, as the reference implementation does.
void write(const std::string& path, const std::vector<TensorView>& tensors,
           const std::map<std::string, std::string>& metadata = {});

}  // namespace nlpc::safetensors
