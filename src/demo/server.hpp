#pragma once

// Listening socket and connections: one thread per connection, which is
// plenty for a test service and keeps every request's code straight-line.

#include <string>

#include "routes.hpp"

namespace meshd::demo {

/// A bound, listening TCP socket and the port it got (useful for port 0).
struct Listener {
  int fd = -1;
  int port = 0;
};

/// Binds host:port and listens. Throws std::runtime_error with the reason.
Listener listen_on(const std::string& host, int port);

/// Accepts connections until the process ends; never returns.
[[noreturn]] void serve_forever(const Listener& listener, ServiceState& state);

}  // namespace meshd::demo
