#pragma once
// Private to the demo module: not part of meshd's public headers (include/meshd/).

// Writing a Response through Beast's serializer: every answer carries
// X-Demo-Instance and Content-Length (except 204 and 304, which have no
// body), and a streamed body is generated piece by piece while it is sent.

#include <string>

#include "request.hpp"
#include "routes.hpp"
#include "timed_socket.hpp"

namespace meshd::demo {

/// Writes `response` to `request`: no body for HEAD, 204 or 304; "Connection:
/// close" unless `keep_alive`, "Connection: keep-alive" when an HTTP/1.0
/// client keeps it. Throws PeerGone when the peer is gone.
void write_response(TimedSocket& socket, const Request& request, const Response& response,
                    bool keep_alive, const std::string& instance);

/// Answers `error` (text/plain, its reason as the body) and asks the client
/// to close; a peer already gone is ignored.
void write_error(TimedSocket& socket, const HttpError& error, const std::string& instance);

}  // namespace meshd::demo
