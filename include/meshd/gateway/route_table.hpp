#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "meshd/balancer/host.hpp"
#include "meshd/balancer/load_balancer.hpp"
#include "meshd/balancer/retry_budget.hpp"
#include "meshd/breaker/circuit_breaker.hpp"
#include "meshd/breaker/outlier_detector.hpp"
#include "meshd/config/types.hpp"
#include "meshd/core/error.hpp"
#include "meshd/core/event_bus.hpp"
#include "meshd/gateway/traffic_stats.hpp"
#include "meshd/registry/registry.hpp"
#include "meshd/registry/rotation.hpp"

namespace meshd::gateway {

class RateLimiter;  // src/gateway/rate_limiter.hpp

/// How a call through the data path ended, as breakers and outlier
/// detection count it.
enum class Outcome { success, http_5xx, connect_failure, reset, timeout, cancelled };
const char* to_string(Outcome outcome);

/// A chosen instance, holding its breaker permit.
struct Pick {
  std::shared_ptr<balancer::Host> host;
  bool panic = false;  // chosen among all instances: too few were healthy
};

/// The routing state of one service: its instances as Hosts, their
/// breakers, the service's balancer, outlier detector, retry budget and
/// counters. Lives on the control loop; pure logic (time is an argument).
///
/// Picking, in Envoy's order: instances that are healthy in the registry,
/// not drained or in maintenance, not ejected; below the panic threshold,
/// all instances not drained or in maintenance instead; of those, the ones
/// whose breaker admits a call; the balancer chooses; the chosen breaker
/// grants the permit.
///
/// With `locality: prefer_local`, the choice is made among this node's own
/// eligible instances (not Origin::remote) while at least one of them is
/// eligible and its breaker admits the call; otherwise as above, among all.
class ServiceRoute {
 public:
  ServiceRoute(std::shared_ptr<const config::ServiceSpec> spec, core::EventBus* events,
               std::uint64_t seed);

  /// Follows the registry: adds, updates and drops hosts, keeping each
  /// surviving host's stats, breaker and ejection history.
  void update(const registry::Registry& registry, core::TimePoint now);
  /// Applies a new spec (traffic settings) without losing hosts.
  void set_spec(std::shared_ptr<const config::ServiceSpec> spec);

  /// Chooses an instance for one call, skipping ids in `exclude` (earlier
  /// attempts of the same request). Errors are `unavailable` with the reason.
  core::Result<Pick> pick(const balancer::PickContext& ctx,
                          const std::set<std::string>& exclude = {});
  /// The same choice without taking a breaker permit (resolve for
  /// proxyless clients, who report later or never).
  core::Result<Pick> peek(const balancer::PickContext& ctx);
  /// The end of a call on `host_id` that was picked (or resolved).
  void on_result(const std::string& host_id, Outcome outcome, std::chrono::microseconds latency,
                 core::TimePoint now, bool permit_taken = true);

  /// Why the data path keeps an instance out (ejected, breaker open,
  /// slow-starting); empty when it is in.
  std::vector<registry::RotationReason> reasons(const std::string& host_id, core::TimePoint now);

  const config::ServiceSpec& spec() const { return *spec_; }
  std::shared_ptr<balancer::Host> host(const std::string& id) const;
  breaker::CircuitBreaker* breaker(const std::string& id);
  breaker::OutlierDetector& outlier() { return outlier_; }
  balancer::RetryBudget& retry_budget() { return retry_budget_; }
  TrafficStats& stats() { return stats_; }
  /// The service's rate limiter; nullptr without `rate_limit`. A reload
  /// makes a new one (empty buckets) only when rate_limit changed. Shared:
  /// gateway threads may hold it in their routing snapshots.
  RateLimiter* rate_limiter() const { return rate_limiter_.get(); }
  const std::shared_ptr<RateLimiter>& shared_rate_limiter() const { return rate_limiter_; }
  std::vector<std::string> host_ids() const;
  std::uint64_t breaker_transitions() const { return breaker_transitions_; }
  std::uint64_t ejections() const { return ejections_; }

 private:
  struct Entry {
    std::shared_ptr<balancer::Host> host;
    std::unique_ptr<breaker::CircuitBreaker> breaker;
    bool healthy = false;
    bool overridden = false;     // drain or maintenance
    bool local = true;           // this node's own (not Origin::remote)
    std::uint64_t revision = 0;  // of the registry record these were taken from
  };
  core::Result<Pick> choose(const balancer::PickContext& ctx, const std::set<std::string>& exclude,
                            bool take_permit);
  /// The hosts of `candidates` whose breaker admits a call, into `admitted`;
  /// returns how many breakers were open.
  int admit(const std::vector<balancer::Host*>& candidates, core::TimePoint now,
            std::vector<balancer::Host*>& admitted);
  /// Takes the permit of the host the balancer chose among `admitted`.
  core::Result<Pick> take(const std::vector<balancer::Host*>& admitted,
                          const balancer::PickContext& ctx, bool take_permit, bool panic);
  /// Whether picks look at local instances first: prefer_local and both
  /// local and remote instances present (kept by update() and set_spec()).
  void refresh_locality();
  std::unique_ptr<breaker::CircuitBreaker> make_breaker(const std::string& id);

  std::shared_ptr<const config::ServiceSpec> spec_;
  core::EventBus* events_;
  std::uint64_t seed_;  // of this route's balancer, again when a reload rebuilds it
  std::unique_ptr<balancer::LoadBalancer> balancer_;
  breaker::OutlierDetector outlier_;
  balancer::RetryBudget retry_budget_;
  TrafficStats stats_;
  std::shared_ptr<RateLimiter> rate_limiter_;
  std::map<std::string, Entry> entries_;
  std::vector<balancer::Host*> scratch_eligible_, scratch_all_, scratch_admitted_, scratch_local_;
  std::size_t local_hosts_ = 0;  // entries_ with local == true
  bool prefer_local_ = false;
  std::uint64_t breaker_transitions_ = 0;
  std::uint64_t ejections_ = 0;
};

/// Every service's route, by name.
class RouteTable {
 public:
  RouteTable(core::EventBus* events, std::uint64_t seed) : events_(events), seed_(seed) {}
  /// Creates, updates or drops routes to match `config`.
  void set_config(const std::shared_ptr<const config::Config>& config);
  std::shared_ptr<ServiceRoute> find(const std::string& service) const;
  const std::map<std::string, std::shared_ptr<ServiceRoute>>& routes() const { return routes_; }

 private:
  core::EventBus* events_;
  std::uint64_t seed_;
  std::map<std::string, std::shared_ptr<ServiceRoute>> routes_;
};

}  // namespace meshd::gateway
