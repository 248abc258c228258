#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "meshd/core/error.hpp"

namespace meshd::core {

/// The one mapping from an expected failure to what a client receives:
/// the HTTP status and the JSON body. The REST API, the WebSocket upgrade
/// and the gateway all answer through it, so a code means the same status
/// everywhere (docs/api.md, "Errors").

/// The HTTP status of `code`.
int http_status(ErrorCode code);

/// Whether `status` is one that local_reply answers with (a 4xx or 5xx of
/// the list), for callers that hold a status from elsewhere.
bool is_error_status(int status);

/// {"error": {"code": ..., "message": ...}} plus any `extra` fields merged
/// into the inner object (the reload's file, line and column).
nlohmann::json error_json(const Error& error,
                          const nlohmann::json& extra = nlohmann::json::object());

/// error_json() serialised, invalid UTF-8 replaced.
std::string error_body(const Error& error, const nlohmann::json& extra = nlohmann::json::object());

}  // namespace meshd::core
