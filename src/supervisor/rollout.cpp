// ServiceRollout: the rolling replacement of one service's instances during
// a reload (the class comment in rollout.hpp says how). Supervisor::reload
// in reload.cpp creates one per changed service and steps it after every
// instance change.

#include "rollout.hpp"

namespace meshd::supervisor {
namespace {

bool serving(const Instance& i) {
  return has_process(i.state()) && (i.health() == health::HealthStatus::passing ||
                                    i.health() == health::HealthStatus::warning);
}

std::string format_ms(core::Duration d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

}  // namespace

RolloutStatus rollout_record(std::string state, std::string reason,
                             std::vector<std::string> fields) {
  RolloutStatus r;
  r.state = std::move(state);
  r.reason = std::move(reason);
  r.fields = std::move(fields);
  return r;
}

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
    service_.add_instance(sup_.deps_, new_spec_, i,
                          {service_.next_generation(), sup_.port_for(*new_spec_, i)}, sup_);
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
  sup_.events_.publish("service.rollback", name_, "",
                       name_ + ": rolling back to the previous definition: " + reason_,
                       {{"reason", reason_}});
  if (auto it = fresh_.find(slot_); it != fresh_.end())
    if (Instance* f = find(it->second)) f->retire();
  for (int j = 0; j < slot_; ++j) {
    if (!old_.count(j)) {  // a replica the new definition added
      if (Instance* f = find(fresh_[j])) f->retire();
      continue;
    }
    auto& r = service_.add_instance(
        sup_.deps_, old_spec_, j, {service_.next_generation(), sup_.port_for(*old_spec_, j)}, sup_);
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

void ServiceRollout::leave_node() {
  deadline_.cancel();
  // Parked instances of the definition the rollout ends on, for when the
  // service is placed here again.
  const auto& spec = rolled_back_ ? old_spec_ : new_spec_;
  std::vector<Instance*> current;
  for (const auto& i : service_.instances())
    if (!i->retired()) current.push_back(i.get());
  for (Instance* i : current) i->retire();
  service_.set_spec(spec, false);
  for (int i = 0; i < spec->instance_count(); ++i)
    service_.add_instance(sup_.deps_, spec, i,
                          {service_.next_generation(), sup_.port_for(*spec, i)}, sup_);
  publish(name_ + ": placed on another node; the replacement stops here");
  phase_ = Phase::unplaced;
  sup_.request_evaluate();
}

bool ServiceRollout::step() {
  if (!service_.placed() && phase_ != Phase::unplaced && phase_ != Phase::done &&
      phase_ != Phase::swap_idle)
    leave_node();
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
        auto& fresh = service_.add_instance(
            sup_.deps_, new_spec_, slot_,
            {service_.next_generation(), sup_.port_for(*new_spec_, slot_)}, sup_);
        fresh_[slot_] = fresh.id();
        phase_ = Phase::wait_fresh;
        arm_deadline(gate(*new_spec_));
        publish(name_ + ": started " + fresh.id() +
                (fresh.port() ? " on port " + std::to_string(*fresh.port()) : "") +
                (old_.count(slot_) ? " to replace " + old_[slot_] : ""));
        fresh.start();
        return false;
      }
      case Phase::wait_fresh: {
        Instance* fresh = find(fresh_[slot_]);
        if (fresh && fresh->health() == health::HealthStatus::passing &&
            has_process(fresh->state())) {
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
          begin_rollback(fresh_[slot_] +
                         " gave up: " + (fresh ? fresh->reason() : std::string("gone")));
          continue;
        }
        if (deadline_hit_) {
          std::string why =
              fresh_[slot_] + " did not pass its check within " + format_ms(gate(*new_spec_));
          if (!fresh->health_output().empty())
            why += " (last check: " + fresh->health_output() + ")";
          else if (!fresh->reason().empty())
            why += " (" + fresh->reason() + ")";
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
            reason_ += "; replica " + std::to_string(j) +
                       " could not be restored, its new instance is kept";
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
      case Phase::unplaced:
        for (const auto& i : service_.instances())
          if (i->retired()) return false;
        phase_ = Phase::done;
        return true;
      case Phase::done:
        return true;
    }
  }
}

}  // namespace meshd::supervisor
