#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

#include <string>

#include "meshd/config/types.hpp"

namespace meshd::daemon {

/// mesh.node, or the host name when the file does not set it.
std::string node_name(const config::Config& config);
/// mesh.advertise, or the API's listen host ("localhost" read as
/// 127.0.0.1); a wildcard listen host falls back to the host name.
std::string advertise_address(const config::Config& config);

}  // namespace meshd::daemon
