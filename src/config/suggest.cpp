#include "suggest.hpp"

#include <algorithm>
#include <numeric>

namespace meshd::config::detail {

std::size_t levenshtein(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  std::size_t best_distance = 3;
  for (auto candidate : candidates) {
    auto distance = levenshtein(word, candidate);
    // Two edits turn any two-letter word into any other: not a useful hint.
    if (distance < best_distance && distance < word.size()) {
      best = candidate;
      best_distance = distance;
    }
  }
  if (best.empty()) {
    for (auto candidate : candidates) {
      auto shorter = std::min(word.size(), candidate.size());
      if (shorter >= 3 && (candidate.starts_with(word) || word.starts_with(candidate))) {
        best = candidate;
        break;
      }
    }
  }
  if (best.empty() || best == word) return "";
  return " (did you mean '" + std::string(best) + "'?)";
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::vector<std::string_view> views(candidates.begin(), candidates.end());
  return did_you_mean(word, std::span<const std::string_view>(views));
}

std::string join(std::span<const std::string_view> words, std::string_view separator) {
  std::string out;
  for (auto word : words) {
    if (!out.empty()) out += separator;
    out += word;
  }
  return out;
}

std::string join(const std::vector<std::string>& words, std::string_view separator) {
  std::vector<std::string_view> views(words.begin(), words.end());
  return join(std::span<const std::string_view>(views), separator);
}

}  // namespace meshd::config::detail
