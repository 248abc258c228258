#include "meshd/core/error.hpp"

#include <cassert>

namespace meshd::core {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
      return "invalid_argument";
    case ErrorCode::invalid_config:
      return "invalid_config";
    case ErrorCode::unauthorized:
      return "unauthorized";
    case ErrorCode::forbidden:
      return "forbidden";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::method_not_allowed:
      return "method_not_allowed";
    case ErrorCode::conflict:
      return "conflict";
    case ErrorCode::payload_too_large:
      return "payload_too_large";
    case ErrorCode::upgrade_required:
      return "upgrade_required";
    case ErrorCode::rate_limited:
      return "rate_limited";
    case ErrorCode::header_fields_too_large:
      return "request_header_fields_too_large";
    case ErrorCode::internal:
      return "internal";
    case ErrorCode::upstream_failure:
      return "upstream_failure";
    case ErrorCode::unavailable:
      return "unavailable";
    case ErrorCode::upstream_timeout:
      return "upstream_timeout";
  }
  assert(false && "ErrorCode without a name");
  return "internal";
}

}  // namespace meshd::core
