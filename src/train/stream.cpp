// Streamed training batches: shuffle buffer, windows of length-bucketed batches, resume by row
// positions (see nlpc/train/stream.h).
#include "nlpc/train/stream.h"

#include <algorithm>
#include <numeric>
#include <random>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "shuffle.h"

namespace nlpc::train {
namespace {

constexpr uint64_t kStreamBuffer = 11;  // streams of derive_seed, apart from batcher.cpp's
constexpr uint64_t kStreamDrain = 12;
constexpr uint64_t kStreamWindow = 13;
constexpr uint64_t kStreamChunks = 14;

nlohmann::json position_json(const io::ReadPosition& p) { return {p.offset, p.line, p.number}; }

io::ReadPosition position_from(const nlohmann::json& j, size_t at = 0) {
  return {j.at(at).get<int64_t>(), j.at(at + 1).get<int64_t>(), j.at(at + 2).get<int64_t>()};
}

}  // namespace

StreamBatcher::StreamBatcher(ExampleSource& source, BatchingOptions batching, uint64_t seed)
    : source_(source), opts_(batching), seed_(seed), size_(source.size()) {
  if (opts_.batch_size <= 0)
    throw UsageError("batch size must be positive, got " + std::to_string(opts_.batch_size));
  if (opts_.shuffle && opts_.shuffle_buffer < 1) {
    throw UsageError("data.shuffle_buffer must be >= 1 to stream the training data, got " +
                     std::to_string(opts_.shuffle_buffer));
  }
  if (size_ <= 0) throw InputError("no examples to batch: " + source_.name() + " has no training rows");
  window_batches_ = opts_.shuffle && opts_.bucket_window > 1 ? opts_.bucket_window : 1;
  chunks_ = source_.chunks();
  int64_t rows = 0;
  for (const auto& c : chunks_) {
    if (c.first_row != rows || c.rows < 0)
      throw RuntimeError("internal error: the chunks of " + source_.name() + " do not follow each other");
    rows += c.rows;
  }
  if (rows != size_ || chunks_.empty()) {
    throw RuntimeError("internal error: the chunks of " + source_.name() + " hold " + std::to_string(rows) +
                       " examples, the source " + std::to_string(size_));
  }
}

void StreamBatcher::seek_chunk(size_t k, int64_t rows_in) {
  chunk_ = k;
  chunk_read_ = rows_in;
  const auto& c = chunks_[chunk_order_[k]];
  source_.seek(c.start, c.first_row);
}

StreamBatcher::~StreamBatcher() = default;

int64_t StreamBatcher::batches_per_epoch() const {
  const int64_t bs = opts_.batch_size;
  return opts_.drop_last ? std::max<int64_t>(1, size_ / bs) : (size_ + bs - 1) / bs;
}

bool StreamBatcher::read_row(Held& out) {
  if (rows_read_ >= size_) return false;  // the first pass's count: a file that grew is read as it was
  while (chunk_read_ >= chunks_[chunk_order_[chunk_]].rows) seek_chunk(chunk_ + 1, 0);
  out.where = source_.position();
  if (!source_.next(out.example)) {
    throw InputError(source_.name(), 0, 0,
                     "the file has fewer training rows (" + std::to_string(rows_read_) +
                         ") than when training started (" + std::to_string(size_) +
                         "): it changed while training; start a new run");
  }
  if (out.example.ids.empty()) {
    throw InputError(source_.name(), out.where.line + 1, 0, "a training row has no tokens");
  }
  ++rows_read_;
  ++chunk_read_;
  return true;
}

void StreamBatcher::start_drain() {
  drained_ = true;
  std::mt19937_64 rng(derive_seed(seed_, kStreamDrain, static_cast<uint64_t>(epoch_)));
  fisher_yates(buffer_, rng);
}

bool StreamBatcher::take(Held& out) {
  if (!opts_.shuffle) return read_row(out);
  const size_t cap = static_cast<size_t>(opts_.shuffle_buffer);
  while (!drained_ && buffer_.size() < cap) {
    Held h;
    if (!read_row(h)) {
      start_drain();
      break;
    }
    buffer_.push_back(std::move(h));
  }
  if (!drained_) {
    Held h;
    if (read_row(h)) {
      // The slot for the rows_read_-th row of this epoch: a pure function of (seed, epoch, row).
      const uint64_t x = derive_seed(derive_seed(seed_, kStreamBuffer, static_cast<uint64_t>(epoch_)), 0,
                                     static_cast<uint64_t>(rows_read_));
      const auto j = static_cast<size_t>((static_cast<unsigned __int128>(x) * cap) >> 64);
      out = std::move(buffer_[j]);
      buffer_[j] = std::move(h);
      return true;
    }
    start_drain();
  }
  if (buffer_.empty()) return false;
  out = std::move(buffer_.back());
  buffer_.pop_back();
  return true;
}

void StreamBatcher::start_epoch(int64_t epoch) {
  epoch_ = epoch;
  rows_read_ = 0;
  drained_ = false;
  buffer_.clear();
  chunk_order_.resize(chunks_.size());
  std::iota(chunk_order_.begin(), chunk_order_.end(), size_t{0});
  if (opts_.shuffle) {
    std::mt19937_64 rng(derive_seed(seed_, kStreamChunks, static_cast<uint64_t>(epoch)));
    fisher_yates(chunk_order_, rng);
  }
  seek_chunk(0, 0);
  first_ = 0;
  window_.clear();
}

void StreamBatcher::make_window() {
  const int64_t first = first_ + static_cast<int64_t>(window_.size());
  window_start_.reader = source_.position();
  window_start_.rows_read = rows_read_;
  window_start_.chunk = chunk_;
  window_start_.chunk_read = chunk_read_;
  window_start_.drained = drained_;
  window_start_.buffer.clear();
  for (const Held& h : buffer_) window_start_.buffer.push_back(h.where);

  const int64_t bs = opts_.batch_size;
  std::vector<Example> ex;
  ex.reserve(static_cast<size_t>(window_batches_ * bs));
  Held h;
  while (static_cast<int64_t>(ex.size()) < window_batches_ * bs && take(h))
    ex.push_back(std::move(h.example));
  if (ex.empty()) {
    throw RuntimeError("internal error: the training stream ended before batch " + std::to_string(first + 1) +
                       " of epoch " + std::to_string(epoch_ + 1));
  }
  peak_held_ = std::max<int64_t>(peak_held_, static_cast<int64_t>(ex.size() + buffer_.size()));
  const bool bucketing = window_batches_ > 1;
  if (bucketing) {
    std::stable_sort(ex.begin(), ex.end(),
                     [](const Example& a, const Example& b) { return a.ids.size() < b.ids.size(); });
  }
  window_.clear();
  for (size_t start = 0; start < ex.size(); start += static_cast<size_t>(bs)) {
    const size_t end = std::min(ex.size(), start + static_cast<size_t>(bs));
    window_.emplace_back(std::make_move_iterator(ex.begin() + static_cast<std::ptrdiff_t>(start)),
                         std::make_move_iterator(ex.begin() + static_cast<std::ptrdiff_t>(end)));
  }
  const bool epoch_done = opts_.shuffle ? drained_ && buffer_.empty() : rows_read_ >= size_;
  if (opts_.drop_last && epoch_done && static_cast<int64_t>(window_.back().size()) < bs &&
      first + static_cast<int64_t>(window_.size()) > 1) {
    window_.pop_back();  // as Batcher::plan: the last partial batch, unless it is the only one
  }
  if (bucketing) {
    std::mt19937_64 rng(derive_seed(derive_seed(seed_, kStreamWindow, static_cast<uint64_t>(epoch_)), 0,
                                    static_cast<uint64_t>(first / window_batches_)));
    fisher_yates(window_, rng);
  }
  first_ = first;
}

const std::vector<Example>& StreamBatcher::batch(const DataPosition& pos) {
  const auto end = [&] { return first_ + static_cast<int64_t>(window_.size()); };
  if (pos.epoch == epoch_ && pos.batch >= first_ && pos.batch < end()) return window_[pos.batch - first_];
  if (pos.batch < 0 || pos.batch >= batches_per_epoch()) {
    throw RuntimeError("internal error: batch " + std::to_string(pos.batch) + " of an epoch of " +
                       std::to_string(batches_per_epoch()));
  }
  if (pos.epoch != epoch_ || pos.batch < end()) start_epoch(pos.epoch);  // else: the next window
  while (pos.batch >= end()) make_window();
  return window_[pos.batch - first_];
}

nlohmann::json StreamBatcher::state(const DataPosition& pos) const {
  nlohmann::json j = {{"epoch", pos.epoch}};
  if (pos.batch == 0) return j;  // the start of an epoch: nothing is held
  const int64_t end = first_ + static_cast<int64_t>(window_.size());
  if (pos.epoch != epoch_ || pos.batch <= first_ || pos.batch > end) {
    throw RuntimeError("internal error: no stream state for batch " + std::to_string(pos.batch) +
                       " of epoch " + std::to_string(pos.epoch + 1) + " (the stream is at batches " +
                       std::to_string(first_) + "-" + std::to_string(end) + " of epoch " +
                       std::to_string(epoch_ + 1) + ")");
  }
  nlohmann::json buffer = nlohmann::json::array();
  for (const auto& p : window_start_.buffer) {
    buffer.push_back(p.offset);
    buffer.push_back(p.line);
    buffer.push_back(p.number);
  }
  j["first_batch"] = first_;
  j["reader"] = position_json(window_start_.reader);
  j["rows_read"] = window_start_.rows_read;
  j["chunk"] = window_start_.chunk;
  j["chunk_rows_read"] = window_start_.chunk_read;
  j["drained"] = window_start_.drained;
  j["buffer"] = std::move(buffer);
  return j;
}

void StreamBatcher::restore(const DataPosition& pos, const nlohmann::json& state) {
  if (state.at("epoch").get<int64_t>() != pos.epoch) {
    throw UsageError("the resume state's stream position is for epoch " + state.at("epoch").dump() +
                     ", its data position for epoch " + std::to_string(pos.epoch));
  }
  start_epoch(pos.epoch);
  if (!state.contains("first_batch")) return;  // batch() starts the epoch
  const nlohmann::json& b = state.at("buffer");
  std::vector<io::ReadPosition> where(b.size() / 3);
  for (size_t i = 0; i < where.size(); ++i) where[i] = position_from(b, 3 * i);
  // Read the held rows in file order (one forward sweep), then put them back in their slots.
  std::vector<size_t> order(where.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t x, size_t y) { return where[x].offset < where[y].offset; });
  buffer_.assign(where.size(), Held{});
  for (size_t i : order) buffer_[i] = Held{source_.read_at(where[i]), where[i]};
  rows_read_ = state.at("rows_read").get<int64_t>();
  drained_ = state.at("drained").get<bool>();
  chunk_ = state.at("chunk").get<size_t>();
  chunk_read_ = state.at("chunk_rows_read").get<int64_t>();
  if (chunk_ >= chunks_.size())
    throw UsageError("the resume state's stream position names chunk " + std::to_string(chunk_) + " of " +
                     std::to_string(chunks_.size()));
  source_.seek(position_from(state.at("reader")), chunks_[chunk_order_[chunk_]].first_row + chunk_read_);
  first_ = state.at("first_batch").get<int64_t>();
  make_window();  // the window before pos, as it was made the first time
}

}  // namespace nlpc::train
