#pragma once
// Private to the balancer module: not part of meshd's public headers (include/meshd/).

#include "balancer_base.hpp"

namespace meshd::balancer {

/// Shares proportional to weight (times slow start), interleaved with
/// nginx's smooth algorithm: weights 5:1:1 give a a b a c a a, never a run of
/// five. Exact over every cycle of sum(weights) picks while the candidates
/// stay the same.
class WeightedRoundRobin final : public BalancerBase {
 public:
  using BalancerBase::BalancerBase;
  Host* choose(const std::vector<Host*>& candidates, const PickContext& ctx) override;
  config::LoadBalancerPolicy policy() const override {
    return config::LoadBalancerPolicy::weighted_round_robin;
  }
};

}  // namespace meshd::balancer
