#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "meshd/config/types.hpp"
#include "meshd/core/error.hpp"

namespace meshd::config {

/// The shortest interval between checks, however a check arrives (a file's
/// health block or a registration's check): below it a check costs more
/// than it tells.
inline constexpr Duration kMinCheckInterval{100};

/// Parses a health check given as JSON (the registration API's `check`)
/// with the one health-check parser, the one that reads a file's `health:`
/// block (src/config/health_parser.cpp): same keys, types, ranges and
/// messages. The check's target has an address and a port. `path` names the
/// block in messages ("check"). Policy that belongs to the caller (which
/// types it allows, its default type) stays with the caller.
core::Result<HealthSpec> parse_health_json(const nlohmann::json& check, const std::string& path);

}  // namespace meshd::config
