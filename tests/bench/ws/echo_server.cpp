#include "echo_server.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <memory>

namespace meshd::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using boost::system::error_code;
using tcp = asio::ip::tcp;

// One accepted connection: its first request either upgrades (then every
// message is echoed until the peer closes) or gets 200 "ok".
class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : ws_(std::move(socket)) {}

  void start() {
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
    http::async_read(beast::get_lowest_layer(ws_), buffer_, req_,
                     [self = shared_from_this()](error_code ec, std::size_t) {
                       if (!ec) self->on_request();
                     });
  }

 private:
  void on_request() {
    if (!websocket::is_upgrade(req_)) return answer_plain();
    // No timeouts once upgraded: a benchmark connection may be quiet
    // between rounds, and the client bounds the run.
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout{std::chrono::seconds(10),
                                                   websocket::stream_base::none(), false});
    ws_.read_message_max(1 << 24);
    ws_.async_accept(req_, [self = shared_from_this()](error_code ec) {
      if (!ec) self->read();
    });
  }

  void answer_plain() {
    res_.version(req_.version());
    res_.result(http::status::ok);
    res_.set(http::field::content_type, "text/plain");
    res_.keep_alive(false);
    res_.body() = "ok\n";
    res_.prepare_payload();
    http::async_write(
        beast::get_lowest_layer(ws_), res_, [self = shared_from_this()](error_code, std::size_t) {
          error_code ignored;
          beast::get_lowest_layer(self->ws_).socket().shutdown(tcp::socket::shutdown_send, ignored);
        });
  }

  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](error_code ec, std::size_t) {
      if (ec) return;
      self->ws_.text(self->ws_.got_text());
      self->ws_.async_write(self->buffer_.data(), [self](error_code e, std::size_t) {
        if (e) return;
        self->buffer_.consume(self->buffer_.size());
        self->read();
      });
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

}  // namespace

EchoServer::EchoServer(asio::io_context& io, std::uint16_t port)
    : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)) {
  accept();
}

std::uint16_t EchoServer::port() const {
  return acceptor_.local_endpoint().port();
}

void EchoServer::accept() {
  acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket))->start();
    }
    accept();
  });
}

}  // namespace meshd::bench
