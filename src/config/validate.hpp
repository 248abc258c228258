#pragma once
// Private to the config module: not part of meshd's public headers (include/meshd/).

#include <vector>

#include "parsers.hpp"

namespace meshd::config::detail {

/// The checks that look across services, after every service has parsed:
/// service names, dependencies (unknown, self, repeated, impossible
/// conditions, cycles) and port collisions between instances and meshd's
/// own listeners. Throws FieldError at the value that completes the problem.
void validate(const ParsedMesh& mesh, const std::vector<ParsedService>& services);

}  // namespace meshd::config::detail
