#include "nlpc/models/checkpoint.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/io/safetensors.h"
#include "nlpc/io/torch_checkpoint.h"
#include "nlpc/models/layers/int8.h"

namespace nlpc::models {
namespace fs = std::filesystem;
namespace st = nlpc::safetensors;

namespace {

torch::Dtype torch_dtype(st::DType d) {
  switch (d) {
    case st::DType::F64: return torch::kFloat64;
    case st::DType::F32: return torch::kFloat32;
    case st::DType::F16: return torch::kFloat16;
    case st::DType::BF16: return torch::kBFloat16;
    case st::DType::I64: return torch::kInt64;
    case st::DType::I32: return torch::kInt32;
    case st::DType::I16: return torch::kInt16;
    case st::DType::I8: return torch::kInt8;
    case st::DType::U8: return torch::kUInt8;
    case st::DType::BOOL: return torch::kBool;
  }
  return torch::kFloat32;
}

st::DType st_dtype(torch::Dtype d, const std::string& name) {
  switch (d) {
    case torch::kFloat64: return st::DType::F64;
    case torch::kFloat32: return st::DType::F32;
    case torch::kFloat16: return st::DType::F16;
    case torch::kBFloat16: return st::DType::BF16;
    case torch::kInt64: return st::DType::I64;
    case torch::kInt32: return st::DType::I32;
    case torch::kInt16: return st::DType::I16;
    case torch::kInt8: return st::DType::I8;
    case torch::kUInt8: return st::DType::U8;
    case torch::kBool: return st::DType::BOOL;
    default: break;
  }
  throw RuntimeError("cannot save tensor '" + name + "' as safetensors: unsupported dtype " +
                     std::string(c10::toString(d)));
}

torch::Tensor convert(torch::Tensor t, torch::Dtype float_dtype) {
  if (float_dtype == kKeepDtype) return t;
  if (torch::isFloatingType(t.scalar_type()) && t.scalar_type() != float_dtype) return t.to(float_dtype);
  return t;
}

StateDict read_weights_file(const std::string& path, torch::Dtype float_dtype);

// A sharded checkpoint: <name>.index.json {"weight_map": {tensor: shard file}} next to its shards
// (model-0000k-of-0000n.safetensors or pytorch_model-0000k-of-0000n.bin).
StateDict read_sharded(const std::string& index_path, torch::Dtype float_dtype) {
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(read_file(index_path));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(index_path, 0, 0, std::string("invalid JSON: ") + e.what());
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw InputError(index_path, 0, 0, "expected an object with a \"weight_map\" {tensor: shard file}");
  }
  std::map<std::string, std::set<std::string>> by_shard;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    if (!it->is_string()) throw InputError(index_path, 0, 0, "weight_map['" + it.key() + "'] must be a file name");
    const std::string shard = it->get<std::string>();
    if (shard.find('/') != std::string::npos || shard == "..") {
      throw InputError(index_path, 0, 0, "shard name '" + shard + "' must be a file in the same folder");
    }
    by_shard[shard].insert(it.key());
  }
  const fs::path dir = fs::path(index_path).parent_path();
  StateDict out;
  for (const auto& [shard, names] : by_shard) {
    const std::string shard_path = (dir / shard).string();
    StateDict part = read_weights_file(shard_path, float_dtype);
    for (auto& [name, t] : part) {
      if (!names.count(name)) {
        throw InputError(shard_path, 0, 0, "tensor '" + name + "' is not listed for this shard in " + index_path);
      }
      if (!out.emplace(name, std::move(t)).second) {
        throw InputError(shard_path, 0, 0, "tensor '" + name + "' appears in more than one shard");
      }
    }
    for (const auto& name : names) {
      if (!out.count(name)) {
        throw InputError(index_path, 0, 0, "tensor '" + name + "' is listed in " + shard + " but absent from it");
      }
    }
  }
  return out;
}

