#pragma once
// Private to the demo module: not part of meshd's public headers (include/meshd/).

// The socket under Beast's synchronous http::read and http::write, with
// every wait bounded. beast::tcp_stream's expiry applies to asynchronous
// operations only, and Asio's synchronous ones wait in poll(2) without end
// (an SO_RCVTIMEO just sends them back there), so this socket is
// non-blocking and does the waiting itself.

#include <poll.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <cstddef>

namespace meshd::demo {

/// A Beast SyncReadStream and SyncWriteStream over a connected TCP socket.
/// A read or write fails with beast::error::timeout when the peer lets
/// `timeout` pass without sending or taking a byte, so an idle keep-alive
/// connection or a stalled peer costs a thread for that long, no longer.
class TimedSocket {
 public:
  TimedSocket(boost::asio::ip::tcp::socket socket, std::chrono::milliseconds timeout);

  template <typename MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, boost::beast::error_code& ec) {
    for (;;) {
      const std::size_t n = socket_.read_some(buffers, ec);
      if (ec != boost::asio::error::would_block || !wait(POLLIN, ec)) return n;
    }
  }

  template <typename ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers, boost::beast::error_code& ec) {
    for (;;) {
      const std::size_t n = socket_.write_some(buffers, ec);
      if (ec != boost::asio::error::would_block || !wait(POLLOUT, ec)) return n;
    }
  }

  // The throwing forms complete the stream concepts; Beast calls the others.
  template <typename MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    boost::beast::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  template <typename ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers) {
    boost::beast::error_code ec;
    const std::size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  /// Sends FIN after what was written, then closes: the peer reads the last
  /// answer to its end instead of a reset.
  void close();

 private:
  // Waits for `events` on the socket; false with `ec` set on timeout or error.
  bool wait(short events, boost::beast::error_code& ec);

  boost::asio::ip::tcp::socket socket_;
  std::chrono::milliseconds timeout_;
};

}  // namespace meshd::demo
