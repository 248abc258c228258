#pragma once
// Private to the config module: not part of meshd's public headers (include/meshd/).

#include <string>
#include <vector>

#include "meshd/config/types.hpp"

namespace meshd::config::detail {

/// The first dependency cycle found walking services and their depends_on in
/// file order, as the names along it with the first repeated at the end
/// ({"a", "b", "a"}); empty when there is none. Unknown names are ignored.
std::vector<std::string> find_cycle_path(const Config& config);

}  // namespace meshd::config::detail
