#pragma once

#include <optional>
#include <string>

#include "meshd/registry/instance_record.hpp"

namespace meshd::registry {

/// The text a CatalogBackend keeps for an instance's overrides:
/// {"drain": ..., "maintenance": ..., "note": ...}. One codec, so what the
/// API saves is what a restarted meshd restores.
std::string encode_overrides(const Overrides& overrides);

/// The overrides stored as `text`; nullopt when it is not a JSON object
/// (a damaged row is skipped, not fatal at startup). Missing fields keep
/// their defaults.
std::optional<Overrides> decode_overrides(const std::string& text);

}  // namespace meshd::registry
