#include "least_response_time.hpp"

namespace meshd::balancer {

Host* LeastResponseTime::choose(const std::vector<Host*>& candidates, const PickContext& ctx) {
  if (candidates.empty()) return nullptr;

  // Unmeasured hosts with nothing in flight go first, to get a measurement.
  std::vector<Host*> probes;
  std::vector<double> probe_weights;
  double known_sum = 0.0;
  int known = 0;
  for (Host* h : candidates) {
    if (h->has_latency()) {
      known_sum += h->latency_ewma_ms();
      ++known;
    } else if (h->active_requests == 0) {
      probes.push_back(h);
      probe_weights.push_back(weight_of(*h, ctx.now));
    }
  }
  if (!probes.empty()) return smooth_weighted_pick(probes, probe_weights);

  // With no data anywhere any constant works: the cost reduces to
  // (active + 1) / weight, i.e. least connections.
  const double unknown_latency = known > 0 ? known_sum / known : 1.0;
  std::vector<Host*> tied;
  std::vector<double> weights;
  double best = 0.0;
  for (Host* h : candidates) {
    const double w = weight_of(*h, ctx.now);
    const double latency = h->has_latency() ? h->latency_ewma_ms() : unknown_latency;
    const double cost = latency * (h->active_requests + 1) / w;
    if (tied.empty() || cost < best) {
      best = cost;
      tied.clear();
      weights.clear();
    } else if (cost > best) {
      continue;
    }
    tied.push_back(h);
    weights.push_back(w);
  }
  if (tied.size() == 1) return tied.front();
  return smooth_weighted_pick(tied, weights);
}

}  // namespace meshd::balancer
