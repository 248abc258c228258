#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

#include "meshd/registry/registry.hpp"
#include "meshd/supervisor/service.hpp"

namespace meshd::daemon {

/// Copies what the supervisor knows of a service's instances (managed
/// replicas and file-declared external addresses) into the registry, which
/// is where everything else reads them from.
void sync_service(registry::Registry& registry, const supervisor::Service& service);

}  // namespace meshd::daemon
