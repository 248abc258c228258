#pragma once
// Private to the config module: not part of meshd's public headers (include/meshd/).

#include <string>

#include "node.hpp"

namespace meshd::config::detail {

/// Parses one YAML document into a Node tree with 1-based marks. Rejects
/// syntax errors, several documents, non-string keys and duplicate keys, and
/// applies YAML merge keys (`<<: *anchor`), which yaml-cpp leaves to us.
/// Throws FieldError. Empty text gives a null Node.
Node read_yaml(const std::string& text);

}  // namespace meshd::config::detail
