// safetensors reader/writer: round trips and hostile files (each must end in a clear InputError).
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>

#include "nlpc/core/error.h"
#include "nlpc/io/safetensors.h"
#include "../test_util.h"
#include "nlpc/core/fs.h"

namespace st = nlpc::safetensors;
using nlpc::test::TempDir;

namespace {

// Writes <8-byte length><header><data> exactly as given (no validation).
std::string raw_file(const TempDir& dir, const std::string& header, const std::string& data,
                     const std::string& name = "t.safetensors", int64_t len_override = -1) {
  std::string path = dir.file(name);
  std::ofstream f(path, std::ios::binary);
  uint64_t n = len_override >= 0 ? static_cast<uint64_t>(len_override) : header.size();
  for (int i = 0; i < 8; ++i) f.put(static_cast<char>((n >> (8 * i)) & 0xff));
  f << header << data;
  return path;
}

std::string open_error(const std::string& path) {
  try {
    st::File::open(path);
  } catch (const nlpc::InputError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST_CASE("safetensors round trip of every dtype", "[safetensors]") {
  TempDir dir;
  std::vector<float> f32 = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  std::vector<double> f64 = {1.0, 2.0};
  std::vector<int64_t> i64 = {-5, 1LL << 40};
  std::vector<int32_t> i32 = {7};
  std::vector<int16_t> i16 = {-3, 4};
  std::vector<int8_t> i8 = {-1, 2, 3};
  std::vector<uint8_t> u8 = {255};
  std::vector<uint8_t> b = {1, 0};
  std::vector<uint16_t> f16 = {0x3c00};   // 1.0
  std::vector<uint16_t> bf16 = {0x3f80};  // 1.0
  std::vector<st::TensorView> views = {
      {"w", st::DType::F32, {2, 3}, f32.data(), f32.size() * 4},
      {"d", st::DType::F64, {2}, f64.data(), 16},
      {"l", st::DType::I64, {2}, i64.data(), 16},
      {"i", st::DType::I32, {}, i32.data(), 4},
      {"s", st::DType::I16, {2}, i16.data(), 4},
      {"c", st::DType::I8, {3}, i8.data(), 3},
      {"u", st::DType::U8, {1}, u8.data(), 1},
      {"b", st::DType::BOOL, {2}, b.data(), 2},
      {"h", st::DType::F16, {1}, f16.data(), 2},
      {"bf", st::DType::BF16, {1, 1}, bf16.data(), 2},
      {"empty", st::DType::F32, {0, 4}, nullptr, 0},
  };
  std::string path = dir.file("all.safetensors");
  st::write(path, views, {{"format", "pt"}});

  // Header is 8-byte aligned, as the reference writer does.
  std::ifstream in(path, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  CHECK(n % 8 == 0);

  auto f = st::File::open(path);
  REQUIRE(f->tensors().size() == views.size());
  CHECK(f->metadata().at("format") == "pt");
  for (const auto& v : views) {
    const st::TensorInfo* t = f->find(v.name);
    REQUIRE(t != nullptr);
    CHECK(t->dtype == v.dtype);
    CHECK(t->shape == v.shape);
    CHECK(t->end - t->begin == v.nbytes);
    if (v.nbytes) CHECK(std::memcmp(f->data(*t), v.data, v.nbytes) == 0);
  }
  CHECK(f->find("w")->numel() == 6);
  CHECK(f->find("i")->numel() == 1);
  CHECK(f->find("nope") == nullptr);
  // Sorted by name in the data buffer: "b" comes first at offset 0.
  CHECK(f->find("b")->begin == 0);
}

TEST_CASE("safetensors dtype names and sizes", "[safetensors]") {
  CHECK(std::string(st::dtype_name(st::DType::BF16)) == "BF16");
  CHECK(st::dtype_size(st::DType::I64) == 8);
  CHECK(st::parse_dtype("U8", "x") == st::DType::U8);
  CHECK_THROWS_WITH(st::parse_dtype("F8_E4M3", "x.safetensors"),
                    Catch::Contains("unsupported safetensors dtype 'F8_E4M3'") && Catch::Contains("BF16"));
}

TEST_CASE("safetensors writer rejects inconsistent views", "[safetensors]") {
  TempDir dir;
  float x[4] = {};
  CHECK_THROWS_WITH(st::write(dir.file("a"), {{"x", st::DType::F32, {2, 3}, x, 16}}),
                    Catch::Contains("has 16 bytes but shape [2, 3] x F32 needs 24"));
  CHECK_THROWS_WITH(st::write(dir.file("a"), {{"x", st::DType::F32, {1}, x, 4}, {"x", st::DType::F32, {1}, x, 4}}),
                    Catch::Contains("duplicate tensor name 'x'"));
  CHECK_FALSE(nlpc::file_exists(dir.file("a")));
}

TEST_CASE("safetensors hostile files end in clear errors", "[safetensors]") {
  TempDir dir;
  const std::string ok_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data8(8, '\0');
  REQUIRE_NOTHROW(st::File::open(raw_file(dir, ok_header, data8)));

  SECTION("missing file") {
    CHECK_THAT(open_error(dir.file("absent.safetensors")), Catch::Contains("cannot open"));
  }
  SECTION("shorter than the length prefix") {
    std::string p = dir.file("short");
    nlpc::test::write_file(p, "abc");
    CHECK_THAT(open_error(p), Catch::Contains("fewer than the 8-byte header length"));
  }
  SECTION("truncated data") {
    CHECK_THAT(open_error(raw_file(dir, ok_header, std::string(5, '\0'))),
               Catch::Contains("tensor 'a': data_offsets [0, 8] run past the data buffer (5 bytes"));
  }
  SECTION("header length beyond the file") {
    CHECK_THAT(open_error(raw_file(dir, ok_header, data8, "t", 4096)),
               Catch::Contains("header length 4096 runs past the end of the file"));
  }
  SECTION("oversized header length") {
    CHECK_THAT(open_error(raw_file(dir, ok_header, data8, "t", int64_t(1) << 40)),
               Catch::Contains("exceeds the 100 MB limit"));
  }
  SECTION("invalid JSON") {
    CHECK_THAT(open_error(raw_file(dir, R"({"a":{"dtype":"F32",)", data8)),
               Catch::Contains("header is not valid JSON"));
    CHECK_THAT(open_error(raw_file(dir, "[1,2]", "")), Catch::Contains("header must be a JSON object"));
  }
  SECTION("bad offsets") {
    CHECK_THAT(open_error(raw_file(dir, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", data8)),
               Catch::Contains("end 0 is before begin 8"));
    CHECK_THAT(open_error(raw_file(dir, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}})", data8)),
               Catch::Contains("data_offsets end must be a non-negative integer"));
    CHECK_THAT(open_error(raw_file(dir, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", data8)),
               Catch::Contains("data_offsets must be [begin, end]"));
    CHECK_THAT(open_error(raw_file(dir, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})", data8)),
               Catch::Contains("run past the data buffer"));
  }
  SECTION("overlapping tensors") {
    CHECK_THAT(open_error(raw_file(dir,
                                   R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                   R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                   data8)),
               Catch::Contains("tensors 'a' and 'b' overlap"));
  }
  SECTION("wrong dtype") {
    CHECK_THAT(open_error(raw_file(dir, R"({"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", data8)),
               Catch::Contains("unsupported safetensors dtype 'F33'"));
    CHECK_THAT(open_error(raw_file(dir, R"({"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", data8)),
               Catch::Contains("dtype must be a string"));
  }
  SECTION("shape x dtype does not match the byte length") {
    CHECK_THAT(open_error(raw_file(dir, R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", data8)),
               Catch::Contains("tensor 'a': shape [2] x F64 needs 16 bytes but data_offsets span 8 bytes"));
    CHECK_THAT(
        open_error(raw_file(dir, R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", data8)),
        Catch::Contains("more than 2^64"));
    CHECK_THAT(open_error(raw_file(dir, R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data8)),
               Catch::Contains("shape dimension must be a non-negative integer"));
  }
  SECTION("duplicate names") {
    CHECK_THAT(open_error(raw_file(dir,
                                   R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                   R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                   data8)),
               Catch::Contains("duplicate tensor name 'a'"));
  }
  SECTION("malformed entries and metadata") {
    CHECK_THAT(open_error(raw_file(dir, R"({"a":{"dtype":"F32","shape":[2]}})", data8)),
               Catch::Contains("missing \"data_offsets\""));
    CHECK_THAT(open_error(raw_file(dir, R"({"a":3})", data8)), Catch::Contains("expected an object"));
    CHECK_THAT(open_error(raw_file(dir, R"({"__metadata__":{"k":1}})", "")),
               Catch::Contains("__metadata__ value for 'k' must be a string"));
  }
}

TEST_CASE("safetensors fuzz: random corruptions never crash", "[safetensors]") {
  TempDir dir;
  float x[6] = {1, 2, 3, 4, 5, 6};
  std::string good = dir.file("good.safetensors");
  st::write(good, {{"x", st::DType::F32, {2, 3}, x, 24}, {"y", st::DType::F32, {0}, nullptr, 0}});
  const std::string bytes = nlpc::test::read_file(good);
  uint32_t seed = 12345;
  auto next = [&] { return seed = seed * 1664525u + 1013904223u; };
  int errors = 0, ok = 0;
  for (int i = 0; i < 300; ++i) {
    std::string b = bytes;
    if (i % 3 == 0) {
      b.resize(next() % b.size());  // truncation
    } else {
      for (int k = 0; k < 1 + i % 4; ++k) b[next() % b.size()] = static_cast<char>(next() & 0xff);
    }
    std::string p = dir.file("fuzz");
    nlpc::test::write_file(p, b);
    try {
      auto f = st::File::open(p);
      for (const auto& t : f->tensors()) {
        REQUIRE(t.end <= b.size());
        REQUIRE(static_cast<uint64_t>(t.numel()) * st::dtype_size(t.dtype) == t.end - t.begin);
      }
      ++ok;
    } catch (const nlpc::InputError&) {
      ++errors;
    }
  }
  CHECK(errors > 100);
  CHECK(errors + ok == 300);
}
