#include "etcd_endpoint.hpp"

#include <charconv>

#include "meshd/cluster/etcd_client.hpp"

namespace meshd::cluster {
namespace {

core::Error bad(const std::string& url, const std::string& why) {
  return core::make_error(core::ErrorCode::invalid_argument, "etcd endpoint '" + url + "': " + why);
}

}  // namespace

core::Result<Endpoint> parse_endpoint(const std::string& url) {
  Endpoint endpoint;
  endpoint.url = url;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    endpoint.tls = true;
    rest = url.substr(8);
  } else {
    return bad(url, "must start with http:// or https://");
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find_first_of("/?#@ ") != std::string::npos) {
    return bad(url, "must be scheme://host:port with no path, query or user");
  }
  std::string port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return bad(url, "an IPv6 address needs the form [addr]:port");
    }
    endpoint.host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos) return bad(url, "needs a port (host:port)");
    endpoint.host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (endpoint.host.empty()) return bad(url, "has no host");
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 ||
      value > 65535) {
    return bad(url, "port must be a number from 1 to 65535");
  }
  endpoint.port = port;
  return endpoint;
}

std::string check_endpoint(const std::string& url) {
  auto parsed = parse_endpoint(url);
  return parsed ? std::string() : parsed.error().message;
}

}  // namespace meshd::cluster
