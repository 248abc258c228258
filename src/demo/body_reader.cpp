#include "body_reader.hpp"

#include <array>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace meshd::demo {

namespace http = boost::beast::http;

BodyReader::BodyReader(TimedSocket& socket, boost::beast::flat_buffer& buffer,
                       RequestParser& parser, bool expect_continue)
    : socket_(socket), buffer_(buffer), parser_(parser), expect_continue_(expect_continue) {}

std::size_t BodyReader::read(char* out, std::size_t max) {
  if (max == 0 || parser_.is_done()) return 0;
  send_continue();
  auto& piece = parser_.get().body();
  piece.data = out;
  piece.size = max;
  boost::beast::error_code ec;
  // Returns need_buffer once `out` is full, or success at the body's end.
  http::read(socket_, buffer_, parser_, ec);
  if (ec == http::error::need_buffer) ec = {};
  if (ec) throw_read_failure(ec, parser_, {});
  const std::size_t n = max - piece.size;
  piece.data = nullptr;
  total_ += n;
  return n;
}

std::uint64_t BodyReader::drain() {
  const std::uint64_t before = total_;
  std::array<char, 16 * 1024> sink;
  while (read(sink.data(), sink.size()) > 0) {
  }
  return total_ - before;
}

void BodyReader::send_continue() {
  if (!expect_continue_) return;
  expect_continue_ = false;
  http::response<http::empty_body> interim{http::status::continue_, 11};
  boost::beast::error_code ec;
  http::write(socket_, interim, ec);
  if (ec) throw PeerGone{};
}

}  // namespace meshd::demo
