#pragma once

// The rules for the cluster settings (mesh.node, mesh.advertise,
// mesh.cluster), shared by the file's parser and the `meshd run` flags that
// override it (--node, --etcd), so that a flag is held to what the file is.
// Each returns why the value is wrong, or "" when it is fine.

#include <string>
#include <string_view>

#include "meshd/config/types.hpp"
#include "meshd/core/error.hpp"

namespace meshd::config {

/// A node name is part of instance ids ("<id>@<node>") and etcd keys:
/// 1-63 of [A-Za-z0-9._-].
std::string node_name_problem(std::string_view name);

/// An etcd endpoint taken apart: where to connect and whether with TLS.
struct EtcdUrl {
  bool tls = false;
  std::string host;  // without the brackets of an IPv6 literal
  std::string port;
};
/// The one reading of an etcd endpoint, for the file, the --etcd flag and
/// the etcd client: http://host:port or https://host:port (a trailing "/"
/// allowed), nothing more. invalid_argument with the reason otherwise.
core::Result<EtcdUrl> parse_etcd_url(std::string_view url);
/// parse_etcd_url's reason, or "".
std::string etcd_endpoint_problem(std::string_view url);

/// How other nodes reach this one: a host name or address, not a wildcard.
std::string advertise_problem(std::string_view host);

/// Endpoints and TLS together: TLS needs https endpoints, https endpoints
/// need a CA to check the server against, and a client certificate comes
/// with its key. The problem names the key at fault ("tls.ca: ...").
std::string cluster_tls_problem(const ClusterSpec& cluster);

}  // namespace meshd::config
