#pragma once
// The echo server of ws_echo_bench: every WebSocket message comes back as
// it came (text or binary); a plain HTTP request gets 200 "ok", so that an
// `http` health check passes too.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>

namespace meshd::bench {

/// Accepts on 127.0.0.1:`port` (0: any free port) until the io_context
/// stops. Sessions keep themselves alive with shared_from_this().
class EchoServer {
 public:
  EchoServer(boost::asio::io_context& io, std::uint16_t port);
  /// The port it listens on (the one given, or the one the kernel chose).
  std::uint16_t port() const;

 private:
  void accept();

  boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace meshd::bench
