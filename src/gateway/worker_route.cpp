#include "worker_route.hpp"

#include <boost/asio/post.hpp>
#include <cassert>

#include "meshd/balancer/panic_threshold.hpp"
#include "meshd/config/diff.hpp"
#include "no_instance.hpp"
#include "proxy_headers.hpp"

namespace meshd::gateway {

using breaker::BreakerState;
using core::ErrorCode;

// ---- WorkerLink ---------------------------------------------------------------

void WorkerLink::add(CallRecord record) {
  if (closed_) return;
  pending_.push_back(std::move(record));
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  auto flush = [self = shared_from_this()](boost::system::error_code ec) {
    self->flush_scheduled_ = false;
    if (ec || self->closed_ || self->pending_.empty()) return;
    self->last_flush_ = std::chrono::steady_clock::now();
    std::vector<CallRecord> batch;
    batch.swap(self->pending_);
    self->pending_.reserve(batch.size());
    self->deliver_(std::move(batch));
  };
  // A quiet thread sends at the end of its loop's round (the counters are
  // current by the time a client can ask for them); a busy one at most
  // once per kDelay.
  auto since = std::chrono::steady_clock::now() - last_flush_;
  if (since >= kDelay) {
    boost::asio::post(timer_.get_executor(), [flush] { flush({}); });
    return;
  }
  timer_.expires_after(kDelay - since);
  timer_.async_wait(std::move(flush));
}

// ---- StatsSink ----------------------------------------------------------------

void StatsSink::send(CallRecord::Kind kind, int status, std::chrono::microseconds latency,
                     core::TimePoint now) {
  CallRecord r;
  r.kind = kind;
  r.status = status;
  r.latency = latency;
  r.now = now;
  r.service = *service_;
  link_->add(std::move(r));
}

void StatsSink::record(int status, std::chrono::microseconds latency, core::TimePoint now) {
  if (direct_) return direct_->record(status, latency, now);
  send(CallRecord::Kind::status, status, latency, now);
}

void StatsSink::record_retry() {
  if (direct_) return direct_->record_retry();
  send(CallRecord::Kind::retry);
}

void StatsSink::record_rejected() {
  if (direct_) return direct_->record_rejected();
  send(CallRecord::Kind::rejected);
}

void StatsSink::record_rate_limited() {
  if (direct_) return direct_->record_rate_limited();
  send(CallRecord::Kind::rate_limited);
}

void StatsSink::upgrade_opened() {
  if (direct_) return direct_->upgrade_opened();
  send(CallRecord::Kind::upgrade_opened);
}

void StatsSink::upgrade_closed() {
  if (direct_) return direct_->upgrade_closed();
  send(CallRecord::Kind::upgrade_closed);
}

// ---- WorkerRoute ----------------------------------------------------------------

WorkerRoute::WorkerRoute(std::shared_ptr<ServiceRoute> route)
    : direct_(std::move(route)), name_(direct_->spec().name) {
  stats_.direct_ = &direct_->stats();
}

WorkerRoute::WorkerRoute(std::string name, std::shared_ptr<WorkerLink> link, std::uint64_t seed)
    : name_(std::move(name)), link_(std::move(link)), seed_(seed) {
  stats_.link_ = link_.get();
  stats_.service_ = &name_;
}

void WorkerRoute::apply(const ServiceRouting& routing) {
  assert(!direct_);
  bool new_balancer = !spec_, new_budget = !spec_;
  if (spec_ && spec_ != routing.spec) {
    auto changed = config::differing_fields(*spec_, *routing.spec);
    auto has = [&changed](const char* key) {
      return std::find(changed.begin(), changed.end(), key) != changed.end();
    };
    new_balancer = has("load_balancer") || has("slow_start") || has("hash_key");
    new_budget = has("retry");
  }
  spec_ = routing.spec;
  rate_limiter_ = routing.rate_limiter;
  if (new_budget) budget_ = std::make_unique<balancer::RetryBudget>(spec_->retry.budget);
  bool membership_changed = new_balancer;
  if (new_balancer)
    balancer_ = balancer::make_load_balancer(spec_->load_balancer, spec_->slow_start, seed_);
  // Both lists are in id order: one merge.
  std::map<std::string, std::shared_ptr<WorkerHost>, std::less<>> next;
  std::size_t local = 0;
  for (const auto& r : routing.hosts) {
    auto it = hosts_.find(r.id);
    std::shared_ptr<WorkerHost> h;
    if (it == hosts_.end()) {
      h = std::make_shared<WorkerHost>();
      h->id = r.id;
      membership_changed = true;
    } else {
      h = it->second;
    }
    if (h->address != r.address || h->port != r.port || h->weight != r.weight)
      membership_changed = true;
    h->address = r.address;
    h->port = r.port;
    h->weight = r.weight;
    h->joined = r.joined;
    h->routing = r;
    if (r.local) ++local;
    next.emplace(r.id, std::move(h));
  }
  if (next.size() != hosts_.size()) membership_changed = true;
  hosts_.swap(next);
  prefer_local_ =
      spec_->locality == config::Locality::prefer_local && local > 0 && local < hosts_.size();
  if (membership_changed) {
    std::vector<std::shared_ptr<balancer::Host>> hosts;
    hosts.reserve(hosts_.size());
    for (auto& [id, h] : hosts_) hosts.push_back(h);
    balancer_->set_hosts(std::move(hosts));
  }
}

bool WorkerRoute::admits(const WorkerHost& h, core::TimePoint now) const {
  switch (h.routing.breaker) {
    case BreakerState::closed:
    case BreakerState::disabled:
      return true;
    case BreakerState::forced_open:
      return false;
    case BreakerState::open:
      if (h.routing.open_until && now < *h.routing.open_until) return false;
      [[fallthrough]];
    case BreakerState::half_open:
      return h.routing.trial_slots && h.routing.trial_slots->load(std::memory_order_relaxed) > 0;
  }
  return false;
}

core::Result<Pick> WorkerRoute::pick(const balancer::PickContext& ctx,
                                     const std::set<std::string>& exclude) {
  if (direct_) return direct_->pick(ctx, exclude);
  if (hosts_.empty())
    return core::make_error(ErrorCode::unavailable, "service '" + name_ + "' has no instances");
  eligible_.clear();
  all_.clear();
  admitted_.clear();
  local_.clear();
  int unhealthy = 0, overridden = 0, ejected = 0;
  for (auto& [id, h] : hosts_) {
    const auto& r = h->routing;
    if (r.overridden) {
      ++overridden;
      continue;
    }
    if (!exclude.empty() && exclude.count(id)) continue;
    all_.push_back(h.get());
    if (!r.healthy)
      ++unhealthy;
    else if (r.ejected_until && ctx.now < *r.ejected_until)
      ++ejected;
    else {
      eligible_.push_back(h.get());
      if (prefer_local_ && r.local) local_.push_back(h.get());
    }
  }
  auto admit = [&](const std::vector<balancer::Host*>& candidates) {
    int open = 0;
    for (auto* h : candidates) {
      if (admits(static_cast<const WorkerHost&>(*h), ctx.now))
        admitted_.push_back(h);
      else
        ++open;
    }
    return open;
  };
  if (!local_.empty()) {
    admit(local_);
    if (!admitted_.empty()) return take(admitted_, ctx, false);
  }
  bool panicking = false;
  std::vector<balancer::Host*> panic_set;
  if (static_cast<double>(eligible_.size()) <
      spec_->panic_threshold * static_cast<double>(all_.size()))
    panic_set =
        balancer::apply_panic_threshold(eligible_, all_, spec_->panic_threshold, &panicking);
  const auto& candidates = panicking ? panic_set : eligible_;
  int open = admit(candidates);
  if (admitted_.empty())
    return detail::no_instance_error(name_, all_.size(), overridden, candidates.size(), unhealthy,
                                     ejected, open);
  return take(admitted_, ctx, panicking);
}

core::Result<Pick> WorkerRoute::take(const std::vector<balancer::Host*>& admitted,
                                     const balancer::PickContext& ctx, bool panic) {
  auto* chosen = static_cast<WorkerHost*>(balancer_->choose(admitted, ctx));
  assert(chosen && "a balancer chose nothing among admitted instances");
  if (!chosen)
    return core::make_error(ErrorCode::unavailable, "no instance of '" + name_ + "' was chosen");
  const auto& r = chosen->routing;
  bool trial = r.breaker != BreakerState::closed && r.breaker != BreakerState::disabled;
  if (trial) {
    // A half-open trial: one of the permits all threads share.
    if (!r.trial_slots || r.trial_slots->fetch_sub(1) <= 0) {
      if (r.trial_slots) r.trial_slots->fetch_add(1);
      return core::make_error(ErrorCode::unavailable,
                              "the circuit breaker of '" + chosen->id + "' refused the call");
    }
    ++chosen->trials_held;
  }
  return Pick{hosts_.at(chosen->id), panic};
}

void WorkerRoute::on_result(const std::string& host_id, Outcome outcome,
                            std::chrono::microseconds latency, core::TimePoint now) {
  if (direct_) return direct_->on_result(host_id, outcome, latency, now);
  auto it = hosts_.find(host_id);
  if (it != hosts_.end()) {
    auto& h = *it->second;
    if (h.trials_held > 0) {
      --h.trials_held;
      // A cancelled trial gives its permit to the next call, as in one loop.
      if (outcome == Outcome::cancelled && h.routing.trial_slots)
        h.routing.trial_slots->fetch_add(1);
    }
    if (outcome != Outcome::cancelled) {
      // This thread's copy, for balancers that weigh latency.
      ++h.requests;
      if (outcome != Outcome::success) ++h.failures;
      if (outcome != Outcome::connect_failure)
        h.record_latency(std::chrono::duration_cast<core::Duration>(latency));
    }
  }
  if (outcome == Outcome::cancelled) return;
  CallRecord r;
  r.kind = CallRecord::Kind::result;
  r.outcome = outcome;
  r.latency = latency;
  r.now = now;
  r.service = name_;
  r.host_id = host_id;
  link_->add(std::move(r));
}

void WorkerRoute::acquire(balancer::Host& host) {
  ++host.active_requests;
  if (!direct_) static_cast<WorkerHost&>(host).routing.in_flight->fetch_add(1);
}

void WorkerRoute::release(balancer::Host& host) {
  --host.active_requests;
  if (!direct_) static_cast<WorkerHost&>(host).routing.in_flight->fetch_sub(1);
}

// ---- WorkerRoutes ---------------------------------------------------------------

std::shared_ptr<WorkerRoute> WorkerRoutes::find(const std::string& service) {
  if (!table_) {
    auto it = routes_.find(service);
    return it == routes_.end() ? nullptr : it->second;
  }
  auto route = table_->find(service);
  if (!route) {
    routes_.erase(service);
    return nullptr;
  }
  auto& w = routes_[service];
  // A reload that re-creates the route makes a new wrapper; sessions keep the old.
  if (!w || w->direct() != route.get()) w = std::make_shared<WorkerRoute>(std::move(route));
  return w;
}

std::optional<std::string_view> WorkerRoutes::named(const std::string& name) const {
  if (table_) {
    auto it = table_->routes().find(name);
    if (it == table_->routes().end()) return std::nullopt;
    return std::string_view(it->first);
  }
  auto it = routes_.find(name);
  if (it == routes_.end()) return std::nullopt;
  return std::string_view(it->first);
}

std::optional<std::string_view> service_from_authority(std::string_view host,
                                                       const WorkerRoutes& routes) {
  if (host.empty()) return std::nullopt;
  std::string name = authority_service_name(host);
  if (name.empty()) return std::nullopt;
  return routes.named(name);
}

void WorkerRoutes::apply(const RoutingSnapshot& snapshot) {
  assert(!table_);
  generation_ = snapshot.generation;
  for (auto it = routes_.begin(); it != routes_.end();)
    it = snapshot.services.count(it->first) ? std::next(it) : routes_.erase(it);
  for (const auto& [name, routing] : snapshot.services) {
    auto& w = routes_[name];
    if (!w) w = std::make_shared<WorkerRoute>(name, link_, seed_++);
    w->apply(routing);
  }
}

// ---- the control loop's side ------------------------------------------------------

void apply_records(RouteTable& routes, const std::vector<CallRecord>& records) {
  const std::string* last_name = nullptr;
  std::shared_ptr<ServiceRoute> route;
  for (const auto& r : records) {
    if (!last_name || *last_name != r.service) {
      route = routes.find(r.service);
      last_name = &r.service;
    }
    if (!route) continue;  // the service was removed by a reload meanwhile
    auto& stats = route->stats();
    switch (r.kind) {
      case CallRecord::Kind::result:
        route->on_thread_result(r.host_id, r.outcome, r.latency, r.now);
        break;
      case CallRecord::Kind::status:
        stats.record(r.status, r.latency, r.now);
        break;
      case CallRecord::Kind::retry:
        stats.record_retry();
        break;
      case CallRecord::Kind::rejected:
        stats.record_rejected();
        break;
      case CallRecord::Kind::rate_limited:
        stats.record_rate_limited();
        break;
      case CallRecord::Kind::upgrade_opened:
        stats.upgrade_opened();
        break;
      case CallRecord::Kind::upgrade_closed:
        stats.upgrade_closed();
        break;
    }
  }
}

}  // namespace meshd::gateway
