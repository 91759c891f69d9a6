// The n-gram baseline's training matrix out of core (see row_store.h).
#include "row_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "nlpc/core/error.h"

namespace nlpc::models::ngram {

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x47800000u) return uint16_t(sign | (ax > 0x7f800000u ? 0x7e00u : 0x7c00u));  // inf, NaN, >= 2^16
  if (ax < 0x38800000u) {  // below 2^-14: a subnormal half (or zero), m * 2^-24
    float a;
    std::memcpy(&a, &ax, 4);
    return uint16_t(sign | uint32_t(std::nearbyint(a * 16777216.0f)));  // ties to even
  }
  const uint32_t e = ax - 0x38000000u;  // re-bias the exponent (127 -> 15), 13 extra mantissa bits
  const uint32_t r = e + 0x0fffu + ((e >> 13) & 1u);  // round to nearest, ties to even
  return uint16_t(sign | (r >> 13));                  // a carry into the exponent is right, up to infinity
}

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    const float v = float(mant) * (1.0f / 16777216.0f);
    std::memcpy(&bits, &v, 4);
    bits |= sign;
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  }
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

ScratchFile::ScratchFile(const std::string& path, std::string what) : path_(path), what_(std::move(what)) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_ < 0) fail("cannot create", errno);
  // Unlinked at once (a character device such as /dev/full, used by tests, is left alone).
  if (std::filesystem::is_regular_file(path)) ::unlink(path.c_str());
}

ScratchFile::~ScratchFile() {
  if (fd_ >= 0) ::close(fd_);
}

void ScratchFile::fail(const std::string& op, int err) const {
  const std::string dir = std::filesystem::path(path_).parent_path().string();
  std::string msg =
      op + " " + what_ + " in " + (dir.empty() ? "." : dir) + " (" + path_ + "): " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT)
    msg += " (the folder's disk is full: free space there or point it elsewhere)";
  throw RuntimeError(msg);
}

namespace {
// pread/pwrite until n bytes moved, retrying EINTR; a call that moves nothing fails with `none`.
template <typename Op, typename Fail>
void transfer_all(Op op, char* p, size_t n, int64_t offset, int none, Fail fail) {
  while (n > 0) {
    const ssize_t k = op(p, n, offset);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) fail(k < 0 ? errno : none);
    p += k;
    n -= size_t(k);
    offset += k;
  }
}
}  // namespace

void ScratchFile::pwrite_all(const void* data, size_t n, int64_t offset) {
  transfer_all([this](char* p, size_t m, int64_t off) { return ::pwrite(fd_, p, m, off); },
               const_cast<char*>(static_cast<const char*>(data)), n, offset, ENOSPC,
               [this](int err) { fail("cannot write", err); });
}

void ScratchFile::pread_all(void* data, size_t n, int64_t offset) const {
  transfer_all([this](char* p, size_t m, int64_t off) { return ::pread(fd_, p, m, off); },
               static_cast<char*>(data), n, offset, EIO, [this](int err) { fail("cannot read back", err); });
}

void ScratchFile::reserve_zeros(int64_t n) {
  if (n <= 0) return;
  const int err = ::posix_fallocate(fd_, 0, n);
  if (err != 0 && err != EOPNOTSUPP && err != EINVAL)
    fail("cannot reserve " + std::to_string(n) + " bytes for", err);
  if (err != 0 && ::ftruncate(fd_, n) != 0) fail("cannot size", errno);
}

namespace {

void put_varint(uint32_t v, std::vector<uint8_t>& out) {
  while (v >= 0x80u) {
    out.push_back(uint8_t(v | 0x80u));
    v >>= 7;
  }
  out.push_back(uint8_t(v));
}

inline uint32_t get_varint(const uint8_t*& p) {
  uint32_t v = *p & 0x7fu;
  int shift = 7;
  while (*p++ & 0x80u) {
    v |= uint32_t(*p & 0x7fu) << shift;
    shift += 7;
  }
  return v;
}

}  // namespace

RowStore::RowStore(const std::string& path, int64_t block_bytes) : block_bytes_(block_bytes) {
  if (!path.empty()) file_ = std::make_unique<ScratchFile>(path, "the n-gram training matrix");
}

void RowStore::encode_row(const int32_t* ids, const float* values, int64_t nnz, std::vector<uint8_t>& out) {
  put_varint(uint32_t(nnz), out);
  uint32_t prev = 0;
  for (int64_t j = 0; j < nnz; ++j) {
    put_varint(uint32_t(ids[j]) - prev, out);
    prev = uint32_t(ids[j]);
    const uint16_t h = float_to_half(values[j]);
    out.push_back(uint8_t(h & 0xffu));
    out.push_back(uint8_t(h >> 8));
  }
}

