#include "round_robin.hpp"

#include "meshd/balancer/slow_start.hpp"

namespace meshd::balancer {

Host* RoundRobin::choose(const std::vector<Host*>& candidates, const PickContext& ctx) {
  // Reused across picks: this runs once per request.
  static thread_local std::vector<double> weights;
  weights.clear();
  for (Host* h : candidates) weights.push_back(slow_start_factor(*h, ctx.now, slow_start()));
  return smooth_weighted_pick(candidates, weights);
}

}  // namespace meshd::balancer
