#include "least_connections.hpp"

namespace meshd::balancer {

Host* LeastConnections::choose(const std::vector<Host*>& candidates, const PickContext& ctx) {
  std::vector<Host*> tied;
  std::vector<double> weights;
  double best = 0.0;
  for (Host* h : candidates) {
    const double w = weight_of(*h, ctx.now);
    const double load = h->active_requests / w;
    if (tied.empty() || load < best) {
      best = load;
      tied.clear();
      weights.clear();
    } else if (load > best) {
      continue;
    }
    tied.push_back(h);
    weights.push_back(w);
  }
  if (tied.size() <= 1) return tied.empty() ? nullptr : tied.front();
  return smooth_weighted_pick(tied, weights);
}

}  // namespace meshd::balancer
