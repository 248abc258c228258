#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "meshd/config/types.hpp"

namespace meshd::config {

/// A problem with the user's file: one line that names file, line, column
/// and what is wrong, e.g.
///   config.yaml:12:5: unknown key 'helth' in service 'api' (did you mean 'health'?)
/// line/column are 0 when the problem is not tied to one place.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, int line, int column, const std::string& message);
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  int column() const { return column_; }
  /// The message alone, without the file:line:column prefix.
  const std::string& detail() const { return detail_; }

 private:
  std::string file_;
  int line_;
  int column_;
  std::string detail_;
};

struct LoadOptions {
  /// Overlay from `environments:` to apply; empty for none. Naming an
  /// environment the file does not have is an error.
  std::string environment;
  /// Variables for ${VAR} and ${VAR:-default}. When unset, meshd's own
  /// environment (environ) is used.
  std::optional<std::map<std::string, std::string>> variables;
};

/// Reads, expands, merges (defaults, overlay) and validates a config file.
/// Throws ConfigError on any problem; never returns a partly valid Config.
Config load_file(const std::string& path, const LoadOptions& options = {});

/// The same, from text; `source_name` is used in error messages.
Config load_string(const std::string& yaml, const std::string& source_name,
                   const LoadOptions& options = {});

/// A YAML document as JSON, for JSON patches of a config (POST
/// /admin/config): plain scalars that read as integers, numbers, booleans
/// or null become those, everything else a string. `${VAR}` references are
/// kept as text. Throws ConfigError on a YAML syntax error.
nlohmann::json yaml_to_json(const std::string& yaml, const std::string& source_name);

}  // namespace meshd::config
