#pragma once

#include <string>
#include <vector>

#include "meshd/config/types.hpp"

namespace meshd::config {

/// What a reload must do to one service (docs/reload.md).
enum class ServiceChange {
  unchanged,  // nothing to do: same processes, same PIDs
  added,      // start it, in dependency order
  removed,    // drain and stop it, dependents first
  replace,    // the process changed (command, cwd, env, port, addresses, health, placement):
              // rolling replacement, health-gated, rolled back on failure
  scale,      // only `replicas` changed: add or remove replicas, nothing else
  in_place,   // traffic or supervision settings only: applied without a restart
};

const char* to_string(ServiceChange change);

struct ServiceDiff {
  std::string name;
  ServiceChange change = ServiceChange::unchanged;
  /// The top-level keys that differ, in the file's spelling ("command", "load_balancer").
  std::vector<std::string> fields;
};

struct ConfigDiff {
  /// Every service of either config: the running one's in its order, then
  /// the added ones in the new file's order.
  std::vector<ServiceDiff> services;
  /// The `mesh:` keys that differ ("api_token", "listen").
  std::vector<std::string> mesh_fields;
  /// The `defaults:` block differs: services that only a registration or
  /// another node created take their traffic settings from it.
  bool defaults_changed = false;

  /// True when nothing differs at all.
  bool empty() const;
  const ServiceDiff* find(const std::string& name) const;
};

/// Compares two validated configs service by service. Pure.
ConfigDiff diff_configs(const Config& running, const Config& next);

/// The top-level keys in which two definitions of a service differ.
std::vector<std::string> differing_fields(const ServiceSpec& a, const ServiceSpec& b);

/// The keys of a service whose change needs new processes.
bool is_process_field(const std::string& key);

}  // namespace meshd::config
