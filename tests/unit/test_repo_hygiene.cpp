// The repository as a new user meets it: every docs/*.md that a document, config README or script
// mentions exists, and scripts and docs use paths relative to the repository (../shared/...), not
// the absolute paths of one machine (issue 20, point 8).
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "../test_util.h"

namespace fs = std::filesystem;

namespace {
// Text files under these folders of the source tree (and the top-level *.md).
std::vector<fs::path> repo_text_files() {
  const fs::path root = NLPC_SOURCE_DIR;
  std::vector<fs::path> out;
  for (const char* dir : {"docs", "scripts", "configs", "data"}) {
    for (auto it = fs::recursive_directory_iterator(root / dir); it != fs::recursive_directory_iterator(); ++it) {
      const std::string ext = it->path().extension().string();
      if (it->is_regular_file() && (ext == ".md" || ext == ".sh" || ext == ".py" || ext == ".json")) {
        out.push_back(it->path());
      }
    }
  }
  for (const auto& e : fs::directory_iterator(root)) {
    if (e.path().extension() == ".md") out.push_back(e.path());
  }
  return out;
}
}  // namespace

TEST_CASE("repository: every docs/*.md mentioned exists", "[hygiene]") {
  const fs::path root = NLPC_SOURCE_DIR;
  const std::regex doc_ref(R"(docs/([A-Za-z0-9_-]+\.md))");
  for (const auto& file : repo_text_files()) {
    const std::string text = nlpc::test::read_file(file.string());
    for (std::sregex_iterator it(text.begin(), text.end(), doc_ref), end; it != end; ++it) {
      INFO(file.string() << " mentions " << (*it)[0]);
      CHECK(fs::exists(root / "docs" / (*it)[1].str()));
    }
  }
}

TEST_CASE("repository: no absolute paths of one machine in scripts and docs", "[hygiene]") {
  const std::regex machine_path(R"((^|[\s`'"(=])/(work|home|root|Users)/[A-Za-z0-9_.-]+)");
  for (const auto& file : repo_text_files()) {
    const std::string text = nlpc::test::read_file(file.string());
    std::smatch m;
    INFO(file.string());
    CHECK_FALSE(std::regex_search(text, m, machine_path));
  }
}
