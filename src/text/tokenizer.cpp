// Tokenizer base: added-token splitting, truncation, post-processing template, padding, decode.
#include "nlpc/text/tokenizer.h"

#include <algorithm>
#include <cstring>

#include "nlpc/core/error.h"
#include "nlpc/text/unicode.h"

namespace nlpc::text {

Truncation parse_truncation(const std::string& s) {
  if (s == "longest_first") return Truncation::kLongestFirst;
  if (s == "only_first") return Truncation::kOnlyFirst;
  if (s == "only_second") return Truncation::kOnlySecond;
  throw UsageError("unknown truncation strategy '" + s +
                   "': expected longest_first, only_first or only_second");
}

size_t PostTemplate::added(bool is_pair) const {
  size_t n = 0;
  for (const auto& it : is_pair ? pair : single) n += it.is_sequence ? 0 : 1;
  return n;
}

void Tokenizer::set_vocab(std::vector<std::string> id_to_token) {
  id_to_token_ = std::move(id_to_token);
  token_to_id_.clear();
  token_to_id_.reserve(id_to_token_.size() * 2);
  for (size_t i = 0; i < id_to_token_.size(); ++i)
    token_to_id_.emplace(id_to_token_[i], static_cast<int32_t>(i));
}

void Tokenizer::add_tokens(const std::vector<AddedToken>& tokens) {
  for (const auto& t : tokens) {
    if (t.id < 0) throw RuntimeError("added token '" + t.content + "' has no id");
    if (t.content.empty()) continue;
    if (static_cast<size_t>(t.id) >= id_to_token_.size()) id_to_token_.resize(static_cast<size_t>(t.id) + 1);
    id_to_token_[static_cast<size_t>(t.id)] = t.content;
    token_to_id_[t.content] = t.id;
    auto it = added_by_id_.find(t.id);
    if (it != added_by_id_.end()) {
      added_[it->second] = t;
    } else {
      added_by_id_[t.id] = added_.size();
      added_.push_back(t);
    }
    max_added_len_ = std::max(max_added_len_, t.content.size());
    auto b = static_cast<unsigned char>(t.content[0]);
    added_first_bytes_[b >> 6] |= uint64_t{1} << (b & 63);
  }
  // Longest first so that the first match at a position is the longest one.
  std::vector<size_t> order(added_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return added_[a].content.size() > added_[b].content.size();
  });
  std::vector<AddedToken> sorted;
  for (size_t i : order) sorted.push_back(added_[i]);
  added_ = std::move(sorted);
  added_by_id_.clear();
  for (size_t i = 0; i < added_.size(); ++i) added_by_id_[added_[i].id] = i;
}

int32_t Tokenizer::token_to_id(std::string_view token) const {
  auto it = token_to_id_.find(std::string(token));
  return it == token_to_id_.end() ? -1 : it->second;
}

const std::string& Tokenizer::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size())
    throw UsageError("token id " + std::to_string(id) + " is out of range: the vocabulary has " +
                     std::to_string(id_to_token_.size()) + " tokens");
  return id_to_token_[static_cast<size_t>(id)];
}

int32_t Tokenizer::special_id(const std::string& role) const {
  auto it = specials_.find(role);
  return it == specials_.end() ? -1 : it->second;
}

bool Tokenizer::is_special(int32_t id) const {
  auto it = added_by_id_.find(id);
  return it != added_by_id_.end() && added_[it->second].special;
}

std::vector<Piece> Tokenizer::tokenize(std::string_view text) const {
  std::vector<Piece> out;
  out.reserve(text.size() / 3 + 4);
  size_t seg = 0;  // start of the pending non-added span
  if (!added_.empty()) {
    for (size_t i = 0; i < text.size(); ++i) {
      auto b = static_cast<unsigned char>(text[i]);
      if (!(added_first_bytes_[b >> 6] & (uint64_t{1} << (b & 63)))) continue;
      const AddedToken* hit = nullptr;
      for (const auto& t : added_) {
        if (t.content.size() <= text.size() - i && static_cast<unsigned char>(t.content[0]) == b &&
            std::memcmp(text.data() + i, t.content.data(), t.content.size()) == 0) {
          hit = &t;  // added_ is sorted longest first
          break;
        }
      }
      if (hit == nullptr) continue;
      size_t s = i, e = i + hit->content.size();
      if (hit->lstrip)
        while (s > seg && unicode::is_whitespace(static_cast<unsigned char>(text[s - 1]))) --s;
      if (hit->rstrip)
        while (e < text.size() && unicode::is_whitespace(static_cast<unsigned char>(text[e]))) ++e;
      if (s > seg) encode_span(text.substr(seg, s - seg), static_cast<uint32_t>(seg), out);
      out.push_back({hit->id, static_cast<uint32_t>(s), static_cast<uint32_t>(e)});
      seg = e;
      i = e - 1;
    }
  }
  if (seg < text.size()) encode_span(text.substr(seg), static_cast<uint32_t>(seg), out);
  return out;
}

Encoding Tokenizer::encode(std::string_view text, const EncodeOptions& opt) const {
  return build(tokenize(text), nullptr, opt);
}

Encoding Tokenizer::encode_pair(std::string_view a, std::string_view b, const EncodeOptions& opt) const {
  auto pb = tokenize(b);
  return build(tokenize(a), &pb, opt);
}

