#include "random_balancer.hpp"

namespace meshd::balancer {

Host* RandomBalancer::choose(const std::vector<Host*>& candidates, const PickContext& ctx) {
  return weighted_random(candidates, ctx.now);
}

}  // namespace meshd::balancer
