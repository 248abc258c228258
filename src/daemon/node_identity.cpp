#include "node_identity.hpp"

#include <unistd.h>

#include "meshd/core/listen.hpp"

namespace meshd::daemon {
namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

}  // namespace

std::string node_name(const config::Config& config) {
  return config.mesh.node.empty() ? host_name() : config.mesh.node;
}

std::string advertise_address(const config::Config& config) {
  if (!config.mesh.advertise.empty()) return config.mesh.advertise;
  boost::system::error_code ec;
  auto address = core::host_address(config.mesh.listen.host, ec);
  if (ec) return config.mesh.listen.host;
  if (address.is_unspecified()) return host_name();
  return address.to_string();
}

}  // namespace meshd::daemon
