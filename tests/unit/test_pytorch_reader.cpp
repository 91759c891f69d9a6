// nlpc's own PyTorch checkpoint reader (issue 15): zip and legacy containers, the restricted
// unpickler, shared storages and views, fp16/bf16, sharded .bin, and hostile files. Fixtures are
// written by scripts/ref/make_bin_fixtures.py (Debian's python3-torch) from the safetensors fixtures.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <filesystem>

#include "../test_util.h"
#include "nlpc/core/error.h"
#include "nlpc/io/pickle.h"
#include "nlpc/io/torch_checkpoint.h"
#include "nlpc/models/checkpoint.h"
#include "nlpc/models/hf_keys.h"

namespace m = nlpc::models;
using nlpc::test::fixture;
using nlpc::test::TempDir;

namespace {

const char* kMarker = "/tmp/nlpc-pickle-marker-must-not-exist";

m::StateDict tiny_bert() { return m::read_safetensors(fixture("models/tiny-bert/model.safetensors")); }

std::string error_of(const std::string& path) {
  try {
    m::load_checkpoint(path);
  } catch (const nlpc::InputError& e) {
    return e.what();
  }
  return "";
}

void check_same(const m::StateDict& got, const m::StateDict& want, double tol = 0) {
  REQUIRE(got.size() == want.size());
  for (const auto& [k, t] : want) {
    INFO(k);
    REQUIRE(got.count(k));
    REQUIRE(got.at(k).sizes() == t.sizes());
    CHECK((got.at(k).to(torch::kFloat) - t.to(torch::kFloat)).abs().max().item<double>() <= tol);
  }
}

}  // namespace

TEST_CASE("pytorch_model.bin: zip, legacy, views, sharded read the safetensors weights exactly", "[pytorch]") {
  const auto want = tiny_bert();
  check_same(m::load_checkpoint(fixture("bin/bert-zip")), want);
  check_same(m::load_checkpoint(fixture("bin/bert-zip/pytorch_model.bin")), want);
  check_same(m::load_checkpoint(fixture("bin/bert-views")), want);  // slices of fused storages, transposed views
  check_same(m::load_checkpoint(fixture("bin/bert-sharded")), want);
  check_same(m::load_checkpoint(fixture("bin/bert-sharded/pytorch_model.bin.index.json")), want);
  // legacy format with TF-era names and a position_ids buffer: raw keys as stored ...
  auto old = m::load_checkpoint(fixture("bin/bert-legacy-old-names"));
  CHECK(old.count("bert.embeddings.LayerNorm.gamma"));
  CHECK(old.at("bert.embeddings.position_ids").scalar_type() == torch::kLong);
  // ... and after transformers' fix-ups, the same tensors
  std::set<std::string> expected;
  for (const auto& kv : want) expected.insert(kv.first);
  m::KeyReport r;
  check_same(m::adapt_hf_keys(old, "bert", expected, &r), want);
  CHECK(r.renamed == 10);
  CHECK(r.dropped == std::vector<std::string>{"bert.embeddings.position_ids"});
  // the file's own order and format
  auto ck = nlpc::pytorch::Checkpoint::open(fixture("bin/bert-legacy-old-names/pytorch_model.bin"));
  CHECK(std::string(ck->format()) == "legacy");
  CHECK(nlpc::pytorch::Checkpoint::open(fixture("bin/bert-views/pytorch_model.bin"))->storages().size() <
        want.size());  // q/k/v share one storage per layer
}

TEST_CASE("pytorch_model.bin: fp16 and bf16 weights, converted or kept", "[pytorch]") {
  const auto want = tiny_bert();
  m::StateDict half, bf16;
  for (const auto& [k, t] : want) {
    half[k] = t.to(torch::kHalf).to(torch::kFloat);
    bf16[k] = t.to(torch::kBFloat16).to(torch::kFloat);
  }
  check_same(m::load_checkpoint(fixture("bin/bert-fp16")), half);
  check_same(m::load_checkpoint(fixture("bin/bert-bf16-legacy")), bf16);
  auto kept = m::load_checkpoint(fixture("bin/bert-fp16"), m::kKeepDtype);
  CHECK(kept.at("classifier.weight").scalar_type() == torch::kHalf);
  CHECK(m::load_checkpoint(fixture("bin/bert-bf16-legacy"), m::kKeepDtype).at("classifier.weight").scalar_type() ==
        torch::kBFloat16);
  CHECK(m::load_checkpoint(fixture("bin/bert-fp16"), torch::kHalf).at("classifier.weight").scalar_type() == torch::kHalf);
}

TEST_CASE("pytorch_model.bin: tied weights saved once come out under every name", "[pytorch]") {
  auto w = m::load_checkpoint(fixture("bin/bert-pretraining"));
  CHECK(torch::equal(w.at("cls.predictions.decoder.weight"), w.at("bert.embeddings.word_embeddings.weight")));
  auto t5 = m::load_checkpoint(fixture("bin/t5-v1.0"));
  CHECK(torch::equal(t5.at("lm_head.weight"), t5.at("shared.weight")));
  CHECK(torch::equal(t5.at("encoder.embed_tokens.weight"), t5.at("shared.weight")));
  // independent copies: changing one does not change the other
  w.at("cls.predictions.decoder.weight").zero_();
  CHECK(w.at("bert.embeddings.word_embeddings.weight").abs().sum().item<double>() > 0);
}

TEST_CASE("pytorch_model.bin: files written by the old torch.save fixtures load", "[pytorch]") {
  // torch.save(module.state_dict()): an OrderedDict with a _metadata attribute (BUILD)
  auto lin = m::load_checkpoint(fixture("models/linear-state-dict.bin"));
  CHECK(lin.size() == 2);
  check_same(m::load_checkpoint(fixture("models/tiny-distilbert.bin")),
             m::read_safetensors(fixture("models/tiny-distilbert/model.safetensors")));
}

