#include "meshd/core/local_reply.hpp"

#include <cassert>

namespace meshd::core {

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
      return 400;
    case ErrorCode::invalid_config:
      return 400;
    case ErrorCode::unauthorized:
      return 401;
    case ErrorCode::forbidden:
      return 403;
    case ErrorCode::not_found:
      return 404;
    case ErrorCode::method_not_allowed:
      return 405;
    case ErrorCode::conflict:
      return 409;
    case ErrorCode::payload_too_large:
      return 413;
    case ErrorCode::upgrade_required:
      return 426;
    case ErrorCode::rate_limited:
      return 429;
    case ErrorCode::header_fields_too_large:
      return 431;
    case ErrorCode::internal:
      return 500;
    case ErrorCode::upstream_failure:
      return 502;
    case ErrorCode::unavailable:
      return 503;
    case ErrorCode::upstream_timeout:
      return 504;
  }
  assert(false && "ErrorCode without a status");
  return 500;
}

bool is_error_status(int status) {
  return status >= 400 && status <= 599;
}

nlohmann::json error_json(const Error& error, const nlohmann::json& extra) {
  nlohmann::json inner = {{"code", to_string(error.code)}, {"message", error.message}};
  if (extra.is_object())
    for (const auto& [key, value] : extra.items()) inner[key] = value;
  return nlohmann::json{{"error", std::move(inner)}};
}

std::string error_body(const Error& error, const nlohmann::json& extra) {
  return error_json(error, extra).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace meshd::core
