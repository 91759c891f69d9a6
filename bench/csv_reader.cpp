// CSV reader benchmark (driven by scripts/bench/csv_reader.sh).
//   bench_csv_reader generate PATH MB   writes a realistic CSV of about MB megabytes: quoted
//                                       multi-line texts with commas, doubled quotes and UTF-8
//   bench_csv_reader read PATH [COLUMN] streams PATH through nlpc::io::CsvReader and prints one
//                                       line: records, MB, seconds, MB/s, RSS before and peak RSS
//   bench_csv_reader lines PATH         the same through LineReader (UTF-8 validated lines)
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/system.h"
#include "nlpc/io/csv.h"
#include "nlpc/io/lines.h"

namespace {

const std::vector<std::string> kWords = {"the",
                                         "package",
                                         "provides",
                                         "a",
                                         "library",
                                         "for",
                                         "fast",
                                         "parsing",
                                         "of",
                                         "data,",
                                         "with",
                                         "\"quoted\"",
                                         "words",
                                         "caf\xC3\xA9",
                                         "na\xC3\xAFve",
                                         "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
                                         "\xF0\x9F\x98\x80",
                                         "r\xC3\xA9sum\xC3\xA9",
                                         "and",
                                         "tools;",
                                         "it",
                                         "is",
                                         "used",
                                         "by",
                                         "many",
                                         "programs.",
                                         "This",
                                         "(optional)",
                                         "module",
                                         "supports",
                                         "UTF-8",
                                         "text:",
                                         "\xD0\xBF\xD1\x80\xD0\xB8",
                                         "\xD0\xB2\xD0\xB5\xD1\x82",
                                         "50%",
                                         "\xE2\x82\xAC"
                                         "5",
                                         "x86_64",
                                         "C++17"};
const std::vector<std::string> kLabels = {"admin", "devel", "libs", "net", "text", "utils", "web", "python"};

std::string make_text(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> n_words(4, 120);
  std::uniform_int_distribution<size_t> pick(0, kWords.size() - 1);
  std::uniform_int_distribution<int> roll(0, 99);
  std::string t;
  const int n = n_words(rng);
  for (int i = 0; i < n; ++i) {
    if (i > 0) t += roll(rng) < 4 ? (roll(rng) < 50 ? "\n" : "\r\n") : " ";
    t += kWords[pick(rng)];
  }
  return t;
}

int generate(const std::string& path, double mb) {
  const auto target = static_cast<int64_t>(mb * 1e6);
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> score(0, 1);
  nlpc::io::CsvWriterOptions opts;
  opts.flush_every_rows = 1 << 30;
  opts.flush_every_seconds = 1e9;
  nlpc::io::CsvWriter w(path, opts);
  w.write_row({"id", "text", "label", "score"});
  int64_t written = 0;
  int64_t id = 0;
  std::string line;
  while (written < target) {
    const std::string text = make_text(rng);
    const std::string sid = std::to_string(++id);
    const std::string& label = kLabels[static_cast<size_t>(id) % kLabels.size()];
    char sc[32];
    std::snprintf(sc, sizeof(sc), "%.4f", score(rng));
    w.write_row({sid, text, label, sc});
    written += static_cast<int64_t>(sid.size() + text.size() + label.size() + 12);
  }
  w.commit();
  std::printf("generated %s: %lld rows\n", path.c_str(), static_cast<long long>(id));
  return 0;
}

// User + system CPU seconds of this process (the machine is shared: CPU time is the stable measure).
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double g_cpu0 = 0;

void report(const char* what, int64_t records, int64_t bytes, double seconds, int64_t rss_before) {
  const double cpu = cpu_seconds() - g_cpu0;
  std::printf(
      "%s: records %lld  MB %.1f  wall_s %.2f  cpu_s %.2f  MB/s(wall) %.1f  MB/s(cpu) %.1f  "
      "rss_before_MB %.1f  peak_rss_MB %.1f\n",
      what, static_cast<long long>(records), bytes / 1e6, seconds, cpu, bytes / 1e6 / seconds,
      bytes / 1e6 / cpu, rss_before / 1e6, nlpc::peak_rss_bytes() / 1e6);
}

int read_csv(const std::string& path, const std::string& column) {
  const int64_t rss_before = nlpc::current_rss_bytes();
  g_cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  nlpc::io::CsvReader reader(path);
  const size_t col = reader.column_index(column);
  nlpc::io::CsvRecord rec;
  int64_t records = 0;
  int64_t chars = 0;
  while (reader.next(rec)) {
    ++records;
    chars += static_cast<int64_t>(rec[col].size());
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report("nlpc CsvReader", records, reader.bytes_read(), s, rss_before);
  std::printf("  (%lld bytes in column %s)\n", static_cast<long long>(chars), column.c_str());
  return 0;
}

int read_lines(const std::string& path) {
  const int64_t rss_before = nlpc::current_rss_bytes();
  g_cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  nlpc::io::LineReader reader(path);
  std::string_view line;
  int64_t lines = 0;
  while (reader.next(line)) ++lines;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report("nlpc LineReader", lines, reader.bytes_read(), s, rss_before);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "generate" && argc == 4) return generate(argv[2], std::atof(argv[3]));
    if (mode == "read" && (argc == 3 || argc == 4)) return read_csv(argv[2], argc == 4 ? argv[3] : "text");
    if (mode == "lines" && argc == 3) return read_lines(argv[2]);
    std::fprintf(stderr, "usage: bench_csv_reader generate PATH MB | read PATH [COLUMN] | lines PATH\n");
    return 2;
  } catch (const nlpc::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return e.exit_code();
  }
}
