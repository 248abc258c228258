#pragma once
// Private to the config module: not part of meshd's public headers (include/meshd/).

#include "node.hpp"

namespace meshd::config::detail {

/// `over` deep-merged over `base`: two maps merge key by key (recursively,
/// keys keep base's order, new keys follow in over's order); anything else,
/// lists included, is replaced by `over`. An explicit null in `over` also
/// replaces, which resets a field to its built-in default. Marks travel with
/// the nodes, so an error still points at the line a value came from.
Node merge(const Node& base, const Node& over);

}  // namespace meshd::config::detail
