#pragma once
// Private to the balancer module: not part of meshd's public headers (include/meshd/).

#include <cstdint>
#include <vector>

#include "balancer_base.hpp"

namespace meshd::balancer {

/// A hash ring (Ketama style): each host owns kPointsPerWeight x weight
/// points at hash_key("<id>#<n>"); a key goes to the owner of the first point
/// at or after its hash. Because points hang off the host id, a host joining
/// or leaving moves only the keys it takes or gave up, about 1/N of them, and
/// never between two other hosts. When the key's host is not a candidate
/// (unhealthy, ejected, breaker open) the key walks on to the next candidate
/// on the ring, and comes back when its host does.
///
/// Slow start is not applied: ramping a weight would move keys twice. With
/// no hash in the context (no key on the request) the pick is weighted
/// random.
class ConsistentHash final : public BalancerBase {
 public:
  using BalancerBase::BalancerBase;

  void set_hosts(std::vector<std::shared_ptr<Host>> hosts) override;
  Host* choose(const std::vector<Host*>& candidates, const PickContext& ctx) override;
  config::LoadBalancerPolicy policy() const override {
    return config::LoadBalancerPolicy::consistent_hash;
  }

  /// Ring points per unit of weight; 160 as Ketama, which keeps each host's
  /// share within a few percent of its weight.
  static constexpr int kPointsPerWeight = 160;
  /// Largest ring; weights are scaled down to fit (at least one point each).
  static constexpr std::size_t kMaxRingPoints = 1u << 18;

 private:
  struct Point {
    std::uint64_t hash;
    Host* host;
  };
  std::vector<Point> ring_;  // sorted by hash
};

}  // namespace meshd::balancer
