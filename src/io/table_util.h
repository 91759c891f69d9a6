#pragma once
// Small helpers shared by the readers in src/io (private to the io area).
#include <string>
#include <vector>

namespace nlpc::io {

// `no column named "txt"; the columns are "text", "label"` (+ a did-you-mean hint for a match that
// differs only in case or surrounding spaces). Lists at most 30 names.
std::string missing_column_message(const std::string& name, const std::vector<std::string>& columns);

// "','", "a tab", "';'" for error messages.
std::string describe_delimiter(char delimiter);

}  // namespace nlpc::io
