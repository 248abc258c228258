#pragma once
// Private to the demo module: not part of meshd's public headers (include/meshd/).

// The listening socket and the accept loop: one thread per connection,
// which is plenty for a test service and keeps every request's code
// straight-line (routes sleep for --latency and /sleep as they please).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string>

#include "routes.hpp"

namespace meshd::demo {

/// Listens on host:port and hands each connection to a thread of its own.
class Server {
 public:
  /// Binds and listens (port 0 picks a free one). Throws std::runtime_error
  /// "cannot listen on host:port: reason".
  Server(const std::string& host, int port);

  /// The port actually bound.
  int port() const { return port_; }

  /// Accepts connections until the process ends.
  [[noreturn]] void serve_forever(ServiceState& state);

 private:
  // Owns the sockets' registrations and is never run: all I/O here is
  // synchronous, each connection on its own thread.
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  int port_ = 0;
};

}  // namespace meshd::demo