void RowStore::append(const std::vector<uint8_t>& encoded, int64_t rows, int64_t nnz) {
  const uint8_t* p = encoded.data();
  int64_t seen_nnz = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* start = p;
    const uint32_t row_nnz = get_varint(p);
    for (uint32_t j = 0; j < row_nnz; ++j) {
      get_varint(p);
      p += 2;
    }
    pending_offsets_.push_back(uint32_t(pending_.size()));
    pending_.insert(pending_.end(), start, p);
    current_.rows += 1;
    current_.nnz += row_nnz;
    rows_ += 1;
    nnz_ += row_nnz;
    seen_nnz += row_nnz;
    if (int64_t(pending_.size()) >= block_bytes_) close_block();
  }
  if (seen_nnz != nnz || p != encoded.data() + encoded.size()) {
    throw RuntimeError("n-gram row store: the encoded rows do not match their counts");
  }
}

void RowStore::close_block() {
  if (current_.rows == 0) return;
  current_.offset = bytes_;
  current_.bytes = int64_t(pending_.size());
  if (file_) {
    file_->pwrite_all(pending_.data(), pending_.size(), current_.offset);
    pending_.clear();
  } else {
    memory_.push_back(std::move(pending_));
    pending_ = {};
  }
  bytes_ += current_.bytes;
  blocks_.push_back(current_);
  offsets_.push_back(std::move(pending_offsets_));
  pending_offsets_ = {};
  current_ = Block{};
  current_.first_row = rows_;
}

void RowStore::finish() {
  close_block();
  std::vector<uint8_t>().swap(pending_);
}

void RowStore::append_rows(size_t b, const char* need, Csr& out, std::vector<uint8_t>& buffer) const {
  const Block& blk = blocks_[b];
  const uint8_t* raw = nullptr;
  if (file_) {
    buffer.resize(size_t(blk.bytes));
    file_->pread_all(buffer.data(), buffer.size(), blk.offset);
    raw = buffer.data();
  } else {
    raw = memory_[b].data();
  }
  const std::vector<uint32_t>& offsets = offsets_[b];
  if (out.row_ptr.empty()) out.row_ptr.push_back(0);
  int64_t k = out.row_ptr.back();
  out.ids.resize(size_t(k + blk.nnz));
  out.values.resize(size_t(k + blk.nnz));
  int32_t* ids = out.ids.data();
  float* vals = out.values.data();
  for (int64_t r = 0; r < blk.rows; ++r) {
    if (need == nullptr || need[r]) {
      const uint8_t* p = raw + offsets[size_t(r)];
      const uint32_t nnz = get_varint(p);
      uint32_t id = 0;
      for (uint32_t j = 0; j < nnz; ++j, ++k) {
        id += get_varint(p);
        ids[k] = int32_t(id);
        vals[k] = half_to_float(uint16_t(p[0] | (p[1] << 8)));
        p += 2;
      }
    }
    out.row_ptr.push_back(k);
  }
  out.ids.resize(size_t(k));
  out.values.resize(size_t(k));
}

void RowStore::read(size_t b, Csr& out, std::vector<uint8_t>& buffer) const {
  out = Csr();
  append_rows(b, nullptr, out, buffer);
}

std::vector<std::vector<size_t>> batches_of(const RowStore& X, const std::vector<size_t>& order,
                                            int64_t batch_bytes) {
  std::vector<std::vector<size_t>> out;
  int64_t bytes = 0;
  for (const size_t b : order) {
    if (out.empty() || bytes >= batch_bytes) {
      out.emplace_back();
      bytes = 0;
    }
    out.back().push_back(b);
    bytes += X.blocks()[b].bytes;
  }
  return out;
}

SlabStore::SlabStore(const std::string& path, const std::vector<RowStore::Block>& blocks, int width) {
  int64_t total = 0;
  for (const auto& b : blocks) {
    offset_.push_back(total);
    count_.push_back(b.rows * width);
    total += b.rows * width;
  }
  if (!path.empty()) {
    file_ = std::make_unique<ScratchFile>(path, "the n-gram solver's state");
    file_->reserve_zeros(total * int64_t(sizeof(float)));
  } else {
    for (int64_t c : count_) memory_.emplace_back(size_t(c), 0.f);
  }
}

void SlabStore::load(size_t b, float* values) const {
  const size_t n = size_t(count_[b]);
  if (!file_) {
    std::memcpy(values, memory_[b].data(), n * sizeof(float));
    return;
  }
  file_->pread_all(values, n * sizeof(float), offset_[b] * int64_t(sizeof(float)));
}

void SlabStore::store(size_t b, const float* values) {
  const size_t n = size_t(count_[b]);
  if (!file_) {
    std::memcpy(memory_[b].data(), values, n * sizeof(float));
    return;
  }
  file_->pwrite_all(values, n * sizeof(float), offset_[b] * int64_t(sizeof(float)));
}

}  // namespace nlpc::models::ngram
