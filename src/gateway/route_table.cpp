#include "meshd/gateway/route_table.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "meshd/balancer/panic_threshold.hpp"
#include "meshd/balancer/slow_start.hpp"
#include "meshd/config/diff.hpp"
#include "no_instance.hpp"
#include "rate_limiter.hpp"

namespace meshd::gateway {

using core::ErrorCode;

const char* to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::success:
      return "success";
    case Outcome::http_5xx:
      return "5xx";
    case Outcome::connect_failure:
      return "connect-failure";
    case Outcome::reset:
      return "reset";
    case Outcome::timeout:
      return "timeout";
    case Outcome::cancelled:
      return "cancelled";
  }
  assert(false && "Outcome without a name");
  return "success";
}

ServiceRoute::ServiceRoute(std::shared_ptr<const config::ServiceSpec> spec, core::EventBus* events,
                           std::uint64_t seed)
    : spec_(std::move(spec)),
      events_(events),
      seed_(seed),
      balancer_(balancer::make_load_balancer(spec_->load_balancer, spec_->slow_start, seed_)),
      outlier_(spec_->outlier_detection),
      retry_budget_(spec_->retry.budget) {
  if (spec_->rate_limit) rate_limiter_ = std::make_shared<RateLimiter>(*spec_->rate_limit);
  refresh_locality();
}

void ServiceRoute::refresh_locality() {
  // All local or all remote: the preference changes nothing, and picks skip it.
  prefer_local_ = spec_->locality == config::Locality::prefer_local && local_hosts_ > 0 &&
                  local_hosts_ < entries_.size();
}

void ServiceRoute::set_spec(std::shared_ptr<const config::ServiceSpec> spec) {
  // A reload hands every route its new spec; only what changed starts
  // afresh, so an unrelated change keeps breakers, ejections and budgets.
  auto changed = config::differing_fields(*spec_, *spec);
  auto has = [&changed](const char* key) {
    return std::find(changed.begin(), changed.end(), key) != changed.end();
  };
  bool new_balancer = has("load_balancer") || has("slow_start") || has("hash_key");
  bool new_breakers = has("circuit_breaker");
  bool new_outlier = has("outlier_detection");
  bool new_budget = has("retry");
  spec_ = std::move(spec);
  if (new_breakers)
    for (auto& [id, e] : entries_) e.breaker = make_breaker(id);
  if (new_outlier) {
    outlier_ = breaker::OutlierDetector(spec_->outlier_detection);
    outlier_.set_hosts(host_ids());
  }
  if (new_budget) retry_budget_ = balancer::RetryBudget(spec_->retry.budget);
  if (has("rate_limit"))
    rate_limiter_ = spec_->rate_limit ? std::make_shared<RateLimiter>(*spec_->rate_limit) : nullptr;
  refresh_locality();
  this->changed();
  if (new_balancer) {
    // The route's own seed, as at construction: routes rebuilt by one
    // reload must not all draw the same random sequence.
    balancer_ = balancer::make_load_balancer(spec_->load_balancer, spec_->slow_start, seed_);
    std::vector<std::shared_ptr<balancer::Host>> hosts;
    for (auto& [id, e] : entries_) hosts.push_back(e.host);
    balancer_->set_hosts(hosts);
  }
}

std::unique_ptr<breaker::CircuitBreaker> ServiceRoute::make_breaker(const std::string& id) {
  std::string service = spec_->name;
  return std::make_unique<breaker::CircuitBreaker>(
      spec_->circuit_breaker,
      [this, service, id](breaker::BreakerState from, breaker::BreakerState to,
                          const std::string& reason) {
        ++breaker_transitions_;
        on_transition(id, to);
        if (!events_) return;
        events_->publish("breaker.transition", service, id,
                         id + ": breaker " + breaker::to_string(from) + " -> " +
                             breaker::to_string(to) + (reason.empty() ? "" : " (" + reason + ")"),
                         {{"from", breaker::to_string(from)},
                          {"to", breaker::to_string(to)},
                          {"reason", reason}});
      });
}

