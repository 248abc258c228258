#include "timed_socket.hpp"

#include <cerrno>

namespace meshd::demo {

TimedSocket::TimedSocket(boost::asio::ip::tcp::socket socket, std::chrono::milliseconds timeout)
    : socket_(std::move(socket)), timeout_(timeout) {
  boost::beast::error_code ignored;
  socket_.non_blocking(true, ignored);
  // Small answers go out at once rather than wait for the peer's ACK.
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
}

bool TimedSocket::wait(short events, boost::beast::error_code& ec) {
  pollfd descriptor{socket_.native_handle(), events, 0};
  for (;;) {
    const int ready = ::poll(&descriptor, 1, static_cast<int>(timeout_.count()));
    if (ready > 0) {
      ec = {};
      return true;  // readable, writable, or in error: the next call says which
    }
    if (ready == 0) {
      ec = boost::beast::error::timeout;
      return false;
    }
    if (errno != EINTR) {
      ec = boost::beast::error_code(errno, boost::system::system_category());
      return false;
    }
  }
}

void TimedSocket::close() {
  boost::beast::error_code ignored;
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  socket_.close(ignored);
}

}  // namespace meshd::demo