// A view of a storage as a tensor of its own (copied out of the mapping: the mapping is closed on
// return, and its bytes need not be aligned for the element type).
torch::Tensor copy_tensor(const pytorch::Checkpoint& ck, const pytorch::Tensor& t, std::vector<torch::Tensor>& whole) {
  const pytorch::Storage& s = ck.storages()[t.ref.storage];
  const auto dtype = torch_dtype(s.dtype);
  const size_t esize = st::dtype_size(s.dtype);
  if (t.ref.contiguous()) {
    torch::Tensor x = torch::empty(t.ref.shape, torch::TensorOptions().dtype(dtype));
    const size_t n = static_cast<size_t>(t.ref.numel()) * esize;
    if (n > 0) std::memcpy(x.data_ptr(), s.data + static_cast<size_t>(t.ref.offset) * esize, n);
    return x;
  }
  torch::Tensor& w = whole[t.ref.storage];  // shared storage, copied once for all its views
  if (!w.defined()) {
    w = torch::empty({static_cast<int64_t>(s.numel)}, torch::TensorOptions().dtype(dtype));
    if (s.numel > 0) std::memcpy(w.data_ptr(), s.data, s.numel * esize);
  }
  return w.as_strided(t.ref.shape, t.ref.stride, t.ref.offset).clone(at::MemoryFormat::Contiguous);
}

StateDict read_pytorch(const std::string& path, torch::Dtype float_dtype) {
  auto ck = pytorch::Checkpoint::open(path);
  StateDict out;
  std::vector<torch::Tensor> whole(ck->storages().size());
  for (const auto& t : ck->tensors()) out[t.name] = convert(copy_tensor(*ck, t, whole), float_dtype);
  return out;
}

StateDict read_weights_file(const std::string& path, torch::Dtype float_dtype) {
  const fs::path p(path);
  if (p.extension() == ".json") return read_sharded(path, float_dtype);
  if (p.extension() == ".safetensors") return read_safetensors(path, float_dtype);
  if (p.extension() == ".bin" || p.extension() == ".pt" || p.extension() == ".pth" ||
      pytorch::looks_like_checkpoint(path)) {
    return read_pytorch(path, float_dtype);
  }
  return read_safetensors(path, float_dtype);
}

}  // namespace

std::string shape_string(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

StateDict read_safetensors(const std::string& path, torch::Dtype float_dtype) {
  auto file = st::File::open(path);
  StateDict out;
  for (const auto& info : file->tensors()) {
    // Copy through memcpy: the mapped data of a tensor need not be aligned for its type.
    torch::Tensor t = torch::empty(info.shape, torch::TensorOptions().dtype(torch_dtype(info.dtype)));
    if (info.end > info.begin) std::memcpy(t.data_ptr(), file->data(info), info.end - info.begin);
    out[info.name] = convert(std::move(t), float_dtype);
  }
  return out;
}

std::string find_weights(const std::string& path) {
  const fs::path p(path);
  if (fs::is_regular_file(p)) return path;
  if (!fs::is_directory(p)) throw InputError(path, 0, 0, "no such model folder or checkpoint file");
  // transformers' order: safetensors first, then the PyTorch pickle, each single-file then sharded
  for (const char* name : {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                           "pytorch_model.bin.index.json"}) {
    if (fs::exists(p / name)) return (p / name).string();
  }
  for (const char* other : {"tf_model.h5", "flax_model.msgpack", "model.ckpt.index"}) {
    if (fs::exists(p / other)) {
      throw InputError((p / other).string(), 0, 0, "TensorFlow/Flax weights are not supported: nlpc reads "
                                                   "model.safetensors and pytorch_model.bin (single or sharded)");
    }
  }
  throw InputError(path, 0, 0,
                   "no weights found: expected model.safetensors, pytorch_model.bin or their sharded "
                   ".index.json");
}

StateDict load_checkpoint(const std::string& path, torch::Dtype float_dtype) {
  return read_weights_file(find_weights(path), float_dtype);
}

void save_safetensors(const std::string& path, const StateDict& tensors) {
  std::vector<torch::Tensor> keep;
  std::vector<st::TensorView> views;
  for (const auto& [name, t] : tensors) {
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    keep.push_back(c);
    st::TensorView v;
    v.name = name;
    v.dtype = st_dtype(c.scalar_type(), name);
    v.shape = c.sizes().vec();
    v.data = c.data_ptr();
    v.nbytes = c.numel() * c.element_size();
    views.push_back(std::move(v));
  }
  std::map<std::string, std::string> metadata = {{"format", "pt"}};
  for (const auto& kv : tensors) {
    const std::string& name = kv.first;
    const std::string suffix = std::string(".") + int8::kScaleBuffer;
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      metadata[int8::kMetadataKey] = int8::kScheme;
      break;
    }
  }
  st::write(path, views, metadata);
}

