#pragma once
// UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF) and the
// mapping from byte offsets to the 1-based character columns that error messages report.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace nlpc::io {

// Offset of the first byte that does not start a valid UTF-8 sequence (a truncated sequence at the
// end reports its lead byte), or n when all n bytes are valid. ASCII runs are checked 8 bytes at a time.
size_t validate_utf8(const char* data, size_t n);
inline size_t validate_utf8(std::string_view s) { return validate_utf8(s.data(), s.size()); }
inline bool is_valid_utf8(std::string_view s) { return validate_utf8(s) == s.size(); }

// 1-based character column of byte `byte_offset` in a line starting at `line`: the number of UTF-8
// characters (non-continuation bytes) before it, plus one. Works on invalid input too (each stray
// byte counts as one character up to the offset).
int64_t utf8_column(const char* line, size_t byte_offset);

// Counts UTF-8 characters (non-continuation bytes).
size_t utf8_length(std::string_view s);

// "0xff" style description of the invalid sequence at data[offset] for error messages, e.g.
// "invalid UTF-8 byte 0xff" or "truncated UTF-8 sequence 0xe2 0x82".
std::string describe_invalid_utf8(const char* data, size_t n, size_t offset);

}  // namespace nlpc::io
