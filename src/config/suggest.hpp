#pragma once
// Private to the config module: not part of meshd's public headers (include/meshd/).

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace meshd::config::detail {

/// Edit distance (insertions, deletions, substitutions).
std::size_t levenshtein(std::string_view a, std::string_view b);

/// " (did you mean 'x'?)" for the closest candidate within edit distance 2
/// (and fewer edits than `word` has letters),
/// or failing that one that `word` is a prefix of or that is a prefix of
/// `word` (at least 3 characters shared); "" when nothing is close.
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

/// "a, b, c" for "expected one of ..." messages.
std::string join(std::span<const std::string_view> words, std::string_view separator = ", ");
std::string join(const std::vector<std::string>& words, std::string_view separator = ", ");

}  // namespace meshd::config::detail
