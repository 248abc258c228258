#pragma once

#include <nlohmann/json.hpp>

#include "meshd/config/types.hpp"

namespace meshd::config {

/// The effective config (after defaults and the overlay) as JSON, in the
/// file's own spellings ("2s", "50%", "on-failure"). With `redact`, secrets
/// are replaced by "<redacted>": mesh.api_token, and env values whose name
/// looks like a secret (TOKEN, SECRET, PASSWORD, PASSWD, KEY, CREDENTIAL,
/// PRIVATE, anywhere in the name, any case).
nlohmann::json to_json(const Config& config, bool redact = true);

/// Whether an environment variable name looks like it holds a secret.
bool looks_secret(const std::string& name);

}  // namespace meshd::config
