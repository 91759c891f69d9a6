#pragma once
// Unicode helpers for the tokenizers, on top of utf8proc (categories, decomposition, case mapping,
// NFKC, grapheme clusters). UTF-8 decoding is lenient: an invalid byte decodes as U+FFFD and
// advances by one byte.
#include <cstdint>
#include <string>
#include <string_view>

namespace nlpc::text::unicode {

// Decodes the code point at s[i] and advances i. Invalid bytes give U+FFFD (i advances by 1).
char32_t next_cp(std::string_view s, size_t& i);
void append_utf8(std::string& out, char32_t cp);
size_t utf8_len(char32_t cp);
// Number of code points (invalid bytes count as one each).
size_t count_cps(std::string_view s);

bool is_letter(char32_t c);       // L*
bool is_number(char32_t c);       // N*
bool is_punctuation(char32_t c);  // P*
bool is_other(char32_t c);        // C* (Cc Cf Cs Co Cn)
bool is_mark_nonspacing(char32_t c);  // Mn
bool is_whitespace(char32_t c);   // White_Space property (Rust char::is_whitespace)
bool is_ascii_punctuation(char32_t c);
bool is_cjk(char32_t c);          // the CJK ranges BERT isolates

// Canonical decomposition of one code point, appended to out (UTF-8).
void append_nfd(std::string& out, char32_t cp);
// Full lower-case mapping of one code point (Rust char::to_lowercase), appended to out.
void append_lower(std::string& out, char32_t cp);
std::string nfkc(std::string_view s);
std::string nfc(std::string_view s);
std::string nfd(std::string_view s);
std::string nfkd(std::string_view s);

// Byte length of the extended grapheme cluster that starts at s[i].
size_t grapheme_len(std::string_view s, size_t i);

// Rust's String::from_utf8_lossy: each maximal invalid subpart becomes U+FFFD.
std::string utf8_lossy(std::string_view bytes);
bool is_valid_utf8(std::string_view bytes);

}  // namespace nlpc::text::unicode
