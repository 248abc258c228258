#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

#include <nlohmann/json.hpp>

#include "meshd/core/clock.hpp"
#include "meshd/gateway/route_table.hpp"

namespace meshd::daemon {

/// The WebSocket "metrics" topic: the last second's rate, error rate and
/// p99 latency per service, and the same for the gateway as a whole
/// (rate-weighted errors, the worst p99).
nlohmann::json metrics_summary(const gateway::RouteTable& routes, core::TimePoint now);

/// The WebSocket "breakers" topic: each instance's circuit-breaker state.
nlohmann::json breakers_view(const gateway::RouteTable& routes, core::TimePoint now);

}  // namespace meshd::daemon
