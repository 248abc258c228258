#pragma once
// Private to the config module: not part of meshd's public headers (include/meshd/).

// Which keys each block of the file accepts. Unknown keys are caught here,
// on the raw tree and before any merging, so that a typo is reported against
// the block where it was written (defaults, an environment, a service) and a
// typo in an environment that is not selected today still fails validation.

#include <span>
#include <string>
#include <string_view>

#include "node.hpp"

namespace meshd::config::detail {

struct Block;

/// How a key's value is checked further down.
enum class Shape {
  leaf,            // a value; the parser checks it
  block,           // a map with known keys (scalars such as `false` are left to the parser)
  list_of_blocks,  // a list whose map items have known keys (tests, depends_on)
  map_of_blocks,   // a map from user-chosen names to blocks (services, environments)
};

struct Field {
  std::string_view key;
  Shape shape = Shape::leaf;
  const Block* block = nullptr;
};

struct Block {
  std::span<const Field> fields;
};

/// The whole file, one service (also `defaults:` and overlay entries), the
/// `mesh:` block, and one entry of `environments:`.
const Block& file_schema();
const Block& service_schema();
const Block& mesh_schema();
const Block& environment_schema();

/// Throws FieldError at the first unknown key in `node` or below it. `path`
/// names `node` in messages ("" for the top level, "services.api", ...).
void check_keys(const Node& node, const Block& block, const std::string& path);

}  // namespace meshd::config::detail
