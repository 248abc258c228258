#include "meshd/gateway/gateway.hpp"

#include <random>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gateway_context.hpp"

namespace meshd::gateway {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Gateway::Impl : std::enable_shared_from_this<Gateway::Impl> {
  Impl(asio::io_context& io, RouteTable& routes, const core::TimeSource& clock, std::function<double()> random01,
       GatewayOptions options)
      : ctx(std::make_shared<GatewayContext>(io, routes, clock, std::move(random01), options)),
        acceptor(io.get_executor()),
        sweeper(io) {}

  void accept() {
    acceptor.async_accept([self = shared_from_this()](boost::system::error_code ec, Socket socket) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        start_proxy_session(self->ctx, std::move(socket));
      }
      self->accept();
    });
  }

  void sweep() {
    sweeper.expires_after(std::chrono::seconds(5));
    sweeper.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      self->ctx->pool.sweep(self->ctx->clock.now());
      self->sweep();
    });
  }

  std::shared_ptr<GatewayContext> ctx;
  Acceptor acceptor;
  asio::steady_timer sweeper;
};

Gateway::Gateway(asio::io_context& io, RouteTable& routes, const core::TimeSource& clock,
                 std::function<double()> random01, GatewayOptions options)
    : impl_(std::make_shared<Impl>(io, routes, clock, std::move(random01), options)) {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  impl_->ctx->request_id_prefix = buf;
}

Gateway::~Gateway() { stop(); }

config::Endpoint Gateway::listen(const config::Endpoint& endpoint) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(endpoint.host == "localhost" ? "127.0.0.1" : endpoint.host, ec);
  if (ec) throw std::runtime_error("cannot listen on gateway " + endpoint.to_string() + ": not an IP address");
  tcp::endpoint ep(address, endpoint.port);
  auto& acc = impl_->acceptor;
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on gateway " + endpoint.to_string() + ": " + ec.message());
  impl_->accept();
  impl_->sweep();
  auto bound = acc.local_endpoint();
  return config::Endpoint{bound.address().to_string(), bound.port()};
}

void Gateway::stop() {
  if (!impl_ || impl_->ctx->stopped) return;
  impl_->ctx->stopped = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  impl_->sweeper.cancel();
  impl_->ctx->pool.clear();
}

std::size_t Gateway::connections() const { return impl_->ctx->connections; }

}  // namespace meshd::gateway
