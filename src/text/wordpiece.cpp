// WordPiece (BERT): BertNormalizer + BertPreTokenizer + greedy longest-match-first WordPiece, with
// the semantics of Hugging Face tokenizers (BertTokenizerFast).
#include <algorithm>

#include "nlpc/core/error.h"
#include "nlpc/text/families.h"
#include "nlpc/text/unicode.h"

namespace nlpc::text {
namespace {

bool is_bert_punct(char32_t c) {
  return unicode::is_ascii_punctuation(c) || (c >= 0x80 && unicode::is_punctuation(c));
}

// Control characters that clean_text removes (tab, newline and carriage return are whitespace).
bool is_bert_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  if (c < 0x80) return c < 0x20 || c == 0x7F;
  return unicode::is_other(c);
}

// Streams normalized characters into words, keeping for each word byte the input range it came from.
struct WordBuilder {
  std::string word;
  std::vector<std::pair<uint32_t, uint32_t>> map;
  void add(char32_t c, uint32_t s, uint32_t e) {
    if (c < 0x80) {
      word.push_back(static_cast<char>(c));
      map.emplace_back(s, e);
      return;
    }
    unicode::append_utf8(word, c);
    while (map.size() < word.size()) map.emplace_back(s, e);
  }
  void clear() {
    word.clear();
    map.clear();
  }
};

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, std::string unk_token,
                                       BertNormalizerConfig norm, std::string prefix,
                                       size_t max_input_chars_per_word)
    : norm_(norm), prefix_(std::move(prefix)), max_chars_(max_input_chars_per_word) {
  set_vocab(vocab);
  unk_id_ = token_to_id(unk_token);
  if (unk_id_ < 0)
    throw RuntimeError("the WordPiece vocabulary has no unknown token '" + unk_token + "'");
  for (size_t i = 0; i < vocab.size(); ++i) {
    std::string_view p = vocab[i];
    auto id = static_cast<int32_t>(i);
    if (!prefix_.empty() && p.size() > prefix_.size() && p.substr(0, prefix_.size()) == prefix_) {
      continuation_.insert(p.substr(prefix_.size()), id);
    }
    first_.insert(p, id);
    max_piece_len_ = std::max(max_piece_len_, p.size());
  }
  set_special("unk", unk_id_);
}

std::string WordPieceTokenizer::normalize(std::string_view text) const {
  std::string out;
  bool strip = norm_.strip_accents < 0 ? norm_.lowercase : norm_.strip_accents == 1;
  std::string buf;
  for (size_t i = 0; i < text.size();) {
    char32_t c = unicode::next_cp(text, i);
    if (norm_.clean_text) {
      if (c == 0 || c == 0xFFFD || is_bert_control(c)) continue;
      if (unicode::is_whitespace(c)) c = ' ';
    }
    bool cjk = norm_.handle_chinese_chars && unicode::is_cjk(c);
    buf.clear();
    if (strip) {
      std::string d;
      unicode::append_nfd(d, c);
      for (size_t k = 0; k < d.size();) {
        char32_t x = unicode::next_cp(d, k);
        if (!unicode::is_mark_nonspacing(x)) unicode::append_utf8(buf, x);
      }
    } else {
      unicode::append_utf8(buf, c);
    }
    if (norm_.lowercase) {
      std::string l;
      for (size_t k = 0; k < buf.size();) unicode::append_lower(l, unicode::next_cp(buf, k));
      buf.swap(l);
    }
    if (cjk) out += ' ';
    out += buf;
    if (cjk) out += ' ';
  }
  return out;
}

