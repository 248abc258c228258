#pragma once

#include <nlohmann/json.hpp>

#include "meshd/gateway/route_table.hpp"
#include "meshd/registry/catalog_backend.hpp"
#include "meshd/registry/registry.hpp"
#include "meshd/supervisor/supervisor.hpp"

namespace meshd::api {

/// The service object of SPEC section 5 (plus more fields): process state
/// from the supervisor, instances (managed, external and registered) from
/// the registry.
/// With a `route`, instances also show their breaker, ejection, requests
/// in flight and latency, as of `now`.
nlohmann::json service_view(const supervisor::Supervisor& supervisor,
                            const registry::Registry& registry, const supervisor::Service& service,
                            gateway::ServiceRoute* route = nullptr, core::TimePoint now = {});
/// The same object for a service that no file here declares: one that a
/// registration created, or that only other nodes of the cluster run.
/// State `elsewhere` when all its instances are other nodes', else
/// `registered`; traffic settings from the route (the file's defaults:).
nlohmann::json catalog_service_view(const registry::Registry& registry, const std::string& name,
                                    gateway::ServiceRoute* route = nullptr,
                                    core::TimePoint now = {});
/// One instance, as inside the service object. `process` is the managed
/// instance behind the record, when there is one.
nlohmann::json instance_view(const registry::InstanceRecord& record,
                             const registry::Overrides& overrides,
                             const supervisor::Instance* process,
                             gateway::ServiceRoute* route = nullptr, core::TimePoint now = {});
/// A service's rollout (GET /api/v1/services/{name}/rollout, and the
/// service object's "rollout" with "status" added): state (null before any
/// rollout), trigger, reason, changed fields, the settings in the file's
/// spelling, the canaries in effect, each replica's old and new instance
/// with its state and healthy_for_ms, started_ms and finished_ms (null
/// while it runs). `current` is the running definition: before any
/// rollout its settings are the ones the next rollout will use.
nlohmann::json rollout_view(const std::string& service, const supervisor::RolloutStatus& rollout,
                            const config::ServiceSpec& current);
/// Why an instance is or is not in rotation (GET .../explain).
nlohmann::json explain_view(const supervisor::Supervisor& supervisor,
                            const registry::Registry& registry, const supervisor::Service& service,
                            const registry::InstanceRecord& record,
                            gateway::ServiceRoute* route = nullptr, core::TimePoint now = {});
/// GET /api/v1/nodes (and the `nodes` topic of /ws): {"nodes": [{name,
/// address, api_address, version, state, instances, last_seen, started_at,
/// self}], "stale", "clustered"}; `instances` counts the registry's records
/// that name the node. A null `catalog` (a test without one) is an empty,
/// single, fresh catalog. `now_ms` is this node's last_seen (it is answering
/// now).
nlohmann::json nodes_view(const registry::CatalogBackend* catalog,
                          const registry::Registry& registry, std::int64_t now_ms);
/// GET /api/v1/health: {"status": healthy|degraded|unhealthy, "services": {state: count}, ...}.
nlohmann::json overall_health_view(const supervisor::Supervisor& supervisor,
                                   const registry::Registry& registry);

}  // namespace meshd::api
