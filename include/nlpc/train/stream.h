#pragma once
// Streamed training data: examples read from a file while training goes (a task's ExampleSource),
// shuffled through a seeded buffer and length-bucketed inside windows, so that a training file of
// any size trains in bounded memory (the buffer plus one window of batches).
//
// Each epoch reads the file once:
//  - Chunks: the first pass cut the file into runs of consecutive rows (about 1 MiB each for files;
//    ExampleSource::chunks); each epoch reads them in a seeded order of its own, as Hugging Face's
//    IterableDataset shuffles its shards, so that a file sorted by label or date is mixed beyond
//    the buffer's reach.
//  - Shuffle buffer (tf.data's and Hugging Face IterableDataset's): the first `shuffle_buffer`
//    examples fill it; then each new example takes the place of a randomly chosen held one, which
//    goes on to training; at the end of the file the held ones follow in a random order. The
//    random choice for the k-th example read in epoch e is a pure function of (seed, e, k).
//  - Windows of `bucket_window` batches: the window's examples are sorted by length (less padding),
//    cut into batches, and the batches are shuffled inside the window. Without bucketing a window is
//    one batch.
//  - With batching.shuffle false the examples follow the file order (no buffer).
//
// Resume: state(pos) describes the stream at the start of the window of `pos` by row positions
// (where the source's next row starts, and where each held example's row starts), not by the
// examples; restore() reads those rows again and rebuilds the window, so a resumed run trains on
// the same batches in the same order as an uninterrupted one.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "nlpc/io/input.h"
#include "nlpc/train/batch.h"

namespace nlpc::train {

// The rows of a training file as examples (tokenization and labels are the task's).
class ExampleSource {
 public:
  // A run of consecutive rows: where its reading starts, the examples before it, its examples.
  struct Chunk {
    io::ReadPosition start;
    int64_t first_row = 0;
    int64_t rows = 0;
  };
  virtual ~ExampleSource() = default;
  // The chunks in file order, covering every example once; by default one: the whole file.
  virtual std::vector<Chunk> chunks() const { return {Chunk{start(), 0, size()}}; }
  // Where the next row's reading starts, and back there (`rows_before`: examples given before it).
  virtual io::ReadPosition position() const = 0;
  virtual void seek(const io::ReadPosition& where, int64_t rows_before) = 0;
  // The position of the first row (position() right after opening).
  virtual io::ReadPosition start() const = 0;
  // The next example; false after the last.
  virtual bool next(Example& example) = 0;
  // The example whose row's reading starts at `where` (a position() taken before a next()).
  virtual Example read_at(const io::ReadPosition& where) = 0;
  // Examples in one pass (known from a first pass over the file) and a fingerprint of the data.
  virtual int64_t size() const = 0;
  virtual uint64_t fingerprint() const = 0;
  virtual std::string name() const = 0;  // the file, for messages
};

class StreamBatcher {
 public:
  // batching.shuffle_buffer >= 1 examples are held for shuffling. Throws UsageError for bad sizes.
  StreamBatcher(ExampleSource& source, BatchingOptions batching, uint64_t seed);
  ~StreamBatcher();
  int64_t batches_per_epoch() const;
  int64_t num_examples() const { return size_; }
  uint64_t data_fingerprint() const { return source_.fingerprint(); }

  // The examples of batch `pos`, valid until the next call. Training asks for consecutive batches;
  // any other position is reached by reading the epoch from its start (restore() is the fast way).
  const std::vector<Example>& batch(const DataPosition& pos);
  // What restore() needs to continue at `pos`, the next batch to train on (the last batch handed
  // out must be pos.batch - 1, or pos be the start of an epoch).
  nlohmann::json state(const DataPosition& pos) const;
  void restore(const DataPosition& pos, const nlohmann::json& state);

  // Peak examples held at once (buffer + window), for tests and logs.
  int64_t peak_held() const { return peak_held_; }

 private:
  struct Held {
    Example example;
    io::ReadPosition where;
  };
  bool read_row(Held& out);
  void seek_chunk(size_t k, int64_t rows_in);
  bool take(Held& out);
  void start_epoch(int64_t epoch);
  void make_window();
  void start_drain();

  ExampleSource& source_;
  BatchingOptions opts_;
  uint64_t seed_;
  int64_t size_ = 0;
  int64_t window_batches_ = 1;  // batches per window

  // the stream
  int64_t epoch_ = -1;
  int64_t rows_read_ = 0;  // examples read from the source this epoch
  bool drained_ = false;   // the source is exhausted; the buffer empties in its shuffled order
  std::vector<Held> buffer_;
  std::vector<ExampleSource::Chunk> chunks_;
  std::vector<size_t> chunk_order_;  // this epoch's order of the chunks
  size_t chunk_ = 0;                 // index into chunk_order_ of the chunk being read
  int64_t chunk_read_ = 0;           // examples read from it

  // the current window: batches [first_, first_ + window_.size()) of epoch_
  int64_t first_ = 0;
  std::vector<std::vector<Example>> window_;
  struct Cursor {
    io::ReadPosition reader;
    int64_t rows_read = 0;
    size_t chunk = 0;
    int64_t chunk_read = 0;
    bool drained = false;
    std::vector<io::ReadPosition> buffer;
  } window_start_;  // the stream before the current window was made
  int64_t peak_held_ = 0;
};

}  // namespace nlpc::train
