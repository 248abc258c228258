#pragma once
// Private to the config module: not part of meshd's public headers (include/meshd/).

// The parsing code below the loader does not know the file's name; it throws
// FieldError with a position, and load_string() turns that into ConfigError.

#include <stdexcept>
#include <string>

#include "meshd/config/types.hpp"

namespace meshd::config::detail {

class FieldError : public std::runtime_error {
 public:
  FieldError(SourceMark mark, const std::string& detail)
      : std::runtime_error(detail), mark_(mark) {}
  SourceMark mark() const { return mark_; }

 private:
  SourceMark mark_;
};

[[noreturn]] inline void fail(SourceMark mark, const std::string& detail) {
  throw FieldError(mark, detail);
}

}  // namespace meshd::config::detail
