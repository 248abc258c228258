#include "weighted_round_robin.hpp"

namespace meshd::balancer {

Host* WeightedRoundRobin::choose(const std::vector<Host*>& candidates, const PickContext& ctx) {
  std::vector<double> weights;
  weights.reserve(candidates.size());
  for (Host* h : candidates) weights.push_back(weight_of(*h, ctx.now));
  return smooth_weighted_pick(candidates, weights);
}

}  // namespace meshd::balancer
