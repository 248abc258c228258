#include "meshd/registry/registrations.hpp"

namespace meshd::registry {

using core::ErrorCode;

Registrations::Registrations(Registry& registry, CatalogBackend& catalog, core::EventBus& events,
                             CheckerFactory make_checker, const core::TimeSource& clock)
    : registry_(registry),
      catalog_(catalog),
      events_(events),
      make_checker_(std::move(make_checker)),
      clock_(clock) {}

Registrations::~Registrations() = default;

const Registration* Registrations::find(const std::string& id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second->registration;
}

void Registrations::stored(const std::string& id, const nlohmann::json& doc,
                           const std::string& owner) {
  auto reg =
      doc.is_object()
          ? Registration::from_json(doc)
          : core::Result<Registration>(core::make_error(ErrorCode::invalid_argument, "not JSON"));
  if (reg && reg->id != id)
    reg = core::make_error(ErrorCode::invalid_argument, "it is stored under another id");
  if (!reg) {
    events_.publish("registry.restore_skipped", "", id,
                    "registered instance " + id + " was not restored: " + reg.error().message);
    return;
  }
  if (owner != catalog_.node_name()) {
    // Its owner checks and publishes it; a change of owner (the owner
    // re-registered it elsewhere) stops our checker.
    if (auto it = entries_.find(id); it != entries_.end()) {
      it->second->checker->stop();
      entries_.erase(it);
      registry_.remove(id);
    }
    foreign_[id] = reg->service;
    services_may_have_changed();
    return;
  }
  foreign_.erase(id);
  if (auto it = entries_.find(id); it != entries_.end()) {
    if (it->second->registration.to_json() == reg->to_json()) return;  // our own write, echoed
    it->second->checker->stop();
    entries_.erase(it);
    registry_.remove(id);
  }
  if (const auto* other = registry_.find(id); other && other->origin != Origin::registered) {
    events_.publish(
        "registry.restore_skipped", reg->service, id,
        "registered instance " + id + " was not restored: its id is now used by another instance");
    return;
  }
  start(std::move(*reg), false);
}

void Registrations::unstored(const std::string& id) {
  if (foreign_.erase(id)) {
    services_may_have_changed();
    return;
  }
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  std::string service = it->second->registration.service;
  it->second->checker->stop();
  entries_.erase(it);
  registry_.remove(id);
  events_.publish("registry.deregister", service, id,
                  "deregistered " + id + " from " + service + " (through another node)");
  services_may_have_changed();
}

core::Status Registrations::add(Registration registration) {
  if (registry_.find(registration.id) || entries_.count(registration.id) ||
      foreign_.count(registration.id))
    return core::make_error(ErrorCode::conflict,
                            "an instance with id '" + registration.id + "' already exists");
  std::string id = registration.id, service = registration.service;
  bool declared = registry_.has_service(service);
  start(std::move(registration), true);
  events_.publish("registry.register", service, id,
                  "registered " + id + " in " + service +
                      (declared ? "" : " (a new service: no file declares it)"));
  return core::ok_status();
}

core::Status Registrations::remove(const std::string& service, const std::string& id) {
  if (auto f = foreign_.find(id); f != foreign_.end() && f->second == service) {
    foreign_.erase(f);
    catalog_.delete_registration(id);
    events_.publish("registry.deregister", service, id, "deregistered " + id + " from " + service);
    services_may_have_changed();
    return core::ok_status();
  }
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second->registration.service != service)
    return core::make_error(ErrorCode::not_found,
                            "service '" + service + "' has no registered instance '" + id + "'");
  it->second->checker->stop();
  entries_.erase(it);
  registry_.remove(id);
  catalog_.delete_registration(id);
  events_.publish("registry.deregister", service, id, "deregistered " + id + " from " + service);
  services_may_have_changed();
  return core::ok_status();
}

std::set<std::string> Registrations::services() const {
  std::set<std::string> out;
  for (const auto& [id, entry] : entries_) out.insert(entry->registration.service);
  for (const auto& [id, service] : foreign_) out.insert(service);
  return out;
}

void Registrations::services_may_have_changed() {
  auto now = services();
  if (now == services_) return;
  services_ = std::move(now);
  if (on_services_changed) on_services_changed();
}

core::Status Registrations::pass_ttl(const std::string& service, const std::string& id,
                                     std::string note) {
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second->registration.service != service)
    return core::make_error(ErrorCode::not_found,
                            "service '" + service + "' has no registered instance '" + id + "'");
  if (!it->second->checker->pass_ttl(std::move(note)))
    return core::make_error(
        ErrorCode::conflict,
        "instance '" + id + "' has a " +
            std::string(config::to_string(it->second->registration.check.type)) +
            " check, not a ttl check");
  publish(*it->second);
  return core::ok_status();
}

void Registrations::start(Registration registration, bool persist) {
  auto entry = std::make_unique<Entry>();
  entry->registration = std::move(registration);
  entry->joined_ms = core::to_unix_ms(clock_.wall_now());
  const auto& reg = entry->registration;
  health::ProbeTarget target;
  target.host = reg.address;
  target.port = reg.port;
  target.spec = reg.check;
  Entry* raw = entry.get();
  std::string id = reg.id;
  // The registry first, then the event and the store: watchers of the
  // service are answered before the database writer thread is woken to
  // compete with them for the CPU.
  entry->checker = make_checker_(target, [this, raw](health::HealthStatus status,
                                                     const std::string& output) {
    const auto& r = raw->registration;
    auto from = raw->last;
    raw->last = status;
    publish(*raw);
    events_.publish(
        "health.transition", r.service, r.id,
        r.id + ": health " + health::to_string(from) + " -> " + health::to_string(status) +
            (output.empty() ? "" : " (" + output + ")"),
        {{"from", health::to_string(from)}, {"to", health::to_string(status)}, {"output", output}});
  });
  entries_[id] = std::move(entry);
  services_may_have_changed();
  // Start the check before the instance is shown: a check of type none
  // passes inside start(), so such an instance appears once, already
  // passing, instead of as "unknown" and again a moment later. Other
  // checks report later, and the instance is shown as "unknown" until
  // then: two changes a client can see, two index bumps.
  raw->checker->start();
  publish(*raw);
  if (persist) catalog_.save_registration(id, raw->registration.to_json());
}

void Registrations::publish(const Entry& entry) {
  const auto& reg = entry.registration;
  InstanceRecord record;
  record.id = reg.id;
  record.service = reg.service;
  record.address = reg.address;
  record.port = reg.port;
  record.origin = Origin::registered;
  record.tags = reg.tags;
  record.metadata = reg.metadata;
  record.weight = reg.weight;
  record.check_type = config::to_string(reg.check.type);
  record.joined_ms = entry.joined_ms;
  if (entry.checker) {
    record.health = entry.checker->tracker().status();
    record.health_output = entry.checker->tracker().last_output();
  }
  registry_.upsert(std::move(record));
}

}  // namespace meshd::registry
