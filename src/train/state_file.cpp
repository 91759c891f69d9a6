#include "nlpc/train/state_file.h"

#include <cstring>
#include <fstream>
#include <map>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"

namespace nlpc::train {
namespace {

constexpr char kMagic[8] = {'N', 'L', 'P', 'C', 'T', 'S', '0', '1'};

const std::map<std::string, torch::ScalarType>& dtypes() {
  static const std::map<std::string, torch::ScalarType> m = {
      {"F32", torch::kFloat32}, {"F64", torch::kFloat64}, {"F16", torch::kFloat16},
      {"BF16", torch::kBFloat16}, {"I64", torch::kInt64}, {"I32", torch::kInt32},
      {"U8", torch::kUInt8},    {"BOOL", torch::kBool}};
  return m;
}

std::string dtype_name(torch::ScalarType t) {
  for (const auto& [name, type] : dtypes()) {
    if (type == t) return name;
  }
  throw RuntimeError(std::string("cannot store a tensor of type ") + c10::toString(t) + " in trainer state");
}

void put_u64(AtomicFile& f, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  f.write(b, 8);
}

}  // namespace

const torch::Tensor& TensorBundle::get(const std::string& name) const {
  for (const auto& np : tensors) {
    if (np.first == name) return np.second;
  }
  throw RuntimeError("trainer state " + source + " has no tensor '" + name +
                     "'; it was written by another model or nlpc version");
}

void write_tensor_bundle(const std::string& path, const nlohmann::json& meta,
                         const std::vector<NamedParameter>& tensors) {
  std::vector<torch::Tensor> cpu;
  nlohmann::json entries = nlohmann::json::array();
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    const uint64_t nbytes = static_cast<uint64_t>(c.numel()) * c.element_size();
    entries.push_back({{"name", name}, {"dtype", dtype_name(c.scalar_type())}, {"shape", c.sizes().vec()},
                       {"offset", offset}, {"nbytes", nbytes}});
    offset += nbytes;
    cpu.push_back(std::move(c));
  }
  const std::string header = nlohmann::json{{"meta", meta}, {"tensors", entries}}.dump();
  AtomicFile f(path);
  f.write(kMagic, sizeof(kMagic));
  put_u64(f, header.size());
  f.write(header);
  for (const auto& c : cpu) {
    f.write(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel()) * c.element_size());
  }
  f.commit();
}

TensorBundle read_tensor_bundle(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RuntimeError("cannot open trainer state " + path);
  auto fail = [&](const std::string& why) {
    return RuntimeError("trainer state " + path + " is unreadable (" + why +
                        "); delete it to start over, or restore a complete copy");
  };
  char magic[8];
  unsigned char len_bytes[8];
  if (!in.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0) throw fail("bad magic");
  if (!in.read(reinterpret_cast<char*>(len_bytes), 8)) throw fail("truncated header");
  uint64_t len = 0;
  for (int i = 0; i < 8; ++i) len |= static_cast<uint64_t>(len_bytes[i]) << (8 * i);
  if (len > (1ULL << 30)) throw fail("header too large");
  std::string header(len, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(len))) throw fail("truncated header");
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(header);
  } catch (const std::exception& e) {
    throw fail(std::string("bad header: ") + e.what());
  }
  TensorBundle b;
  b.source = path;
  b.meta = h.at("meta");
  for (const auto& e : h.at("tensors")) {
    const std::string dt = e.at("dtype").get<std::string>();
    auto it = dtypes().find(dt);
    if (it == dtypes().end()) throw fail("unknown dtype " + dt);
    torch::Tensor t = torch::empty(e.at("shape").get<std::vector<int64_t>>(), it->second);
    const uint64_t nbytes = e.at("nbytes").get<uint64_t>();
    if (nbytes != static_cast<uint64_t>(t.numel()) * t.element_size()) throw fail("size mismatch");
    if (!in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(nbytes))) {
      throw fail("truncated data for " + e.at("name").get<std::string>());
    }
    b.tensors.emplace_back(e.at("name").get<std::string>(), std::move(t));
  }
  return b;
}

}  // namespace nlpc::train
