#pragma once
// Private to the gateway module: not part of meshd's public headers (include/meshd/).
//
// What a proxy session sees of a service's routing state. With one gateway
// thread (the control loop itself) a WorkerRoute passes every call straight
// to the control loop's ServiceRoute, so behaviour is exactly that of a
// single-loop gateway. With several threads each thread has its own
// WorkerRoute per service, rebuilt from the RoutingSnapshot the control
// loop publishes: its own hosts (in-flight counts per thread), its own
// balancer and retry budget, and no lock on the request path; outcomes and
// counters go back to the control loop in batches (WorkerLink).

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "meshd/balancer/load_balancer.hpp"
#include "meshd/balancer/retry_budget.hpp"
#include "meshd/gateway/route_table.hpp"
#include "meshd/gateway/routing_snapshot.hpp"

namespace meshd::gateway {

/// One thing a gateway thread tells the control loop.
struct CallRecord {
  enum class Kind : std::uint8_t {
    result,
    status,
    retry,
    rejected,
    rate_limited,
    upgrade_opened,
    upgrade_closed
  };
  Kind kind = Kind::status;
  Outcome outcome = Outcome::success;
  int status = 0;
  std::chrono::microseconds latency{};
  core::TimePoint now{};
  std::string service;
  std::string host_id;
};

/// A gateway thread's channel to the control loop: records go in one post
/// per batch, at the end of the loop's round, and at most one batch per
/// kDelay, so a busy thread wakes the control loop a thousand times a
/// second rather than once per request; breakers, outlier detection and
/// metrics hear of an outcome at most that much later.
class WorkerLink : public std::enable_shared_from_this<WorkerLink> {
 public:
  using Deliver = std::function<void(std::vector<CallRecord>)>;
  static constexpr std::chrono::microseconds kDelay{1000};
  WorkerLink(boost::asio::io_context& io, Deliver deliver)
      : timer_(io), deliver_(std::move(deliver)) {}

  void add(CallRecord record);
  void set_deliver(Deliver deliver) { deliver_ = std::move(deliver); }
  /// Stops delivering (the gateway is going away).
  void close() { closed_ = true; }

 private:
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point last_flush_{};
  Deliver deliver_;
  std::vector<CallRecord> pending_;
  bool flush_scheduled_ = false;
  bool closed_ = false;
};

/// The counters a session updates, as TrafficStats names them.
class StatsSink {
 public:
  void record(int status, std::chrono::microseconds latency, core::TimePoint now);
  void record_retry();
  void record_rejected();
  void record_rate_limited();
  void upgrade_opened();
  void upgrade_closed();

 private:
  friend class WorkerRoute;
  void send(CallRecord::Kind kind, int status = 0, std::chrono::microseconds latency = {},
            core::TimePoint now = {});
  TrafficStats* direct_ = nullptr;  // one thread: the route's own
  WorkerLink* link_ = nullptr;      // several: sent to the control loop
  const std::string* service_ = nullptr;
};

/// One instance as one gateway thread balances it.
struct WorkerHost : balancer::Host {
  HostRouting routing;
  int trials_held = 0;  // half-open trial permits this thread holds
};

/// A service's route as the proxy sessions of one gateway thread use it:
/// the member functions they call on a ServiceRoute.
class WorkerRoute {
 public:
  /// One gateway thread: everything goes to `route` on the same loop.
  explicit WorkerRoute(std::shared_ptr<ServiceRoute> route);
  /// Several: state from snapshots (apply()), results through `link`.
  WorkerRoute(std::string name, std::shared_ptr<WorkerLink> link, std::uint64_t seed);

  /// Takes this service's part of a new snapshot, keeping each surviving
  /// host's in-flight count.
  void apply(const ServiceRouting& routing);

  /// As ServiceRoute::pick: Envoy's order (healthy, not drained, not
  /// ejected; panic threshold; prefer_local; breaker admission).
  core::Result<Pick> pick(const balancer::PickContext& ctx,
                          const std::set<std::string>& exclude = {});
  /// The end of a call on `host_id` (see ServiceRoute::on_result).
  void on_result(const std::string& host_id, Outcome outcome, std::chrono::microseconds latency,
                 core::TimePoint now);
  /// An attempt starts and ends on the picked host (its in-flight counts).
  void acquire(balancer::Host& host);
  void release(balancer::Host& host);

  const config::ServiceSpec& spec() const { return direct_ ? direct_->spec() : *spec_; }
  /// Several threads: each has its own budget, so a service's retries may
  /// reach budget x threads of its requests in the worst case.
  balancer::RetryBudget& retry_budget() { return direct_ ? direct_->retry_budget() : *budget_; }
  StatsSink& stats() { return stats_; }
  /// The service's rate limiter (one for all threads), or nullptr.
  RateLimiter* rate_limiter() const {
    return direct_ ? direct_->rate_limiter() : rate_limiter_.get();
  }
  const std::string& name() const { return name_; }
  /// The control loop's route this one passes calls to (one thread), or null.
  const ServiceRoute* direct() const { return direct_.get(); }

 private:
  bool admits(const WorkerHost& h, core::TimePoint now) const;
  core::Result<Pick> take(const std::vector<balancer::Host*>& admitted,
                          const balancer::PickContext& ctx, bool panic);

  std::shared_ptr<ServiceRoute> direct_;
  std::string name_;
  std::shared_ptr<WorkerLink> link_;
  std::uint64_t seed_ = 0;
  std::shared_ptr<const config::ServiceSpec> spec_;
  std::unique_ptr<balancer::LoadBalancer> balancer_;
  std::unique_ptr<balancer::RetryBudget> budget_;
  std::shared_ptr<RateLimiter> rate_limiter_;
  std::map<std::string, std::shared_ptr<WorkerHost>, std::less<>> hosts_;
  std::vector<balancer::Host*> eligible_, all_, admitted_, local_;
  bool prefer_local_ = false;
  StatsSink stats_;
};

/// Every service's WorkerRoute for one gateway thread, by name.
class WorkerRoutes {
 public:
  /// One gateway thread, on the control loop: wraps `routes`.
  explicit WorkerRoutes(RouteTable& routes) : table_(&routes) {}
  /// Several: filled by apply().
  WorkerRoutes(std::shared_ptr<WorkerLink> link, std::uint64_t seed)
      : link_(std::move(link)), seed_(seed) {}

  std::shared_ptr<WorkerRoute> find(const std::string& service);
  /// Takes a new snapshot (on this thread).
  void apply(const RoutingSnapshot& snapshot);
  std::uint64_t generation() const { return generation_; }
  /// The service a Host / :authority names (service_from_authority's rule),
  /// as a view of this table's own key.
  std::optional<std::string_view> named(const std::string& name) const;

 private:
  RouteTable* table_ = nullptr;
  std::shared_ptr<WorkerLink> link_;
  std::uint64_t seed_ = 0;
  std::uint64_t generation_ = 0;
  std::map<std::string, std::shared_ptr<WorkerRoute>, std::less<>> routes_;
};

/// service_from_authority (proxy_headers.hpp) for a gateway thread's table.
std::optional<std::string_view> service_from_authority(std::string_view host,
                                                       const WorkerRoutes& routes);

/// Applies a batch from a gateway thread to the control loop's routes.
void apply_records(RouteTable& routes, const std::vector<CallRecord>& records);

}  // namespace meshd::gateway
