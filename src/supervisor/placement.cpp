// Supervisor placement: in a cluster, a service may run on some nodes only
// (placement: singleton, placement: {nodes: ...}). The daemon decides; the
// supervisor parks what is not placed here and lets dependents count on
// another node's instances (InstanceDeps::met_elsewhere).

#include "meshd/supervisor/supervisor.hpp"

namespace meshd::supervisor {

core::Status Supervisor::set_placed(const std::string& name, bool placed) {
  if (placed)
    unplaced_.erase(name);
  else
    unplaced_.insert(name);
  Service* service = find(name);
  if (!service || service->placed() == placed) return core::ok_status();
  service->set_placed(placed);
  events_.publish("service.placement", name, "",
                  name + (placed ? ": placed on this node" : ": placed on another node; stopping"),
                  {{"placed", placed}});
  if (shutting_down_) return core::ok_status();
  if (placed) {
    // As start_service would: a fresh start, not the backoff of an old
    // crash. Not wanted (stopped by the operator, or before start_all):
    // back to plain stopped.
    for (auto& i : service->instances()) {
      i->clear_restarts();
      if (!service->wanted() && i->state() == ProcessState::elsewhere) i->stop();
    }
    request_evaluate();
  } else {
    park(*service);
    request_reload_step();  // a rollout of it stops starting instances
    request_evaluate();     // dependents now look elsewhere
  }
  note_service_state(*service);
  if (on_change) on_change(*service);
  return core::ok_status();
}

bool Supervisor::placed(const std::string& name) const {
  if (const Service* service = find(name)) return service->placed();
  return !unplaced_.contains(name);
}

void Supervisor::park(Service& service) {
  for (auto& i : service.instances()) {
    if (i->retired()) continue;
    if (has_process(i->state()))
      i->stop();
    else
      i->mark_elsewhere();
  }
}

void Supervisor::dependencies_changed() {
  if (shutting_down_) return;
  evaluate();
  // degraded_by() of a dependent reads the other nodes too.
  if (on_change)
    for (const auto& s : services_)
      for (const auto& dep : s->spec().depends_on)
        if (!placed(dep.service)) {
          on_change(*s);
          break;
        }
}

}  // namespace meshd::supervisor
