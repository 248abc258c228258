// What a ServiceRoute tells the rest of meshd: why an instance is out of
// rotation, its hosts and breakers, and the snapshot the gateway's threads
// route from, with their outcomes coming back (see route_table.hpp).
#include <cmath>

#include "meshd/balancer/slow_start.hpp"
#include "meshd/gateway/route_table.hpp"

namespace meshd::gateway {

std::vector<registry::RotationReason> ServiceRoute::reasons(const std::string& host_id,
                                                            core::TimePoint now) {
  std::vector<registry::RotationReason> out;
  auto it = entries_.find(host_id);
  if (it == entries_.end()) return out;
  auto in_ms = [now](core::TimePoint t) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count()) +
           "ms";
  };
  if (outlier_.ejected(host_id, now))
    out.push_back({"ejected",
                   "ejected by outlier detection for another " +
                       in_ms(*outlier_.ejected_until(host_id)) + " (ejection #" +
                       std::to_string(outlier_.times_ejected(host_id)) + ")",
                   ""});
  auto state = it->second.breaker->state(now);
  if (state == breaker::BreakerState::open)
    out.push_back({"breaker",
                   "circuit breaker open for another " + in_ms(*it->second.breaker->open_until()),
                   ""});
  else if (state == breaker::BreakerState::forced_open)
    out.push_back({"breaker", "circuit breaker forced open by an operator", ""});
  double f = balancer::slow_start_factor(*it->second.host, now, spec_->slow_start);
  if (f < 1.0)
    out.push_back(
        {"slow_start",
         "slow-starting at " + std::to_string(static_cast<int>(std::lround(f * 100))) + "%", ""});
  return out;
}

std::shared_ptr<balancer::Host> ServiceRoute::host(const std::string& id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second.host;
}

breaker::CircuitBreaker* ServiceRoute::breaker(const std::string& id) {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second.breaker.get();
}

std::vector<std::string> ServiceRoute::host_ids() const {
  std::vector<std::string> ids;
  for (const auto& [id, e] : entries_) ids.push_back(id);
  return ids;
}

// ---- gateway threads ------------------------------------------------------

void ServiceRoute::on_transition(const std::string& id, breaker::BreakerState to) {
  auto it = entries_.find(id);
  if (it != entries_.end()) {
    auto& slots = it->second.trial_slots;
    using S = breaker::BreakerState;
    // A new opening gets fresh trial permits; half open keeps the ones the
    // threads are already taking from.
    if (to == S::open || to == S::forced_open)
      slots = std::make_shared<TrialSlots>(spec_->circuit_breaker.half_open_calls);
    else if (to == S::half_open && !slots)
      slots = std::make_shared<TrialSlots>(spec_->circuit_breaker.half_open_calls);
    else if (to == S::closed || to == S::disabled)
      slots.reset();
  }
  changed();
}

ServiceRouting ServiceRoute::routing(core::TimePoint now) {
  ServiceRouting out;
  out.spec = spec_;
  out.rate_limiter = rate_limiter_;
  out.hosts.reserve(entries_.size());
  for (auto& [id, e] : entries_) {
    HostRouting h;
    h.id = id;
    h.address = e.host->address;
    h.port = e.host->port;
    h.weight = e.host->weight;
    h.joined = e.host->joined;
    h.healthy = e.healthy;
    h.overridden = e.overridden;
    h.local = e.local;
    h.ejected_until = outlier_.ejected_until(id);
    h.breaker = e.breaker->state(now);
    if (h.breaker == breaker::BreakerState::open) h.open_until = e.breaker->open_until();
    if (h.breaker == breaker::BreakerState::open || h.breaker == breaker::BreakerState::half_open) {
      if (!e.trial_slots)
        e.trial_slots = std::make_shared<TrialSlots>(spec_->circuit_breaker.half_open_calls);
      h.trial_slots = e.trial_slots;
    }
    h.in_flight = e.in_flight;
    out.hosts.push_back(std::move(h));
  }
  return out;
}

void ServiceRoute::on_thread_result(const std::string& host_id, Outcome outcome,
                                    std::chrono::microseconds latency, core::TimePoint now) {
  auto it = entries_.find(host_id);
  if (it == entries_.end() || outcome == Outcome::cancelled) return;
  // Closed grants every permit; half open grants the trials, which the
  // threads bounded together; open refuses what was admitted before it
  // opened, and the result then counts only for the host and outlier
  // detection, as on_result does for a call without a permit.
  bool permit = it->second.breaker->try_acquire(now);
  on_result(host_id, outcome, latency, now, permit);
}

int ServiceRoute::in_flight(const std::string& host_id) const {
  auto it = entries_.find(host_id);
  if (it == entries_.end()) return 0;
  return it->second.host->active_requests + it->second.in_flight->load();
}

}  // namespace meshd::gateway
