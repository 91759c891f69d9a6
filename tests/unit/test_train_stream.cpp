// [train] streamed training batches: shuffle buffer, windows, resume by row positions.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/train/stream.h"

using namespace nlpc::train;

namespace {

// n rows; row i's example has i + 1 as its tokens (1 + i % 13 of them) and label i. The row's
// "position" is its index, as a file reader's byte offset would be.
class CountingSource : public ExampleSource {
 public:
  // chunk > 0: the rows come in chunks of that many (as a file's first pass cuts it).
  explicit CountingSource(int64_t n, int64_t chunk = 0) : n_(n), chunk_(chunk) {}
  std::vector<Chunk> chunks() const override {
    if (chunk_ <= 0) return ExampleSource::chunks();
    std::vector<Chunk> out;
    for (int64_t i = 0; i < n_; i += chunk_) out.push_back(Chunk{{i, i + 1, i}, i, std::min(chunk_, n_ - i)});
    return out;
  }
  nlpc::io::ReadPosition position() const override { return {next_, next_ + 1, next_}; }
  void seek(const nlpc::io::ReadPosition& where, int64_t) override { next_ = where.offset; }
  nlpc::io::ReadPosition start() const override { return {0, 1, 0}; }
  bool next(Example& e) override {
    if (next_ >= n_) return false;
    e = make(next_++);
    return true;
  }
  Example read_at(const nlpc::io::ReadPosition& where) override {
    ++reads_at;
    return make(where.offset);
  }
  int64_t size() const override { return n_; }
  uint64_t fingerprint() const override { return static_cast<uint64_t>(n_); }
  std::string name() const override { return "counting"; }
  int64_t reads_at = 0;

 private:
  static Example make(int64_t i) {
    Example e;
    e.ids.assign(static_cast<size_t>(1 + i % 13), i + 1);
    e.label = i;
    return e;
  }
  int64_t n_;
  int64_t chunk_ = 0;
  int64_t next_ = 0;
};

std::vector<int64_t> labels_of(const std::vector<Example>& batch) {
  std::vector<int64_t> out;
  for (const auto& e : batch) out.push_back(e.label);
  return out;
}

std::vector<std::vector<int64_t>> epoch_batches(StreamBatcher& s, int64_t epoch) {
  std::vector<std::vector<int64_t>> out;
  for (int64_t b = 0; b < s.batches_per_epoch(); ++b) out.push_back(labels_of(s.batch({epoch, b})));
  return out;
}

BatchingOptions stream_options(int64_t batch, int64_t buffer, int64_t window) {
  BatchingOptions o;
  o.batch_size = batch;
  o.shuffle_buffer = buffer;
  o.bucket_window = window;
  return o;
}

}  // namespace

TEST_CASE("stream: every epoch gives every row once, in a seeded order of its own", "[train][stream]") {
  CountingSource src(1003), src2(1003);
  StreamBatcher s(src, stream_options(8, 100, 4), 42), same(src2, stream_options(8, 100, 4), 42);
  CHECK(s.batches_per_epoch() == 126);
  const auto e0 = epoch_batches(s, 0), e1 = epoch_batches(s, 1);
  CHECK(e0 == epoch_batches(same, 0));
  CHECK(e0 != e1);
  for (const auto& epoch : {e0, e1}) {
    std::multiset<int64_t> seen;
    for (const auto& b : epoch) seen.insert(b.begin(), b.end());
    CHECK(seen.size() == 1003);
    CHECK(std::set<int64_t>(seen.begin(), seen.end()).size() == 1003);
  }
  // Shuffled beyond the buffer's reach only by its mixing: the first window comes from about the
  // first buffer + window rows, not from the first 32 rows in order.
  std::vector<int64_t> first;
  for (int64_t b = 0; b < 4; ++b) first.insert(first.end(), e0[b].begin(), e0[b].end());
  CHECK(*std::max_element(first.begin(), first.end()) > 40);
  CHECK(*std::max_element(first.begin(), first.end()) < 100 + 32 + 1);
  // Bounded memory: the buffer plus one window.
  CHECK(s.peak_held() <= 100 + 4 * 8);
}

TEST_CASE("stream: batches are length-bucketed inside a window", "[train][stream]") {
  CountingSource src(2000);
  StreamBatcher s(src, stream_options(16, 500, 10), 1);
  int64_t spread = 0;
  for (int64_t b = 0; b < 40; ++b) {
    const auto& batch = s.batch({0, b});
    size_t lo = 100, hi = 0;
    for (const auto& e : batch) {
      lo = std::min(lo, e.ids.size());
      hi = std::max(hi, e.ids.size());
    }
    spread += static_cast<int64_t>(hi - lo);
  }
  // Without bucketing a batch of 16 spans nearly all 13 lengths; sorted windows of 160 span ~1-2.
  CHECK(spread < 40 * 3);
}

