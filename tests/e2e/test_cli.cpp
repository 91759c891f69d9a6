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

TEST_CASE("libtorch's OpenMP threads wait passively unless the user chose otherwise", "[cli][threads]") {
  // Spinning OpenMP threads took the cores OpenBLAS needed (T5-tiny training 2.6x slower on 2 threads).
  CHECK_THAT(run_nlpc("--version", "", "env -u OMP_WAIT_POLICY").out, Catch::Contains("OpenMP wait policy PASSIVE"));
  CHECK_THAT(run_nlpc("--version", "", "OMP_WAIT_POLICY=ACTIVE").out, Catch::Contains("OpenMP wait policy ACTIVE"));
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

// Help and usage errors are answered by the executable alone, before libtorch's half of nlpc
// (libnlpc_torch.so) is loaded: with the library made unloadable they still work, and a command
// that needs it names the file it could not load.
TEST_CASE("help and usage errors answer without loading libtorch", "[cli]") {
  const std::string no_module = "NLPC_TORCH_MODULE=/nonexistent/libnlpc_torch.so";
  for (const char* args : {"--help", "train --help", "predict --help", "transcribe --help", "models convert --help"}) {
    auto r = nlpc::test::run_nlpc(args, "", no_module);
    INFO(args << "\n" << r.err);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("Exit codes"));
  }
  auto typo = nlpc::test::run_nlpc("trian --config x.json", "", no_module);
  CHECK(typo.exit_code == 2);
  CHECK_THAT(typo.err, Catch::Contains("did you mean"));
  auto bad_task = nlpc::test::run_nlpc("predict --task sumarize --model m --data d.csv", "", no_module);
  CHECK(bad_task.exit_code == 2);
  auto bad_flag = nlpc::test::run_nlpc("eval --confg x", "", no_module);
  CHECK(bad_flag.exit_code == 2);

  auto needs = nlpc::test::run_nlpc("--version", "", no_module);
  CHECK(needs.exit_code == 1);
  CHECK_THAT(needs.err, Catch::Contains("cannot load /nonexistent/libnlpc_torch.so"));
}
