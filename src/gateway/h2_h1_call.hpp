#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

// An HTTP/2 stream served by a `protocol: http1` service: the stream
// becomes an HTTP/1.1 request on a pooled keep-alive connection (the same
// pool as the HTTP/1.1 path). Bodies stream both ways, each bounded by the
// stream's buffer: the request with its Content-Length or chunked, the
// response read from the instance only as fast as the client takes it.

#include <chrono>
#include <memory>

#include "h2_stream.hpp"

namespace meshd::gateway::h2 {

/// Starts one attempt of `stream` on `host`; the outcome reaches the
/// stream's session later, never from within this call.
std::shared_ptr<UpstreamCall> start_h1_call(GatewayContext& ctx, std::shared_ptr<Stream> stream,
                                            const balancer::Host& host,
                                            std::chrono::steady_clock::duration timeout,
                                            const std::string& client_ip);

}  // namespace meshd::gateway::h2