TEST_CASE("pytorch_model.bin: hostile files are refused with the file named, nothing runs", "[pytorch]") {
  std::filesystem::remove(kMarker);
  struct Case {
    const char* file;
    const char* says;
  };
  const Case cases[] = {
      {"truncated-zip.bin", "truncated"},
      {"short-record.bin", "shorter than its storage"},
      {"offset-beyond-record.bin", "reaches element 1005 of storage '0', which has 6 elements"},
      {"numel-overflow.bin", "overflows"},
      {"storage-numel-overflow.bin", "shorter than its storage"},
      {"memo-nothing.bin", "memo reference 7 refers to nothing"},
      {"big-endian.bin", "little-endian checkpoints only"},
      {"deflate.bin", "is compressed (method 8, deflate)"},
      {"foreign-global.bin", "refusing global 'posix.system'"},
      {"builtins-eval.bin", "refusing global 'builtins.eval'"},
      {"legacy-truncated.bin", "truncated"},
      {"legacy-foreign-global.bin", "refusing global 'posix.system'"},
  };
  for (const auto& c : cases) {
    const std::string path = fixture(std::string("bin/hostile/") + c.file);
    INFO(c.file);
    const std::string err = error_of(path);
    CHECK_THAT(err, Catch::Contains(path));
    CHECK_THAT(err, Catch::Contains(c.says));
  }
  CHECK_FALSE(std::filesystem::exists(kMarker));
  CHECK(m::load_checkpoint(fixture("bin/hostile/ok.bin")).at("w").sizes() == torch::IntArrayRef({2, 3}));
  CHECK(m::load_checkpoint(fixture("bin/hostile/legacy-ok.bin")).at("w")[1][2].item<float>() == 5.0f);
  TempDir dir;
  nlpc::test::write_file(dir.file("empty.bin"), "");
  CHECK_THAT(error_of(dir.file("empty.bin")), Catch::Contains("empty file"));
  nlpc::test::write_file(dir.file("text.bin"), "version https://git-lfs.github.com/spec/v1\n");
  CHECK_THAT(error_of(dir.file("text.bin")), Catch::Contains("not a PyTorch checkpoint"));
  nlpc::test::write_file(dir.file("dict.bin"), std::string("\x80\x02}q\x00.", 6));  // a pickle, no magic
  CHECK_THAT(error_of(dir.file("dict.bin")), Catch::Contains("magic number"));
}

TEST_CASE("pytorch_model.bin fuzz: random corruptions never crash", "[pytorch]") {
  TempDir dir;
  for (const char* src : {"bin/bert-zip/pytorch_model.bin", "bin/bert-legacy-old-names/pytorch_model.bin"}) {
    const std::string bytes = nlpc::test::read_file(fixture(src));
    uint32_t seed = 777;
    auto next = [&] { return seed = seed * 1664525u + 1013904223u; };
    int errors = 0, ok = 0;
    for (int i = 0; i < 200; ++i) {
      std::string b = bytes;
      if (i % 4 == 0) {
        b.resize(next() % b.size());
      } else {
        // corrupt the pickle and directory regions more often than tensor bytes
        const size_t region = i % 2 ? b.size() : std::min<size_t>(b.size(), 2048);
        for (int k = 0; k < 1 + i % 5; ++k) b[(i % 3 ? b.size() - 1 - next() % region : next() % region)] ^= static_cast<char>(1 + next() % 255);
      }
      const std::string p = dir.file("fuzz.bin");
      nlpc::test::write_file(p, b);
      try {
        m::load_checkpoint(p);
        ++ok;
      } catch (const nlpc::InputError&) {
        ++errors;
      }
    }
    INFO(src);
    CHECK(errors > 50);
    CHECK(errors + ok == 200);
  }
}

TEST_CASE("restricted unpickler: deep nesting and opcode limits", "[pytorch]") {
  namespace pk = nlpc::pickle;
  // 300k nested lists: built and destroyed without recursion
  std::string deep = "\x80\x02";
  const int n = 300000;
  deep += std::string(n, ']');
  deep += std::string(n - 1, 'a');
  deep += '.';
  {
    pk::Unpickler u(reinterpret_cast<const uint8_t*>(deep.data()), deep.size(), "deep.pkl");
    auto v = u.load();
    CHECK(v->kind == pk::Value::Kind::List);
  }
  auto fails = [](const std::string& bytes) {
    pk::Unpickler u(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "x.pkl");
    try {
      u.load();
    } catch (const nlpc::InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(fails(std::string("\x80\x02", 2) + "a."), Catch::Contains("stack underflow"));
  CHECK_THAT(fails("(N"), Catch::Contains("truncated"));
  CHECK_THAT(fails(std::string("\x80\x02X\xff\xff\xff\x7f", 7)), Catch::Contains("only 0 are left"));
  CHECK_THAT(fails(std::string("\x80\x02\x92.", 4)), Catch::Contains("NEWOBJ_EX"));
  CHECK_THAT(fails("cos\nsystem\n."), Catch::Contains("refusing global 'os.system'"));
  CHECK_THAT(fails(std::string("\x80\x02") + "ctorch._utils\n_rebuild_tensor_v2\n)R."),
             Catch::Contains("_rebuild_tensor_v2 with 0 arguments"));
  CHECK_THAT(fails(std::string("\x80\x02NQ.", 5)), Catch::Contains("persistent id"));
  CHECK_THAT(fails("\x80\x02(."), Catch::Contains("unclosed MARK"));
}
