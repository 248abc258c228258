#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

// h2c to the instances of a `protocol: http2` service: a few multiplexed
// connections per instance (nghttp2's client session, modelled on its
// examples/libevent-client.c), each carrying many streams, one per call.

#include <chrono>
#include <memory>

#include "h2_stream.hpp"

namespace meshd::gateway::h2 {

/// Starts one attempt of `stream` on `host` over a pooled h2c connection.
/// Its outcome reaches the stream's session later, never from within this
/// call. `timeout`: how long the response head may take.
std::shared_ptr<UpstreamCall> start_h2_call(GatewayContext& ctx, std::shared_ptr<Stream> stream,
                                            const balancer::Host& host,
                                            std::chrono::steady_clock::duration timeout,
                                            const std::string& client_ip);

/// The pooled h2c connections of one gateway, by instance ("address:port").
class UpstreamPool;

/// The headers a request carries upstream: the client's minus the
/// connection-specific ones HTTP/2 forbids (RFC 9113 8.2.2; `te` only as
/// "trailers"), plus X-Forwarded-For/-Proto, a traceparent for this hop
/// (trace_context.hpp) and X-Request-Id (the trace id) when none came.
Headers forward_headers(const Stream& stream, const std::string& client_ip);

}  // namespace meshd::gateway::h2
