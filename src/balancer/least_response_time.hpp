#pragma once
// Private to the balancer module: not part of meshd's public headers (include/meshd/).

#include "balancer_base.hpp"

namespace meshd::balancer {

/// Lowest expected wait: latency EWMA x (active requests + 1) / effective
/// weight, the cost model of Finagle's peak-EWMA balancer. Multiplying by the
/// queue keeps a fast host from taking everything: once it is busy enough, a
/// slower idle host costs less.
///
/// A host with no latency data yet is picked first while it has nothing in
/// flight (one probe request at a time, so a new host is measured without
/// being flooded); while its probe is in flight it is costed at the mean
/// latency of the hosts that have data. Ties go through smooth weighted
/// round robin.
class LeastResponseTime final : public BalancerBase {
 public:
  using BalancerBase::BalancerBase;
  Host* choose(const std::vector<Host*>& candidates, const PickContext& ctx) override;
  config::LoadBalancerPolicy policy() const override {
    return config::LoadBalancerPolicy::least_response_time;
  }
};

}  // namespace meshd::balancer
