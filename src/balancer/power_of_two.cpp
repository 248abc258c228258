#include "power_of_two.hpp"

namespace meshd::balancer {

Host* PowerOfTwo::choose(const std::vector<Host*>& candidates, const PickContext& ctx) {
  if (candidates.size() <= 1) return candidates.empty() ? nullptr : candidates.front();
  Host* first = weighted_random(candidates, ctx.now);
  Host* second = weighted_random(candidates, ctx.now);
  return second->active_requests < first->active_requests ? second : first;
}

}  // namespace meshd::balancer
