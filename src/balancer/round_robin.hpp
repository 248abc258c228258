#pragma once
// Private to the balancer module: not part of meshd's public headers (include/meshd/).

#include "balancer_base.hpp"

namespace meshd::balancer {

/// Equal shares in turn, ignoring static weights (use weighted_round_robin
/// for those). A slow-starting host still gets its reduced share, so the
/// spread is smooth weighted round robin over the slow-start factors; with
/// no host ramping that is plain a, b, c, a, b, c.
class RoundRobin final : public BalancerBase {
 public:
  using BalancerBase::BalancerBase;
  Host* choose(const std::vector<Host*>& candidates, const PickContext& ctx) override;
  config::LoadBalancerPolicy policy() const override {
    return config::LoadBalancerPolicy::round_robin;
  }
};

}  // namespace meshd::balancer
