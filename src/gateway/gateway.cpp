#include "meshd/gateway/gateway.hpp"

#include <pthread.h>
#include <sys/socket.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <optional>
#include <random>
#include <thread>

#include "gateway_context.hpp"
#include "meshd/core/listen.hpp"
#include "meshd/gateway/routing_snapshot.hpp"

namespace meshd::gateway {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::string random_prefix(std::random_device& rd) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

// bind_and_listen with SO_REUSEPORT: every thread's listener on one port,
// the kernel spreading connections among them.
tcp::endpoint bind_shared(tcp::acceptor& acceptor, const std::string& host, std::uint16_t port) {
  auto where = [&] { return "gateway " + host + ":" + std::to_string(port); };
  boost::system::error_code ec;
  auto address = core::host_address(host, ec);
  if (ec) throw std::runtime_error("cannot listen on " + where() + ": not an IP address");
  tcp::endpoint endpoint(address, port);
  using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.set_option(reuse_port(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + where() + ": " + ec.message());
  return acceptor.local_endpoint();
}

}  // namespace

/// One gateway thread's loop: its listener, sessions and upstream pool.
/// With one thread, the loop is the control loop.
struct Worker : std::enable_shared_from_this<Worker> {
  Worker(asio::io_context& io_, std::shared_ptr<GatewayContext> ctx_)
      : io(io_), ctx(std::move(ctx_)), acceptor(io_.get_executor()), sweeper(io_) {}

