#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "meshd/core/clock.hpp"
#include "meshd/core/event_bus.hpp"
#include "meshd/health/health_checker.hpp"
#include "meshd/registry/catalog_backend.hpp"
#include "meshd/registry/registration.hpp"
#include "meshd/registry/registry.hpp"

namespace meshd::registry {

/// The instances registered at run time: validates them, runs one health
/// checker per instance this node owns, keeps the registry's records
/// current, and keeps them in the catalog backend (meshd.db, or etcd for
/// the whole cluster) so that they outlive a restart of meshd. A
/// registration may name a service that no file declares: the service
/// exists while it has a registration (on_services_changed).
class Registrations {
 public:
  using CheckerFactory = std::function<std::unique_ptr<health::HealthChecker>(
      const health::ProbeTarget&, health::HealthChecker::OnChange)>;

  Registrations(Registry& registry, CatalogBackend& catalog, core::EventBus& events,
                CheckerFactory make_checker, const core::TimeSource& clock);
  ~Registrations();

  /// A registration the catalog holds (each stored one at start, later
  /// those made through other nodes): this node checks it when `owner` is
  /// this node, and only remembers it otherwise (its owner publishes the
  /// instance). One that does not parse, or whose id another instance
  /// uses, is skipped with a registry.restore_skipped event.
  void stored(const std::string& id, const nlohmann::json& registration, const std::string& owner);
  /// The catalog no longer holds `id` (deleted through any node).
  void unstored(const std::string& id);

  /// conflict for an id already used by any instance or registration. On
  /// success the instance is in the registry (its service created first,
  /// through on_services_changed, when no file declares it).
  core::Status add(Registration registration);
  /// not_found when there is no registered instance `id` of `service`
  /// (on any node: one owned by another node is deleted from the catalog,
  /// and its owner stops checking it).
  core::Status remove(const std::string& service, const std::string& id);
  /// Services that have at least one registration, on any node.
  std::set<std::string> services() const;
  /// Called when services() changed, before the instance that caused it
  /// is published (the registry must know the service by then).
  std::function<void()> on_services_changed;
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
  void services_may_have_changed();

  Registry& registry_;
  CatalogBackend& catalog_;
  core::EventBus& events_;
  CheckerFactory make_checker_;
  const core::TimeSource& clock_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
  // Registrations owned by other nodes: id -> service.
  std::map<std::string, std::string> foreign_;
  std::set<std::string> services_;  // services() as last announced
};

}  // namespace meshd::registry
