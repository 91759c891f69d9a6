// The n-gram baseline out of core: the compact row store, its scratch files, and training from
// blocks and from streamed texts giving the model of the in-memory path.
#include <catch2/catch.hpp>

#include <c10/util/Half.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "../../src/models/ngram/row_store.h"
#include "../test_util.h"
#include "nlpc/core/error.h"
#include "nlpc/models/ngram/linear.h"

using namespace nlpc;
using models::ngram::Csr;
using models::ngram::RowStore;

namespace {

// Random sparse rows with ascending ids below `features`.
Csr random_rows(int64_t n, int features, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Csr x;
  for (int64_t r = 0; r < n; ++r) {
    const int nnz = int(rng() % 40);
    std::vector<int32_t> ids;
    for (int j = 0; j < nnz; ++j) ids.push_back(int32_t(rng() % uint64_t(features)));
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (int32_t id : ids) {
      x.ids.push_back(id);
      x.values.push_back(float(rng() % 100000) / 50000.0f - 0.5f);
    }
    x.row_ptr.push_back(int64_t(x.ids.size()));
  }
  return x;
}

RowStore store_rows(const Csr& x, const std::string& path, int64_t block_bytes, int64_t rows_per_append) {
  RowStore store(path, block_bytes);
  std::vector<uint8_t> enc;
  for (int64_t r0 = 0; r0 < x.rows(); r0 += rows_per_append) {
    const int64_t r1 = std::min(x.rows(), r0 + rows_per_append);
    enc.clear();
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t s = x.row_ptr[size_t(r)];
      RowStore::encode_row(x.ids.data() + s, x.values.data() + s, x.row_ptr[size_t(r) + 1] - s, enc);
    }
    store.append(enc, r1 - r0, x.row_ptr[size_t(r1)] - x.row_ptr[size_t(r0)]);
  }
  store.finish();
  return store;
}

}  // namespace

