#pragma once

#include <nlohmann/json.hpp>

#include "meshd/supervisor/supervisor.hpp"

namespace meshd::api {

/// The service object of SPEC section 5 (plus more fields).
nlohmann::json service_view(const supervisor::Supervisor& supervisor, const supervisor::Service& service);
/// One instance, as inside the service object.
nlohmann::json instance_view(const supervisor::Instance& instance);
/// Why an instance is or is not in rotation (GET .../explain).
nlohmann::json explain_view(const supervisor::Supervisor& supervisor, const supervisor::Service& service,
                            const supervisor::Instance& instance);
/// GET /api/v1/health: {"status": healthy|degraded|unhealthy, "services": {state: count}, ...}.
nlohmann::json overall_health_view(const supervisor::Supervisor& supervisor);

}  // namespace meshd::api