TEST_CASE("stream: state() and restore() continue at the same batch", "[train][stream]") {
  const std::vector<std::pair<BatchingOptions, int64_t>> settings = {{stream_options(8, 100, 4), 0},
                                                                     {stream_options(8, 50, 1), 0},
                                                                     {stream_options(7, 5000, 3), 0},
                                                                     {stream_options(8, 30, 4), 41},
                                                                     {stream_options(5, 20, 1), 7}};
  for (const auto& [o, chunk] : settings) {
    INFO("batch " << o.batch_size << ", buffer " << o.shuffle_buffer << ", window " << o.bucket_window
                  << ", chunks of " << chunk);
    CountingSource src(517, chunk);
    StreamBatcher s(src, o, 9);
    const int64_t per_epoch = s.batches_per_epoch();
    for (const DataPosition stop :
         {DataPosition{0, 1}, DataPosition{0, 4}, DataPosition{0, 5}, DataPosition{1, per_epoch - 1},
          DataPosition{1, 0}, DataPosition{2, 37}}) {
      INFO("stop at epoch " << stop.epoch << " batch " << stop.batch);
      CountingSource ref_src(517, chunk);
      StreamBatcher ref(ref_src, o, 9);
      // Train up to `stop`, keep the state, go on two more epochs' worth of batches.
      DataPosition p{0, 0};
      auto advance = [&](DataPosition q) {
        return q.batch + 1 < per_epoch ? DataPosition{q.epoch, q.batch + 1} : DataPosition{q.epoch + 1, 0};
      };
      while (!(p == stop)) {
        ref.batch(p);
        p = advance(p);
      }
      const nlohmann::json state = nlohmann::json::parse(ref.state(stop).dump());  // as saved to disk
      std::vector<std::vector<int64_t>> expect;
      for (int64_t k = 0; k < per_epoch + 3; ++k, p = advance(p)) expect.push_back(labels_of(ref.batch(p)));

      CountingSource resumed_src(517, chunk);
      StreamBatcher resumed(resumed_src, o, 9);
      resumed.restore(stop, state);
      p = stop;
      std::vector<std::vector<int64_t>> got;
      for (int64_t k = 0; k < per_epoch + 3; ++k, p = advance(p)) got.push_back(labels_of(resumed.batch(p)));
      CHECK(got == expect);
      // The held rows were read again one by one, never more than the buffer.
      CHECK(resumed_src.reads_at <= o.shuffle_buffer);
    }
  }
}

TEST_CASE("stream: file order without shuffling, drop_last, and a file that shrank", "[train][stream]") {
  CountingSource src(20);
  BatchingOptions o = stream_options(6, 100, 4);
  o.shuffle = false;
  StreamBatcher s(src, o, 3);
  CHECK(labels_of(s.batch({0, 0})) == std::vector<int64_t>{0, 1, 2, 3, 4, 5});
  CHECK(labels_of(s.batch({0, 3})) == std::vector<int64_t>{18, 19});
  o.shuffle = true;
  o.drop_last = true;
  CountingSource src2(20);
  StreamBatcher d(src2, o, 3);
  CHECK(d.batches_per_epoch() == 3);
  std::set<int64_t> seen;
  for (int64_t b = 0; b < 3; ++b) {
    CHECK(d.batch({0, b}).size() == 6);
    for (auto l : labels_of(d.batch({0, b}))) seen.insert(l);
  }
  CHECK(seen.size() == 18);

  // A source that says 30 rows but has 20: a clear error naming it, not a hang or a short epoch.
  struct Liar : CountingSource {
    Liar() : CountingSource(20) {}
    int64_t size() const override { return 30; }
  } liar;
  StreamBatcher l(liar, stream_options(6, 100, 4), 3);
  try {
    l.batch({0, 0});
    FAIL("no error");
  } catch (const nlpc::InputError& e) {
    CHECK_THAT(std::string(e.what()),
               Catch::Contains("counting") && Catch::Contains("changed while training"));
  }
}

TEST_CASE("stream: chunks are read in a seeded order, so a sorted file is mixed beyond the buffer",
          "[train][stream]") {
  // Rows sorted as a file sorted by label would be: the buffer alone (50) only mixes neighbours.
  CountingSource whole(2000), chunked(2000, 100);
  StreamBatcher a(whole, stream_options(10, 50, 1), 4), b(chunked, stream_options(10, 50, 1), 4);
  auto span = [](StreamBatcher& s) {
    int64_t lo = 1 << 30, hi = -1;
    for (int64_t k = 0; k < 20; ++k) {  // the first 200 examples
      for (int64_t l : labels_of(s.batch({0, k}))) {
        lo = std::min(lo, l);
        hi = std::max(hi, l);
      }
    }
    return hi - lo;
  };
  CHECK(span(a) < 300);  // the first rows of the file
  CHECK(span(b) > 500);  // rows of chunks from all over the file
  // Every row still once per epoch, and another chunk order in the next epoch.
  std::set<int64_t> seen;
  for (const auto& batch : epoch_batches(b, 1)) seen.insert(batch.begin(), batch.end());
  CHECK(seen.size() == 2000);
  CHECK(epoch_batches(b, 0) != epoch_batches(b, 1));
}
