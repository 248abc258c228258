#pragma once
// Private to the daemon module: not part of meshd's public headers (include/meshd/).

namespace meshd::daemon {

/// meshd's version, from the CMake project version.
inline constexpr const char* kVersion = MESHD_VERSION;

}  // namespace meshd::daemon
