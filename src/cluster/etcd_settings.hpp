#pragma once
// Private to the cluster module: not part of meshd's public headers (include/meshd/).

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "etcd_endpoint.hpp"
#include "meshd/cluster/etcd_client.hpp"

namespace meshd::cluster {

/// What every request of one client shares and never changes: the
/// members, the TLS context and the deadlines. Requests hold it by
/// shared_ptr so that it outlives the client while they wind down.
struct EtcdSettings {
  std::vector<Endpoint> endpoints;
  /// Set when any endpoint is https.
  std::shared_ptr<boost::asio::ssl::context> tls;
  std::chrono::milliseconds request_timeout{3000};
  std::chrono::milliseconds connect_timeout{1000};
};

/// Parses the endpoints and loads the TLS files: invalid_argument naming
/// the endpoint or file at fault.
core::Result<std::shared_ptr<const EtcdSettings>> make_settings(const EtcdOptions& options);

}  // namespace meshd::cluster
