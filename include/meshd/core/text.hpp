#pragma once

#include <string>
#include <string_view>

namespace meshd::core {

/// ASCII lower case of one character (header names, units, media types).
inline char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// ASCII lower case of `text`.
std::string lower(std::string_view text);

/// Whether `a` and `b` are equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b);

}  // namespace meshd::core
