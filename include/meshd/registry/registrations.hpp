#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "meshd/core/clock.hpp"
#include "meshd/core/event_bus.hpp"
#include "meshd/health/health_checker.hpp"
#include "meshd/registry/instance_store.hpp"
#include "meshd/registry/registration.hpp"
#include "meshd/registry/registry.hpp"

namespace meshd::registry {

/// The instances registered at run time: validates them against the
/// registry, runs one health checker per instance, keeps the registry's
/// records current, and persists them so they come back after a restart.
class Registrations {
 public:
  using CheckerFactory = std::function<std::unique_ptr<health::HealthChecker>(
      const health::ProbeTarget&, health::HealthChecker::OnChange)>;

  Registrations(Registry& registry, InstanceStore& store, core::EventBus& events,
                CheckerFactory make_checker, const core::TimeSource& clock);
  ~Registrations();

  /// Loads what was registered before the last restart (skipping, with an
  /// event, entries whose service the config no longer has).
  void restore();

  /// not_found for an unknown service, conflict for an id already used by
  /// any instance. On success the instance is in the registry.
  core::Status add(Registration registration);
  /// not_found when there is no registered instance `id` of `service`.
  core::Status remove(const std::string& service, const std::string& id);
  /// A TTL heartbeat; not_found for an unknown instance, conflict when its
  /// check is not a TTL check.
  core::Status pass_ttl(const std::string& service, const std::string& id, std::string note);
  bool has(const std::string& id) const { return entries_.count(id) > 0; }
  const Registration* find(const std::string& id) const;

 private:
  struct Entry {
    Registration registration;
    std::unique_ptr<health::HealthChecker> checker;
    std::int64_t joined_ms = 0;
    health::HealthStatus last = health::HealthStatus::unknown;
  };
  void start(Registration registration, bool persist);
  void publish(const Entry& entry);

  Registry& registry_;
  InstanceStore& store_;
  core::EventBus& events_;
  CheckerFactory make_checker_;
  const core::TimeSource& clock_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
};

}  // namespace meshd::registry
