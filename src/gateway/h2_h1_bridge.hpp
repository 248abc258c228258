#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

// An HTTP/1.1 request to a `protocol: http2` service: h2c-only instances
// (grpcio, nghttpd) do not speak HTTP/1.1, so the request goes to them as an
// HTTP/2 stream, routed, retried and counted like any (StreamRouter), and
// its response comes back as HTTP/1.1 (chunked when it has no
// Content-Length; trailers as chunked trailer fields to a client that sent
// `TE: trailers`, else dropped). Bodies stream both ways, at most
// 256 KiB buffered each way. Once the response is written the connection
// goes back to an ordinary ProxySession for the client's next request.

#include <memory>
#include <string_view>

#include "gateway_context.hpp"

namespace meshd::gateway::h2 {

/// Serves the request whose head starts `received` (the bytes read from
/// the client so far, head included) on `socket`.
void bridge_h1_request(std::shared_ptr<GatewayContext> ctx, Socket socket,
                       std::string_view received);

}  // namespace meshd::gateway::h2
