#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

#include <cstdint>
#include <optional>

namespace meshd::daemon {

/// A port no one listens on now on 127.0.0.1, for a replacement instance
/// whose fixed port is still held by the instance it replaces
/// (InstanceDeps::free_port). nullopt when the system gives none.
std::optional<std::uint16_t> free_loopback_port();

}  // namespace meshd::daemon
