#pragma once
// Private to the balancer module: not part of meshd's public headers (include/meshd/).

#include "balancer_base.hpp"

namespace meshd::balancer {

/// Power of two choices: draws two hosts at random (weighted by effective
/// weight) and takes the one with fewer requests in flight; on a tie, the
/// first draw, so idle traffic follows the weights exactly. Avoids a busy
/// host almost as well as least_connections without scanning or herding.
class PowerOfTwo final : public BalancerBase {
 public:
  using BalancerBase::BalancerBase;
  Host* choose(const std::vector<Host*>& candidates, const PickContext& ctx) override;
  config::LoadBalancerPolicy policy() const override {
    return config::LoadBalancerPolicy::power_of_two;
  }
};

}  // namespace meshd::balancer
