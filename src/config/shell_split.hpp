#pragma once
// Private to the config module: not part of meshd's public headers (include/meshd/).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meshd::config::detail {

/// Result of shell_split(): the words, or why the text could not be split.
struct SplitResult {
  std::vector<std::string> words;
  std::optional<std::string> error;
};

/// Splits a command line into argv the way sh would split words: blanks
/// separate words; '...' is literal; "..." is literal except for \" \\ \$ \`
/// and backslash-newline; outside quotes a backslash escapes the next
/// character. There is no shell behind it, so an unquoted | ; & < > or `
/// is an error rather than a silently passed argument; * and ? stay literal.
SplitResult shell_split(std::string_view text);

}  // namespace meshd::config::detail
