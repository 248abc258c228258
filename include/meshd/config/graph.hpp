#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "meshd/config/types.hpp"

namespace meshd::config {

/// Start order as waves: wave 0 has the services with no dependencies, wave
/// n those whose dependencies are all in earlier waves. Services in a wave
/// keep file order. Assumes a validated (acyclic) config.
std::vector<std::vector<std::string>> start_waves(const Config& config);

/// The dependency cycle through `config`, as "a -> b -> a", or empty when
/// there is none. Unknown dependency names are ignored here.
std::string find_cycle(const Config& config);

/// `names` plus everything they depend on, transitively.
std::set<std::string> dependency_closure(const Config& config,
                                         const std::vector<std::string>& names);

/// Every service that depends on `name`, directly or transitively.
std::set<std::string> dependents_of(const Config& config, const std::string& name);

/// A copy of `config` holding only the named services (in file order).
Config select_services(const Config& config, const std::set<std::string>& names);

/// Values for the per-instance variables ${PORT}, ${INSTANCE}, ${SERVICE}.
struct InstanceVars {
  std::string service;
  int index = 0;
  std::optional<std::uint16_t> port;
};

/// Replaces ${PORT}, ${INSTANCE} and ${SERVICE} in `text`; anything else is
/// left as it is (file-level ${VAR}s were expanded at load time).
std::string expand_instance_vars(const std::string& text, const InstanceVars& vars);

}  // namespace meshd::config
