// ServiceRollout, the way back: failing a rollout, restoring the previous
// definition, leaving the node, and reporting every step (rollout.hpp).

#include "meshd/config/values.hpp"
#include "rollout.hpp"

namespace meshd::supervisor {

void ServiceRollout::fail(std::string reason, bool revert) {
  failed_ = true;
  reason_ = std::move(reason);
  phase_ = Phase::restoring;
  publish("failed", nullptr, name_ + ": rollout failed: " + reason_);
  // New instances in flight stop; their old instances were never touched,
  // except one stopped early for max_unavailable, which comes back.
  for (auto& r : replicas_) {
    switch (r.stage) {
      case Stage::stopping_old:
      case Stage::starting:
      case Stage::proving:
      case Stage::canary:
        if (Instance* fresh = find(r.new_id)) fresh->retire();
        r.stage = Stage::failed;
        if (r.old_stopped_early) restore(r);
        break;
      case Stage::proven:
        r.stage = Stage::replaced;  // its old instance is already draining
        break;
      default:
        break;
    }
  }
  if (revert) {
    reverted_ = true;
    sup_.events_.publish("service.rollback", name_, "",
                         name_ + ": rolling back to the previous definition: " + reason_,
                         {{"reason", reason_}});
    for (auto& r : replicas_) {
      if (r.stage != Stage::replaced) continue;
      if (r.old_id.empty()) {  // a replica the new definition added
        if (Instance* fresh = find(r.new_id)) fresh->retire();
        r.stage = Stage::failed;
        continue;
      }
      restore(r);
    }
  }
  sup_.request_reload_step();
}

void ServiceRollout::restore(Replica& r) {
  auto& back = add_replica(old_spec_, r.index);
  r.restore_id = back.id();
  r.stage = Stage::restoring;
  r.started = now();
  publish("restoring", &r,
          name_ + ": starting " + back.id() + " with the previous definition for replica " +
              std::to_string(r.index));
  back.start();
}

bool ServiceRollout::step_restoring() {
  bool all = true;
  for (auto& r : replicas_) {
    if (r.stage != Stage::restoring) continue;
    Instance* back = find(r.restore_id);
    Instance* fresh = find(r.new_id);
    bool fresh_serving = fresh && !fresh->retired();
    if (back && has_process(back->state()) && back->health() == health::HealthStatus::passing) {
      if (fresh_serving) fresh->retire();
      r.stage = Stage::restored;
      publish("restored", &r,
              name_ + ": replica " + std::to_string(r.index) + " runs " + r.restore_id + " again");
      continue;
    }
    if (!back || back->state() == ProcessState::failed || now() - r.started >= settings_.deadline) {
      // The previous definition does not come back either: keep the new
      // instance, which passed its check, rather than nothing.
      if (fresh_serving) {
        if (back) back->retire();
        reason_ += "; replica " + std::to_string(r.index) +
                   " could not be restored, its new instance is kept";
      } else {
        reason_ += "; replica " + std::to_string(r.index) + " did not pass its check again yet";
      }
      r.stage = Stage::failed;
      continue;
    }
    all = false;
  }
  return all;
}

void ServiceRollout::leave_node() {
  wake_.cancel();
  // Parked instances of the definition the rollout ends on, for when the
  // service is placed here again.
  const auto& spec = reverted_ ? old_spec_ : new_spec_;
  std::vector<Instance*> current;
  for (const auto& i : service_.instances())
    if (!i->retired()) current.push_back(i.get());
  for (Instance* i : current) i->retire();
  service_.set_spec(spec, false);
  for (int i = 0; i < spec->instance_count(); ++i)
    service_.add_instance(sup_.deps_, spec, i,
                          {service_.next_generation(), sup_.port_for(*spec, i)}, sup_);
  publish("unplaced", nullptr, name_ + ": placed on another node; the rollout stops here");
  phase_ = Phase::unplaced;
  sup_.request_evaluate();
}

std::string ServiceRollout::stage_name(Stage s) const {
  switch (s) {
    case Stage::waiting:
      return "waiting";
    case Stage::stopping_old:
      return "stopping_old";
    case Stage::starting:
      return "starting";
    case Stage::proving:
      return "proving";
    case Stage::canary:
      return "canary";
    case Stage::proven:
      return "proven";
    case Stage::replaced:
      return "replaced";
    case Stage::failed:
      return "failed";
    case Stage::restoring:
      return "restoring";
    case Stage::restored:
      return "restored";
  }
  return "waiting";
}

void ServiceRollout::sync_status() {
  auto& s = service_.rollout();
  if (phase_ == Phase::done)
    s.state = reverted_ ? "reverted" : failed_ ? "failed" : "succeeded";
  else if (failed_)
    s.state = "failed";  // the way back is under way
  else if (phase_ == Phase::waiting_promote)
    s.state = "waiting_promote";
  else
    s.state = "progressing";
  s.reason = reason_;
  if (phase_ == Phase::done && s.finished_ms == 0)
    s.finished_ms = core::to_unix_ms(sup_.deps_.scheduler->clock().wall_now());
  s.replicas.clear();
  for (const auto& r : replicas_) {
    RolloutReplica view;
    view.index = r.index;
    view.old_instance = r.old_id;
    view.new_instance =
        r.stage == Stage::restoring || r.stage == Stage::restored ? r.restore_id : r.new_id;
    view.state = stage_name(r.stage);
    if (r.stage == Stage::proving || r.stage == Stage::canary) view.passing_since = r.passing_since;
    s.replicas.push_back(std::move(view));
  }
}

void ServiceRollout::publish(const std::string& step, const Replica* r, const std::string& text) {
  sync_status();
  nlohmann::json data = {
      {"state", service_.rollout().state}, {"step", step}, {"trigger", service_.rollout().trigger}};
  if (r) {
    data["replica"] = r->index;
    data["old"] = r->old_id;
    data["new"] = r->stage == Stage::restoring ? r->restore_id : r->new_id;
  }
  sup_.events_.publish("service.rollout", name_, r ? r->new_id : "", text, std::move(data));
  if (sup_.on_change) sup_.on_change(service_);
}

}  // namespace meshd::supervisor
