#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "meshd/api/router.hpp"
#include "meshd/config/types.hpp"
#include "meshd/core/event_bus.hpp"
#include "meshd/core/scheduler.hpp"
#include "meshd/gateway/route_table.hpp"
#include "meshd/registry/instance_store.hpp"
#include "meshd/registry/registrations.hpp"
#include "meshd/registry/registry.hpp"
#include "meshd/store/database.hpp"
#include "meshd/supervisor/supervisor.hpp"

namespace meshd::api {

struct DiscoverWatch;

/// What the REST handlers read and act on. Owned by the daemon; the
/// handlers run on the control loop, so they read state without locks.
struct ApiContext {
  supervisor::Supervisor* supervisor = nullptr;
  core::EventBus* events = nullptr;
  store::Database* database = nullptr;
  std::shared_ptr<const config::Config> config;
  std::string version;
  registry::Registry* registry = nullptr;
  registry::Registrations* registrations = nullptr;
  registry::InstanceStore* instance_store = nullptr;
  core::Scheduler* scheduler = nullptr;
  std::function<double()> random01;
  gateway::RouteTable* routes = nullptr;
  /// WebSocket clients connected now (for /metrics); may be empty.
  std::function<std::size_t()> websocket_clients;
  /// Runs the declared tests (null without a gateway) and keeps the last run.
  std::function<void(std::function<void(nlohmann::json)>)> run_tests;
  nlohmann::json last_test_run;
  /// Config reload (src/daemon/config_reloader.cpp); the routes answer 503
  /// while these are empty.
  struct ConfigControl {
    using Done = std::function<void(int status, nlohmann::json body)>;
    std::function<void(bool wait, Done)> reload_file;
    std::function<void(const std::string& body, const std::string& content_type, bool wait, Done)> reload_body;
    std::function<void(std::int64_t version, bool wait, Done)> rollback_to;
    std::function<nlohmann::json()> status;
    std::function<nlohmann::json(int limit)> history;
  } config_control;
  /// GET /api/v1/services, serialised, with the event seq it reflects.
  struct ListCache {
    std::shared_ptr<const std::string> body;
    std::int64_t seq = -1;
    core::TimePoint built{};
  } services_list_cache;
  /// GET /api/v1/discover answers by "service\ntag\npassing", valid for one index.
  struct DiscoverCache {
    std::shared_ptr<const PreparedResponse> answer;
    std::uint64_t index = 0;
  };
  std::map<std::string, DiscoverCache> discover_cache;
  /// Each instance's part of a discover answer, by id, valid for one
  /// revision of its record (src/api/registry_routes.cpp).
  struct InstanceFragment {
    std::uint64_t revision = 0;
    bool in_rotation = false;
    bool passing = false;  // health passing (the passing=true filter wants both)
    std::string json;
  };
  std::unordered_map<std::string, InstanceFragment> discover_fragments;
  /// The blocking discover queries parked now, in groups that share a
  /// service, filter and index (src/api/registry_routes.cpp).
  std::map<std::string, std::shared_ptr<DiscoverWatch>> discover_watches;
};

/// Registers the REST surface of SPEC section 5 implemented so far, with
/// the seed-compatible aliases.
void register_routes(Router& router, ApiContext& context);
/// Discovery, registration, TTL and instance overrides (src/api/registry_routes.cpp).
void register_registry_routes(Router& router, ApiContext& context);
/// Blocking discover queries waiting now (for /metrics).
std::size_t parked_queries(const ApiContext& context);
/// GET /api/v1/config, reload, history, rollback and POST /admin/config
/// (src/api/config_routes.cpp).
void register_config_routes(Router& router, ApiContext& context);
/// GET /metrics (src/api/metrics_route.cpp).
void register_metrics_route(Router& router, ApiContext& context);
/// Resolve/report for proxyless clients and the breakers (src/api/traffic_routes.cpp).
void register_traffic_routes(Router& router, ApiContext& context);

/// Wraps a handler with the token rule: with a non-empty `mesh.api_token`,
/// a mutating call (or any call with `auth_reads`) needs
/// "Authorization: Bearer <token>", compared in constant time.
Router::Handler require_token(const ApiContext& context, bool mutating, Router::Handler handler);

}  // namespace meshd::api
