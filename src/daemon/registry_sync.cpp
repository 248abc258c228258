#include "registry_sync.hpp"

#include <set>

namespace meshd::daemon {

void sync_service(registry::Registry& registry, const supervisor::Service& service) {
  const auto& spec = service.spec();
  std::set<std::string> managed, external;
  // A service placed on other nodes has no instance here: its instances
  // are theirs (remote records).
  for (const auto& i : service.instances()) {
    if (!service.placed()) break;
    registry::InstanceRecord r;
    r.id = i->id();
    r.service = spec.name;
    r.address = i->address();
    r.port = i->port().value_or(0);
    r.origin = i->managed() ? registry::Origin::managed : registry::Origin::external;
    r.tags = spec.tags;
    r.metadata = spec.metadata;
    r.weight = spec.weight;
    r.health = i->health();
    r.health_output = i->health_output();
    r.check_type = config::to_string(spec.health.type);
    if (i->managed()) {
      r.process_state = supervisor::to_string(i->state());
      r.pid = i->pid() > 0 ? i->pid() : 0;
    }
    if (auto t = i->started_at()) r.joined_ms = core::to_unix_ms(*t);
    (i->managed() ? managed : external).insert(r.id);
    registry.upsert(std::move(r));
  }
  registry.retain(spec.name, registry::Origin::managed, managed);
  registry.retain(spec.name, registry::Origin::external, external);
}

}  // namespace meshd::daemon