  void accept() {
    // Accepted onto the io_context's own executor type (Socket), which
    // the session's every read and write goes through.
    acceptor.async_accept(ctx->io,
                          [self = shared_from_this()](boost::system::error_code ec, Socket socket) {
                            if (ec == asio::error::operation_aborted || !self->acceptor.is_open())
                              return;
                            if (!ec) {
                              self->accepted.fetch_add(1, std::memory_order_relaxed);
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

  // On the worker's own loop.
  void stop() {
    ctx->stopped = true;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    sweeper.cancel();
    ctx->pool.clear();
  }

  asio::io_context& io;
  std::shared_ptr<GatewayContext> ctx;
  tcp::acceptor acceptor;
  asio::steady_timer sweeper;
  std::atomic<std::uint64_t> accepted{0};
};

struct Gateway::Impl : std::enable_shared_from_this<Gateway::Impl> {
  Impl(asio::io_context& io, RouteTable& table, const core::TimeSource& time,
       std::function<double()> random01, GatewayOptions opts)
      : control(io), routes(table), clock(time), options(opts) {
    std::random_device rd;
    unsigned n = std::max(1u, options.threads);
    if (n == 1) {
      auto ctx = std::make_shared<GatewayContext>(io, WorkerRoutes(routes), clock,
                                                  std::move(random01), options);
      ctx->request_id_prefix = random_prefix(rd);
      workers.push_back(std::make_shared<Worker>(io, std::move(ctx)));
      return;
    }
    for (unsigned i = 0; i < n; ++i) {
      ios.push_back(std::make_unique<asio::io_context>(1));
      auto& wio = *ios.back();
      auto link = std::make_shared<WorkerLink>(wio, nullptr);
      links.push_back(link);
      auto rng = std::make_shared<std::mt19937_64>((std::uint64_t(rd()) << 32) | rd());
      auto rand01 = [rng] { return std::uniform_real_distribution<double>(0.0, 1.0)(*rng); };
      auto ctx = std::make_shared<GatewayContext>(wio, WorkerRoutes(link, rd()), clock,
                                                  std::move(rand01), options);
      ctx->request_id_prefix = random_prefix(rd);
      workers.push_back(std::make_shared<Worker>(wio, std::move(ctx)));
    }
  }

  bool threaded() const { return !ios.empty(); }

  // The control loop's side: a batch of outcomes and counters from a thread.
  void wire_links() {
    std::weak_ptr<Impl> weak = shared_from_this();
    for (auto& link : links) {
      link->set_deliver([weak, &control = control](std::vector<CallRecord> batch) {
        asio::post(control, [weak, batch = std::move(batch)] {
          if (auto self = weak.lock()) apply_records(self->routes, batch);
        });
      });
    }
    routes.set_on_change([weak, &control = control] {
      auto self = weak.lock();
      if (!self || self->publish_pending) return;
      self->publish_pending = true;
      // Coalesced: a registry sync that touches 50 routes publishes once.
      asio::post(control, [weak] {
        if (auto s = weak.lock()) s->publish();
      });
    });
  }

  void publish() {
    // Also after stop(): the sessions still draining must see drains.
    publish_pending = false;
    auto snapshot = make_snapshot(routes, clock.now(), ++generation);
    for (auto& w : workers) asio::post(w->io, [w, snapshot] { w->ctx->routes.apply(*snapshot); });
  }

  void stop_threads() {
    guards.clear();
    for (auto& io : ios) io->stop();
    for (auto& t : threads)
      if (t.joinable()) t.join();
    threads.clear();
    for (auto& link : links) link->close();
  }

  asio::io_context& control;
  RouteTable& routes;
  const core::TimeSource& clock;
  GatewayOptions options;
  // Declared before the workers: a thread's loop outlives its worker, whose
  // acceptor and sessions are its I/O objects.
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<std::shared_ptr<WorkerLink>> links;
  std::vector<std::shared_ptr<Worker>> workers;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::uint64_t generation = 0;
  bool publish_pending = false;
  bool stopped = false;
};

Gateway::Gateway(asio::io_context& io, RouteTable& routes, const core::TimeSource& clock,
                 std::function<double()> random01, GatewayOptions options)
    : impl_(std::make_shared<Impl>(io, routes, clock, std::move(random01), options)) {}

Gateway::~Gateway() {
  stop();
  if (!impl_->threaded()) return;
  impl_->routes.set_on_change({});
  impl_->stop_threads();
  // Each loop's destruction ends its sessions (and, with them, its worker).
  impl_->workers.clear();
  // A link's flush timer is on its thread's loop: it goes before the loop.
  impl_->links.clear();
  impl_->ios.clear();
}

config::Endpoint Gateway::listen(const config::Endpoint& endpoint) {
  auto& impl = *impl_;
  if (!impl.threaded()) {
    auto& w = *impl.workers.front();
    auto bound = core::bind_and_listen(w.acceptor, endpoint.host, endpoint.port, "gateway");
    w.accept();
    w.sweep();
    return config::Endpoint{bound.address().to_string(), bound.port()};
  }
  // SO_REUSEPORT would let this bind share a port that another process of
  // the same user (a second meshd) already listens on, splitting its
  // traffic silently: a plain bind first fails as with one thread.
  if (endpoint.port != 0) {
    tcp::acceptor probe(impl.control);
    core::bind_and_listen(probe, endpoint.host, endpoint.port, "gateway");
  }
  // The first listener may take port 0; the others bind the port it got.
  tcp::endpoint bound;
  for (auto& w : impl.workers)
    bound = bind_shared(w->acceptor, endpoint.host, bound.port() ? bound.port() : endpoint.port);
  impl.wire_links();
  auto snapshot = make_snapshot(impl.routes, impl.clock.now(), ++impl.generation);
  for (std::size_t i = 0; i < impl.workers.size(); ++i) {
    auto& w = impl.workers[i];
    w->ctx->routes.apply(*snapshot);  // before the thread runs: no race
    w->accept();
    w->sweep();
    impl.guards.push_back(asio::make_work_guard(w->io));
    impl.threads.emplace_back([&io = w->io] { io.run(); });
    std::string name = "meshd-gw-" + std::to_string(i);
    pthread_setname_np(impl.threads.back().native_handle(), name.c_str());
  }
  return config::Endpoint{bound.address().to_string(), bound.port()};
}

void Gateway::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  if (!impl_->threaded()) return impl_->workers.front()->stop();
  // Each thread closes its own listener and pool; its sessions drain on.
  for (auto& w : impl_->workers) asio::post(w->io, [w] { w->stop(); });
}

std::size_t Gateway::connections() const {
  std::size_t n = 0;
  for (const auto& w : impl_->workers) n += w->ctx->connections.load();
  return n;
}

std::vector<std::uint64_t> Gateway::accepted() const {
  std::vector<std::uint64_t> out;
  for (const auto& w : impl_->workers) out.push_back(w->accepted.load());
  return out;
}

}  // namespace meshd::gateway
