#pragma once

#include <string>

namespace meshd::config {

/// A service's name appears in URLs (/<service>/... on the gateway,
/// /api/v1/discover/<service>): 1-63 lowercase letters, digits, '_' or
/// '-', starting with a letter or digit. One rule for the file and for
/// services that a registration creates.
bool valid_service_name(const std::string& name);

}  // namespace meshd::config
