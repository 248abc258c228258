#pragma once
// Private to the cluster module: not part of meshd's public headers (include/meshd/).

#include <string>

#include "meshd/core/error.hpp"

namespace meshd::cluster {

/// One etcd member's client URL, taken apart: where to connect and whether
/// to speak TLS there.
struct Endpoint {
  std::string url;  // as the operator wrote it, for messages and current_endpoint()
  bool tls = false;
  std::string host;  // without the brackets of an IPv6 literal
  std::string port;
};

/// "http://host:port" or "https://host:port" (an optional trailing "/");
/// invalid_argument naming what is wrong otherwise.
core::Result<Endpoint> parse_endpoint(const std::string& url);

}  // namespace meshd::cluster