void WordPieceTokenizer::encode_span(std::string_view text, uint32_t base, std::vector<Piece>& out) const {
  const bool strip = norm_.strip_accents < 0 ? norm_.lowercase : norm_.strip_accents == 1;
  WordBuilder w;
  std::string tmp, low;
  // The model runs per word; pieces record word-relative offsets that are mapped back here.
  auto finish_word = [&]() {
    if (w.word.empty()) return;
    size_t first = out.size();
    word_pieces(w.word, 0, static_cast<uint32_t>(w.word.size()), out);
    for (size_t k = first; k < out.size(); ++k) {
      uint32_t s = out[k].start, e = out[k].end;
      out[k].start = base + w.map[s].first;
      out[k].end = base + w.map[e - 1].second;
    }
    w.clear();
  };
  auto feed = [&](char32_t c, uint32_t s, uint32_t e) {
    if (c == ' ' || unicode::is_whitespace(c)) {
      finish_word();
    } else if (is_bert_punct(c)) {
      finish_word();
      w.add(c, s, e);
      finish_word();
    } else {
      w.add(c, s, e);
    }
  };
  for (size_t i = 0; i < text.size();) {
    auto s = static_cast<uint32_t>(i);
    char32_t c = unicode::next_cp(text, i);
    auto e = static_cast<uint32_t>(i);
    if (c < 0x80) {  // ASCII fast path
      if (norm_.clean_text) {
        if (c == 0 || is_bert_control(c)) continue;
      }
      if (norm_.lowercase && c >= 'A' && c <= 'Z') c += 32;
      feed(c, s, e);
      continue;
    }
    if (norm_.clean_text) {
      if (c == 0xFFFD || is_bert_control(c)) continue;
      if (unicode::is_whitespace(c)) c = ' ';
    }
    const bool cjk = norm_.handle_chinese_chars && unicode::is_cjk(c);
    tmp.clear();
    if (strip) {
      std::string d;
      unicode::append_nfd(d, c);
      for (size_t k = 0; k < d.size();) {
        char32_t x = unicode::next_cp(d, k);
        if (!unicode::is_mark_nonspacing(x)) unicode::append_utf8(tmp, x);
      }
    } else {
      unicode::append_utf8(tmp, c);
    }
    if (norm_.lowercase) {
      low.clear();
      for (size_t k = 0; k < tmp.size();) unicode::append_lower(low, unicode::next_cp(tmp, k));
      tmp.swap(low);
    }
    if (cjk) finish_word();  // CJK characters are words of their own
    for (size_t k = 0; k < tmp.size();) feed(unicode::next_cp(tmp, k), s, e);
    if (cjk) finish_word();
  }
  finish_word();
}

// Greedy longest-match-first over one word; offsets are byte offsets within the word.
void WordPieceTokenizer::word_pieces(std::string_view word, uint32_t, uint32_t, std::vector<Piece>& out) const {
  auto n = static_cast<uint32_t>(word.size());
  if (word.size() > max_chars_ && unicode::count_cps(word) > max_chars_) {
    out.push_back({unk_id_, 0, n});
    return;
  }
  size_t first = out.size();
  size_t start = 0;
  while (start < word.size()) {
    size_t end = std::min(word.size(), start + max_piece_len_);
    while (end < word.size() && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) --end;
    int32_t id = -1;
    while (end > start) {
      std::string_view sub = word.substr(start, end - start);
      id = (start == 0 ? first_ : continuation_).find(sub);
      if (id >= 0) break;
      --end;
      while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) --end;
    }
    if (id < 0) {
      out.resize(first);
      out.push_back({unk_id_, 0, n});
      return;
    }
    out.push_back({id, static_cast<uint32_t>(start), static_cast<uint32_t>(end)});
    start = end;
  }
}

// The WordPiece decoder ("##" pieces glued, others space-separated), then transformers'
// clean_up_tokenization over the whole string (clean_up_tokenization_spaces, on for BERT).
std::string WordPieceTokenizer::decode_ids(const std::vector<int32_t>& ids) const {
  static const std::pair<const char*, const char*> kCleanup[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
      {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string& tok = id_to_token_[static_cast<size_t>(ids[i])];
    if (i != 0 && !prefix_.empty() && tok.compare(0, prefix_.size(), prefix_) == 0) {
      out.append(tok, prefix_.size(), std::string::npos);
    } else {
      if (i != 0) out += ' ';
      out += tok;
    }
  }
  if (cleanup_) {
    for (const auto& [from, to] : kCleanup) {
      std::string f(from), t(to), r;
      size_t p = 0;
      for (size_t q = out.find(f); q != std::string::npos; q = out.find(f, p)) {
        r.append(out, p, q - p);
        r += t;
        p = q + f.size();
      }
      r.append(out, p, std::string::npos);
      out.swap(r);
    }
  }
  return out;
}

}  // namespace nlpc::text
