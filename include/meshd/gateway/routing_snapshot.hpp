#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "meshd/breaker/breaker_state.hpp"
#include "meshd/config/types.hpp"
#include "meshd/core/clock.hpp"

namespace meshd::gateway {

class RouteTable;
class RateLimiter;  // src/gateway/rate_limiter.hpp; thread-safe, shared by every thread

/// Half-open trial permits of one instance's breaker, shared by every
/// gateway thread: the control loop makes one holding half_open_calls when
/// the breaker opens, and each thread takes a trial by decrementing it, so
/// all threads together admit at most half_open_calls trials per opening.
using TrialSlots = std::atomic<int>;

/// One instance as a gateway thread sees it: a value copied out of the
/// control loop's ServiceRoute, plus two counters shared across threads.
struct HostRouting {
  std::string id;
  std::string address;
  std::uint16_t port = 0;
  int weight = 1;
  core::TimePoint joined{};  // slow start ramps from here
  bool healthy = false;
  bool overridden = false;  // drained or in maintenance
  bool local = true;        // this node's own instance
  std::optional<core::TimePoint> ejected_until;
  breaker::BreakerState breaker = breaker::BreakerState::closed;
  std::optional<core::TimePoint> open_until;  // when an open breaker lets trials through
  std::shared_ptr<TrialSlots> trial_slots;    // set while open or half open
  /// Requests in flight on this instance from every gateway thread (the
  /// supervisor waits for it to reach 0 before stopping a drained instance).
  std::shared_ptr<std::atomic<int>> in_flight;
};

/// One service as a gateway thread sees it.
struct ServiceRouting {
  std::shared_ptr<const config::ServiceSpec> spec;
  std::vector<HostRouting> hosts;             // in id order
  std::shared_ptr<RateLimiter> rate_limiter;  // the control loop's own; nullptr without rate_limit
};

/// The routing state of every service at one moment, made by the control
/// loop after every change (registry, reload, breaker transition, ejection,
/// drain) and handed to every gateway thread. Immutable once published:
/// threads read it without locks.
struct RoutingSnapshot {
  std::uint64_t generation = 0;
  std::map<std::string, ServiceRouting, std::less<>> services;
};

/// The snapshot of `routes` as of `now` (on the control loop).
std::shared_ptr<const RoutingSnapshot> make_snapshot(RouteTable& routes, core::TimePoint now,
                                                     std::uint64_t generation);

}  // namespace meshd::gateway
