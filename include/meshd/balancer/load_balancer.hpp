#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "meshd/balancer/host.hpp"
#include "meshd/config/types.hpp"
#include "meshd/core/clock.hpp"

namespace meshd::balancer {

/// What a pick may depend on besides the hosts.
struct PickContext {
  core::TimePoint now;
  /// hash_key() of the request's routing key (header, cookie or client IP)
  /// for consistent_hash; ignored by the other policies.
  std::optional<std::uint64_t> hash;
};

/// Chooses the instance for one request. One balancer per service, driven
/// from the event loop that owns the service's routing state.
class LoadBalancer {
 public:
  virtual ~LoadBalancer();

  /// The hosts that may ever be picked (membership), called when instances
  /// join/leave or weights change. The balancer keeps them alive.
  virtual void set_hosts(std::vector<std::shared_ptr<Host>> hosts) = 0;

  /// Picks among `candidates` (a subset of the set hosts that are eligible
  /// right now: passing, not drained, not ejected, breaker admits), or
  /// nullptr when candidates is empty.
  virtual Host* choose(const std::vector<Host*>& candidates, const PickContext& ctx) = 0;

  /// The policy this balancer implements.
  virtual config::LoadBalancerPolicy policy() const = 0;
};

/// Builds the balancer for `policy`. `slow_start` is the ramp-up window (0
/// disables it); `seed` seeds the random choices so tests are deterministic.
std::unique_ptr<LoadBalancer> make_load_balancer(config::LoadBalancerPolicy policy,
                                                 core::Duration slow_start, std::uint64_t seed);

}  // namespace meshd::balancer
