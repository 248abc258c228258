#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

// gRPC over the gateway's HTTP/2 path: what marks a request as gRPC, how
// its deadline is read, how the gateway's own errors become grpc-status
// codes, and which methods may be retried. Pure functions: no I/O.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meshd/core/error.hpp"

namespace meshd::gateway::grpc {

/// gRPC status codes the gateway answers with (grpc/doc/statuscodes.md).
enum class Status : int {
  ok = 0,
  invalid_argument = 3,
  deadline_exceeded = 4,
  not_found = 5,
  resource_exhausted = 8,
  unimplemented = 12,
  internal = 13,
  unavailable = 14,
};

/// Whether a request with this content-type is a gRPC call
/// ("application/grpc", "application/grpc+proto", ...).
bool is_grpc(std::string_view content_type);

/// A `grpc-timeout` value: 1 to 8 digits and a unit (H, M, S, m, u, n).
/// Empty for anything else (the header is then ignored).
std::optional<std::chrono::nanoseconds> parse_timeout(std::string_view value);

/// The grpc-status of one of the gateway's own errors: no instance or a
/// failed upstream UNAVAILABLE, timeout DEADLINE_EXCEEDED, no such service
/// UNIMPLEMENTED (the method's server does not exist behind this gateway:
/// what grpc-go answers for an unknown service), a bad request
/// INVALID_ARGUMENT, rate limited or too large RESOURCE_EXHAUSTED, anything else INTERNAL.
Status status_for(core::ErrorCode code);

/// `grpc-message` encoding (gRPC's PROTOCOL-HTTP2.md): bytes outside
/// 0x20-0x7E, and '%', as %XX.
std::string percent_encode(std::string_view text);

/// Whether `path` ("/pkg.Service/Method") is one of `methods`: an exact
/// entry or "/pkg.Service/*".
bool method_matches(std::string_view path, const std::vector<std::string>& methods);

}  // namespace meshd::gateway::grpc
