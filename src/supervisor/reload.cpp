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

std::shared_ptr<const config::ServiceSpec> spec_in(
    const std::shared_ptr<const config::Config>& config, const std::string& name) {
  const auto* spec = config->find(name);
  return spec ? std::shared_ptr<const config::ServiceSpec>(config, spec) : nullptr;
}

}  // namespace

core::Status Supervisor::reload(std::shared_ptr<const config::Config> next,
                                std::function<void(ReloadReport)> done) {
  using core::ErrorCode;
  if (shutting_down_) return core::make_error(ErrorCode::conflict, "meshd is shutting down");
  if (rolling()) {
    std::string pending = rollouts_summary();
    return core::make_error(ErrorCode::conflict,
                            std::string(reload_ ? "a reload is still being applied"
                                                : "a rolling restart is still running") +
                                (pending.empty() ? std::string() : " (" + pending + ")"));
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
        svc->set_rollout(rollout_record("succeeded", "", d.fields));
        outcome.result = "updated";
        break;
      case config::ServiceChange::scale: {
        svc->set_spec(spec, true);
        int n = spec->instance_count();
        std::set<int> have;
        for (const auto& i : svc->instances()) {
          if (i->retired()) continue;
          if (i->index() >= n)
            i->retire();
          else
            have.insert(i->index());
        }
        for (int i = 0; i < n; ++i) {
          if (have.count(i)) continue;
          InstanceOptions options;
          if (svc->find_instance(d.name + "-" + std::to_string(i)))
            options.generation = svc->next_generation();
          options.port = port_for(*spec, i);
          svc->add_instance(deps_, spec, i, options, *this);
        }
        svc->set_rollout(rollout_record("succeeded", "", d.fields));
        outcome.result = "scaled";
        break;
      }
      case config::ServiceChange::added: {
        services_.push_back(std::make_unique<Service>(deps_, spec, *this));
        Service& created = *services_.back();
        created.set_wanted(true);
        created.set_placed(!unplaced_.contains(d.name));
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
      events_.publish("service.reload", d.name, "", text,
                      {{"change", config::to_string(d.change)}, {"fields", d.fields}});
    }
    r->outcomes[d.name] = std::move(outcome);
  }
  order_services();
  // Replace in the new start order: a dependency before its dependents.
  std::vector<std::string> ordered;
  for (const auto& s : services_)
    if (std::find(r->queue.begin(), r->queue.end(), s->name()) != r->queue.end())
      ordered.push_back(s->name());
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

std::vector<std::string> Supervisor::rolling_services() const {
  std::vector<std::string> names;
  if (reload_ && reload_->active) names.push_back(reload_->active->service());
  if (reload_)
    for (const auto& n : reload_->queue) names.push_back(n);
  for (const auto& [n, rollout] : restarts_) names.push_back(n);
  return names;
}

std::string Supervisor::rollouts_summary() const {
  std::string out;
  auto add = [&](const std::string& text) { out += (out.empty() ? "" : ", ") + text; };
  if (reload_ && reload_->active)
    add(reload_->active->service() + ": " + reload_->active->describe());
  if (reload_)
    for (const auto& n : reload_->queue) add(n + ": queued");
  for (const auto& [n, rollout] : restarts_) add(n + ": rolling restart, " + rollout->describe());
  return out;
}

bool Supervisor::under_rollout(const std::string& name) const {
  auto names = rolling_services();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::optional<std::uint16_t> Supervisor::port_for(const config::ServiceSpec& spec,
                                                  int index) const {
  if (!spec.managed() || !spec.port) return std::nullopt;
  auto desired = static_cast<std::uint16_t>(*spec.port + index);
  for (const auto& s : services_)
    for (const auto& i : s->instances())
      if (i->managed() && i->port() == desired && !(i->retired() && process_gone(*i))) {
        if (deps_.free_port)
          if (auto port = deps_.free_port()) return port;
        return desired;
      }
  return desired;
}

void Supervisor::request_reload_step() {
  if (reload_step_pending_ || (!reload_ && restarts_.empty())) return;
  reload_step_pending_ = true;
  std::weak_ptr<bool> alive = alive_;
  deps_.scheduler->post([this, alive] {
    if (alive.expired()) return;
    reload_step_pending_ = false;
    reload_step();
  });
}

void Supervisor::reload_step() {
  if (shutting_down_) return;
  // Instances a rollout took out are destroyed once their process is gone.
  for (auto& svc : services_) {
    std::vector<const Instance*> done;
    for (const auto& i : svc->instances())
      if (i->retired() && process_gone(*i)) done.push_back(i.get());
    for (const auto* i : done) svc->erase_instance(i);
    if (!done.empty() && on_change) on_change(*svc);
  }
  // Rolling restarts (restart_service), each on its own.
  for (auto it = restarts_.begin(); it != restarts_.end();) {
    if (!it->second->step()) {
      ++it;
      continue;
    }
    std::string name = it->first;
    it = restarts_.erase(it);
    if (const Service* svc = find(name); svc && on_change) on_change(*svc);
  }
  if (!reload_) return;
  // Removed services: dependents first, then gone for good.
  std::vector<const Service*> finished;
  for (auto& svc : services_) {
    if (!svc->retiring()) continue;
    bool busy = false;
    for (const auto& i : svc->instances())
      if (!process_gone(*i)) busy = true;
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
      unplaced_.erase(svc->name());
    }
    services_.erase(std::remove_if(services_.begin(), services_.end(),
                                   [&](const std::unique_ptr<Service>& s) {
                                     return std::find(finished.begin(), finished.end(), s.get()) !=
                                            finished.end();
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
      r.active = std::make_unique<ServiceRollout>(
          *this, *svc, spec_in(r.previous, name), spec_in(r.next, name),
          ServiceRollout::Trigger::reload, r.outcomes[name].fields);
    }
    if (!r.active->step()) break;
    auto& outcome = r.outcomes[r.active->service()];
    if (r.active->reverted()) {
      outcome.result = "rolled_back";
      outcome.reason = r.active->reason();
    } else if (r.active->failed()) {
      outcome.result = "failed";
      outcome.reason = r.active->reason();
    }
    if (Service* svc = find(r.active->service()))
      if (on_change) on_change(*svc);
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
