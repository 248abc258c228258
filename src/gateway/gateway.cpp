#include "meshd/gateway/gateway.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <random>

#include "gateway_context.hpp"
#include "meshd/core/listen.hpp"

namespace meshd::gateway {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Gateway::Impl : std::enable_shared_from_this<Gateway::Impl> {
  Impl(asio::io_context& io, RouteTable& routes, const core::TimeSource& clock,
       std::function<double()> random01, GatewayOptions options)
      : ctx(std::make_shared<GatewayContext>(io, routes, clock, std::move(random01), options)),
        acceptor(io.get_executor()),
        sweeper(io) {}

  void accept() {
    // Accepted onto the io_context's own executor type (Socket), which
    // the session's every read and write goes through.
    acceptor.async_accept(ctx->io,
                          [self = shared_from_this()](boost::system::error_code ec, Socket socket) {
                            if (ec == asio::error::operation_aborted || !self->acceptor.is_open())
                              return;
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
  tcp::acceptor acceptor;
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

Gateway::~Gateway() {
  stop();
}

config::Endpoint Gateway::listen(const config::Endpoint& endpoint) {
  auto bound = core::bind_and_listen(impl_->acceptor, endpoint.host, endpoint.port, "gateway");
  impl_->accept();
  impl_->sweep();
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

std::size_t Gateway::connections() const {
  return impl_->ctx->connections;
}

}  // namespace meshd::gateway
