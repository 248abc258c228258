#include <utility>

#include "meshd/config/loader.hpp"

namespace meshd::config {

namespace {

std::string format(const std::string& file, int line, int column, const std::string& detail) {
  if (line <= 0) return file + ": " + detail;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + detail;
}

}  // namespace

ConfigError::ConfigError(std::string file, int line, int column, const std::string& message)
    : std::runtime_error(format(file, line, column, message)),
      file_(std::move(file)),
      line_(line),
      column_(column),
      detail_(message) {}

}  // namespace meshd::config
