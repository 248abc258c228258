#include "meshd/supervisor/supervisor.hpp"

#include <utility>

#include "meshd/config/graph.hpp"
#include "rollout.hpp"

namespace meshd::supervisor {

using core::ErrorCode;

Supervisor::Supervisor(const InstanceDeps& deps, core::EventBus& events,
                       std::shared_ptr<const config::Config> config)
    : deps_(deps),
      events_(events),
      config_(std::move(config)),
      listeners_(std::make_shared<Listeners>()) {
  for (const auto& wave : config::start_waves(*config_))
    for (const auto& name : wave) {
      auto spec = std::shared_ptr<const config::ServiceSpec>(config_, config_->find(name));
      services_.push_back(std::make_unique<Service>(deps_, spec, *this));
      last_state_[name] = ProcessState::stopped;
    }
}

Supervisor::~Supervisor() {
  alive_.reset();  // expire the weak_ptrs held by pending callbacks
}

Supervisor::Subscription Supervisor::subscribe(Listener listener) {
  std::uint64_t id = listeners_->next_id++;
  listeners_->by_id.emplace(id, listener);
  // The current state, as if every service had just been added.
  if (listener.added)
    for (auto& s : services_) listener.added(*s);
  if (listener.services_changed) listener.services_changed();
  if (listener.changed)
    for (const auto& s : services_) listener.changed(*s);
  return Subscription(listeners_, id);
}

Supervisor::Subscription& Supervisor::Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    reset();
    listeners_ = std::move(other.listeners_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void Supervisor::Subscription::reset() {
  if (auto listeners = listeners_.lock()) listeners->by_id.erase(id_);
  listeners_.reset();
  id_ = 0;
}

Service* Supervisor::find(const std::string& name) {
  for (auto& s : services_)
    if (s->name() == name) return s.get();
  return nullptr;
}

const Service* Supervisor::find(const std::string& name) const {
  for (const auto& s : services_)
    if (s->name() == name) return s.get();
  return nullptr;
}

void Supervisor::start_all() {
  for (auto& s : services_) s->set_wanted(true);
  evaluate();
}

namespace {

core::Status not_placed_here(const std::string& name) {
  return core::make_error(core::ErrorCode::conflict,
                          "'" + name + "' is placed on another node of the cluster");
}

}  // namespace

core::Status Supervisor::start_service(const std::string& name) {
  if (shutting_down_) return core::make_error(ErrorCode::conflict, "meshd is shutting down");
  Service* service = find(name);
  if (!service) return core::make_error(ErrorCode::not_found, "no service named '" + name + "'");
  if (service->retiring())
    return core::make_error(ErrorCode::conflict,
                            "'" + name + "' was removed from the config and is stopping");
  if (under_rollout(name))
    return core::make_error(
        ErrorCode::conflict,
        "'" + name +
            "' is being rolled out (a reload or a rolling restart); try again when it is "
            "done, or end it with POST /api/v1/services/" +
            name + "/rollout/abort");
  if (!service->placed()) return not_placed_here(name);
  service->set_wanted(true);
  for (auto& i : service->instances()) {
    i->clear_restarts();
    if (i->state() == ProcessState::exited || i->state() == ProcessState::failed)
      i->mark_pending("start requested");
  }
  events_.publish("service.command", name, "", "start requested for " + name,
                  {{"command", "start"}});
  evaluate();
  return core::ok_status();
}

core::Status Supervisor::stop_service(const std::string& name) {
  if (shutting_down_) return core::make_error(ErrorCode::conflict, "meshd is shutting down");
  Service* service = find(name);
  if (!service) return core::make_error(ErrorCode::not_found, "no service named '" + name + "'");
  if (service->retiring())
    return core::make_error(ErrorCode::conflict,
                            "'" + name + "' was removed from the config and is stopping");
  if (under_rollout(name))
    return core::make_error(
        ErrorCode::conflict,
        "'" + name +
            "' is being rolled out (a reload or a rolling restart); try again when it is "
            "done, or end it with POST /api/v1/services/" +
            name + "/rollout/abort");
  service->set_wanted(false);
  events_.publish("service.command", name, "", "stop requested for " + name, {{"command", "stop"}});
  for (auto& i : service->instances())
    if (i->state() != ProcessState::elsewhere) i->stop();
  return core::ok_status();
}

core::Status Supervisor::restart_service(const std::string& name) {
  if (shutting_down_) return core::make_error(ErrorCode::conflict, "meshd is shutting down");
  Service* service = find(name);
  if (!service) return core::make_error(ErrorCode::not_found, "no service named '" + name + "'");
  if (service->retiring())
    return core::make_error(ErrorCode::conflict,
                            "'" + name + "' was removed from the config and is stopping");
  if (under_rollout(name))
    return core::make_error(
        ErrorCode::conflict,
        "'" + name +
            "' is being rolled out (a reload or a rolling restart); try again when it is "
            "done, or end it with POST /api/v1/services/" +
            name + "/rollout/abort");
  if (!service->placed()) return not_placed_here(name);
  service->set_wanted(true);
  bool serving = service->serving();
  events_.publish("service.command", name, "", "restart requested for " + name,
                  {{"command", "restart"}, {"rolling", serving && service->spec().managed()}});
  if (serving && service->spec().managed()) {
    // Like `kubectl rollout restart`: the same definition through the
    // rollout gate, so the service never stops answering.
    restarts_[name] = std::make_unique<ServiceRollout>(
        *this, *service, service->spec_ptr(), service->spec_ptr(), ServiceRollout::Trigger::restart,
        std::vector<std::string>{});
    request_reload_step();
    return core::ok_status();
  }
  for (auto& i : service->instances()) i->restart();
  return core::ok_status();
}

ServiceRollout* Supervisor::running_rollout(const std::string& name) {
  if (auto it = restarts_.find(name); it != restarts_.end()) return it->second.get();
  if (reload_ && reload_->active && reload_->active->service() == name)
    return reload_->active.get();
  return nullptr;
}

core::Status Supervisor::promote_rollout(const std::string& name) {
  if (!find(name)) return core::make_error(ErrorCode::not_found, "no service named '" + name + "'");
  ServiceRollout* rollout = running_rollout(name);
  if (!rollout)
    return core::make_error(ErrorCode::conflict, "no rollout of '" + name + "' is running");
  return rollout->promote();
}

core::Status Supervisor::abort_rollout(const std::string& name) {
  if (!find(name)) return core::make_error(ErrorCode::not_found, "no service named '" + name + "'");
  ServiceRollout* rollout = running_rollout(name);
  if (!rollout) {
    if (under_rollout(name))
      return core::make_error(ErrorCode::conflict,
                              "the rollout of '" + name + "' is queued behind another service's");
    return core::make_error(ErrorCode::conflict, "no rollout of '" + name + "' is running");
  }
  return rollout->abort();
}

std::optional<RolloutStatus> Supervisor::rollout_status(const std::string& name) const {
  const Service* service = find(name);
  if (!service) return std::nullopt;
  RolloutStatus status = service->rollout();
  for (auto& r : status.replicas)
    if (r.passing_since)
      r.healthy_for = std::chrono::duration_cast<core::Duration>(deps_.scheduler->clock().now() -
                                                                 *r.passing_since);
  return status;
}

bool Supervisor::dependency_met(const config::Dependency& dep) const {
  const Service* d = find(dep.service);
  if (!d) return false;
  if (!d->placed()) return deps_.met_elsewhere && deps_.met_elsewhere(dep.service, dep.condition);
  switch (dep.condition) {
    case config::DependencyCondition::started:
      for (const auto& i : d->instances())
        if (has_process(i->state()) || i->state() == ProcessState::exited) return true;
      return false;
    case config::DependencyCondition::healthy:
      return d->available();
    case config::DependencyCondition::completed:
      for (const auto& i : d->instances())
        if (i->state() != ProcessState::exited) return false;
      return !d->instances().empty();
  }
  return false;
}

bool Supervisor::dependency_failed(const config::Dependency& dep) const {
  const Service* d = find(dep.service);
  if (!d) return true;
  // Another node may start it at any time; an optional dependent does not wait.
  if (!d->placed()) return !dep.required;
  for (const auto& i : d->instances()) {
    if (i->state() == ProcessState::failed) {
      if (dep.condition == config::DependencyCondition::completed) return true;
    } else if (i->state() != ProcessState::exited) {
      return false;  // something may still come good
    }
  }
  // Every instance is failed or exited.
  return dep.condition != config::DependencyCondition::completed ||
         d->state() == ProcessState::failed;
}

void Supervisor::request_evaluate() {
  if (evaluate_pending_) return;
  evaluate_pending_ = true;
  std::weak_ptr<bool> alive = alive_;
  deps_.scheduler->post([this, alive] {
    if (alive.expired()) return;
    evaluate_pending_ = false;
    if (shutting_down_)
      advance_shutdown();
    else
      evaluate();
  });
}

void Supervisor::evaluate() {
  if (shutting_down_) return;
  for (auto& service : services_) {
    if (service->retiring()) continue;
    if (!service->placed()) {
      park(*service);
      continue;
    }
    if (!service->wanted()) continue;
    std::vector<std::string> waiting;
    for (const auto& dep : service->spec().depends_on) {
      if (dependency_met(dep)) continue;
      bool failed = dependency_failed(dep);
      if (failed && !dep.required) continue;
      std::string condition = config::to_string(dep.condition);
      if (!placed(dep.service)) condition += " on another node";
      waiting.push_back(dep.service + (failed ? " (failed)" : " (" + condition + ")"));
    }
    service->set_waiting_on(waiting);
    for (auto& instance : service->instances()) {
      if (instance->retired()) continue;
      ProcessState s = instance->state();
      if (s != ProcessState::stopped && s != ProcessState::pending && s != ProcessState::elsewhere)
        continue;
      if (waiting.empty()) {
        instance->start();
      } else {
        std::string reason = "waiting for ";
        for (std::size_t k = 0; k < waiting.size(); ++k) reason += (k ? ", " : "") + waiting[k];
        instance->mark_pending(reason);
      }
    }
  }
}

void Supervisor::shutdown(std::function<void()> done) {
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  abort_reload();
  restarts_.clear();  // the instances they started stop with the rest
  for (auto& s : services_) s->set_wanted(false);
  events_.publish("daemon.shutdown", "", "", "stopping all services, dependents first");
  advance_shutdown();
}

void Supervisor::advance_shutdown() {
  bool all_down = true;
  for (auto& service : services_) {
    bool busy = false;
    for (auto& i : service->instances())
      if (i->state() != ProcessState::stopped && i->state() != ProcessState::exited &&
          i->state() != ProcessState::failed && i->state() != ProcessState::elsewhere)
        busy = true;
    if (!busy) continue;
    all_down = false;
    // Stop it only once nothing that depends on it still has a process.
    bool dependents_alive = false;
    for (const auto& name : config::dependents_of(*config_, service->name())) {
      const Service* d = find(name);
      if (!d) continue;
      for (const auto& i : d->instances())
        if (has_process(i->state())) dependents_alive = true;
    }
    if (dependents_alive) continue;
    for (auto& i : service->instances())
      if (i->state() != ProcessState::stopping) i->stop();
  }
  if (all_down && shutdown_done_) {
    auto done = std::move(shutdown_done_);
    shutdown_done_ = nullptr;
    done();
  }
}

void Supervisor::note_service_state(const Service& service) {
  ProcessState now = service.state();
  auto& last = last_state_[service.name()];
  if (now == last) return;
  events_.publish("service.state", service.name(), "",
                  service.name() + ": " + to_string(last) + " -> " + to_string(now),
                  {{"from", to_string(last)}, {"to", to_string(now)}});
  last = now;
}

void Supervisor::on_instance_state(Instance& instance, ProcessState before) {
  std::string text =
      instance.id() + ": " + to_string(before) + " -> " + to_string(instance.state());
  if (!instance.reason().empty()) text += " (" + instance.reason() + ")";
  nlohmann::json data = {{"from", to_string(before)},
                         {"to", to_string(instance.state())},
                         {"reason", instance.reason()}};
  if (instance.pid() > 0) data["pid"] = instance.pid();
  events_.publish("instance.state", instance.service(), instance.id(), text, std::move(data));
  if (const Service* s = find(instance.service())) {
    note_service_state(*s);
    if (on_change) on_change(*s);
  }
  request_evaluate();
  request_reload_step();
}

void Supervisor::on_instance_health(Instance& instance, health::HealthStatus before) {
  std::string text = instance.id() + ": health " + health::to_string(before) + " -> " +
                     health::to_string(instance.health());
  if (!instance.health_output().empty()) text += " (" + instance.health_output() + ")";
  events_.publish("health.transition", instance.service(), instance.id(), text,
                  {{"from", health::to_string(before)},
                   {"to", health::to_string(instance.health())},
                   {"output", instance.health_output()}});
  if (const Service* s = find(instance.service()))
    if (on_change) on_change(*s);
  request_evaluate();
  request_reload_step();
}

std::optional<std::string> Supervisor::degraded_by(const Service& service) const {
  for (const auto& dep : service.spec().depends_on) {
    if (!dep.required || dep.condition == config::DependencyCondition::completed) continue;
    const Service* d = find(dep.service);
    if (!d) continue;
    if (!d->placed()) {
      if (!dependency_met({dep.service, config::DependencyCondition::healthy, true}))
        return d->name();
      continue;
    }
    // Blame the deepest broken service down the chain: a dependency that
    // is up but itself degraded passes its root cause on.
    if (auto deeper = degraded_by(*d)) return deeper;
    if (!d->available()) return d->name();
  }
  return std::nullopt;
}

}  // namespace meshd::supervisor
