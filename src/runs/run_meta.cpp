// Facts recorded with a run: ids, generated names, git commit, command line; key validation and
// config flattening.

#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "nlpc/core/error.h"
#include "nlpc/core/strings.h"
#include "nlpc/runs/run.h"

namespace nlpc::runs {
namespace fs = std::filesystem;
namespace {

// Word lists for generated run names (MLflow style "adjective-animal-NNN"; our own words).
constexpr std::array<const char*, 48> kAdjectives = {
    "agile",  "amber",  "bold",   "brave",  "bright", "calm",   "clever", "cosmic", "crisp",  "daring",
    "eager",  "fair",   "fast",   "fierce", "gentle", "glad",   "golden", "grand",  "happy",  "honest",
    "humble", "jolly",  "keen",   "kind",   "lively", "lucky",  "merry",  "mighty", "nimble", "noble",
    "patient", "polite", "proud", "quick",  "quiet",  "rapid",  "rare",   "shy",    "silent", "smart",
    "steady", "swift",  "tidy",   "vast",   "warm",   "wise",   "witty",  "zesty"};
constexpr std::array<const char*, 48> kAnimals = {
    "ant",    "badger", "bat",    "bear",   "bee",    "bison",  "boar",   "carp",   "cat",    "crab",
    "crane",  "crow",   "deer",   "dove",   "duck",   "eagle",  "eel",    "elk",    "finch",  "fox",
    "frog",   "gecko",  "goat",   "hare",   "hawk",   "heron",  "ibis",   "koala",  "lark",   "lemur",
    "lion",   "lynx",   "mole",   "moose",  "newt",   "otter",  "owl",    "panda",  "quail",  "raven",
    "seal",   "shrew",  "skunk",  "snail",  "swan",   "tiger",  "wolf",   "yak"};

// Fresh randomness on each call (no seeded generator state that a fork() would duplicate).
uint64_t random_u64() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}


std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return "";
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool is_hex40(const std::string& s) {
  if (s.size() != 40) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Resolves "refs/heads/x" in a git dir: loose ref file, then packed-refs.
std::optional<std::string> resolve_ref(const fs::path& git_dir, const fs::path& common_dir,
                                       const std::string& ref) {
  for (const fs::path& d : {git_dir, common_dir}) {
    std::string v = trim(read_text(d / ref));
    if (is_hex40(v)) return v;
  }
  std::istringstream packed(read_text(common_dir / "packed-refs"));
  std::string line;
  while (std::getline(packed, line)) {
    if (line.size() > 41 && line[40] == ' ' && trim(line.substr(41)) == ref && is_hex40(line.substr(0, 40))) {
      return line.substr(0, 40);
    }
  }
  return std::nullopt;
}

}  // namespace

std::string new_run_id() {
  static const char* hex = "0123456789abcdef";
  std::string id(32, '0');
  uint64_t a = random_u64(), b = random_u64();
  for (int i = 0; i < 16; ++i) {
    id[i] = hex[(a >> (4 * i)) & 0xf];
    id[16 + i] = hex[(b >> (4 * i)) & 0xf];
  }
  return id;
}

std::string random_run_name() {
  uint64_t r = random_u64();
  char num[8];
  std::snprintf(num, sizeof(num), "%03d", static_cast<int>(r % 1000));
  r /= 1000;
  const char* adjective = kAdjectives[r % kAdjectives.size()];
  r /= kAdjectives.size();
  return std::string(adjective) + "-" + kAnimals[r % kAnimals.size()] + "-" + num;
}

std::optional<std::string> git_commit(const std::string& dir) {
  std::error_code ec;
  fs::path p = fs::absolute(dir, ec);
  if (ec) return std::nullopt;
  for (; !p.empty(); p = p.parent_path()) {
    fs::path dot_git = p / ".git";
    fs::path git_dir;
    if (fs::is_directory(dot_git, ec)) {
      git_dir = dot_git;
    } else if (fs::is_regular_file(dot_git, ec)) {
      // Worktrees and submodules: ".git" is a file "gitdir: <path>".
      std::string t = trim(read_text(dot_git));
      if (t.rfind("gitdir:", 0) != 0) return std::nullopt;
      git_dir = trim(t.substr(7));
      if (git_dir.is_relative()) git_dir = p / git_dir;
    }
    if (!git_dir.empty()) {
      fs::path common = git_dir;
      std::string c = trim(read_text(git_dir / "commondir"));
      if (!c.empty()) common = fs::path(c).is_relative() ? git_dir / c : fs::path(c);
      std::string head = trim(read_text(git_dir / "HEAD"));
      if (is_hex40(head)) return head;  // detached HEAD
      if (head.rfind("ref:", 0) == 0) return resolve_ref(git_dir, common, trim(head.substr(4)));
      return std::nullopt;
    }
    if (p == p.root_path()) break;
  }
  return std::nullopt;
}

std::string process_command_line() {
  std::string raw = read_text("/proc/self/cmdline");
  std::string out;
  size_t start = 0;
  while (start < raw.size()) {
    size_t end = raw.find('\0', start);
    if (end == std::string::npos) end = raw.size();
    std::string arg = raw.substr(start, end - start);
    bool plain = !arg.empty() && arg.find_first_not_of(
                                     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%") ==
                                     std::string::npos;
    if (!out.empty()) out += ' ';
    if (plain) {
      out += arg;
    } else {
      out += '\'';
      for (char c : arg) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
      out += '\'';
    }
    start = end + 1;
  }
  return out;
}

std::string resolve_runs_dir(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("NLPC_RUNS_DIR");
  if (env != nullptr && *env != '\0') return env;
  return "runs";
}

void validate_experiment_name(const std::string& name) {
  bool ok = !name.empty() && name[0] != '.' && name.size() <= 200 &&
            name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
                std::string::npos;
  if (!ok) {
    throw UsageError("invalid experiment name '" + name +
                     "': use letters, digits, '.', '_' and '-' (not starting with '.'), e.g. --experiment sentiment-v2");
  }
}

void validate_key(const std::string& what, const std::string& key) {
  auto fail = [&](const std::string& why) {
    throw UsageError("invalid " + what + " name '" + key + "': " + why +
                     " (allowed: letters, digits, '_', '-', '.', ' ', ':' and '/' between non-empty parts)");
  };
  if (key.empty()) fail("it is empty");
  if (key.size() > 250) fail("longer than 250 characters");
  if (key.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-. /:") !=
      std::string::npos) {
    fail("it contains a character that is not allowed");
  }
  size_t start = 0;
  while (true) {
    size_t end = key.find('/', start);
    std::string part = key.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (part.empty() || part == "." || part == "..") fail("empty, '.' or '..' path component");
    if (end == std::string::npos) break;
    start = end + 1;
  }
}

}  // namespace nlpc::runs
