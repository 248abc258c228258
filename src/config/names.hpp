#pragma once
// Private to the config module: not part of meshd's public headers (include/meshd/).

// The spellings of enum values in the file. to_string() in types.hpp prints
// the same names, so what meshd shows is what the operator can write.

#include <span>
#include <string_view>
#include <utility>

#include "meshd/config/types.hpp"

namespace meshd::config::detail {

template <typename T>
using Names = std::span<const std::pair<std::string_view, T>>;

Names<RestartPolicy> restart_policy_names();
Names<DependencyCondition> dependency_condition_names();
Names<CheckType> check_type_names();
Names<LoadBalancerPolicy> load_balancer_names();
Names<Placement> placement_names();
Names<Locality> locality_names();
Names<Protocol> protocol_names();
Names<unsigned> retry_on_names();  // RetryOn flags
Names<int> signal_names();         // "SIGTERM" and "TERM" both

}  // namespace meshd::config::detail
