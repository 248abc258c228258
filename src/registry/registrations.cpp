#include "meshd/registry/registrations.hpp"

namespace meshd::registry {

using core::ErrorCode;

Registrations::Registrations(Registry& registry, InstanceStore& store, core::EventBus& events,
                             CheckerFactory make_checker, const core::TimeSource& clock)
    : registry_(registry),
      store_(store),
      events_(events),
      make_checker_(std::move(make_checker)),
      clock_(clock) {}

Registrations::~Registrations() = default;

const Registration* Registrations::find(const std::string& id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second->registration;
}

void Registrations::restore() {
  for (const auto& [id, text] : store_.load_registrations()) {
    auto doc = nlohmann::json::parse(text, nullptr, false);
    auto reg =
        doc.is_discarded()
            ? core::Result<Registration>(core::make_error(ErrorCode::invalid_argument, "not JSON"))
            : Registration::from_json(doc);
    if (!reg || !registry_.has_service(reg->service) || registry_.find(reg->id)) {
      std::string why = !reg ? reg.error().message
                        : !registry_.has_service(reg->service)
                            ? "service '" + reg->service + "' is no longer in the config"
                            : "its id is now used by another instance";
      events_.publish("registry.restore_skipped", reg ? reg->service : "", id,
                      "registered instance " + id + " was not restored: " + why);
      continue;
    }
    start(std::move(*reg), false);
  }
}

core::Status Registrations::add(Registration registration) {
  if (!registry_.has_service(registration.service))
    return core::make_error(ErrorCode::not_found, "no service named '" + registration.service +
                                                      "' (declare it in the config file first)");
  if (registry_.find(registration.id) || entries_.count(registration.id))
    return core::make_error(ErrorCode::conflict,
                            "an instance with id '" + registration.id + "' already exists");
  std::string id = registration.id, service = registration.service;
  start(std::move(registration), true);
  events_.publish("registry.register", service, id, "registered " + id + " in " + service);
  return core::ok_status();
}

core::Status Registrations::remove(const std::string& service, const std::string& id) {
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second->registration.service != service)
    return core::make_error(ErrorCode::not_found,
                            "service '" + service + "' has no registered instance '" + id + "'");
  it->second->checker->stop();
  entries_.erase(it);
  registry_.remove(id);
  store_.delete_registration(id);
  events_.publish("registry.deregister", service, id, "deregistered " + id + " from " + service);
  return core::ok_status();
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
  // Start the check before the instance is shown: a check of type none
  // passes inside start(), so such an instance appears once, already
  // passing, instead of as "unknown" and again a moment later. Other
  // checks report later, and the instance is shown as "unknown" until
  // then: two changes a client can see, two index bumps.
  raw->checker->start();
  publish(*raw);
  if (persist) store_.save_registration(id, raw->registration.to_json().dump());
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
