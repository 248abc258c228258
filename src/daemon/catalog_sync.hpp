#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "meshd/config/types.hpp"
#include "meshd/core/event_bus.hpp"
#include "meshd/registry/catalog_backend.hpp"
#include "meshd/registry/registrations.hpp"
#include "meshd/registry/registry.hpp"

namespace meshd::daemon {

/// Joins the registry to its catalog backend (SQLite or etcd): what the
/// backend holds (registrations, overrides, other nodes' instances) goes
/// into the registry and the registrations; every local instance the
/// registry shows goes out to the backend, written only when it changed.
/// It also decides which services exist: the file's, those with a
/// registration, and those other nodes publish.
class CatalogSync {
 public:
  CatalogSync(registry::CatalogBackend& backend, registry::Registry& registry,
              registry::Registrations& registrations, core::EventBus& events);
  ~CatalogSync();

  /// Hooks for the daemon; any may be empty.
  struct Hooks {
    /// The set of services changed (the routes follow with routing_config()).
    std::function<void()> services_changed;
    /// The nodes changed (GET /api/v1/nodes, the /ws nodes topic).
    std::function<void()> nodes_changed;
    /// The shared catalog became unreachable or reachable again.
    std::function<void(bool stale)> stale_changed;
    /// Another node's instance appeared, changed or left (dependencies on
    /// services that run elsewhere may now be met).
    std::function<void()> remote_changed;
  };
  void start(Hooks hooks);

  /// The file's services (the supervisor's); the others are derived.
  void set_declared(std::vector<std::string> names);
  /// Every service that exists now, in name order.
  std::vector<std::string> services() const;
  /// `config` with a service made from its `defaults:` for every service
  /// that exists but no file here declares.
  std::shared_ptr<const config::Config> routing_config(
      const std::shared_ptr<const config::Config>& config) const;

 private:
  void refresh_services();
  void publish_local(const std::string& service);
  void note_nodes();
  void remote_changed();

  registry::CatalogBackend& backend_;
  registry::Registry& registry_;
  registry::Registrations& registrations_;
  core::EventBus& events_;
  Hooks hooks_;
  std::vector<std::string> declared_;
  std::set<std::string> services_;
  // Other nodes' instances as last heard, so that a service a registry
  // reset dropped can be refilled; id -> record.
  std::map<std::string, registry::InstanceRecord> remote_;
  std::map<std::string, std::size_t> remote_per_service_;
  // Inside a batch of catalog changes (Events::batch).
  int batch_depth_ = 0;
  bool batch_services_dirty_ = false;
  bool batch_remote_changed_ = false;
  // The revision of each local instance last published, by service.
  std::map<std::string, std::map<std::string, std::uint64_t>> published_;
  std::map<std::string, std::string> node_states_;  // name -> state, for events
};

}  // namespace meshd::daemon
