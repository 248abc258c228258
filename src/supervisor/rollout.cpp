// ServiceRollout: the rollout of one service's instances (the class comment
// in rollout.hpp says how). This file rolls forward: starting, proving and
// replacing replicas, canaries and promote. rollout_failure.cpp fails,
// restores and reports.

#include "rollout.hpp"

#include <algorithm>

#include "meshd/config/values.hpp"

namespace meshd::supervisor {
namespace {

bool serving(const Instance& i) {
  return has_process(i.state()) && i.health() == health::HealthStatus::passing;
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
                               std::shared_ptr<const config::ServiceSpec> new_spec, Trigger trigger,
                               std::vector<std::string> fields)
    : sup_(supervisor),
      service_(service),
      name_(service.name()),
      old_spec_(std::move(old_spec)),
      new_spec_(std::move(new_spec)),
      settings_(new_spec_->rollout),
      trigger_(trigger),
      new_n_(new_spec_->instance_count()),
      canary_(std::min(new_spec_->rollout.canary, new_spec_->instance_count())),
      wake_(*supervisor.deps_.scheduler) {
  // A service that needs a long start_period (a model to load) gets that
  // long before its window even opens: the deadline never cuts it short.
  settings_.deadline =
      std::max(settings_.deadline, new_spec_->health.start_period + settings_.min_healthy);
  bool any_serving = service_.serving();
  std::map<int, std::string> old;
  int count = new_n_;
  for (const auto& i : service_.instances()) {
    if (i->retired()) continue;
    old[i->index()] = i->id();
    count = std::max(count, i->index() + 1);
  }
  replicas_.resize(static_cast<std::size_t>(count));
  for (int k = 0; k < count; ++k) {
    replicas_[k].index = k;
    if (auto it = old.find(k); it != old.end()) replicas_[k].old_id = it->second;
  }
  RolloutStatus record;
  record.state = "progressing";
  record.trigger = trigger_ == Trigger::restart ? "restart" : "reload";
  record.fields = std::move(fields);
  record.settings = settings_;
  record.canary = canary_;
  record.started_ms = core::to_unix_ms(sup_.deps_.scheduler->clock().wall_now());
  service_.set_rollout(std::move(record));
  event_subscription_ = sup_.events_.subscribe([this](const core::Event& e) {
    if (e.type != "outlier.ejected" || e.service != name_) return;
    for (auto& r : replicas_)
      if (!r.new_id.empty() && r.new_id == e.instance) {
        r.ejected = true;
        sup_.request_reload_step();
      }
  });
  service_.set_spec(new_spec_, false);
  if (any_serving) {
    std::string text = name_ + ": " +
                       (trigger_ == Trigger::restart ? "rolling restart" : "rollout") + " of " +
                       std::to_string(new_n_) + " replica(s) started";
    if (canary_ > 0) text += ", " + std::to_string(canary_) + " canary(ies) first";
    publish("started", nullptr, text);
    return;
  }
  // Nothing serves: there is nothing to keep running while the new
  // definition starts, and nothing worth rolling back to.
  // The new instances start as the old ones would: when evaluate() finds
  // their dependencies met and the service placed here.
  for (auto& r : replicas_) {
    if (Instance* o = find(r.old_id)) o->retire();
    if (r.index >= new_n_) continue;
    r.new_id =
        service_
            .add_instance(sup_.deps_, new_spec_, r.index,
                          {service_.next_generation(), sup_.port_for(*new_spec_, r.index)}, sup_)
            .id();
    r.stage = Stage::replaced;
  }
  phase_ = Phase::swap_idle;
  publish("started", nullptr, name_ + ": no instance was serving; replaced at once");
  sup_.request_evaluate();
}

ServiceRollout::~ServiceRollout() {
  sup_.events_.unsubscribe(event_subscription_);
}

core::TimePoint ServiceRollout::now() const {
  return sup_.deps_.scheduler->clock().now();
}

std::string ServiceRollout::describe() const {
  if (phase_ == Phase::waiting_promote) return "waiting for promote";
  if (failed_) return "reverting after a failure";
  return "progressing";
}

Instance& ServiceRollout::add_replica(const std::shared_ptr<const config::ServiceSpec>& spec,
                                      int index) {
  return service_.add_instance(sup_.deps_, spec, index,
                               {service_.next_generation(), sup_.port_for(*spec, index)}, sup_);
}

void ServiceRollout::start_new(Replica& r) {
  auto& fresh = add_replica(new_spec_, r.index);
  r.new_id = fresh.id();
  r.stage = Stage::starting;
  r.started = now();
  r.passing_since.reset();
  r.restarts_at_start = 0;
  r.ejected = false;
  std::string text = name_ + ": started " + fresh.id();
  if (fresh.port()) text += " on port " + std::to_string(*fresh.port());
  if (!r.old_id.empty()) text += (r.old_stopped_early ? " after stopping " : " beside ") + r.old_id;
  if (is_canary(r)) text += " (canary)";
  publish("started", &r, text);
  fresh.start();
}

std::optional<std::string> ServiceRollout::broken(const Replica& r, const Instance& fresh) const {
  if (r.ejected) return fresh.id() + " was ejected by outlier detection";
  auto s = fresh.state();
  if (fresh.restarts() > r.restarts_at_start || s == ProcessState::backoff ||
      s == ProcessState::failed || s == ProcessState::exited || s == ProcessState::stopped) {
    std::string why = fresh.id() + " exited";
    if (!fresh.reason().empty()) why += " (" + fresh.reason() + ")";
    return why;
  }
  if (r.passing_since) {
    // Inside the window not one failed check is forgiven; a canary that
    // waits for promote (maybe for hours) breaks only when its health
    // leaves passing by the check's own thresholds.
    bool failed_in_window = r.stage == Stage::proving &&
                            fresh.checker().tracker().failed_checks() > r.failed_checks_at_pass;
    if (failed_in_window || fresh.health() != health::HealthStatus::passing) {
      std::string why = fresh.id() + " failed a check after passing";
      if (!fresh.health_output().empty()) why += " (" + fresh.health_output() + ")";
      return why;
    }
  }
  return std::nullopt;
}

std::optional<std::string> ServiceRollout::advance(Replica& r) {
  for (;;) {
    switch (r.stage) {
      case Stage::stopping_old:
        if (Instance* old = find(r.old_id); old && !process_gone(*old)) return std::nullopt;
        start_new(r);
        return std::nullopt;
      case Stage::starting:
      case Stage::proving:
      case Stage::canary: {
        Instance* fresh = find(r.new_id);
        if (!fresh) return r.new_id + " is gone";
        if (auto why = broken(r, *fresh)) return why;
        if (r.stage == Stage::canary) return std::nullopt;  // waits for promote
        if (r.stage == Stage::starting && serving(*fresh)) {
          r.passing_since = now();
          r.failed_checks_at_pass = fresh->checker().tracker().failed_checks();
          r.stage = Stage::proving;
          publish("passing", &r,
                  name_ + ": " + r.new_id + " passes its check; proving it for " +
                      config::format_duration(settings_.min_healthy));
        }
        if (r.stage == Stage::proving && now() - *r.passing_since >= settings_.min_healthy) {
          if (is_canary(r)) {
            r.stage = Stage::canary;
            publish("canary", &r, name_ + ": canary " + r.new_id + " is proven");
            return std::nullopt;
          }
          r.stage = Stage::proven;
          std::string text = name_ + ": " + r.new_id + " passed its check for " +
                             config::format_duration(settings_.min_healthy);
          if (Instance* old = find(r.old_id); old && !old->retired()) {
            text += "; draining " + r.old_id;
            old->retire();
          }
          publish("proven", &r, text);
          continue;
        }
        if (now() - r.started >= settings_.deadline) {
          std::string why = r.new_id + " was not healthy for " +
                            config::format_duration(settings_.min_healthy) + " within " +
                            config::format_duration(settings_.deadline);
          if (!fresh->health_output().empty())
            why += " (last check: " + fresh->health_output() + ")";
          else if (!fresh->reason().empty())
            why += " (" + fresh->reason() + ")";
          return why;
        }
        return std::nullopt;
      }
      case Stage::proven:
        if (Instance* old = find(r.old_id); old && !process_gone(*old)) return std::nullopt;
        r.stage = Stage::replaced;
        publish("replaced", &r,
                name_ + ": replica " + std::to_string(r.index) + " now runs " + r.new_id);
        return std::nullopt;
      default:
        return std::nullopt;
    }
  }
}

void ServiceRollout::roll() {
  for (auto& r : replicas_) {
    if (auto why = advance(r)) {
      publish("broken", &r, name_ + ": " + *why);
      fail(*why, settings_.auto_revert && trigger_ == Trigger::reload);
      return;
    }
  }
  if (canary_ > 0 && !promoted_) {
    bool all_proven = true;
    for (int k = 0; k < canary_; ++k) {
      auto& r = replicas_[k];
      if (r.stage == Stage::waiting) start_new(r);  // beside the old one, always
      all_proven = all_proven && r.stage == Stage::canary;
    }
    if (all_proven) {
      phase_ = Phase::waiting_promote;
      publish("waiting_promote", nullptr,
              name_ + ": " + std::to_string(canary_) +
                  " canary(ies) proven; waiting for POST /api/v1/services/" + name_ +
                  "/rollout/promote (or abort)");
    }
    return;
  }
  int in_flight = 0, down = 0;
  for (const auto& r : replicas_) {
    bool moving = r.stage == Stage::stopping_old || r.stage == Stage::starting ||
                  r.stage == Stage::proving || r.stage == Stage::proven;
    if (moving) ++in_flight;
    if (moving && r.stage != Stage::proven && r.old_stopped_early) ++down;
  }
  for (auto& r : replicas_) {
    if (r.index >= new_n_ || in_flight >= settings_.max_parallel) break;
    if (r.stage != Stage::waiting) continue;
    ++in_flight;
    Instance* old = find(r.old_id);
    if (old && down < settings_.max_unavailable) {
      ++down;
      r.old_stopped_early = true;
      r.stage = Stage::stopping_old;
      old->retire();
      publish("stopping_old", &r,
              name_ + ": stopping " + r.old_id + " before its replacement (max_unavailable " +
                  std::to_string(settings_.max_unavailable) + ")");
      advance(r);
      continue;
    }
    start_new(r);
  }
  for (const auto& r : replicas_)
    if (r.index < new_n_ && r.stage != Stage::replaced) return;
  finish_rolling();
}

void ServiceRollout::finish_rolling() {
  for (auto& r : replicas_)
    if (r.index >= new_n_)
      if (Instance* old = find(r.old_id); old && !old->retired()) old->retire();
  phase_ = Phase::finishing;
}

core::Status ServiceRollout::promote() {
  if (phase_ != Phase::waiting_promote)
    return core::make_error(
        core::ErrorCode::conflict,
        "the rollout of '" + name_ + "' is not waiting for promote (" + describe() + ")");
  promoted_ = true;
  phase_ = Phase::rolling;
  for (int k = 0; k < canary_; ++k) {
    auto& r = replicas_[k];
    r.stage = Stage::proven;
    if (Instance* old = find(r.old_id); old && !old->retired()) old->retire();
  }
  publish("promoted", nullptr, name_ + ": canaries promoted; rolling the remaining replicas");
  sup_.request_reload_step();
  return core::ok_status();
}

core::Status ServiceRollout::abort() {
  if (phase_ != Phase::rolling && phase_ != Phase::waiting_promote)
    return core::make_error(
        core::ErrorCode::conflict,
        "the rollout of '" + name_ + "' is already ending (" + describe() + ")");
  publish("aborted", nullptr, name_ + ": rollout aborted by the operator");
  fail("aborted by the operator", true);
  sup_.request_reload_step();
  return core::ok_status();
}

bool ServiceRollout::step() {
  if (!service_.placed() && phase_ != Phase::unplaced && phase_ != Phase::done &&
      phase_ != Phase::swap_idle)
    leave_node();
  bool finished = false;
  switch (phase_) {
    case Phase::rolling:
      roll();
      break;
    case Phase::waiting_promote:
      for (int k = 0; k < canary_; ++k)
        if (auto why = advance(replicas_[k])) {
          publish("broken", &replicas_[k], name_ + ": " + *why);
          fail(*why, settings_.auto_revert && trigger_ == Trigger::reload);
          break;
        }
      break;
    default:
      break;
  }
  if (phase_ == Phase::restoring && step_restoring()) phase_ = Phase::finishing;
  switch (phase_) {
    case Phase::finishing:
    case Phase::unplaced:
    case Phase::swap_idle: {
      bool busy = false;
      for (const auto& i : service_.instances())
        if (i->retired()) busy = true;
      if (busy) break;
      if (phase_ == Phase::finishing && reverted_) service_.set_spec(old_spec_, false);
      std::string state = reverted_ ? "reverted" : failed_ ? "failed" : "succeeded";
      phase_ = Phase::done;
      publish(state, nullptr,
              name_ + ": rollout " + state + (reason_.empty() ? "" : ": " + reason_));
      finished = true;
      break;
    }
    case Phase::done:
      finished = true;
      break;
    default:
      break;
  }
  if (!finished)
    arm_wake();
  else
    wake_.cancel();
  sync_status();
  return finished;
}

void ServiceRollout::arm_wake() {
  std::optional<core::TimePoint> next;
  auto consider = [&](core::TimePoint t) { next = next ? std::min(*next, t) : t; };
  for (const auto& r : replicas_) {
    if (r.stage == Stage::starting || r.stage == Stage::restoring)
      consider(r.started + settings_.deadline);
    if (r.stage == Stage::proving) {
      consider(r.started + settings_.deadline);
      consider(*r.passing_since + settings_.min_healthy);
    }
  }
  if (!next) {
    wake_.cancel();
    return;
  }
  auto delay = std::chrono::ceil<core::Duration>(*next - now());
  wake_.arm(std::max(delay, core::Duration{0}), [this] { sup_.request_reload_step(); });
}

}  // namespace meshd::supervisor
