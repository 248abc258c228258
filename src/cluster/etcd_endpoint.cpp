#include "etcd_endpoint.hpp"

#include "meshd/cluster/etcd_client.hpp"
#include "meshd/config/cluster_checks.hpp"

namespace meshd::cluster {

// The reading is the config's (the file, --etcd and the client agree).
core::Result<Endpoint> parse_endpoint(const std::string& url) {
  auto parsed = config::parse_etcd_url(url);
  if (!parsed)
    return core::make_error(core::ErrorCode::invalid_argument,
                            "etcd endpoint: " + parsed.error().message);
  Endpoint endpoint;
  endpoint.url = url;
  endpoint.tls = parsed->tls;
  endpoint.host = parsed->host;
  endpoint.port = parsed->port;
  return endpoint;
}

std::string check_endpoint(const std::string& url) {
  auto parsed = parse_endpoint(url);
  return parsed ? std::string() : parsed.error().message;
}

}  // namespace meshd::cluster
