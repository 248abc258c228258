#include "consistent_hash.hpp"

#include <algorithm>
#include <string>

#include "meshd/balancer/hash.hpp"

namespace meshd::balancer {

void ConsistentHash::set_hosts(std::vector<std::shared_ptr<Host>> hosts) {
  BalancerBase::set_hosts(std::move(hosts));
  double total_weight = 0.0;
  for (const auto& h : this->hosts()) total_weight += std::max(h->weight, 1);
  const double wanted = total_weight * kPointsPerWeight;
  const double scale = wanted > kMaxRingPoints ? kMaxRingPoints / wanted : 1.0;

  ring_.clear();
  for (const auto& h : this->hosts()) {
    const auto points =
        std::max<long>(1, static_cast<long>(std::max(h->weight, 1) * kPointsPerWeight * scale));
    for (long i = 0; i < points; ++i)
      ring_.push_back({hash_key(h->id + "#" + std::to_string(i)), h.get()});
  }
  // Ties (two points on one hash) are broken by id so that every gateway
  // builds the same ring whatever order the hosts came in.
  std::sort(ring_.begin(), ring_.end(), [](const Point& a, const Point& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.host->id < b.host->id;
  });
}

Host* ConsistentHash::choose(const std::vector<Host*>& candidates, const PickContext& ctx) {
  if (candidates.empty()) return nullptr;
  if (!ctx.hash || ring_.empty()) return weighted_random(candidates, ctx.now);

  std::vector<Host*> allowed(candidates);
  std::sort(allowed.begin(), allowed.end());
  auto start = std::lower_bound(ring_.begin(), ring_.end(), *ctx.hash,
                                [](const Point& p, std::uint64_t hash) { return p.hash < hash; });
  const std::size_t first = static_cast<std::size_t>(start - ring_.begin());
  for (std::size_t step = 0; step < ring_.size(); ++step) {
    Host* h = ring_[(first + step) % ring_.size()].host;
    if (std::binary_search(allowed.begin(), allowed.end(), h)) return h;
  }
  // Candidates that were never set as hosts: still answer, stably per key.
  return candidates[*ctx.hash % candidates.size()];
}

}  // namespace meshd::balancer