// The registry lists a service's instances in id order, and entries_ keeps
// them in the same order: one merge of the two finds the instances that
// came and went, and skips those whose record has the revision already
// seen. A change to one instance of a 5,000-instance service costs a walk
// over the pointers, not 5,000 lookups and copies.
void ServiceRoute::update(const registry::Registry& registry, core::TimePoint now) {
  bool membership_changed = false;
  bool any_change = false;  // a record with a new revision
  auto e_it = entries_.begin();
  auto drop = [&] {
    outlier_.remove_host(e_it->first);
    if (e_it->second.local) --local_hosts_;
    e_it = entries_.erase(e_it);
    membership_changed = true;
  };
  for (const auto* r : registry.instances(spec_->name)) {
    while (e_it != entries_.end() && e_it->first < r->id) drop();
    bool inserted = e_it == entries_.end() || e_it->first != r->id;
    if (inserted) {
      e_it = entries_.emplace_hint(e_it, r->id, Entry{});
      Entry& e = e_it->second;
      e.host = std::make_shared<balancer::Host>();
      e.host->id = r->id;
      e.host->joined = now;
      e.breaker = make_breaker(r->id);
      e.local = r->local();
      if (e.local) ++local_hosts_;
      outlier_.add_host(r->id);
      membership_changed = true;
    }
    Entry& e = e_it->second;
    ++e_it;
    if (!inserted && e.revision == r->revision) continue;
    any_change = true;
    e.revision = r->revision;
    bool healthy = r->healthy();
    // (Re)joining rotation starts the slow-start ramp again.
    if (healthy && !e.healthy && !inserted) e.host->joined = now;
    e.healthy = healthy;
    e.overridden = registry.overrides(r->id).any();
    if (e.host->address != r->address || e.host->port != r->port || e.host->weight != r->weight) {
      e.host->address = r->address;
      e.host->port = r->port;
      e.host->weight = std::max(1, r->weight);
      membership_changed = true;
    }
  }
  while (e_it != entries_.end()) drop();
  any_change = any_change || membership_changed;
  refresh_locality();
  if (membership_changed) {
    std::vector<std::shared_ptr<balancer::Host>> hosts;
    hosts.reserve(entries_.size());
    for (auto& [id, e] : entries_) hosts.push_back(e.host);
    balancer_->set_hosts(std::move(hosts));
  }
  if (any_change) changed();
}

core::Result<Pick> ServiceRoute::pick(const balancer::PickContext& ctx,
                                      const std::set<std::string>& exclude) {
  return choose(ctx, exclude, true);
}

core::Result<Pick> ServiceRoute::peek(const balancer::PickContext& ctx) {
  return choose(ctx, {}, false);
}

core::Result<Pick> ServiceRoute::choose(const balancer::PickContext& ctx,
                                        const std::set<std::string>& exclude, bool take_permit) {
  if (entries_.empty())
    return core::make_error(ErrorCode::unavailable,
                            "service '" + spec_->name + "' has no instances");
  auto& eligible = scratch_eligible_;
  auto& all = scratch_all_;
  auto& admitted = scratch_admitted_;
  auto& local = scratch_local_;
  eligible.clear();
  all.clear();
  admitted.clear();
  local.clear();
  int unhealthy = 0, overridden = 0, ejected = 0;
  for (auto& [id, e] : entries_) {
    if (e.overridden) {
      ++overridden;
      continue;
    }
    if (!exclude.empty() && exclude.count(id)) continue;
    all.push_back(e.host.get());
    if (!e.healthy)
      ++unhealthy;
    else if (outlier_.ejected(id, ctx.now))
      ++ejected;
    else {
      eligible.push_back(e.host.get());
      if (prefer_local_ && e.local) local.push_back(e.host.get());
    }
  }
  if (!local.empty()) {
    admit(local, ctx.now, admitted);
    if (!admitted.empty()) return take(admitted, ctx, take_permit, false);
  }
  bool panicking = false;
  // The common case, enough healthy instances, needs no copy.
  std::vector<balancer::Host*> panic_set;
  if (static_cast<double>(eligible.size()) <
      spec_->panic_threshold * static_cast<double>(all.size()))
    panic_set = balancer::apply_panic_threshold(eligible, all, spec_->panic_threshold, &panicking);
  const auto& candidates = panicking ? panic_set : eligible;
  int open = admit(candidates, ctx.now, admitted);
  if (admitted.empty())
    return detail::no_instance_error(spec_->name, all.size(), overridden, candidates.size(),
                                     unhealthy, ejected, open);
  return take(admitted, ctx, take_permit, panicking);
}

