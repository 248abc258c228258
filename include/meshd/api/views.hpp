#pragma once

#include <nlohmann/json.hpp>

#include "meshd/gateway/route_table.hpp"
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
/// One instance, as inside the service object. `process` is the managed
/// instance behind the record, when there is one.
nlohmann::json instance_view(const registry::InstanceRecord& record,
                             const registry::Overrides& overrides,
                             const supervisor::Instance* process,
                             gateway::ServiceRoute* route = nullptr, core::TimePoint now = {});
/// Why an instance is or is not in rotation (GET .../explain).
nlohmann::json explain_view(const supervisor::Supervisor& supervisor,
                            const registry::Registry& registry, const supervisor::Service& service,
                            const registry::InstanceRecord& record,
                            gateway::ServiceRoute* route = nullptr, core::TimePoint now = {});
/// GET /api/v1/health: {"status": healthy|degraded|unhealthy, "services": {state: count}, ...}.
nlohmann::json overall_health_view(const supervisor::Supervisor& supervisor,
                                   const registry::Registry& registry);

}  // namespace meshd::api
