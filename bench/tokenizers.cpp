// Tokenizer throughput: MB/s and tokens/s of Tokenizer::encode over the lines of a text file, on 1
// thread and on N threads. Driven by scripts/bench/tokenizers.sh, which also times Debian's
// spm_encode on the same text.
//   bench_tokenizers --text corpus.txt --tokenizer PATH [--threads N] [--max-mb M]
//   bench_tokenizers --csv train.csv --column text --dump corpus.txt   (extracts one text per line)
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "nlpc/core/fs.h"
#include "nlpc/text/text_input.h"
#include "nlpc/text/tokenizer.h"

using namespace nlpc;

int main(int argc, char** argv) {
  std::string text_path, tok_path, csv, column = "text", dump;
  int threads = 1;
  double max_mb = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--text") text_path = v;
    else if (k == "--tokenizer") tok_path = v;
    else if (k == "--threads") threads = std::stoi(v);
    else if (k == "--csv") csv = v;
    else if (k == "--column") column = v;
    else if (k == "--dump") dump = v;
    else if (k == "--max-mb") max_mb = std::stod(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  try {
    if (!csv.empty()) {
      auto rows = text::read_input_texts(csv, column, "");
      std::string out;
      for (auto& t : rows.text) {
        std::replace(t.begin(), t.end(), '\n', ' ');
        std::replace(t.begin(), t.end(), '\r', ' ');
        out += t + "\n";
      }
      write_file_atomic(dump, out);
      std::printf("wrote %zu lines, %.1f MB to %s\n", rows.text.size(), out.size() / 1e6, dump.c_str());
      return 0;
    }
    auto lines = text::read_input_texts(text_path, "text", "").text;
    size_t bytes = 0, keep = 0;
    for (; keep < lines.size(); ++keep) {
      bytes += lines[keep].size() + 1;
      if (max_mb > 0 && bytes > max_mb * 1e6) break;
    }
    lines.resize(keep);
    auto tok = text::load_tokenizer(tok_path);
    text::EncodeOptions o;
    o.add_special_tokens = false;
    o.with_tokens = false;  // ids only, as `nlpc tokenize --format ids`
    // Warm-up (BPE word caches are per thread; each thread warms its own during the timed run).
    std::vector<size_t> counts(static_cast<size_t>(threads), 0);
    auto cpu_now = [] {
      timespec ts{};
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
      return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
    };
    double c0 = cpu_now();
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        size_t n = 0;
        for (size_t i = static_cast<size_t>(t); i < lines.size(); i += static_cast<size_t>(threads))
          n += tok->encode(lines[i], o).size();
        counts[static_cast<size_t>(t)] = n;
      });
    for (auto& th : pool) th.join();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double cpu = cpu_now() - c0;  // CPU seconds of all threads (the build machine is shared)
    size_t tokens = 0;
    for (auto c : counts) tokens += c;
    std::printf("%-18s threads=%-2d  %6.1f MB  wall %6.3f s  %7.2f MB/s  %9.0f tokens/s  |  cpu %6.3f s  "
                "%6.2f MB/s per thread  (%zu tokens)\n",
                tok->family().c_str(), threads, bytes / 1e6, s, bytes / 1e6 / s, tokens / s, cpu,
                bytes / 1e6 / cpu, tokens);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
