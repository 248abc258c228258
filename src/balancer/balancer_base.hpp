#pragma once
// Private to the balancer module: not part of meshd's public headers (include/meshd/).

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "meshd/balancer/load_balancer.hpp"

namespace meshd::balancer {

/// What every policy shares: the membership, the slow-start window, a seeded
/// random source and the weighted building blocks. Policies override choose().
class BalancerBase : public LoadBalancer {
 public:
  BalancerBase(core::Duration slow_start, std::uint64_t seed);

  void set_hosts(std::vector<std::shared_ptr<Host>> hosts) override;

  /// The membership last given to set_hosts().
  const std::vector<std::shared_ptr<Host>>& hosts() const { return hosts_; }
  /// The slow-start window this balancer applies.
  core::Duration slow_start() const { return slow_start_; }

 protected:
  /// Static weight times the slow-start factor at `now`.
  double weight_of(const Host& host, core::TimePoint now) const;

  /// Uniform in [0, 1), from the seeded generator (53 random bits, so the
  /// same seed gives the same picks with any standard library).
  double uniform01();

  /// One host drawn with probability proportional to weight_of().
  Host* weighted_random(const std::vector<Host*>& candidates, core::TimePoint now);

  /// nginx's smooth weighted round robin over `candidates` with `weights`
  /// (same order): each pick adds every weight to its host's running
  /// weight, takes the largest, and subtracts the total from it. Spreads the
  /// heavy host out (5:1:1 gives a a b a c a a) instead of bursting it.
  static Host* smooth_weighted_pick(const std::vector<Host*>& candidates,
                                    const std::vector<double>& weights);

 private:
  std::vector<std::shared_ptr<Host>> hosts_;
  core::Duration slow_start_;
  std::mt19937_64 rng_;
};

}  // namespace meshd::balancer
