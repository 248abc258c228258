// The listener of the API server: it owns the acceptor and starts one
// HttpSession per connection (Beast's server examples).

#include "meshd/api/http_server.hpp"

#include <utility>

#include "http_session.hpp"
#include "meshd/core/listen.hpp"

namespace meshd::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

struct HttpServer::Listener : std::enable_shared_from_this<HttpServer::Listener> {
  Listener(asio::io_context& io, const Router& r, const HttpServerOptions& o,
           std::shared_ptr<const Upgrade> u)
      : acceptor(io), router(r), options(o), upgrade(std::move(u)) {}

  void accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<HttpSession>(std::move(socket), self->router, self->options, self->upgrade)
            ->start();
      }
      self->accept();
    });
  }

  tcp::acceptor acceptor;
  const Router& router;
  HttpServerOptions options;
  std::shared_ptr<const Upgrade> upgrade;
};

HttpServer::HttpServer(asio::io_context& io, const Router& router, HttpServerOptions options)
    : io_(io), router_(router), options_(std::move(options)) {}

HttpServer::~HttpServer() {
  stop();
}

config::Endpoint HttpServer::listen(const config::Endpoint& endpoint) {
  listener_ = std::make_shared<Listener>(io_, router_, options_, upgrade_);
  auto bound = core::bind_and_listen(listener_->acceptor, endpoint.host, endpoint.port, "");
  listener_->accept();
  return config::Endpoint{bound.address().to_string(), bound.port()};
}

void HttpServer::set_upgrade(Upgrade upgrade) {
  upgrade_ = std::make_shared<const Upgrade>(std::move(upgrade));
}

void HttpServer::stop() {
  if (!listener_) return;
  boost::system::error_code ignored;
  listener_->acceptor.close(ignored);
  listener_.reset();
}

}  // namespace meshd::api