TEST_CASE("n-gram store: binary16 conversion matches c10::Half", "[ngram]") {
  using models::ngram::float_to_half;
  using models::ngram::half_to_float;
  std::mt19937 rng(7);
  std::vector<float> xs = {
      0.f,  -0.f,    1.f,      0.1f,    65504.f, 65519.f, 65520.f,
      1e6f, 6.1e-5f, 5.96e-8f, 2.9e-8f, 3e-8f,   1e-10f,  std::numeric_limits<float>::infinity()};
  for (int i = 0; i < 200000; ++i) {
    uint32_t bits = rng();
    float f;
    std::memcpy(&f, &bits, 4);
    if (std::isnan(f)) continue;
    xs.push_back(f);
  }
  for (float f : xs) {
    const uint16_t mine = float_to_half(f);
    const uint16_t ref = c10::detail::fp16_ieee_from_fp32_value(f);
    INFO("value " << f);
    REQUIRE(mine == ref);
    REQUIRE(half_to_float(mine) == c10::detail::fp16_ieee_to_fp32_value(ref));
  }
  for (uint32_t h = 0; h < 65536; ++h) {
    if ((h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0) continue;  // NaN
    REQUIRE(float_to_half(half_to_float(uint16_t(h))) == h);
  }
}

TEST_CASE("n-gram store: rows come back from memory and from a scratch file, block by block", "[ngram]") {
  const Csr x = random_rows(500, 3000, 11);
  test::TempDir dir;
  for (const std::string& path : {std::string(), dir.file("m.tmp")}) {
    const RowStore store = store_rows(x, path, 700, 7);
    INFO("path '" << path << "'");
    CHECK(store.rows() == 500);
    CHECK(store.nnz() == int64_t(x.ids.size()));
    CHECK(store.blocks().size() > 10);
    CHECK(store.on_disk() == !path.empty());
    CHECK(std::filesystem::is_empty(dir.path()));  // unlinked at once
    int64_t row = 0;
    Csr got;
    std::vector<uint8_t> buf;
    for (size_t b = 0; b < store.blocks().size(); ++b) {
      REQUIRE(store.blocks()[b].first_row == row);
      store.read(b, got, buf);
      for (int64_t r = 0; r < got.rows(); ++r, ++row) {
        const int64_t s = x.row_ptr[size_t(row)], e = x.row_ptr[size_t(row) + 1];
        REQUIRE(got.row_ptr[size_t(r) + 1] - got.row_ptr[size_t(r)] == e - s);
        for (int64_t j = 0; j < e - s; ++j) {
          REQUIRE(got.ids[size_t(got.row_ptr[size_t(r)] + j)] == x.ids[size_t(s + j)]);
          REQUIRE(got.values[size_t(got.row_ptr[size_t(r)] + j)] ==
                  models::ngram::half_to_float(models::ngram::float_to_half(x.values[size_t(s + j)])));
        }
      }
      // Only the rows asked for are decoded.
      std::vector<char> need(size_t(got.rows()), 0);
      need[0] = 1;
      Csr some;
      store.append_rows(b, need.data(), some, buf);
      CHECK(some.rows() == got.rows());
      CHECK(some.row_ptr.back() == got.row_ptr[1]);
    }
    CHECK(row == 500);
  }
}

TEST_CASE("n-gram store: a full disk is a clear error naming the folder", "[ngram]") {
  if (!std::filesystem::exists("/dev/full")) return;
  const Csr x = random_rows(200, 1000, 3);
  try {
    store_rows(x, "/dev/full", 100, 10);
    FAIL("no error");
  } catch (const RuntimeError& e) {
    const std::string what = e.what();
    CHECK(what.find("n-gram training matrix") != std::string::npos);
    CHECK(what.find("in /dev") != std::string::npos);
    CHECK(what.find("disk is full") != std::string::npos);
  }
}

namespace {

// Texts of four topics with shared filler words, and some rows that differ only in filler.
models::NgramDataset store_topics(int n, uint64_t seed) {
  const std::vector<std::vector<std::string>> words = {{"kernel", "driver", "module", "firmware", "usb"},
                                                       {"game", "player", "level", "arcade", "puzzle"},
                                                       {"python", "library", "bindings", "module", "api"},
                                                       {"font", "truetype", "glyph", "typeface", "driver"}};
  const std::vector<std::string> filler = {"the", "a",   "package", "this", "provides",
                                           "for", "and", "of",      "with"};
  std::mt19937_64 rng(seed);
  models::NgramDataset d;
  for (int i = 0; i < n; ++i) {
    const int y = int(rng() % 4);
    std::string t;
    for (int j = 0; j < 10; ++j) {
      t += (rng() % 3 == 0 ? words[size_t(rng() % 4 == 0 ? rng() % 4 : uint64_t(y))][rng() % 5]
                           : filler[rng() % filler.size()]) +
           " ";
    }
    d.texts.push_back(t);
    d.labels.push_back(y);
  }
  return d;
}

}  // namespace

TEST_CASE("n-gram training from blocks and streamed texts gives the in-memory model", "[ngram]") {
  const std::vector<std::string> names = {"a", "b", "c", "d"};
  const models::NgramDataset train = store_topics(3000, 1), test = store_topics(500, 2);
  models::NgramFeatureOptions f;
  f.hash_bits = 16;
  f.min_df = 1;
  models::NgramTrainOptions o;
  o.progress = false;
  o.threads = 2;
  o.tol = 1e-3;
  o.max_iter = 1000;
  const auto ref = models::NgramModel::train(train, names, f, o).predict_proba(test.texts);
  test::TempDir dir;
  for (const int64_t batch_bytes : {int64_t(1) << 30, int64_t(20000)}) {
    models::NgramTrainOptions ob = o;
    ob.batch_bytes = batch_bytes;
    ob.scratch_dir = dir.path().string();
    models::NgramDataset streamed;
    streamed.labels = train.labels;
    int scans = 0;
    streamed.scan = [&](const std::function<void(std::string&)>& row) {
      ++scans;
      for (std::string t : train.texts) row(t);
    };
    const auto p = models::NgramModel::train(streamed, names, f, ob).predict_proba(test.texts);
    INFO("batch bytes " << batch_bytes);
    CHECK(scans == 2);
    double worst = 0;
    for (int64_t i = 0; i < p.rows * p.cols; ++i)
      worst = std::max(worst, double(std::fabs(p.data[size_t(i)] - ref.data[size_t(i)])));
    CHECK(worst < 2e-3);
    CHECK(std::filesystem::is_empty(dir.path()));
  }
}
