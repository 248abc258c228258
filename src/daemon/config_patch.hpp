#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

#include <nlohmann/json.hpp>
#include <string>

#include "meshd/core/error.hpp"

namespace meshd::daemon {

/// What the body of POST /admin/config holds, from its Content-Type and
/// its shape (docs/reload.md, "POST /admin/config").
struct ConfigBody {
  enum class Kind {
    whole_config,  // YAML, or JSON (which is YAML too)
    json_patch,    // RFC 6902: application/json-patch+json, or application/json with an array
    merge_patch,   // RFC 7396: application/merge-patch+json
  };
  Kind kind = Kind::whole_config;
  nlohmann::json patch;  // the parsed patch, for the two patch kinds
};

/// Reads `body` as sent with `content_type` (parameters and case ignored).
/// invalid_argument for an empty body, a patch that is not JSON or not of
/// its kind's shape.
core::Result<ConfigBody> read_config_body(const std::string& body, const std::string& content_type);

/// The text of `base_text` (the config last applied) with `body`'s patch
/// applied, as JSON. conflict when the base cannot be read as JSON;
/// invalid_argument when the patch does not apply (a missing path, a failed
/// `test`).
core::Result<std::string> apply_config_patch(const ConfigBody& body, const std::string& base_text);

}  // namespace meshd::daemon
