#include <catch2/catch.hpp>

#include "nlpc/core/error.h"
#include "nlpc/core/progress.h"

TEST_CASE("InputError formats file:line:column", "[core]") {
  nlpc::InputError e("a.csv", 3, 7, "expected a closing quote");
  CHECK(std::string(e.what()) == "a.csv:3:7: expected a closing quote");
  CHECK(e.exit_code() == 2);
  CHECK(e.line() == 3);
  CHECK(e.column() == 7);
  nlpc::InputError e2("b.csv", 0, 0, "empty file");
  CHECK(std::string(e2.what()) == "b.csv: empty file");
}

TEST_CASE("progress durations and plain lines", "[core]") {
  CHECK(nlpc::ProgressBar::format_duration(5) == "5s");
  CHECK(nlpc::ProgressBar::format_duration(185) == "3m05s");
  CHECK(nlpc::ProgressBar::format_duration(3720) == "1h02m");
  nlpc::ProgressBar::set_mode(nlpc::ProgressBar::Mode::kPlain);
  nlpc::ProgressBar bar("predict", 200, "rows");
  bar.update(50);
  auto line = bar.render_line(10.0);
  CHECK_THAT(line, Catch::Contains("50/200 rows"));
  CHECK_THAT(line, Catch::Contains("5.0 rows/s"));
  CHECK_THAT(line, Catch::Contains("ETA 30s"));
  nlpc::ProgressBar::set_mode(nlpc::ProgressBar::Mode::kAuto);
}

#include <filesystem>

#include "../test_util.h"
#include "nlpc/core/fs.h"

TEST_CASE("AtomicFile renames only on commit", "[core]") {
  nlpc::test::TempDir dir;
  const std::string path = dir.file("sub/out.txt");
  {
    nlpc::AtomicFile f(path);
    f.write("half");
    f.flush();
    CHECK_FALSE(std::filesystem::exists(path));
    CHECK(std::filesystem::exists(f.temp_path()));
  }  // destroyed without commit: temporary removed, nothing at path
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK(std::filesystem::is_empty(dir.path() / "sub"));
  nlpc::write_file_atomic(path, "complete");
  CHECK(nlpc::test::read_file(path) == "complete");
}
