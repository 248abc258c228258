#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace meshd::core {

/// The kinds of expected failure a caller can cause or meet: the one list
/// that every surface (REST API, WebSocket upgrade, gateway) answers from.
/// Each maps to exactly one HTTP status and one JSON body, in one place:
/// core::local_reply (include/meshd/core/local_reply.hpp), as Envoy sends
/// every local reply through sendLocalReply.
enum class ErrorCode {
  invalid_argument,         // 400: a request, query or body the caller got wrong
  invalid_config,           // 400: a config (file or reload body) that does not load
  unauthorized,             // 401: a token is needed and missing or wrong
  forbidden,                // 403: not allowed whatever the token (a WebSocket origin)
  not_found,                // 404
  method_not_allowed,       // 405
  conflict,                 // 409: not in this state (a reload is running)
  payload_too_large,        // 413
  upgrade_required,         // 426: a WebSocket endpoint asked without 'Upgrade: websocket'
  rate_limited,             // 429: over a service's rate_limit (sent with Retry-After)
  header_fields_too_large,  // 431
  internal,                 // 500
  upstream_failure,         // 502: the gateway's upstream failed
  unavailable,              // 503: no eligible instance, not ready, shutting down
  upstream_timeout,         // 504: the gateway's upstream did not answer in time
};

/// Stable snake_case name of a code, used as "code" in JSON errors.
const char* to_string(ErrorCode code);

/// An expected failure: a code and one line for the operator.
struct Error {
  ErrorCode code;
  std::string message;
};

/// A value or an Error, in the spirit of std::expected (C++23).
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

/// Result of an operation with no value.
using Status = Result<std::monostate>;
inline Status ok_status() {
  return Status(std::monostate{});
}

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

}  // namespace meshd::core