std::map<std::string, std::string> weights_metadata(const std::string& path) {
  std::string file = find_weights(path);
  const std::string index_suffix = ".safetensors.index.json";
  if (file.size() > index_suffix.size() &&
      file.compare(file.size() - index_suffix.size(), index_suffix.size(), index_suffix) == 0) {
    nlohmann::json index;
    try {
      index = nlohmann::json::parse(read_file(file));
    } catch (const nlohmann::json::exception& e) {
      throw InputError(file, 0, 0, std::string("invalid JSON: ") + e.what());
    }
    if (!index.contains("weight_map") || !index["weight_map"].is_object() || index["weight_map"].empty() ||
        !index["weight_map"].begin()->is_string()) {
      throw InputError(file, 0, 0, "expected an object with a \"weight_map\" {tensor: shard file}");
    }
    std::set<std::string> shards;
    for (const auto& v : index["weight_map"]) shards.insert(v.get<std::string>());
    file = (fs::path(file).parent_path() / *shards.begin()).string();
  }
  const std::string st_suffix = ".safetensors";
  if (file.size() < st_suffix.size() || file.compare(file.size() - st_suffix.size(), st_suffix.size(), st_suffix) != 0) {
    return {};
  }
  return st::File::open(file)->metadata();
}

StateDict module_state_dict(const torch::nn::Module& module) {
  StateDict out;
  for (const auto& kv : module.named_parameters(true)) out[kv.key()] = kv.value();
  for (const auto& kv : module.named_buffers(true)) out[kv.key()] = kv.value();
  return out;
}

LoadReport load_state_dict_strict(torch::nn::Module& module, const StateDict& weights, const std::string& source,
                                  const std::vector<std::string>& ignore_unexpected) {
  const StateDict targets = module_state_dict(module);
  std::vector<std::string> missing, mismatched, unexpected;
  LoadReport report;
  for (const auto& [name, t] : targets) {
    auto it = weights.find(name);
    if (it == weights.end()) {
      missing.push_back(name + " " + shape_string(t));
    } else if (it->second.sizes() != t.sizes()) {
      mismatched.push_back(name + ": expected " + shape_string(t) + ", got " + shape_string(it->second));
    }
  }
  for (const auto& [name, t] : weights) {
    if (targets.count(name)) continue;
    bool ignored = false;
    for (const auto& prefix : ignore_unexpected) ignored = ignored || name.rfind(prefix, 0) == 0;
    (ignored ? report.ignored : unexpected).push_back(name);
  }
  if (!missing.empty() || !mismatched.empty() || !unexpected.empty()) {
    std::string msg = "checkpoint does not match the model (nothing was loaded):";
    auto section = [&msg](const char* title, const std::vector<std::string>& items) {
      if (items.empty()) return;
      msg += std::string("\n  ") + title + " (" + std::to_string(items.size()) + "):";
      for (const auto& s : items) msg += "\n    " + s;
    };
    section("missing keys", missing);
    section("unexpected keys", unexpected);
    section("shape mismatches", mismatched);
    throw InputError(source, 0, 0, msg);
  }
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : targets) {
    torch::Tensor dst = t;
    dst.copy_(weights.at(name));
  }
  return report;
}

}  // namespace nlpc::models
