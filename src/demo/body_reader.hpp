#pragma once
// Private to the demo module: not part of meshd's public headers (include/meshd/).

// The body of one request, read through Beast's parser in pieces as a
// route asks for them; nothing is kept.

#include <boost/beast/core/flat_buffer.hpp>
#include <cstddef>
#include <cstdint>

#include "request.hpp"
#include "timed_socket.hpp"

namespace meshd::demo {

/// Reads the body that follows a head `parser` has read. Whether it is
/// framed by Content-Length or chunked is the parser's business.
class BodyReader {
 public:
  /// With `expect_continue`, answers "100 Continue" before the first read
  /// of a body (a client that asked waits for it before sending).
  BodyReader(TimedSocket& socket, boost::beast::flat_buffer& buffer, RequestParser& parser,
             bool expect_continue);

  /// Up to `max` body bytes into `out`; 0 once the body is complete.
  /// Throws HttpError on a malformed body, PeerGone when the peer is gone.
  std::size_t read(char* out, std::size_t max);
  /// Reads and discards the rest; returns how many bytes that was.
  std::uint64_t drain();
  /// Body bytes read so far.
  std::uint64_t bytes_read() const { return total_; }

 private:
  void send_continue();

  TimedSocket& socket_;
  boost::beast::flat_buffer& buffer_;
  RequestParser& parser_;
  bool expect_continue_;
  std::uint64_t total_ = 0;
};

}  // namespace meshd::demo
