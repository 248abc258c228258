#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <string>

#include "meshd/gateway/gateway.hpp"
#include "upstream_pool.hpp"
#include "worker_route.hpp"

namespace meshd::gateway {

namespace h2 {
class UpstreamPool;
}

// The gateway's sockets name the io_context's executor type instead of
// Asio's type-erased any_io_executor: on a path that runs four I/O
// operations per request, the erased executor's copies showed up in
// profiles. Plain sockets rather than beast::basic_stream: its timeouts arm
// and cancel a timer around every read and write. (The acceptor, one
// operation per connection, is a plain tcp::acceptor, as
// core::bind_and_listen takes.)
using Executor = boost::asio::io_context::executor_type;
using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor>;

/// What every proxy session of one gateway thread shares.
struct GatewayContext {
  GatewayContext(boost::asio::io_context& io_, WorkerRoutes routes_, const core::TimeSource& clock_,
                 std::function<double()> random01_, GatewayOptions options_)
      : io(io_),
        routes(std::move(routes_)),
        clock(clock_),
        random01(std::move(random01_)),
        options(options_),
        pool(options_.max_idle_per_host, options_.upstream_idle) {}

  boost::asio::io_context& io;
  WorkerRoutes routes;  // this thread's view of every service's route
  const core::TimeSource& clock;
  std::function<double()> random01;
  GatewayOptions options;
  UpstreamPool pool;
  std::shared_ptr<h2::UpstreamPool>
      h2_pool;  // h2c to instances (h2_upstream.cpp), made on first use; one per thread
  std::atomic<std::size_t> connections = 0;  // read by Gateway::connections() on the control loop
  std::uint64_t next_request = 0;
  std::string request_id_prefix;  // random per process, so ids differ across restarts
  bool stopped = false;
};

/// Starts serving one accepted client connection.
void start_proxy_session(std::shared_ptr<GatewayContext> context, Socket socket);
// The same for a connection whose previous request was served elsewhere
// (an HTTP/1.1 request bridged to an h2c service): `pipelined` is what the
// client has sent since.
void continue_proxy_session(std::shared_ptr<GatewayContext> context, Socket socket,
                            std::string_view pipelined);

}  // namespace meshd::gateway
