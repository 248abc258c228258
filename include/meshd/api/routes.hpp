#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "meshd/api/router.hpp"
#include "meshd/config/types.hpp"
#include "meshd/core/event_bus.hpp"
#include "meshd/core/scheduler.hpp"
#include "meshd/gateway/route_table.hpp"
#include "meshd/registry/catalog_backend.hpp"
#include "meshd/registry/registrations.hpp"
#include "meshd/registry/registry.hpp"
#include "meshd/store/database.hpp"
#include "meshd/supervisor/supervisor.hpp"

namespace meshd::api {

class ConfigControl;  // meshd/api/config_control.hpp
class DeclaredTests;  // meshd/api/declared_tests.hpp

/// The parts of the daemon that the REST routes (and the stream) share and
/// act on: nothing else. Non-owning; the daemon sets every pointer before
/// registering the routes and keeps the parts alive longer than the router.
/// The handlers run on the control loop, so they read without locks. What
/// one group of routes alone needs, it keeps (the discover answers, the
/// services list) or takes as an argument of its register_* function.
struct ApiContext {
  supervisor::Supervisor* supervisor = nullptr;
  registry::Registry* registry = nullptr;
  registry::Registrations* registrations = nullptr;
  registry::CatalogBackend* catalog = nullptr;  // SQLite, or etcd in a cluster
  core::EventBus* events = nullptr;
  store::Database* database = nullptr;
  gateway::RouteTable* routes = nullptr;
  core::Scheduler* scheduler = nullptr;
  /// The config the API shows and checks tokens against; the daemon
  /// replaces it when a reload applies one.
  std::shared_ptr<const config::Config> config;
  std::string version;
};

/// Services, their commands, logs, events, declared tests, health and
/// version, with the seed-compatible aliases (src/api/service_routes.cpp).
void register_routes(Router& router, ApiContext& context, DeclaredTests& tests);

/// GET /api/v1/services/{name}/rollout and its promote and abort
/// (src/api/rollout_routes.cpp); register_routes adds them.
void register_rollout_routes(Router& router, ApiContext& context);

/// GET /api/v1/discover's answers and blocking queries, owned by the
/// discover route (src/api/registry_routes.cpp).
class Discovery;
/// Discovery, registration, TTL and instance overrides. `random01` jitters
/// the end of blocking queries' waits. Returns the discover state the
/// routes own, for parked_queries().
std::shared_ptr<const Discovery> register_registry_routes(Router& router, ApiContext& context,
                                                          std::function<double()> random01);
/// Blocking discover queries waiting now (for /metrics).
std::size_t parked_queries(const Discovery& discovery);

/// GET /api/v1/nodes: the nodes sharing the catalog (src/api/node_routes.cpp).
void register_node_routes(Router& router, ApiContext& context);

/// GET /api/v1/config, reload, history, rollback and POST /admin/config,
/// done by `control` (src/api/config_routes.cpp).
void register_config_routes(Router& router, ApiContext& context, ConfigControl& control);

/// What GET /metrics counts that the shared parts do not hold.
struct MetricsSources {
  /// The discover routes' state (register_registry_routes' answer).
  std::shared_ptr<const Discovery> discovery;
  /// WebSocket clients connected now; may be empty (none).
  std::function<std::size_t()> websocket_clients;
};
/// GET /metrics (src/api/metrics_route.cpp).
void register_metrics_route(Router& router, ApiContext& context, MetricsSources sources);
/// Resolve/report for proxyless clients and the breakers (src/api/traffic_routes.cpp).
void register_traffic_routes(Router& router, ApiContext& context);

/// Wraps a handler with the token rule: with a non-empty `mesh.api_token`,
/// a mutating call (or any call with `auth_reads`) needs
/// "Authorization: Bearer <token>", compared in constant time.
Router::Handler require_token(const ApiContext& context, bool mutating, Router::Handler handler);

}  // namespace meshd::api
