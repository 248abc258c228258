// Supervisor::reload: applying a new config to running services (SPEC 6,
// docs/reload.md). Everything here runs on the control loop; instance
// changes come back through Supervisor::on_instance_* and move the reload
// on through request_reload_step(), so no step ever runs inside an
// instance's own callback (instances are destroyed here).

#include <algorithm>
#include <set>

#include "meshd/config/graph.hpp"
#include "rollout.hpp"

namespace meshd::supervisor {
namespace {

bool gone(const Instance& i) {
  auto s = i.state();
  return s == ProcessState::stopped || s == ProcessState::exited || s == ProcessState::failed ||
         (s == ProcessState::pending);
}

bool serving(const Instance& i) {
  return has_process(i.state()) &&
         (i.health() == health::HealthStatus::passing || i.health() == health::HealthStatus::warning);
}

std::string format_ms(core::Duration d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

std::shared_ptr<const config::ServiceSpec> spec_in(const std::shared_ptr<const config::Config>& config,
                                                   const std::string& name) {
  const auto* spec = config->find(name);
  return spec ? std::shared_ptr<const config::ServiceSpec>(config, spec) : nullptr;
}

}  // namespace

// --- ServiceRollout ----------------------------------------------------------

ServiceRollout::ServiceRollout(Supervisor& supervisor, Service& service,
                               std::shared_ptr<const config::ServiceSpec> old_spec,
                               std::shared_ptr<const config::ServiceSpec> new_spec)
    : sup_(supervisor),
      service_(service),
      name_(service.name()),
      old_spec_(std::move(old_spec)),
      new_spec_(std::move(new_spec)),
      new_n_(new_spec_->instance_count()),
      deadline_(*supervisor.deps_.scheduler) {
  bool any_serving = false;
  for (const auto& i : service_.instances()) {
    if (i->retired()) continue;
    old_[i->index()] = i->id();
    any_serving = any_serving || serving(*i);
  }
  service_.set_spec(new_spec_, false);
  if (any_serving) {
    publish(name_ + ": rolling replacement of " + std::to_string(new_n_) + " replica(s) started");
    return;
  }
  // Nothing serves: there is nothing to keep running while the new
  // definition starts, and nothing worth rolling back to.
  for (const auto& [index, id] : old_)
    if (Instance* old = find(id)) old->retire();
  for (int i = 0; i < new_n_; ++i)
    service_.add_instance(sup_.deps_, new_spec_, i, {service_.next_generation(), sup_.port_for(*new_spec_, i)}, sup_);
  publish(name_ + ": no instance was serving; replaced at once");
  phase_ = Phase::swap_idle;
  sup_.request_evaluate();
}

Instance* ServiceRollout::old_at(int index) {
  auto it = old_.find(index);
  return it == old_.end() ? nullptr : find(it->second);
}

core::Duration ServiceRollout::gate(const config::ServiceSpec& spec) const {
  return spec.health.start_period.count() > 0 ? spec.health.start_period : kDefaultRolloutGate;
}

void ServiceRollout::arm_deadline(core::Duration gate) {
  deadline_hit_ = false;
  deadline_.arm(gate, [this] {
    deadline_hit_ = true;
    sup_.request_reload_step();
  });
}

void ServiceRollout::publish(const std::string& text) {
  sup_.events_.publish("service.rollout", name_, "", text, {{"phase", static_cast<int>(phase_)}});
}

void ServiceRollout::begin_rollback(std::string reason) {
  deadline_.cancel();
  rolled_back_ = true;
  reason_ = std::move(reason);
  sup_.events_.publish("service.rollback", name_, "", name_ + ": rolling back to the previous definition: " + reason_,
                       {{"reason", reason_}});
  if (auto it = fresh_.find(slot_); it != fresh_.end())
    if (Instance* f = find(it->second)) f->retire();
  for (int j = 0; j < slot_; ++j) {
    if (!old_.count(j)) {  // a replica the new definition added
      if (Instance* f = find(fresh_[j])) f->retire();
      continue;
    }
    auto& r = service_.add_instance(sup_.deps_, old_spec_, j, {service_.next_generation(), sup_.port_for(*old_spec_, j)},
                                    sup_);
    restore_[j] = r.id();
    resolved_[j] = false;
    r.start();
  }
  if (restore_.empty()) {
    phase_ = Phase::finishing;
    return;
  }
  arm_deadline(gate(*old_spec_));
  phase_ = Phase::restoring;
}

bool ServiceRollout::step() {
  for (;;) {
    switch (phase_) {
      case Phase::start_slot: {
        if (slot_ >= new_n_) {
          for (const auto& [index, id] : old_)
            if (index >= new_n_)
              if (Instance* old = find(id)) old->retire();
          phase_ = Phase::remove_extra;
          continue;
        }
        auto& fresh = service_.add_instance(sup_.deps_, new_spec_, slot_,
                                            {service_.next_generation(), sup_.port_for(*new_spec_, slot_)}, sup_);
        fresh_[slot_] = fresh.id();
        phase_ = Phase::wait_fresh;
        arm_deadline(gate(*new_spec_));
        publish(name_ + ": started " + fresh.id() + (fresh.port() ? " on port " + std::to_string(*fresh.port()) : "") +
                (old_.count(slot_) ? " to replace " + old_[slot_] : ""));
        fresh.start();
        return false;
      }
      case Phase::wait_fresh: {
        Instance* fresh = find(fresh_[slot_]);
        if (fresh && fresh->health() == health::HealthStatus::passing && has_process(fresh->state())) {
          deadline_.cancel();
          if (Instance* old = old_at(slot_)) {
            publish(name_ + ": " + fresh->id() + " passes its check; draining " + old->id());
            old->retire();
            phase_ = Phase::drain_old;
          } else {
            ++slot_;
            phase_ = Phase::start_slot;
          }
          continue;
        }
        if (!fresh || fresh->state() == ProcessState::failed) {
          begin_rollback(fresh_[slot_] + " gave up: " + (fresh ? fresh->reason() : std::string("gone")));
          continue;
        }
        if (deadline_hit_) {
          std::string why = fresh_[slot_] + " did not pass its check within " + format_ms(gate(*new_spec_));
          if (!fresh->health_output().empty()) why += " (last check: " + fresh->health_output() + ")";
          else if (!fresh->reason().empty()) why += " (" + fresh->reason() + ")";
          begin_rollback(why);
          continue;
        }
        return false;
      }
      case Phase::drain_old:
        if (old_at(slot_)) return false;  // still stopping; erased once gone
        ++slot_;
        phase_ = Phase::start_slot;
        continue;
      case Phase::remove_extra:
        for (const auto& [index, id] : old_)
          if (index >= new_n_ && find(id)) return false;
        phase_ = Phase::done;
        publish(name_ + ": rolling replacement done");
        return true;
      case Phase::restoring: {
        bool all = true;
        for (auto& [j, done] : resolved_) {
          if (done) continue;
          Instance* r = find(restore_[j]);
          Instance* f = fresh_.count(j) ? find(fresh_[j]) : nullptr;
          if (r && r->health() == health::HealthStatus::passing && has_process(r->state())) {
            if (f) f->retire();
            done = true;
          } else if (!r || r->state() == ProcessState::failed || deadline_hit_) {
            // The old definition does not come back either: keep the new
            // instance, which passed its check, rather than nothing.
            if (r) r->retire();
            reason_ += "; replica " + std::to_string(j) + " could not be restored, its new instance is kept";
            done = true;
          } else {
            all = false;
          }
        }
        if (!all) return false;
        deadline_.cancel();
        phase_ = Phase::finishing;
        continue;
      }
      case Phase::finishing:
        for (const auto& i : service_.instances())
          if (i->retired()) return false;
        service_.set_spec(old_spec_, false);
        phase_ = Phase::done;
        return true;
      case Phase::swap_idle:
        for (const auto& [index, id] : old_)
          if (find(id)) return false;
        phase_ = Phase::done;
        return true;
      case Phase::done: return true;
    }
  }
}

// --- Supervisor::reload ------------------------------------------------------

core::Status Supervisor::reload(std::shared_ptr<const config::Config> next, std::function<void(ReloadReport)> done) {
  using core::ErrorCode;
  if (shutting_down_) return core::make_error(ErrorCode::conflict, "meshd is shutting down");
  if (reload_) {
    std::string pending;
    for (const auto& n : reload_pending()) pending += (pending.empty() ? "" : ", ") + n;
    return core::make_error(ErrorCode::conflict,
                            "a reload is still being applied" + (pending.empty() ? std::string() : " (" + pending + ")"));
  }
  auto r = std::make_unique<Reload>();
  r->previous = config_;
  r->next = next;
  r->diff = config::diff_configs(*config_, *next);
  r->done = std::move(done);
  config_ = next;

  bool added = false;
  for (const auto& d : r->diff.services) {
    ReloadOutcome outcome;
    outcome.service = d.name;
    outcome.change = d.change;
    outcome.fields = d.fields;
    Service* svc = find(d.name);
    auto spec = spec_in(next, d.name);
    switch (d.change) {
      case config::ServiceChange::unchanged:
        if (svc) svc->set_spec(spec, true);  // same values, from the new snapshot
        break;
      case config::ServiceChange::in_place:
        svc->set_spec(spec, true);
        svc->set_rollout({"applied", "", d.fields});
        outcome.result = "updated";
        break;
      case config::ServiceChange::scale: {
        svc->set_spec(spec, true);
        int n = spec->instance_count();
        std::set<int> have;
        for (const auto& i : svc->instances()) {
          if (i->retired()) continue;
          if (i->index() >= n) i->retire();
          else have.insert(i->index());
        }
        for (int i = 0; i < n; ++i) {
          if (have.count(i)) continue;
          InstanceOptions options;
          if (svc->find_instance(d.name + "-" + std::to_string(i))) options.generation = svc->next_generation();
          options.port = port_for(*spec, i);
          svc->add_instance(deps_, spec, i, options, *this);
        }
        svc->set_rollout({"applied", "", d.fields});
        outcome.result = "scaled";
        break;
      }
      case config::ServiceChange::added: {
        services_.push_back(std::make_unique<Service>(deps_, spec, *this));
        Service& created = *services_.back();
        created.set_wanted(true);
        last_state_[d.name] = ProcessState::stopped;
        if (on_service_added) on_service_added(created);
        added = true;
        outcome.result = "started";
        break;
      }
      case config::ServiceChange::removed:
        svc->set_retiring();
        svc->set_wanted(false);
        outcome.result = "stopped";
        break;
      case config::ServiceChange::replace:
        r->queue.push_back(d.name);
        svc->set_rollout({"rolling", "", d.fields});
        outcome.result = "replaced";
        break;
    }
    if (d.change != config::ServiceChange::unchanged) {
      std::string text = d.name + ": " + config::to_string(d.change);
      if (!d.fields.empty()) {
        text += " (";
        for (std::size_t k = 0; k < d.fields.size(); ++k) text += (k ? ", " : "") + d.fields[k];
        text += ")";
      }
      events_.publish("service.reload", d.name, "", text, {{"change", config::to_string(d.change)}, {"fields", d.fields}});
    }
    r->outcomes[d.name] = std::move(outcome);
  }
  order_services();
  // Replace in the new start order: a dependency before its dependents.
  std::vector<std::string> ordered;
  for (const auto& s : services_)
    if (std::find(r->queue.begin(), r->queue.end(), s->name()) != r->queue.end()) ordered.push_back(s->name());
  r->queue = std::move(ordered);
  reload_ = std::move(r);
  if (added && on_services_changed) on_services_changed();
  for (const auto& s : services_)
    if (on_change) on_change(*s);
  evaluate();
  reload_step();
  return core::ok_status();
}

void Supervisor::order_services() {
  std::vector<std::unique_ptr<Service>> ordered;
  for (const auto& wave : config::start_waves(*config_))
    for (const auto& name : wave)
      for (auto& s : services_)
        if (s && s->name() == name && !s->retiring()) ordered.push_back(std::move(s));
  for (auto& s : services_)
    if (s) ordered.push_back(std::move(s));  // retiring ones last
  services_ = std::move(ordered);
}

std::vector<std::string> Supervisor::reload_pending() const {
  std::vector<std::string> names;
  if (!reload_) return names;
  if (reload_->active) names.push_back(reload_->active->service());
  for (const auto& n : reload_->queue) names.push_back(n);
  return names;
}

bool Supervisor::under_rollout(const std::string& name) const {
  for (const auto& n : reload_pending())
    if (n == name) return true;
  return false;
}

std::optional<std::uint16_t> Supervisor::port_for(const config::ServiceSpec& spec, int index) const {
  if (!spec.managed() || !spec.port) return std::nullopt;
  auto desired = static_cast<std::uint16_t>(*spec.port + index);
  for (const auto& s : services_)
    for (const auto& i : s->instances())
      if (i->managed() && i->port() == desired && !(i->retired() && gone(*i))) {
        if (deps_.free_port)
          if (auto port = deps_.free_port()) return port;
        return desired;
      }
  return desired;
}

void Supervisor::request_reload_step() {
  if (reload_step_pending_ || !reload_) return;
  reload_step_pending_ = true;
  std::weak_ptr<bool> alive = alive_;
  deps_.scheduler->post([this, alive] {
    if (alive.expired()) return;
    reload_step_pending_ = false;
    reload_step();
  });
}

void Supervisor::reload_step() {
  if (!reload_ || shutting_down_) return;
  // Instances a reload took out are destroyed once their process is gone.
  for (auto& svc : services_) {
    std::vector<const Instance*> done;
    for (const auto& i : svc->instances())
      if (i->retired() && gone(*i)) done.push_back(i.get());
    for (const auto* i : done) svc->erase_instance(i);
    if (!done.empty() && on_change) on_change(*svc);
  }
  // Removed services: dependents first, then gone for good.
  std::vector<const Service*> finished;
  for (auto& svc : services_) {
    if (!svc->retiring()) continue;
    bool busy = false;
    for (const auto& i : svc->instances())
      if (!gone(*i)) busy = true;
    if (!busy) {
      finished.push_back(svc.get());
      continue;
    }
    bool dependents_alive = false;
    for (const auto& name : config::dependents_of(*reload_->previous, svc->name())) {
      const Service* d = find(name);
      if (!d || !d->retiring()) continue;
      for (const auto& i : d->instances())
        if (has_process(i->state())) dependents_alive = true;
    }
    if (dependents_alive) continue;
    for (auto& i : svc->instances())
      if (i->state() != ProcessState::stopping && i->state() != ProcessState::stopped) i->stop();
  }
  if (!finished.empty()) {
    for (const auto* svc : finished) {
      events_.publish("service.removed", svc->name(), "", svc->name() + ": removed");
      last_state_.erase(svc->name());
    }
    services_.erase(std::remove_if(services_.begin(), services_.end(),
                                   [&](const std::unique_ptr<Service>& s) {
                                     return std::find(finished.begin(), finished.end(), s.get()) != finished.end();
                                   }),
                    services_.end());
    if (on_services_changed) on_services_changed();
  }
  // Replacements, one service at a time.
  auto& r = *reload_;
  for (;;) {
    if (!r.active) {
      if (r.queue.empty()) break;
      std::string name = r.queue.front();
      r.queue.erase(r.queue.begin());
      Service* svc = find(name);
      if (!svc) continue;
      r.active = std::make_unique<ServiceRollout>(*this, *svc, spec_in(r.previous, name), spec_in(r.next, name));
    }
    if (!r.active->step()) break;
    auto& outcome = r.outcomes[r.active->service()];
    if (Service* svc = find(r.active->service())) {
      if (r.active->rolled_back()) {
        outcome.result = "rolled_back";
        outcome.reason = r.active->reason();
        svc->set_rollout({"rolled_back", outcome.reason, outcome.fields});
      } else {
        svc->set_rollout({"applied", "", outcome.fields});
      }
      if (on_change) on_change(*svc);
    }
    r.active.reset();
  }
  if (r.active || !r.queue.empty()) return;
  for (const auto& svc : services_) {
    if (svc->retiring()) return;
    for (const auto& i : svc->instances())
      if (i->retired()) return;
  }
  finish_reload();
}

void Supervisor::finish_reload() {
  auto r = std::move(reload_);
  // The running config: the new one, with rolled-back services on their
  // previous definitions.
  auto running = std::make_shared<config::Config>(*r->next);
  for (auto& spec : running->services) {
    auto it = r->outcomes.find(spec.name);
    if (it != r->outcomes.end() && it->second.result == "rolled_back")
      if (const auto* old = r->previous->find(spec.name)) spec = *old;
  }
  std::shared_ptr<const config::Config> snapshot = running;
  config_ = snapshot;
  for (auto& svc : services_) {
    auto spec = spec_in(snapshot, svc->name());
    if (!spec) continue;
    svc->set_spec(spec, false);
    for (auto& i : svc->instances()) {
      bool same_process = true;
      for (const auto& f : config::differing_fields(*i->spec_ptr(), *spec))
        if (config::is_process_field(f)) same_process = false;
      if (same_process) i->set_spec(spec);
    }
  }
  ReloadReport report;
  report.running = snapshot;
  for (const auto& d : r->diff.services) report.services.push_back(r->outcomes[d.name]);
  if (r->done) r->done(std::move(report));
}

void Supervisor::abort_reload() {
  if (!reload_) return;
  auto r = std::move(reload_);
  ReloadReport report;
  report.running = config_;
  std::set<std::string> pending(r->queue.begin(), r->queue.end());
  if (r->active) pending.insert(r->active->service());
  for (const auto& d : r->diff.services) {
    auto outcome = r->outcomes[d.name];
    if (pending.count(d.name)) {
      outcome.result = "interrupted";
      outcome.reason = "meshd shut down before the replacement finished";
    }
    report.services.push_back(std::move(outcome));
  }
  if (r->done) r->done(std::move(report));
}

}  // namespace meshd::supervisor
