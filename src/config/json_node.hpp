#pragma once
// Private to the config module: not part of meshd's public headers (include/meshd/).

#include <nlohmann/json.hpp>

#include "node.hpp"

namespace meshd::config::detail {

/// A JSON value as a Node tree (JSON is YAML's flow style), so that values
/// arriving over the API are read by the same parsers as the file. Numbers
/// and booleans become their JSON text; nodes carry no marks.
Node node_from_json(const nlohmann::json& value);

}  // namespace meshd::config::detail
