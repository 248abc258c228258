#pragma once

// Header rewriting for the gateway: what is forwarded, what is hop-by-hop,
// what meshd adds. Kept apart from the session's I/O so it reads as policy.

#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>

#include "gateway_context.hpp"

namespace meshd::gateway {

using ProxyRequest = boost::beast::http::request<boost::beast::http::buffer_body>;
using ProxyResponse = boost::beast::http::response<boost::beast::http::buffer_body>;

/// "/svc/a/b?q" -> ("svc", "/a/b?q"); "/svc" -> ("svc", "/"). False for a
/// target that is not origin-form or has an empty or invalid service name.
bool split_target(std::string_view target, std::string& service, std::string& rest);

/// The request to send upstream: same method, `rest` as target, HTTP/1.1,
/// the client's headers minus hop-by-hop ones, plus X-Forwarded-For,
/// X-Forwarded-Proto and X-Request-Id (kept when the client sent one).
void build_upstream_request(const ProxyRequest& in, const std::string& rest, GatewayContext& ctx,
                            const std::string& client_ip, ProxyRequest& out);

/// The response to send the client: status and headers from upstream
/// minus hop-by-hop ones, X-Mesh-Instance added, framing for the client.
void build_client_response(const ProxyResponse& in, unsigned client_version, const std::string& instance,
                           ProxyResponse& out);

/// The consistent-hash key of a request, by the service's hash_key.
std::optional<std::uint64_t> hash_for(const config::HashKey& key, const ProxyRequest& req,
                                      const std::string& client_ip);

/// {"error": {"code": ..., "message": ...}}.
std::string json_error(const std::string& code, const std::string& message);

}  // namespace meshd::gateway
