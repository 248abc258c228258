#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).

#include <cstddef>
#include <string>

#include "meshd/core/error.hpp"

namespace meshd::gateway::detail {

/// Why a pick found nothing, as ServiceRoute and a gateway thread's
/// WorkerRoute both say it: `all` instances not drained or in maintenance
/// (of which `candidates` were healthy enough to try, `open` of those with
/// their breaker open).
inline core::Error no_instance_error(const std::string& service, std::size_t all, int overridden,
                                     std::size_t candidates, int unhealthy, int ejected, int open) {
  std::string why;
  if (all == 0)
    why =
        overridden > 0 ? "every instance is drained or in maintenance" : "no instance left to try";
  else if (candidates == 0)
    why = "no healthy instance (" + std::to_string(unhealthy) + " not passing, " +
          std::to_string(ejected) + " ejected)";
  else
    why = "every circuit breaker is open (" + std::to_string(open) + " of " +
          std::to_string(candidates) + ")";
  return core::make_error(core::ErrorCode::unavailable,
                          "no instance of '" + service + "' can take the call: " + why);
}

}  // namespace meshd::gateway::detail
