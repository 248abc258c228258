#include "meshd/balancer/load_balancer.hpp"

#include <cassert>

#include "consistent_hash.hpp"
#include "least_connections.hpp"
#include "least_response_time.hpp"
#include "power_of_two.hpp"
#include "random_balancer.hpp"
#include "round_robin.hpp"
#include "weighted_round_robin.hpp"

namespace meshd::balancer {

LoadBalancer::~LoadBalancer() = default;

std::unique_ptr<LoadBalancer> make_load_balancer(config::LoadBalancerPolicy policy,
                                                 core::Duration slow_start, std::uint64_t seed) {
  using P = config::LoadBalancerPolicy;
  switch (policy) {
    case P::round_robin:
      return std::make_unique<RoundRobin>(slow_start, seed);
    case P::weighted_round_robin:
      return std::make_unique<WeightedRoundRobin>(slow_start, seed);
    case P::least_connections:
      return std::make_unique<LeastConnections>(slow_start, seed);
    case P::least_response_time:
      return std::make_unique<LeastResponseTime>(slow_start, seed);
    case P::random:
      return std::make_unique<RandomBalancer>(slow_start, seed);
    case P::power_of_two:
      return std::make_unique<PowerOfTwo>(slow_start, seed);
    case P::consistent_hash:
      return std::make_unique<ConsistentHash>(slow_start, seed);
  }
  // Config validation admits only the policies above; a release build
  // that somehow meets another still balances, round robin.
  assert(false && "LoadBalancerPolicy without a balancer");
  return std::make_unique<RoundRobin>(slow_start, seed);
}

}  // namespace meshd::balancer
