#pragma once

#include <cstdint>
#include <string>

#include "meshd/core/clock.hpp"

namespace meshd::balancer {

/// One instance as the data path sees it. The service's routing state owns it
/// (as std::shared_ptr<Host>); the gateway updates the dynamic fields and the
/// balancers read them. Not thread-safe: one event loop owns a Host.
struct Host {
  std::string id;
  std::string address;
  std::uint16_t port = 0;
  /// Static weight, 1..1000 from the config; values below 1 count as 1.
  int weight = 1;
  /// When the instance (re)joined rotation: slow start ramps from here.
  core::TimePoint joined{};

  /// Requests in flight, incremented and decremented by the gateway.
  int active_requests = 0;
  /// Calls finished on this instance (cancelled ones aside) and how many
  /// of them failed (5xx, connect failure, reset, timeout), as breakers
  /// count them: the dashboard compares a rollout's canaries with the old
  /// instances by these.
  std::uint64_t requests = 0;
  std::uint64_t failures = 0;

  /// Smooth weighted round-robin's running weight (nginx's current_weight);
  /// scratch space owned by whichever balancer the service uses.
  double current_weight = 0.0;

  /// Feeds one observed latency into the moving average.
  void record_latency(core::Duration latency);
  /// Exponentially weighted moving average of latency, in milliseconds; 0
  /// until the first sample.
  double latency_ewma_ms() const { return latency_ewma_ms_; }
  /// False until the first latency is recorded.
  bool has_latency() const { return has_latency_; }

  /// Weight of the newest sample in the average. 0.3 follows a shift in
  /// latency within a handful of requests (a sample's influence halves about
  /// every two samples) while one outlier moves the average by only 30%.
  static constexpr double kLatencyDecay = 0.3;

 private:
  double latency_ewma_ms_ = 0.0;
  bool has_latency_ = false;
};

}  // namespace meshd::balancer
