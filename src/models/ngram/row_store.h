#pragma once
// Internal to the n-gram baseline: the training matrix in a compact form, in memory or in a scratch
// file, read back one block at a time; and per-block float slabs (the SVM's dual variables) stored
// the same way. With a scratch file, what the solver reads lives in the page cache, not in the
// process: peak memory does not grow with the number of rows.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "features.h"

namespace nlpc::models::ngram {

// IEEE 754 binary16 <-> binary32 (round to nearest, ties to even; overflow to infinity).
uint16_t float_to_half(float f);
float half_to_float(uint16_t h);

// A file opened for reading and writing and unlinked at once: a killed process leaves nothing
// behind, so nothing half-written is ever read by a later run. `what` names the contents in errors.
// Write errors (disk full, ...) are RuntimeErrors naming the folder and the file.
class ScratchFile {
 public:
  ScratchFile(const std::string& path, std::string what);
  ~ScratchFile();
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  void pwrite_all(const void* data, size_t n, int64_t offset);
  void pread_all(void* data, size_t n, int64_t offset) const;
  // Reserves `n` bytes of zeros (fails early, with the disk-full error, when they do not fit).
  void reserve_zeros(int64_t n);

 private:
  [[noreturn]] void fail(const std::string& op, int err) const;
  std::string path_, what_;
  int fd_ = -1;
};

// Rows of (feature id, value) pairs in blocks of about `block_bytes` (small: readers gather
// several blocks, picked at random, into one batch). Per row: the number of
// non-zeros (LEB128), then per non-zero the id delta (LEB128, ids ascending) and the value as a
// binary16 (2 bytes): about 4 bytes per non-zero for word n-grams. An empty `path` keeps the blocks
// in memory; else they go to a ScratchFile there.
class RowStore {
 public:
  struct Block {
    int64_t first_row = 0, rows = 0, nnz = 0, offset = 0, bytes = 0;
  };

  explicit RowStore(const std::string& path = "", int64_t block_bytes = int64_t(64) << 10);

  // Appends the encoding of one row to `out` (ids ascending).
  static void encode_row(const int32_t* ids, const float* values, int64_t nnz, std::vector<uint8_t>& out);
  // Appends whole encoded rows (from encode_row); blocks end between rows.
  void append(const std::vector<uint8_t>& encoded, int64_t rows, int64_t nnz);
  // Ends the last block; no append after it.
  void finish();

  int64_t rows() const { return rows_; }
  int64_t nnz() const { return nnz_; }
  int64_t bytes() const { return bytes_; }
  bool on_disk() const { return file_ != nullptr; }
  const std::vector<Block>& blocks() const { return blocks_; }
  // Decodes block b into `out` (row_ptr from 0); `buffer` holds the raw bytes (reused).
  void read(size_t b, Csr& out, std::vector<uint8_t>& buffer) const;
  // The rows of block b appended to `out`: those with need[r] != 0 decoded, the others left
  // empty (need null: all). `buffer` holds the raw bytes when they come from the file.
  void append_rows(size_t b, const char* need, Csr& out, std::vector<uint8_t>& buffer) const;

 private:
  void close_block();
  std::unique_ptr<ScratchFile> file_;
  int64_t block_bytes_;
  std::vector<std::vector<uint8_t>> memory_;  // the blocks, without a file
  std::vector<uint8_t> pending_;              // the block being filled
  Block current_;
  std::vector<Block> blocks_;
  std::vector<std::vector<uint32_t>> offsets_;  // per block: where each row starts in it
  std::vector<uint32_t> pending_offsets_;
  int64_t rows_ = 0, nnz_ = 0, bytes_ = 0;
};

// Splits `order` (block indices, in the order to read them) into consecutive groups of about
// `batch_bytes` encoded bytes each.
std::vector<std::vector<size_t>> batches_of(const RowStore& X, const std::vector<size_t>& order,
                                            int64_t batch_bytes);

// `width` floats per row of each block of a RowStore (row-major inside a block), zero at the
// start. In memory or in a ScratchFile.
class SlabStore {
 public:
  SlabStore(const std::string& path, const std::vector<RowStore::Block>& blocks, int width);
  // The values of block b's rows, copied to / from `values` (rows * width floats).
  void load(size_t b, float* values) const;
  void store(size_t b, const float* values);

 private:
  std::unique_ptr<ScratchFile> file_;
  std::vector<std::vector<float>> memory_;
  std::vector<int64_t> offset_, count_;
};

}  // namespace nlpc::models::ngram
