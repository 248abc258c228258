#pragma once
// Private to the demo module: not part of meshd's public headers (include/meshd/).

// One client connection, served on the thread that calls serve_connection:
// request after request while the client keeps the connection alive.

#include <boost/asio/ip/tcp.hpp>

#include "routes.hpp"

namespace meshd::demo {

/// Serves requests on `socket` until the client closes, asks to close,
/// sends something malformed (answered with its status, then closed) or
/// stays idle for 60 s; then closes it. Never throws.
void serve_connection(boost::asio::ip::tcp::socket socket, ServiceState& state);

}  // namespace meshd::demo
