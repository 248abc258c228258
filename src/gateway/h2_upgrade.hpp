#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

// How an HTTP/1.1 connection becomes HTTP/2: it begins with the client
// connection preface (prior knowledge), or asks for h2c in an Upgrade
// (RFC 7540 3.2). Pure functions: no I/O.

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "h2_stream.hpp"
#include "http_head.hpp"

namespace meshd::gateway::h2 {

/// The client connection preface of HTTP/2 (RFC 9113 3.4).
constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum class PrefaceMatch { no, partial, full };
/// Whether a connection's first bytes are the HTTP/2 preface, the start of
/// it (more must be read to tell), or not.
inline PrefaceMatch match_preface(std::string_view first) {
  auto n = std::min(first.size(), kPreface.size());
  if (first.substr(0, n) != kPreface.substr(0, n)) return PrefaceMatch::no;
  return n == kPreface.size() ? PrefaceMatch::full : PrefaceMatch::partial;
}

/// An HTTP/1.1 request that asked to continue as h2c (RFC 7540 3.2:
/// `Upgrade: h2c`, `HTTP2-Settings`, both named in `Connection`). It
/// becomes stream 1 of the HTTP/2 connection that follows the 101.
struct H2cUpgrade {
  std::string method, target, authority;
  Headers headers;       // lower-case names, without the upgrade's own fields
  std::string settings;  // HTTP2-Settings, decoded
};

/// The upgrade a request asks for, when it is a valid h2c upgrade
/// without a body (one with a body stays HTTP/1.1, as RFC 7540 allows).
std::optional<H2cUpgrade> h2c_upgrade(const MessageHead& request, bool has_body);

/// Whether a comma-separated field value (`Connection`, `Upgrade`, `TE`)
/// has `token`, case-insensitively.
bool has_token(std::string_view value, std::string_view token);

/// base64url without padding (RFC 7540 3.2.1); empty on a bad character.
std::optional<std::string> decode_base64url(std::string_view text);

}  // namespace meshd::gateway::h2
