#include "meshd/gateway/routing_snapshot.hpp"

#include "meshd/gateway/route_table.hpp"

namespace meshd::gateway {

std::shared_ptr<const RoutingSnapshot> make_snapshot(RouteTable& routes, core::TimePoint now,
                                                     std::uint64_t generation) {
  auto snapshot = std::make_shared<RoutingSnapshot>();
  snapshot->generation = generation;
  for (const auto& [name, route] : routes.routes())
    snapshot->services.emplace(name, route->routing(now));
  return snapshot;
}

}  // namespace meshd::gateway