int ServiceRoute::admit(const std::vector<balancer::Host*>& candidates, core::TimePoint now,
                        std::vector<balancer::Host*>& admitted) {
  int open = 0;
  for (auto* h : candidates) {
    if (entries_.at(h->id).breaker->can_acquire(now))
      admitted.push_back(h);
    else
      ++open;
  }
  return open;
}

core::Result<Pick> ServiceRoute::take(const std::vector<balancer::Host*>& admitted,
                                      const balancer::PickContext& ctx, bool take_permit,
                                      bool panic) {
  balancer::Host* chosen = balancer_->choose(admitted, ctx);
  assert(chosen && "a balancer chose nothing among admitted instances");
  if (!chosen)
    return core::make_error(ErrorCode::unavailable,
                            "no instance of '" + spec_->name + "' was chosen");
  auto& entry = entries_.at(chosen->id);
  if (take_permit && !entry.breaker->try_acquire(ctx.now))
    return core::make_error(ErrorCode::unavailable,
                            "the circuit breaker of '" + chosen->id + "' refused the call");
  return Pick{entry.host, panic};
}

void ServiceRoute::on_result(const std::string& host_id, Outcome outcome,
                             std::chrono::microseconds latency, core::TimePoint now,
                             bool permit_taken) {
  auto it = entries_.find(host_id);
  if (it == entries_.end()) return;  // the instance left while the call ran
  Entry& e = it->second;
  auto ms = std::chrono::duration_cast<core::Duration>(latency);
  if (outcome == Outcome::cancelled) {
    if (permit_taken) e.breaker->release(now);
    return;
  }
  bool failure = outcome != Outcome::success;
  ++e.host->requests;
  if (failure) ++e.host->failures;
  if (!permit_taken && e.breaker->state(now) != breaker::BreakerState::closed) {
    // A proxyless client's report without a permit: count it only while
    // closed, so it cannot spend half-open trial slots it never held.
  } else if (failure) {
    e.breaker->on_failure(ms, now);
  } else {
    e.breaker->on_success(ms, now);
  }
  if (outcome != Outcome::connect_failure) e.host->record_latency(ms);
  auto until = outlier_.on_result(host_id, failure, now);
  if (until) {
    ++ejections_;
    changed();
  }
  if (until && events_) {
    auto secs = std::chrono::duration_cast<std::chrono::milliseconds>(*until - now).count();
    events_->publish(
        "outlier.ejected", spec_->name, host_id,
        host_id + ": ejected by outlier detection for " + std::to_string(secs) + "ms after " +
            std::to_string(spec_->outlier_detection.consecutive_failures) + " consecutive failures",
        {{"until_ms_from_now", secs}, {"times_ejected", outlier_.times_ejected(host_id)}});
  }
}

void RouteTable::set_config(const std::shared_ptr<const config::Config>& config) {
  std::set<std::string> names;
  for (const auto& s : config->services) {
    names.insert(s.name);
    auto spec = std::shared_ptr<const config::ServiceSpec>(config, &s);
    auto it = routes_.find(s.name);
    if (it == routes_.end()) {
      auto route = std::make_shared<ServiceRoute>(spec, events_, seed_++);
      route->set_change_listener(on_change_);
      routes_.emplace(s.name, std::move(route));
    } else {
      it->second->set_spec(spec);
    }
  }
  for (auto it = routes_.begin(); it != routes_.end();)
    it = names.count(it->first) ? std::next(it) : routes_.erase(it);
  if (*on_change_) (*on_change_)();
}

std::shared_ptr<ServiceRoute> RouteTable::find(const std::string& service) const {
  auto it = routes_.find(service);
  return it == routes_.end() ? nullptr : it->second;
}

}  // namespace meshd::gateway
