// `nlpc tokenize` and `nlpc tokenize decode`: batch encode/decode with the shared Tokenizer.
#include <algorithm>
#include <iostream>
#include <sstream>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/progress.h"
#include "nlpc/core/signals.h"
#include "nlpc/core/system.h"
#include "nlpc/commands/tokenize.h"
#include "nlpc/text/tokenizer.h"
#include "nlpc/text/unicode.h"

namespace nlpc::text {
namespace {

// JSON string escaping that never throws on invalid UTF-8 (invalid bytes become U+FFFD).
std::string json_str(const std::string& s) {
  return nlohmann::json(unicode::is_valid_utf8(s) ? s : unicode::utf8_lossy(s)).dump();
}

template <typename T>
void join(std::string& out, const std::vector<T>& v) {
  out += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(v[i]);
  }
  out += ']';
}

std::string format_line(const Tokenizer& tok, const Encoding& e, const std::string& a, const std::string* b,
                        const std::string& format) {
  std::string out;
  if (format == "ids") {
    for (size_t i = 0; i < e.ids.size(); ++i) out += (i ? " " : "") + std::to_string(e.ids[i]);
  } else if (format == "tokens") {
    for (size_t i = 0; i < e.tokens.size(); ++i) out += (i ? " " : "") + e.tokens[i];
  } else {
    out += "{\"ids\":";
    join(out, e.ids);
    out += ",\"tokens\":[";
    for (size_t i = 0; i < e.tokens.size(); ++i) out += (i ? "," : "") + json_str(e.tokens[i]);
    out += "],\"attention_mask\":";
    join(out, e.attention_mask);
    if (tok.family() == "wordpiece") {
      out += ",\"token_type_ids\":";
      join(out, e.type_ids);
    }
    // Character offsets into the input the token came from (HF's Python API convention).
    std::vector<std::pair<uint32_t, uint32_t>> first, second;
    for (size_t i = 0; i < e.size(); ++i) (e.sequence_ids[i] == 1 ? second : first).push_back(e.offsets[i]);
    auto c1 = char_offsets(a, first);
    auto c2 = b ? char_offsets(*b, second) : decltype(c1){};
    out += ",\"offsets\":[";
    size_t k1 = 0, k2 = 0;
    for (size_t i = 0; i < e.size(); ++i) {
      auto o = e.sequence_ids[i] == 1 ? c2[k2++] : c1[k1++];
      out += (i ? ",[" : "[") + std::to_string(o.first) + "," + std::to_string(o.second) + "]";
    }
    out += "]}";
  }
  out += '\n';
  return out;
}

// Runs fn(i) for i in [0, n) on the nlpc thread count.
template <typename Fn>
void parallel_for(size_t n, Fn fn) {
  size_t threads = std::min<size_t>(static_cast<size_t>(std::max(1, num_threads())), std::max<size_t>(1, n / 64));
  if (threads <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::vector<std::thread> pool;
  std::exception_ptr err;
  std::mutex m;
  for (size_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      try {
        for (size_t i = t; i < n; i += threads) fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> g(m);
        if (!err) err = std::current_exception();
      }
    });
  for (auto& th : pool) th.join();
  if (err) std::rethrow_exception(err);
}

}  // namespace

int run_tokenize(const TokenizeOptions& opt) {
  if (opt.format != "ids" && opt.format != "tokens" && opt.format != "jsonl")
    throw UsageError("--format must be ids, tokens or jsonl, not '" + opt.format + "'");
  if (opt.pad && opt.max_length <= 0) throw UsageError("--pad needs --max-length N");
  if (opt.has_text && !opt.input.empty()) throw UsageError("give either --text or --input, not both");
  auto tok = load_tokenizer(opt.tokenizer);
  EncodeOptions eo;
  eo.add_special_tokens = !opt.no_special_tokens;
  eo.max_length = opt.max_length;
  eo.truncation = parse_truncation(opt.truncation);
  eo.pad_to_max_length = opt.pad;
  eo.with_tokens = opt.format != "ids";
  InputTexts rows;
  if (opt.has_text) {
    rows.text.push_back(opt.text);
    if (opt.has_pair_text) rows.pair.push_back(opt.pair_text);
  } else {
    rows = read_input_texts(opt.input.empty() ? "-" : opt.input, opt.column, opt.pair_column);
  }
  bool pairs = !rows.pair.empty();
  AtomicFile out(opt.output);
  std::optional<ProgressBar> bar;  // only for inputs large enough to take a while
  if (rows.text.size() > 50000) bar.emplace("tokenize", static_cast<int64_t>(rows.text.size()), "rows");
  const size_t kBatch = 8192;
  std::vector<std::string> lines;
  for (size_t start = 0; start < rows.text.size(); start += kBatch) {
    check_interrupted();
    size_t n = std::min(kBatch, rows.text.size() - start);
    lines.assign(n, std::string());
    parallel_for(n, [&](size_t i) {
      const std::string& a = rows.text[start + i];
      const std::string* b = pairs ? &rows.pair[start + i] : nullptr;
      Encoding e = b ? tok->encode_pair(a, *b, eo) : tok->encode(a, eo);
      lines[i] = format_line(*tok, e, a, b, opt.format);
    });
    for (const auto& l : lines) out.write(l);
    if (bar) bar->update(static_cast<int64_t>(start + n));
  }
  if (bar) bar->finish();
  out.commit();
  return 0;
}

namespace {

std::vector<int32_t> parse_ids(const std::string& line, const std::string& where) {
  std::string s = line;
  auto first = s.find_first_not_of(" \t");
  if (first != std::string::npos && s[first] == '{') {
    auto j = nlohmann::json::parse(s, nullptr, false);
    if (j.is_discarded() || !j.contains("ids")) throw InputError(where + ": expected {\"ids\": [...]}");
    return j["ids"].get<std::vector<int32_t>>();
  }
  for (char& c : s)
    if (c == ',' || c == '[' || c == ']') c = ' ';
  std::istringstream in(s);
  std::vector<int32_t> ids;
  std::string w;
  while (in >> w) {
    char* end = nullptr;
    long v = std::strtol(w.c_str(), &end, 10);
    if (*end != '\0') throw InputError(where + ": '" + w + "' is not a token id; expected integers");
    ids.push_back(static_cast<int32_t>(v));
  }
  return ids;
}

}  // namespace

int run_tokenize_decode(const DecodeOptions& opt) {
  if (opt.format != "text" && opt.format != "jsonl") throw UsageError("--format must be text or jsonl");
  auto tok = load_tokenizer(opt.tokenizer);
  std::vector<std::string> lines;
  if (!opt.ids.empty()) {
    lines.push_back(opt.ids);
  } else {
    std::string src = opt.input.empty() ? "-" : opt.input;
    lines = read_input_texts(src, "text", "").text;
  }
  AtomicFile out(opt.output);
  for (size_t i = 0; i < lines.size(); ++i) {
    check_interrupted();
    std::string where = (opt.input.empty() ? std::string(opt.ids.empty() ? "<stdin>" : "--ids") : opt.input) +
                        ":" + std::to_string(i + 1);
    auto ids = parse_ids(lines[i], where);
    std::string text = tok->decode(ids, opt.skip_special_tokens);
    if (opt.format == "jsonl") out.write("{\"text\":" + json_str(text) + "}\n");
    else out.write(text + "\n");
  }
  out.commit();
  return 0;
}

}  // namespace nlpc::text
