#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "meshd/config/types.hpp"
#include "meshd/core/error.hpp"

namespace meshd::registry {

/// An instance registered at run time (Consul's agent service
/// registration, trimmed to what meshd uses):
///
///   {"service": "postgres", "id": "pg-1", "address": "127.0.0.1", "port": 5432,
///    "tags": ["primary"], "metadata": {"zone": "a"}, "weight": 1,
///    "check": {"type": "tcp", "interval": "2s", "timeout": "1s"}}
///
/// `id` defaults to "<service>-<address>-<port>". Check types: http, tcp,
/// ttl, none (the default); exec is refused over the API because it would
/// let any API caller run commands on this host.
struct Registration {
  std::string service;
  std::string id;
  std::string address;
  std::uint16_t port = 0;
  std::vector<std::string> tags;
  std::map<std::string, std::string> metadata;
  int weight = 1;
  config::HealthSpec check;

  /// Parses and validates a request body. Errors are invalid_argument and
  /// name the offending field; unknown fields are errors too.
  static core::Result<Registration> from_json(const nlohmann::json& body);
  /// The canonical form, which from_json() reads back (used for storage).
  nlohmann::json to_json() const;
};

}  // namespace meshd::registry
