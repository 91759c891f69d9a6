// `nlpc tokenize train`.
//   unigram / bpe: SentencePiece's own trainer, Debian's `spm_train`, run as a subprocess (nlpc must
//     not link libsentencepiece, whose protobuf-lite clashes with libtorch). Output: spiece.model
//     + tokenizer_config.json (T5 layout: pad 0, </s> 1, <unk> 2), read by load_tokenizer and by
//     transformers' T5Tokenizer.
//   wordpiece: BERT normalizer + pre-tokenizer (lowercase + accent stripping unless --cased), then
//     WordPiece merges: starting from characters (non-initial ones with the ## prefix), repeatedly
//     merge the pair with the highest score count(ab) / (count(a) * count(b)) (the WordPiece
//     likelihood criterion, as in the Hugging Face course), until the vocabulary is full. Output:
//     vocab.txt + tokenizer_config.json + special_tokens_map.json (BertTokenizer layout).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/core/progress.h"
#include "nlpc/core/signals.h"
#include "nlpc/core/system.h"
#include "nlpc/text/families.h"
#include "nlpc/text/train_tokenizer.h"
#include "nlpc/text/text_input.h"
#include "nlpc/text/unicode.h"

namespace nlpc::text {
namespace fs = std::filesystem;
namespace {

// Runs argv (no shell) with stdout+stderr to log_path; returns the exit status.
int run_process(const std::vector<std::string>& argv, const std::string& log_path) {
  pid_t pid = fork();
  if (pid < 0) throw RuntimeError("cannot start " + argv[0]);
  if (pid == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw RuntimeError("waitpid failed for " + argv[0]);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string tail(const std::string& path, size_t n) {
  std::string s;
  try {
    s = read_file(path);
  } catch (...) {
    return {};
  }
  return s.size() > n ? s.substr(s.size() - n) : s;
}

void train_sentencepiece(const TrainTokenizerOptions& o, const InputTexts& rows) {
  std::string input = (fs::path(o.output) / ".train_input.txt").string();
  {
    AtomicFile f(input);
    for (std::string t : rows.text) {
      std::replace(t.begin(), t.end(), '\n', ' ');
      std::replace(t.begin(), t.end(), '\r', ' ');
      f.write(t + "\n");
    }
    f.commit();
  }
  std::string log = (fs::path(o.output) / "spm_train.log").string();
  std::vector<std::string> argv = {o.spm_train,
                                   "--input=" + input,
                                   "--model_prefix=" + (fs::path(o.output) / "spiece").string(),
                                   "--vocab_size=" + std::to_string(o.vocab_size),
                                   "--model_type=" + o.type,
                                   "--character_coverage=" + std::to_string(o.character_coverage),
                                   "--pad_id=0", "--eos_id=1", "--unk_id=2", "--bos_id=-1",
                                   "--input_sentence_size=2000000", "--shuffle_input_sentence=true",
                                   "--num_threads=" + std::to_string(std::max(1, num_threads()))};
  spdlog::info("running " + o.spm_train + " (log: " + log + ")");
  int rc = run_process(argv, log);
  fs::remove(input);
  if (rc == 127) throw RuntimeError("cannot run '" + o.spm_train + "': install Debian's sentencepiece package");
  if (rc != 0)
    throw RuntimeError(o.spm_train + " failed with status " + std::to_string(rc) + "; end of " + log + ":\n" +
                       tail(log, 1500));
  nlohmann::json cfg = {{"tokenizer_class", "T5Tokenizer"}, {"eos_token", "</s>"}, {"unk_token", "<unk>"},
                        {"pad_token", "<pad>"}, {"extra_ids", 0}, {"model_max_length", 512}};
  write_file_atomic((fs::path(o.output) / "tokenizer_config.json").string(), cfg.dump(2) + "\n");
  nlohmann::json sm = {{"eos_token", "</s>"}, {"unk_token", "<unk>"}, {"pad_token", "<pad>"}};
  write_file_atomic((fs::path(o.output) / "special_tokens_map.json").string(), sm.dump(2) + "\n");
}

// ---- WordPiece --------------------------------------------------------------------------------

struct WpWord {
  std::vector<int32_t> sym;
  int64_t count;
};

std::vector<std::string> split_bert_words(const std::string& norm) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < norm.size();) {
    size_t s = i;
    char32_t c = unicode::next_cp(norm, i);
    bool punct = unicode::is_ascii_punctuation(c) || (c >= 0x80 && unicode::is_punctuation(c));
    if (unicode::is_whitespace(c) || punct) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
      if (punct) out.push_back(norm.substr(s, i - s));
    } else {
      cur.append(norm, s, i - s);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

void train_wordpiece(const TrainTokenizerOptions& o, const InputTexts& rows) {
  const std::vector<std::string> specials = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  BertNormalizerConfig nc;
  nc.lowercase = o.lowercase;
  WordPieceTokenizer normalizer(specials, "[UNK]", nc);
  std::unordered_map<std::string, int64_t> counts;
  {
    ProgressBar bar("wordpiece: counting words", static_cast<int64_t>(rows.text.size()), "rows");
    for (size_t r = 0; r < rows.text.size(); ++r) {
      if (r % 4096 == 0) {
        check_interrupted();
        bar.update(static_cast<int64_t>(r));
      }
      for (auto& w : split_bert_words(normalizer.normalize(rows.text[r]))) ++counts[w];
    }
    bar.finish();
  }
  std::vector<std::string> vocab = specials;
  std::unordered_map<std::string, int32_t> index;
  for (size_t i = 0; i < vocab.size(); ++i) index[vocab[i]] = static_cast<int32_t>(i);
  auto intern = [&](const std::string& s) {
    auto it = index.find(s);
    if (it != index.end()) return it->second;
    auto id = static_cast<int32_t>(vocab.size());
    vocab.push_back(s);
    index.emplace(s, id);
    return id;
  };
  std::vector<WpWord> words;
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end());  // deterministic alphabet order
  for (const auto& [w, c] : sorted) {
    if (c < o.min_frequency) continue;
    WpWord ww{{}, c};
    for (size_t i = 0; i < w.size();) {
      size_t s = i;
      unicode::next_cp(w, i);
      ww.sym.push_back(intern((s == 0 ? "" : "##") + w.substr(s, i - s)));
    }
    words.push_back(std::move(ww));
  }
  if (vocab.size() > static_cast<size_t>(o.vocab_size))
    spdlog::warn("the alphabet alone has " + std::to_string(vocab.size()) + " symbols, more than --vocab-size");
  ProgressBar bar("wordpiece: merges", o.vocab_size, "tokens");
  while (vocab.size() < static_cast<size_t>(o.vocab_size)) {
    check_interrupted();
    std::vector<int64_t> sym_count(vocab.size(), 0);
    std::unordered_map<uint64_t, int64_t> pair_count;
    pair_count.reserve(1 << 16);
    for (const auto& w : words) {
      for (size_t i = 0; i < w.sym.size(); ++i) {
        sym_count[static_cast<size_t>(w.sym[i])] += w.count;
        if (i + 1 < w.sym.size())
          pair_count[(static_cast<uint64_t>(static_cast<uint32_t>(w.sym[i])) << 32) | static_cast<uint32_t>(w.sym[i + 1])] += w.count;
      }
    }
    double best = -1;
    uint64_t best_key = 0;
    for (const auto& [key, c] : pair_count) {
      auto a = static_cast<size_t>(key >> 32), b = static_cast<size_t>(key & 0xFFFFFFFFu);
      double score = static_cast<double>(c) /
                     (static_cast<double>(sym_count[a]) * static_cast<double>(sym_count[b]));
      if (score > best || (score == best && key < best_key)) {  // ties: smallest ids, deterministic
        best = score;
        best_key = key;
      }
    }
    std::pair<int32_t, int32_t> bp{-1, -1};
    if (best >= 0) bp = {static_cast<int32_t>(best_key >> 32), static_cast<int32_t>(best_key & 0xFFFFFFFFu)};
    if (bp.first < 0) break;  // every word is a single token
    const std::string& b = vocab[static_cast<size_t>(bp.second)];
    std::string merged = vocab[static_cast<size_t>(bp.first)] + (b.rfind("##", 0) == 0 ? b.substr(2) : b);
    int32_t id = intern(merged);
    for (auto& w : words) {
      for (size_t i = 0; i + 1 < w.sym.size(); ++i) {
        if (w.sym[i] == bp.first && w.sym[i + 1] == bp.second) {
          w.sym[i] = id;
          w.sym.erase(w.sym.begin() + static_cast<std::ptrdiff_t>(i) + 1);
        }
      }
    }
    bar.update(static_cast<int64_t>(vocab.size()));
  }
  bar.finish();
  std::string out;
  for (const auto& v : vocab) out += v + "\n";
  write_file_atomic((fs::path(o.output) / "vocab.txt").string(), out);
  nlohmann::json cfg = {{"tokenizer_class", "BertTokenizer"}, {"do_lower_case", o.lowercase},
                        {"tokenize_chinese_chars", true}, {"strip_accents", nullptr},
                        {"unk_token", "[UNK]"}, {"sep_token", "[SEP]"}, {"pad_token", "[PAD]"},
                        {"cls_token", "[CLS]"}, {"mask_token", "[MASK]"}, {"model_max_length", 512}};
  write_file_atomic((fs::path(o.output) / "tokenizer_config.json").string(), cfg.dump(2) + "\n");
  nlohmann::json sm = {{"unk_token", "[UNK]"}, {"sep_token", "[SEP]"}, {"pad_token", "[PAD]"},
                       {"cls_token", "[CLS]"}, {"mask_token", "[MASK]"}};
  write_file_atomic((fs::path(o.output) / "special_tokens_map.json").string(), sm.dump(2) + "\n");
}

}  // namespace

int train_tokenizer(const TrainTokenizerOptions& o) {
  if (o.type != "wordpiece" && o.type != "bpe" && o.type != "unigram")
    throw UsageError("--type must be wordpiece, bpe or unigram, not '" + o.type + "'");
  if (o.vocab_size < 8) throw UsageError("--vocab-size must be at least 8");
  if (o.output.empty()) throw UsageError("--output DIR is required");
  InputTexts rows = read_input_texts(o.input, o.column, "");
  if (rows.text.empty()) throw InputError(o.input, 0, 0, "has no text to train on");
  std::error_code ec;
  fs::create_directories(o.output, ec);
  if (ec) throw RuntimeError("cannot create " + o.output + ": " + ec.message());
  if (o.type == "wordpiece") train_wordpiece(o, rows);
  else train_sentencepiece(o, rows);
  spdlog::info("wrote a " + o.type + " tokenizer to " + o.output);
  return 0;
}

}  // namespace nlpc::text
