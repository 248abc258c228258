#pragma once
// Private to the balancer module: not part of meshd's public headers (include/meshd/).

#include "balancer_base.hpp"

namespace meshd::balancer {

/// Fewest requests in flight per unit of weight (active / effective weight),
/// as nginx's least_conn. Ties, which are the rule at low concurrency, go
/// through smooth weighted round robin, so idle hosts still share by weight
/// and slow start holds.
class LeastConnections final : public BalancerBase {
 public:
  using BalancerBase::BalancerBase;
  Host* choose(const std::vector<Host*>& candidates, const PickContext& ctx) override;
  config::LoadBalancerPolicy policy() const override {
    return config::LoadBalancerPolicy::least_connections;
  }
};

}  // namespace meshd::balancer
