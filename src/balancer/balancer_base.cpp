#include "balancer_base.hpp"

#include "meshd/balancer/slow_start.hpp"

namespace meshd::balancer {

BalancerBase::BalancerBase(core::Duration slow_start, std::uint64_t seed)
    : slow_start_(slow_start), rng_(seed) {}

void BalancerBase::set_hosts(std::vector<std::shared_ptr<Host>> hosts) {
  hosts_ = std::move(hosts);
}

double BalancerBase::weight_of(const Host& host, core::TimePoint now) const {
  return effective_weight(host, now, slow_start_);
}

double BalancerBase::uniform01() {
  return static_cast<double>(rng_() >> 11) * (1.0 / 9007199254740992.0);  // / 2^53
}

Host* BalancerBase::weighted_random(const std::vector<Host*>& candidates, core::TimePoint now) {
  if (candidates.empty()) return nullptr;
  std::vector<double> weights;
  weights.reserve(candidates.size());
  double total = 0.0;
  for (Host* h : candidates) {
    weights.push_back(weight_of(*h, now));
    total += weights.back();
  }
  double point = uniform01() * total;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (point < weights[i]) return candidates[i];
    point -= weights[i];
  }
  return candidates.back();  // rounding left `point` a hair past the end
}

Host* BalancerBase::smooth_weighted_pick(const std::vector<Host*>& candidates,
                                         const std::vector<double>& weights) {
  Host* best = nullptr;
  double total = 0.0;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    Host* h = candidates[i];
    h->current_weight += weights[i];
    total += weights[i];
    if (!best || h->current_weight > best->current_weight) best = h;
  }
  if (best) best->current_weight -= total;
  return best;
}

}  // namespace meshd::balancer