namespace {

// Hugging Face tokenizers' truncate_encodings (target excludes the template's special tokens).
void truncate(std::vector<Piece>& a, std::vector<Piece>* b, size_t target, Truncation strategy) {
  size_t total = a.size() + (b ? b->size() : 0);
  if (total <= target) return;
  size_t to_remove = total - target;
  if (strategy == Truncation::kLongestFirst) {
    if (b == nullptr) {
      a.resize(target);
      return;
    }
    size_t n1 = a.size(), n2 = b->size();
    bool swap = n1 > n2;
    if (swap) std::swap(n1, n2);
    if (n1 > target) n2 = n1;
    else n2 = std::max(n1, target - n1);
    if (n1 + n2 > target) {
      n1 = target / 2;
      n2 = n1 + target % 2;
    }
    if (swap) std::swap(n1, n2);
    a.resize(std::min(a.size(), n1));
    b->resize(std::min(b->size(), n2));
    return;
  }
  std::vector<Piece>* t = &a;
  if (strategy == Truncation::kOnlySecond) {
    if (b == nullptr)
      throw UsageError("truncation only_second needs a pair of sequences; use longest_first or only_first");
    t = b;
  }
  if (t->size() <= to_remove)
    throw UsageError("cannot truncate to max length " + std::to_string(target) + " with strategy " +
                     (strategy == Truncation::kOnlyFirst ? "only_first" : "only_second") +
                     ": that sequence has only " + std::to_string(t->size()) +
                     " tokens; use longest_first or a larger --max-length");
  t->resize(t->size() - to_remove);
}

}  // namespace

Encoding Tokenizer::build(std::vector<Piece> a, std::vector<Piece>* pb, const EncodeOptions& o) const {
  std::vector<Piece> empty;
  std::vector<Piece>& b = pb ? *pb : empty;
  bool is_pair = pb != nullptr;
  size_t added = o.add_special_tokens ? template_.added(is_pair) : 0;
  if (o.max_length > 0) {
    if (static_cast<size_t>(o.max_length) < added)
      throw UsageError("max length " + std::to_string(o.max_length) + " is shorter than the " +
                       std::to_string(added) + " special tokens this tokenizer adds");
    truncate(a, is_pair ? &b : nullptr, static_cast<size_t>(o.max_length) - added, o.truncation);
  }
  Encoding e;
  size_t n = a.size() + b.size() + added;
  e.ids.reserve(n);
  e.type_ids.reserve(n);
  e.offsets.reserve(n);
  e.special_tokens_mask.reserve(n);
  e.attention_mask.reserve(n);
  e.sequence_ids.reserve(n);
  auto push = [&](int32_t id, int32_t type, uint32_t s, uint32_t t, bool special, int8_t seq) {
    e.ids.push_back(id);
    e.type_ids.push_back(type);
    e.offsets.emplace_back(s, t);
    e.special_tokens_mask.push_back(special ? 1 : 0);
    e.attention_mask.push_back(1);
    e.sequence_ids.push_back(seq);
  };
  auto push_seq = [&](const std::vector<Piece>& p, int32_t type, int8_t seq) {
    for (const auto& x : p) push(x.id, type, x.start, x.end, false, seq);
  };
  if (!o.add_special_tokens) {
    push_seq(a, 0, 0);
    if (is_pair) push_seq(b, 1, 1);
  } else {
    const auto& items = is_pair ? template_.pair : template_.single;
    bool has_b = false;
    for (const auto& it : items) {
      if (!it.is_sequence) push(it.id, it.type_id, 0, 0, true, -1);
      else if (it.sequence == 0) push_seq(a, it.type_id, 0);
      else {
        push_seq(b, it.type_id, 1);
        has_b = true;
      }
    }
    if (is_pair && !has_b) push_seq(b, 1, 1);
  }
  int64_t pad_to = o.pad_to_max_length ? o.max_length : o.pad_to;
  int32_t pad = special_id("pad");
  if (pad_to > 0 && static_cast<int64_t>(e.ids.size()) < pad_to) {
    if (pad < 0) throw UsageError("padding was asked for but this tokenizer has no pad token");
    while (static_cast<int64_t>(e.ids.size()) < pad_to) {
      push(pad, type_id_pad(), 0, 0, true, -1);
      e.attention_mask.back() = 0;
    }
  }
  if (o.with_tokens) {
    e.tokens.reserve(e.ids.size());
    for (int32_t id : e.ids) e.tokens.push_back(id_to_token_[static_cast<size_t>(id)]);
  }
  return e;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::vector<int32_t> kept;
  kept.reserve(ids.size());
  for (int32_t id : ids) {
    id_to_token(id);  // range check
    if (skip_special_tokens && is_special(id)) continue;
    kept.push_back(id);
  }
  return decode_ids(kept);
}

std::vector<std::pair<uint32_t, uint32_t>> char_offsets(
    std::string_view text, const std::vector<std::pair<uint32_t, uint32_t>>& byte_offsets) {
  // Map from byte position to code point index (positions inside a sequence map to its index).
  std::vector<uint32_t> at(text.size() + 1, 0);
  uint32_t cp = 0;
  for (size_t i = 0; i < text.size();) {
    size_t j = i;
    unicode::next_cp(text, j);
    for (size_t k = i; k < j; ++k) at[k] = cp;
    ++cp;
    i = j;
  }
  at[text.size()] = cp;
  std::vector<std::pair<uint32_t, uint32_t>> out;
  out.reserve(byte_offsets.size());
  for (auto [s, e] : byte_offsets) {
    if (s == 0 && e == 0) {
      out.emplace_back(0, 0);
      continue;
    }
    uint32_t cs = at[std::min<size_t>(s, text.size())];
    size_t ee = std::min<size_t>(e, text.size());
    // An end inside a multi-byte character counts that character.
    uint32_t ce = (ee > 0 && ee < text.size() && at[ee] == at[ee - 1]) ? at[ee] + 1 : at[ee];
    out.emplace_back(cs, ce);
  }
  return out;
}

}  // namespace nlpc::text
