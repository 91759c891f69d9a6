#include <catch2/catch.hpp>

#include "../test_util.h"

using nlpc::test::run_nlpc;

TEST_CASE("nlpc --version reports nlpc, libtorch, BLAS and threads", "[cli]") {
  auto r = run_nlpc("--threads 1 --version");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("nlpc 0."));
  CHECK_THAT(r.out, Catch::Contains("libtorch 1."));
  CHECK_THAT(r.out, Catch::Contains("BLAS:"));
  CHECK_THAT(r.out, Catch::Contains("threads: 1"));
}

TEST_CASE("nlpc --help lists every subcommand", "[cli]") {
  auto r = run_nlpc("--help");
  REQUIRE(r.exit_code == 0);
  for (const char* c : {"tokenize", "train", "eval", "predict", "transcribe", "runs", "serve"}) {
    CHECK_THAT(r.out, Catch::Contains(c));
  }
}

TEST_CASE("usage errors exit 2", "[cli]") {
  CHECK(run_nlpc("--no-such-flag").exit_code == 2);
  CHECK(run_nlpc("--threads -3 --version").exit_code == 2);
  CHECK(run_nlpc("--log-level loud --version").exit_code == 2);
  CHECK(run_nlpc("").exit_code == 2);
}
