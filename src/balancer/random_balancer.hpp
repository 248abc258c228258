#pragma once
// Private to the balancer module: not part of meshd's public headers (include/meshd/).

#include "balancer_base.hpp"

namespace meshd::balancer {

/// Independent random picks with probability proportional to effective
/// weight. Stateless, so it spreads well across many gateways too.
class RandomBalancer final : public BalancerBase {
 public:
  using BalancerBase::BalancerBase;
  Host* choose(const std::vector<Host*>& candidates, const PickContext& ctx) override;
  config::LoadBalancerPolicy policy() const override { return config::LoadBalancerPolicy::random; }
};

}  // namespace meshd::balancer
