#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>

#include "meshd/config/types.hpp"
#include "meshd/core/clock.hpp"
#include "meshd/gateway/route_table.hpp"

namespace meshd::gateway {

class AccessLog;  // meshd/gateway/access_log.hpp

struct GatewayOptions {
  std::size_t header_limit = 16 * 1024;  // larger request headers: 431
  core::Duration header_timeout{10000};  // whole request header must arrive within this (slowloris)
  core::Duration idle_timeout{60000};    // an idle keep-alive client is closed after this
  core::Duration body_timeout{60000};    // longest pause while streaming a body either way
  std::size_t max_idle_per_host = 128;   // pooled keep-alive connections per instance
  core::Duration upstream_idle{30000};   // an idle pooled connection is closed after this
  std::shared_ptr<AccessLog> access_log;  // mesh.access_log; nullptr: off
};

/// The data path (SPEC section 4): `http://<gateway>/<service>/<rest>` is
/// forwarded to `/<rest>` on an instance chosen by the service's route,
/// with keep-alive to clients, pooled keep-alive connections to
/// instances, bodies streamed both ways (chunked or not), retries and
/// timeouts from the service's config, X-Forwarded-For/-Proto,
/// X-Request-Id, and X-Mesh-Instance on the response.
///
/// It runs on the control loop: routing state is read without locks or
/// copies, and with meshd pinned to one core a second loop would only
/// compete with the first.
class Gateway {
 public:
  Gateway(boost::asio::io_context& io, RouteTable& routes, const core::TimeSource& clock,
          std::function<double()> random01, GatewayOptions options = {});
  ~Gateway();

  /// Binds and starts accepting; returns the bound endpoint. Throws
  /// std::runtime_error on failure.
  config::Endpoint listen(const config::Endpoint& endpoint);
  /// Stops accepting and closes idle pooled connections.
  void stop();

  /// Client connections open now.
  std::size_t connections() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace meshd::gateway
