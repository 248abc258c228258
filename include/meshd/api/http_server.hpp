#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "meshd/api/router.hpp"
#include "meshd/config/types.hpp"
#include "meshd/core/clock.hpp"

namespace meshd::api {

struct HttpServerOptions {
  std::size_t header_limit = 16 * 1024;  // larger headers: 431
  std::size_t body_limit = 1024 * 1024;  // larger bodies: 413
  core::Duration idle_timeout{60000};    // a keep-alive connection idle this long is closed
  /// Browser origins allowed to call the API cross-site (CORS); empty: off.
  /// "*" allows any origin (without credentials).
  std::vector<std::string> cors_origins;
  /// Asked once per answer: while it says true (the cluster catalog cannot
  /// be reached, so what meshd shows is its last-known state), every
  /// response carries "X-Mesh-Stale: true", whatever the route. Empty:
  /// never stale (a single node).
  std::function<bool()> stale;
};

/// The HTTP/1.1 server on `mesh.listen` (Beast): a listener that owns the
/// acceptor and one session per connection, kept alive by the async
/// operations it has in flight (Beast's server examples). Sessions read one
/// request, hand it to the Router, and write the response whenever the
/// handler completes it, which may be later (blocking queries).
class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, const Router& router, HttpServerOptions options = {});
  ~HttpServer();

  /// Binds and starts accepting. Port 0 picks a free port; the endpoint
  /// actually bound is returned. Throws std::runtime_error on failure.
  config::Endpoint listen(const config::Endpoint& endpoint);
  /// Stops accepting; open sessions finish their current exchange.
  void stop();

  /// Takes over the connections that ask for a WebSocket upgrade on `path`
  /// (GET /ws). Other requests to `path` get 405 or 426.
  struct Upgrade {
    std::string path;
    /// Called first: a response refuses the upgrade (401, 403); nullopt accepts it.
    std::function<std::optional<Response>(const Request&)> check;
    /// Owns the connection from then on; `request` is the upgrade request.
    std::function<void(boost::asio::ip::tcp::socket, const Request&)> accept;
  };
  /// Call before listen().
  void set_upgrade(Upgrade upgrade);

  struct Listener;  // defined in src/api/http_server.cpp

 private:
  boost::asio::io_context& io_;
  const Router& router_;
  HttpServerOptions options_;
  std::shared_ptr<const Upgrade> upgrade_;
  std::shared_ptr<Listener> listener_;
};

}  // namespace meshd::api
